/* bench_locks.c - what a protected increment costs: mutex, spinlock, atomic add and
 *                  per-thread counters, against 1 .. 2 x CPUs threads; lost updates unprotected
 *
 * Each point starts T threads on a barrier; every thread increments a counter in a loop
 * for a fixed time, then the counts are added up. ns_per_inc is the wall time (from the
 * first thread's start to the last one's finish, each stamped by the thread itself)
 * divided by all the increments the threads made together - the cost of one increment as
 * the whole machine sees it, so perfect scaling would make it fall as 1/T. An increment is
 * one change of +1 to the race demo's balance (demos/threads/counters.c, the same code),
 * without the demo's tally of changes: the threads count their own. Variants:
 *   mutex       pthread_mutex_lock; balance++; unlock          (one shared balance)
 *   spin        the same with a pthread spinlock
 *   atomic      atomic_fetch_add on the shared balance         (a `lock add` on x86)
 *   per-thread  each thread changes its own balance on its own cache line; the
 *               balances are merged at the end - what a program does when it can
 *   none        balance++ on the shared balance without protection: fast and wrong;
 *               lost_pct says how many of its increments vanished
 * The account is touched through a volatile pointer so every change is a real load
 * and store, not a register the compiler keeps. Every protected variant must end exact
 * (a lost increment there fails the bench).
 */
#include "core.h"
#include "counters.h"
#include "harness.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


/* The series, in the chart's order: each named as race's --lock names it. */
static const enum counter_lock order[] = { COUNTER_MUTEX, COUNTER_SPIN, COUNTER_ATOMIC,
                                           COUNTER_PER_THREAD, COUNTER_NONE };

struct slot {                        /* one thread's count, on its own cache line */
    _Alignas(64) long done;          /* increments this thread made */
    struct counter_own *own;         /* per-thread: the thread's private account */
    int64_t began, finished;         /* when this thread started and stopped incrementing */
};

static struct {
    pthread_barrier_t start;
    atomic_int stop;
    struct counters c;               /* the race demo's account and locks (counters.h) */
} sh;

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    (void)o;
    long xs[64];
    size_t nx = bench_steps(2L * cpu_count(), cpu_count(), xs, 64), n = 0;
    for (size_t v = 0; v < sizeof order / sizeof *order; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = counter_lock_names[order[v]],
                                             .x = (double)xs[i], .kind = order[v] };
    return n;
}

#define BATCH 256                    /* increments between looks at the stop flag */

static void *worker(void *arg)
{
    struct slot *me = arg;
    long done = 0;
    pthread_barrier_wait(&sh.start);
    me->began = now_ns();            /* our own clock: main may not be on a CPU yet */
    while (!atomic_load_explicit(&sh.stop, memory_order_relaxed)) {
        for (int i = 0; i < BATCH; i++)
            counters_change(&sh.c, me->own, 1);
        done += BATCH;
    }
    me->finished = now_ns();
    me->done = done;
    return NULL;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    long t = (long)p->x;
    double secs = o->seconds;
    enum counter_lock lock = (enum counter_lock)p->kind;
    counters_init(&sh.c, lock, 0, 0);   /* a bare increment: no tally */
    atomic_store(&sh.stop, 0);
    int s = pthread_barrier_init(&sh.start, NULL, (unsigned)t + 1);
    if (s != 0)
        die_code("pthread_barrier_init", s);

    /* malloc only promises 16-byte alignment; the slots and accounts need their 64. */
    struct slot *slots = aligned_alloc(64, (size_t)t * sizeof *slots);
    struct counter_own *owns = aligned_alloc(64, (size_t)t * sizeof *owns);
    if (!slots || !owns)
        die_errno("aligned_alloc");
    memset(slots, 0, (size_t)t * sizeof *slots);
    memset(owns, 0, (size_t)t * sizeof *owns);
    for (long i = 0; i < t; i++)
        slots[i].own = &owns[i];
    pthread_t *tids = xcalloc((size_t)t, sizeof *tids);
    for (long i = 0; i < t; i++)
        xpthread_create(&tids[i], NULL, worker, &slots[i]);
    pthread_barrier_wait(&sh.start);
    sleep_ns((int64_t)(secs * 1e9));
    atomic_store(&sh.stop, 1);
    for (long i = 0; i < t; i++)
        xpthread_join(tids[i], NULL);
    /* The increments ran from the first start to the last finish, as the workers saw it:
     * waking them off the barrier, waking main, and the joins are not increment time. */
    int64_t first = slots[0].began, last = slots[0].finished;
    for (long i = 1; i < t; i++) {
        first = slots[i].began < first ? slots[i].began : first;
        last = slots[i].finished > last ? slots[i].finished : last;
    }
    int64_t ns = last - first;

    long total = 0;
    for (long i = 0; i < t; i++)
        total += slots[i].done;
    long counted = counters_total(&sh.c, owns, t).balance;   /* +1 each */
    free(tids);
    free(slots);
    free(owns);
    pthread_barrier_destroy(&sh.start);
    counters_destroy(&sh.c);

    values[0] = (double)ns / (double)total;
    values[1] = 100.0 * (double)(total - counted) / (double)total;
    if (lock != COUNTER_NONE && counted != total) {
        fprintf(stderr, "locks: %s lost %ld of %ld increments: a broken lock\n", p->variant,
                total - counted, total);
        return -1;
    }
    return 0;
}

static const struct bench_def def = {
    .name = "locks",
    .x_name = "threads",
    .x_unit = "threads",
    .usage =
        "locks (bench) - ns per protected increment against threads (1 .. 2 x CPUs) for a\n"
        "                mutex, a spinlock, an atomic add and per-thread counters; lost\n"
        "                updates without protection\n"
        "\n"
        "Usage: bench_locks [--seconds S] [common flags]\n",
    .metrics = { { "ns_per_inc", "ns" }, { "lost_pct", "%" } },
    .seconds_quick = 0.1,
    .seconds_full = 0.5,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
