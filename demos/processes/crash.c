/* crash.c - the same bad task in a process worker and in a thread worker: who survives?
 *
 * Usage:    crash [--workers process|thread|both] [--tasks N] [--bad K] [--fault segv|abort]
 *                 [--ms MS]
 * Observe:  a master hands N tasks to N workers; task K is bad - it writes through a
 *           dangling pointer (SIGSEGV) or calls abort() (SIGABRT). With process workers,
 *           only the bad task's worker dies: the master reads its wait status, reports
 *           the signal, collects the other results and exits 0. With thread workers, the
 *           signal kills the whole process - master, every thread and every result with
 *           it. To show that without dying ourselves, the thread version runs as a child
 *           process, and we report how that child died.
 * Try:      crash --workers thread --fault abort   (same story, another signal)
 *           crash --workers process --bad 0 --tasks 8
 *           under an ASan build: ASan catches SIGSEGV itself and exits with status 1
 *           instead of dying by the signal; run with ASAN_OPTIONS=handle_segv=0 to see the
 *           plain signal again (SIGABRT it leaves alone)
 * Python:   docs/seeds.md#seed-000, master-worker stability: a crashed child leaves the
 *           master alive, a crashed thread takes the whole process down
 * See also: docs/processes/crash.md, demos/processes/spawn.c
 */
#include "core.h"
#include "shared.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "crash - one bad task in a process worker (only that worker dies) and in a thread\n"
    "        worker (the whole program dies)\n"
    "\n"
    "Usage: crash [--workers process|thread|both] [--tasks N] [--bad K] [--fault F] [--ms MS]\n"
    "  --workers W   process, thread or both (default both)\n"
    "  --tasks N     how many tasks, one worker each (default 5, at most 64)\n"
    "  --bad K       which task is bad (default 2; tasks count from 0)\n"
    "  --fault F     segv: write through a dangling pointer (default); abort: call abort()\n"
    "  --ms MS       how long each good task works, in milliseconds (default 50)\n"
    "  --help        this text\n";

static long ntasks = 5, bad = 2, ms = 50;
static int fault_abort;

/* Results land in shared memory, so the master sees what process workers wrote. The
 * slots of a thread worker's program live there too - and vanish with that program. */
struct results {
    atomic_long done;
    long value[64];
};
static struct results *res;

/* [snippet:task] */
/* A good task: some arithmetic (the sum 1 + 2 + ... + 1000 * (i + 1)) after a while of
 * "work". The bad task follows a dangling pointer: it writes into a page that has already
 * been given back to the kernel. That is a real fault the hardware reports (SIGSEGV) -
 * nothing a sanitizer's bookkeeping knows about. */
static void run_task(long i)
{
    if (i == bad) {
        if (fault_abort)
            abort();                            /* SIGABRT */
        long pagesize = sysconf(_SC_PAGESIZE);
        volatile long *p = mmap(NULL, (size_t)pagesize, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die_errno("mmap");
        munmap((void *)p, (size_t)pagesize);    /* p now dangles */
        *p = 42;                                /* SIGSEGV */
    }
    sleep_ns(ms * 1000000);
    long n = 1000 * (i + 1), sum = 0;
    for (long k = 1; k <= n; k++)
        sum += k;
    res->value[i] = sum;
    atomic_fetch_add(&res->done, 1);
}
/* [/snippet:task] */

static long expected(long i)
{
    long n = 1000 * (i + 1);
    return n * (n + 1) / 2;
}

/* [snippet:processes] */
/* Process workers: one child per task. The master waits for each and reads how it ended. */
static void with_processes(void)
{
    printf("process workers: master %d starts %ld workers; task %ld is bad\n",
           (int)getpid(), ntasks, bad);
    fflush(stdout);
    pid_t parent = getpid(), pids[64];
    for (long i = 0; i < ntasks; i++) {
        pids[i] = xfork();
        if (pids[i] == 0) {
            end_with_parent(parent, SIGKILL);
            run_task(i);
            _exit(0);
        }
    }
    long crashed = 0;
    for (long i = 0; i < ntasks; i++) {
        int status;
        char how[128];
        xwaitpid(pids[i], &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            printf("  task %ld: %ld (expected %ld)\n", i, res->value[i], expected(i));
        else {
            printf("  task %ld: worker %d %s - the master notes it and goes on\n", i,
                   (int)pids[i], describe_status(status, how, sizeof how));
            crashed++;
        }
    }
    printf("process workers: tasks done: %ld of %ld (expected %ld); workers crashed: %ld; "
           "the master is still running\n", atomic_load(&res->done), ntasks, ntasks - 1,
           crashed);
}
/* [/snippet:processes] */

static void *thread_main(void *arg)
{
    run_task((long)(intptr_t)arg);
    return NULL;
}

/* [snippet:threads] */
/* Thread workers: one thread per task, all in one process - the "program". We run that
 * program as a child so that we are still here to say how it ended. */
static void with_threads(void)
{
    printf("thread workers: a program with %ld worker threads runs as a child; task %ld is "
           "bad\n", ntasks, bad);
    fflush(stdout);
    pid_t parent = getpid(), program = xfork();
    if (program == 0) {
        end_with_parent(parent, SIGKILL);
        pthread_t tids[64];
        for (long i = 0; i < ntasks; i++)
            xpthread_create(&tids[i], NULL, thread_main, (void *)(intptr_t)i);
        for (long i = 0; i < ntasks; i++)
            xpthread_join(tids[i], NULL);
        printf("  program: all %ld tasks done\n", ntasks);     /* (never, with a bad task) */
        fflush(stdout);
        _exit(0);
    }
    int status;
    char how[128];
    xwaitpid(program, &status, 0);
    printf("thread workers: the program (pid %d) %s; tasks done before it died: %ld of "
           "%ld - its good threads died with it\n", (int)program,
           describe_status(status, how, sizeof how), atomic_load(&res->done), ntasks);
}
/* [/snippet:threads] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int procs = 1, threads = 1;
    static const struct option opts[] = {
        { "workers", required_argument, NULL, 'w' },
        { "tasks", required_argument, NULL, 'n' },
        { "bad", required_argument, NULL, 'b' },
        { "fault", required_argument, NULL, 'f' },
        { "ms", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': ntasks = parse_long("--tasks", optarg, 1, 64); break;
        case 'b': bad = parse_long("--bad", optarg, 0, 63); break;
        case 'm': ms = parse_long("--ms", optarg, 0, 10000); break;
        case 'w':
            procs = !strcmp(optarg, "process") || !strcmp(optarg, "both");
            threads = !strcmp(optarg, "thread") || !strcmp(optarg, "both");
            if (!procs && !threads)
                usage_error("--workers: '%s' is not process, thread or both", optarg);
            break;
        case 'f':
            if (!strcmp(optarg, "segv") || !strcmp(optarg, "abort"))
                fault_abort = !strcmp(optarg, "abort");
            else
                usage_error("--fault: '%s' is neither 'segv' nor 'abort'", optarg);
            break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (bad >= ntasks)
        usage_error("--bad: there is no task %ld among %ld", bad, ntasks);

    res = shared_map(sizeof *res);
    if (procs)
        with_processes();
    if (threads) {
        atomic_store(&res->done, 0);
        with_threads();
    }
    shared_unmap(res, sizeof *res);
    return EXIT_SUCCESS;
}
