/* bench_pool.c - tasks per second through a pool, against the work in each task:
 *                  the C process pool, a C thread pool, and Python's multiprocessing.Pool
 *
 * x is the work in one task, in microseconds of spinning on the clock (0: an empty task).
 * Every variant runs one pool of CPU-count workers, already started, and times from the
 * first submission to the last result collected:
 *   c-processes        procpool.c, apply_async style: one handle per task, each worker
 *                      takes one task per lock, as Python's Pool does
 *   c-processes-batch  procpool.c's map, workers taking up to 64 task records per lock
 *                      (fewer for short runs, by Python's chunk-size rule) and putting
 *                      their results back in one write
 *   c-threads          a plain thread pool: one queue under a mutex and two condition
 *                      variables, a worker takes one task at a time
 *   py-apply-async     bench/peers/pool_peer.py: apply_async per task, then get() each
 *   py-map-chunked     the same peer: Pool.map with its default chunks
 *   c-ring             procpool.c with its ring transport, apply_async style: a task ring
 *                      and a result ring per worker in shared memory, no lock, a futex
 *                      system call only to wake a side that went to sleep
 *   c-ring-batch       the ring transport's map, workers taking up to 64 records at once
 * With enough work per task every variant meets the ideal line CPUs / work; the empty end
 * shows what the pool itself costs per task: a lock, a read and a write per task for the
 * process pool - cheap next to a cross-CPU wake-up, because the pipe keeps many tasks in
 * flight and a busy worker never sleeps between them.
 */
#include "core.h"
#include "harness.h"
#include "procpool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>



/* The variants, in the order of their names: a point's kind. */
enum { C_PROCESSES, C_PROCESSES_BATCH, C_THREADS, PY_APPLY_ASYNC, PY_MAP_CHUNKED, C_RING,
       C_RING_BATCH };
static const char *variants[] = { "c-processes", "c-processes-batch", "c-threads",
                                  "py-apply-async", "py-map-chunked", "c-ring",
                                  "c-ring-batch" };
/* A rough ceiling on each variant's tasks/s, only to size a run near --seconds. */
static const double peak[] = { 1.5e6, 6e6, 3e6, 6e4, 3e6, 8e6, 1.5e7 };

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const double work_us[] = { 0, 1, 10, 100, 1000 };
    size_t n = 0;
    (void)o;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t i = 0; i < sizeof work_us / sizeof *work_us && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = variants[v], .x = work_us[i],
                                             .kind = (int)v };
    return n;
}

/* The task: spin on the clock for `arg` nanoseconds; the same in every variant. */
static int task_spin(int64_t arg, int64_t *value)
{
    int64_t end = now_ns() + arg, loops = 0;
    while (arg > 0 && now_ns() < end)
        loops++;
    *value = loops;
    return 0;
}

/* ---- the C thread pool: a queue of task indices, workers taking one at a time ---- */

struct tpool {
    pthread_mutex_t mu;
    pthread_cond_t has_work, all_done;
    long next, submitted, done, n;
    int stop;
    int64_t work_ns, *results;
};

static void *tpool_worker(void *arg)
{
    struct tpool *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (t->next == t->submitted && !t->stop)
            pthread_cond_wait(&t->has_work, &t->mu);
        if (t->next == t->submitted)
            break;
        long i = t->next++;
        pthread_mutex_unlock(&t->mu);
        task_spin(t->work_ns, &t->results[i]);
        pthread_mutex_lock(&t->mu);
        if (++t->done == t->n)
            pthread_cond_signal(&t->all_done);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static double run_threads(long n, int64_t work_ns, int workers)
{
    struct tpool t = { .n = n, .work_ns = work_ns };
    t.results = xcalloc((size_t)n, sizeof *t.results);
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.has_work, NULL);
    pthread_cond_init(&t.all_done, NULL);
    pthread_t *tids = xcalloc((size_t)workers, sizeof *tids);
    for (int i = 0; i < workers; i++)
        xpthread_create(&tids[i], NULL, tpool_worker, &t);
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {            /* submit one by one, as apply_async does */
        pthread_mutex_lock(&t.mu);
        t.submitted++;
        pthread_cond_signal(&t.has_work);
        pthread_mutex_unlock(&t.mu);
    }
    pthread_mutex_lock(&t.mu);
    while (t.done < n)
        pthread_cond_wait(&t.all_done, &t.mu);
    t.stop = 1;
    pthread_cond_broadcast(&t.has_work);
    pthread_mutex_unlock(&t.mu);
    double s = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < workers; i++)
        xpthread_join(tids[i], NULL);
    free(tids);
    free(t.results);
    return s;
}

/* ---- the C process pool ---------------------------------------------------------- */

static double run_processes(long n, int64_t work_ns, int workers, int batch, int ring,
                            long *failed)
{
    struct procpool_opts o = { .workers = workers, .batch = batch,
                               .transport = ring ? PROCPOOL_RING : PROCPOOL_PIPE };
    struct procpool *p = procpool_create(&o);
    int64_t t0 = now_ns();
    if (batch > 1) {
        int64_t *args = xcalloc((size_t)n, sizeof *args);
        struct procpool_result *res = xcalloc((size_t)n, sizeof *res);
        for (long i = 0; i < n; i++)
            args[i] = work_ns;
        *failed = (long)procpool_map(p, task_spin, args, (size_t)n, res);
        free(args);
        free(res);
    } else {
        struct procpool_task **h = xcalloc((size_t)n, sizeof *h);
        for (long i = 0; i < n; i++)
            h[i] = procpool_submit(p, task_spin, work_ns);
        for (long i = 0; i < n; i++) {
            struct procpool_result r;
            procpool_get(h[i], -1, &r);
            *failed += r.state != PROCPOOL_DONE;
            procpool_task_free(h[i]);
        }
        free(h);
    }
    double s = (double)(now_ns() - t0) / 1e9;
    procpool_close(p);
    procpool_join(p);
    procpool_free(p);
    return s;
}

/* ---- the Python peer: it times itself and prints "tasks_per_s VALUE" -------------- */

static int run_python(const struct bench_opts *o, const char *mode, long n, double work_us,
                      int workers, double *rate)
{
    char tasks[32], us[32], nworkers[32];
    snprintf(tasks, sizeof tasks, "%ld", n);
    snprintf(us, sizeof us, "%g", work_us);
    snprintf(nworkers, sizeof nworkers, "%d", workers);
    const char *args[] = { "--mode", mode, "--tasks", tasks, "--work-us", us,
                           "--workers", nworkers, NULL };
    return bench_peer_value(o, args, "tasks_per_s", rate);
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    int v = p->kind;
    int workers = cpu_count();
    double target = o->seconds;
    double ideal = p->x > 0 ? workers * 1e6 / p->x : peak[v];
    long n = (long)(target * (ideal < peak[v] ? ideal : peak[v]));
    if (n < 20)
        n = 20;
    int64_t work_ns = (int64_t)(p->x * 1000);

    if (v == PY_APPLY_ASYNC || v == PY_MAP_CHUNKED)
        return run_python(o, v == PY_APPLY_ASYNC ? "apply_async" : "map", n, p->x, workers,
                          &values[0]);
    long failed = 0;
    /* Batched, a worker takes up to 64 records per lock - fewer when there are few tasks,
     * by the rule Python's map uses for its chunks (tasks / (4 x workers)), so that one
     * worker does not take everything while the others wait. */
    long batch = n / (4L * workers);
    int batched = v == C_PROCESSES_BATCH || v == C_RING_BATCH;
    batch = !batched ? 1 : batch < 1 ? 1 : batch > 64 ? 64 : batch;
    double s = v == C_THREADS ? run_threads(n, work_ns, workers)
             : run_processes(n, work_ns, workers, (int)batch,
                             v == C_RING || v == C_RING_BATCH, &failed);
    if (failed) {
        fprintf(stderr, "pool: %s: %ld of %ld tasks failed\n", p->variant, failed, n);
        return -1;
    }
    values[0] = (double)n / s;
    return 0;
}

static const struct bench_def def = {
    .name = "pool",
    .x_name = "work_per_task",
    .x_unit = "us",
    .usage =
        "pool (bench) - tasks/s through a pool against the work per task (0 .. 1000 us):\n"
        "               C process pool (one by one, batched), C thread pool, Python's Pool\n"
        "               (apply_async per task, map with chunks); the process pool through\n"
        "               pipes and through shared-memory rings\n"
        "\n"
        "Usage: bench_pool [--seconds S] [--peers DIR] [--python PATH] [common flags]\n",
    .metrics = { { "tasks_per_s", "tasks/s" } },
    .seconds_quick = 0.1,
    .seconds_full = 0.5,
    .peer = "pool_peer.py",
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
