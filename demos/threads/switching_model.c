/* switching_model.c - K CPU-bound or IO-bound tasks as threads or processes (see the .h) */
#include "core.h"
#include "shared.h"
#include "switching_model.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* One task's tally, on its own cache line so tasks never write the same line. */
struct task_slot {
    _Alignas(64) long jobs;
    long vcsw, ivcsw;
    unsigned long checksum;          /* the CPU jobs' result, kept so the work is not elided */
};

struct shared {
    int64_t deadline_ns;             /* set before the start signal */
    enum switching_kind kind;
    pthread_barrier_t *start;        /* threads only */
    struct task_slot slots[];
};

static unsigned long cpu_job(unsigned long x)
{
    for (long i = 0; i < SWITCHING_CPU_STEPS; i++)
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
}

/* The task's loop: jobs until the deadline, then its own switch counts. */
/* [snippet:task] */
static void task_loop(struct shared *sh, struct task_slot *slot, int who)
{
    unsigned long x = 88172645463325252u;
    long jobs = 0;
    do {
        if (sh->kind == SWITCHING_CPU)
            x = cpu_job(x);
        else
            sleep_ns(SWITCHING_IO_SLEEP_NS);
        jobs++;
    } while (now_ns() < sh->deadline_ns);
    struct rusage ru;
    if (getrusage(who, &ru) == -1)
        die_errno("getrusage");
    slot->jobs = jobs;
    slot->vcsw = ru.ru_nvcsw;
    slot->ivcsw = ru.ru_nivcsw;
    slot->checksum = x;
}
/* [/snippet:task] */

struct thread_arg {
    struct shared *sh;
    long index;
};

static void *task_thread(void *arg)
{
    struct thread_arg *a = arg;
    pthread_barrier_wait(a->sh->start);
    task_loop(a->sh, &a->sh->slots[a->index], RUSAGE_THREAD);
    return NULL;
}

int switching_run(long k, enum switching_kind kind, int processes, double seconds,
                  struct switching_result *r)
{
    /* Children write their tallies into a shared mapping; threads could use any memory,
     * but one layout for both keeps the two paths alike. */
    size_t size = sizeof(struct shared) + (size_t)k * sizeof(struct task_slot);
    struct shared *sh = shared_map(size);
    sh->kind = kind;
    int failed = 0;
    int64_t t0;

    if (processes) {
        /* The start gate is a pipe: every child blocks reading it, and closing the write
         * end releases them all at once (each read returns 0, end of file). If the parent
         * dies first, the children see the same end of file and still stop at the
         * deadline: none waits forever. */
        int gate[2];
        xpipe(gate);
        pid_t *pids = xcalloc((size_t)k, sizeof *pids);
        fflush(stdout);
        pid_t parent = getpid();
        for (long i = 0; i < k; i++) {
            pids[i] = xfork();
            if (pids[i] == 0) {
                end_with_parent(parent, SIGKILL);   /* a killed parent leaves no task */
                close(gate[1]);
                char c;
                while (read(gate[0], &c, 1) > 0)
                    ;
                task_loop(sh, &sh->slots[i], RUSAGE_SELF);
                _exit(0);
            }
        }
        close(gate[0]);
        t0 = now_ns();
        sh->deadline_ns = t0 + (int64_t)(seconds * 1e9);
        close(gate[1]);                  /* go */
        for (long i = 0; i < k; i++) {
            int status;
            xwaitpid(pids[i], &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char how[128];
                fprintf(stderr, "%s: task %ld (pid %d) %s\n", prog_name, i, (int)pids[i],
                        describe_status(status, how, sizeof how));
                failed = 1;
            }
        }
        free(pids);
    } else {
        pthread_barrier_t start;
        int s = pthread_barrier_init(&start, NULL, (unsigned)k + 1);
        if (s != 0)
            die_code("pthread_barrier_init", s);
        sh->start = &start;
        pthread_t *tids = xcalloc((size_t)k, sizeof *tids);
        struct thread_arg *args = xcalloc((size_t)k, sizeof *args);
        for (long i = 0; i < k; i++) {
            args[i] = (struct thread_arg){ sh, i };
            xpthread_create(&tids[i], NULL, task_thread, &args[i]);
        }
        t0 = now_ns();
        sh->deadline_ns = t0 + (int64_t)(seconds * 1e9);
        pthread_barrier_wait(&start);    /* go: the barrier also publishes the deadline */
        for (long i = 0; i < k; i++)
            xpthread_join(tids[i], NULL);
        pthread_barrier_destroy(&start);
        free(args);
        free(tids);
    }
    r->wall_s = (double)(now_ns() - t0) / 1e9;
    r->jobs = r->vcsw = r->ivcsw = 0;
    for (long i = 0; i < k; i++) {
        r->jobs += sh->slots[i].jobs;
        r->vcsw += sh->slots[i].vcsw;
        r->ivcsw += sh->slots[i].ivcsw;
    }
    shared_unmap(sh, size);
    return failed ? -1 : 0;
}
