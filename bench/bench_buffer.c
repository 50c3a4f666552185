/* bench_buffer.c - items/s through a bounded buffer against producers x consumers: the
 *                  condition-variable ring, the semaphore ring, a pipe between threads,
 *                  and a lock-free single-producer single-consumer ring
 *
 * Each point starts P producer and C consumer threads on a barrier (unpinned: the
 * scheduler places them). Producers put numbered items as fast as they can until the run's
 * time is up (--seconds), then main closes the buffer and the consumers drain it and stop.
 * items_per_s is the items consumed divided by the wall time from the first thread's start
 * to the last consumer's finish, each stamped by the thread itself. Every run checks
 * conservation - as many items consumed as produced, and the same sum of their numbers -
 * and fails the bench if not. Variants (x = threads a side):
 *   condvar       demos/threads/ring_buffer.c's cv_ring (a mutex, not_full and not_empty
 *                 waited on in while loops, pthread_cond_signal): P = C = x
 *   semaphores    its sem_ring (sem_t free_slots and filled, and a mutex): P = C = x
 *   pipe-threads  a pipe between the threads: one write() of an 8-byte item per put, one
 *                 read() of 8 bytes per take; no framing is needed because every item has
 *                 the same size (demos/processes/queue.c frames records of varying size
 *                 between processes; this is the same kernel path, between threads).
 *                 Its buffer is set to 8 KiB (F_SETPIPE_SZ) = 1024 items, the rings' size
 *   spsc          its spsc_ring (C11 atomics, release/acquire, no lock): only 1 x 1
 *   NAME-1xN      the same with 1 producer and x consumers (who wait for work)
 *   NAME-Nx1      x producers and 1 consumer (producers wait for room)
 * Every ring has RING_SLOTS slots. Wakeups cost system calls (futex) only when a thread
 * must sleep; a pipe pays two system calls per item whatever happens.
 */
#include "core.h"
#include "harness.h"
#include "ring_buffer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_SLOTS 1024
#define MAX_SIDE 16

enum mech { CONDVAR, SEMAPHORES, PIPE, SPSC, NMECH };
enum shape { BALANCED, ONE_TO_MANY, MANY_TO_ONE };
static const char *const names[NMECH][3] = {
    [CONDVAR] = { "condvar", "condvar-1xN", "condvar-Nx1" },
    [SEMAPHORES] = { "semaphores", "semaphores-1xN", "semaphores-Nx1" },
    [PIPE] = { "pipe-threads", "pipe-threads-1xN", "pipe-threads-Nx1" },
    [SPSC] = { "spsc", NULL, NULL },
};

struct side {                        /* one thread's tallies, on its own cache line */
    _Alignas(64) long items;         /* produced or consumed */
    uint64_t sum;                    /* of their numbers */
    int64_t began, finished;
};

static struct {
    enum mech mech;
    pthread_barrier_t start;
    atomic_int stop;
    struct cv_ring cv;
    struct sem_ring sem;
    struct spsc_ring spsc;
    int pipe_fd[2];
    struct side prod[MAX_SIDE], cons[MAX_SIDE];
} sh;

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const long quick[] = { 1, 2, 4 }, full[] = { 1, 2, 4, 8, 16 };
    const long *xs = o->full ? full : quick;
    size_t nx = o->full ? 5 : 3, n = 0;
    /* The balanced series first, then the skewed ones: the charts pick blocks by order. */
    for (int m = 0; m < NMECH; m++)
        for (size_t i = 0; i < nx && n < max; i++)
            if (m != SPSC || xs[i] == 1)
                pts[n++] = (struct bench_point){ .variant = names[m][BALANCED],
                                                 .x = (double)xs[i], .kind = m };
    for (int shape = ONE_TO_MANY; shape <= MANY_TO_ONE; shape++)
        for (int m = 0; m < SPSC; m++)
            for (size_t i = 1; i < nx && n < max; i++)     /* x = 1 is the balanced 1 x 1 */
                pts[n++] = (struct bench_point){ .variant = names[m][shape],
                                                 .x = (double)xs[i], .kind = m + NMECH * shape };
    return n;
}

static void put(uint64_t item)
{
    switch (sh.mech) {
    case CONDVAR:    cv_ring_put(&sh.cv, item); break;
    case SEMAPHORES: sem_ring_put(&sh.sem, item); break;
    case SPSC:       spsc_ring_put(&sh.spsc, item); break;
    case PIPE:
    default: {
        ssize_t w = write(sh.pipe_fd[1], &item, sizeof item);
        if (w == -1)
            die_errno("write (pipe)");
        CHECK(w == sizeof item);     /* at most PIPE_BUF bytes: all or nothing */
    }
    }
}

/* 1 and an item, or 0 when the buffer is closed and empty. */
static int get(uint64_t *item)
{
    switch (sh.mech) {
    case CONDVAR:    return cv_ring_get(&sh.cv, item);
    case SEMAPHORES: return sem_ring_get(&sh.sem, item);
    case SPSC:       return spsc_ring_get(&sh.spsc, item);
    case PIPE:
    default:
        for (;;) {
            /* Every write is 8 bytes and atomic, so the pipe always holds whole items and
             * a read of 8 bytes gets one whole item or, once every write end is closed, 0. */
            ssize_t r = read(sh.pipe_fd[0], item, sizeof *item);
            if (r == -1 && errno == EINTR)
                continue;
            if (r == -1)
                die_errno("read (pipe)");
            CHECK(r == 0 || r == sizeof *item);
            return r != 0;
        }
    }
}

static void *producer(void *arg)
{
    struct side *me = arg;
    uint64_t item = (uint64_t)(me - sh.prod) << 40, sum = 0;   /* its own numbers */
    long n = 0;
    pthread_barrier_wait(&sh.start);
    me->began = now_ns();
    /* At least one item each, even when the main thread's --seconds runs out before this
     * thread is first scheduled (a busy or sanitized machine): zero items would read as a
     * broken buffer. */
    do {
        put(item);
        sum += item++;
        n++;
    } while (!atomic_load_explicit(&sh.stop, memory_order_relaxed));
    me->items = n, me->sum = sum;
    return NULL;
}

static void *consumer(void *arg)
{
    struct side *me = arg;
    uint64_t item, sum = 0;
    long n = 0;
    pthread_barrier_wait(&sh.start);
    me->began = now_ns();
    while (get(&item)) {
        sum += item;
        n++;
    }
    me->finished = now_ns();
    me->items = n, me->sum = sum;
    return NULL;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    long x = (long)p->x;
    sh.mech = (enum mech)(p->kind % NMECH);
    enum shape shape = (enum shape)(p->kind / NMECH);
    long np = shape == ONE_TO_MANY ? 1 : x, nc = shape == MANY_TO_ONE ? 1 : x;

    switch (sh.mech) {
    case CONDVAR:    cv_ring_init(&sh.cv, RING_SLOTS, RING_WAIT_WHILE, RING_WAKE_SIGNAL); break;
    case SEMAPHORES: sem_ring_init(&sh.sem, RING_SLOTS); break;
    case SPSC:       spsc_ring_init(&sh.spsc, RING_SLOTS); break;
    case PIPE:
    default:
        xpipe(sh.pipe_fd);
        if (fcntl(sh.pipe_fd[1], F_SETPIPE_SZ, RING_SLOTS * (int)sizeof(uint64_t)) == -1)
            die_errno("fcntl F_SETPIPE_SZ");
    }
    memset(sh.prod, 0, sizeof sh.prod);
    memset(sh.cons, 0, sizeof sh.cons);
    atomic_store(&sh.stop, 0);
    int s = pthread_barrier_init(&sh.start, NULL, (unsigned)(np + nc + 1));
    if (s != 0)
        die_code("pthread_barrier_init", s);
    pthread_t pt[MAX_SIDE], ct[MAX_SIDE];
    for (long i = 0; i < nc; i++)
        xpthread_create(&ct[i], NULL, consumer, &sh.cons[i]);
    for (long i = 0; i < np; i++)
        xpthread_create(&pt[i], NULL, producer, &sh.prod[i]);
    pthread_barrier_wait(&sh.start);
    sleep_ns((int64_t)(o->seconds * 1e9));
    atomic_store(&sh.stop, 1);
    for (long i = 0; i < np; i++)
        xpthread_join(pt[i], NULL);
    switch (sh.mech) {               /* no more puts: the consumers drain and stop */
    case CONDVAR:    cv_ring_close(&sh.cv); break;
    case SEMAPHORES: sem_ring_close(&sh.sem); break;
    case SPSC:       spsc_ring_close(&sh.spsc); break;
    case PIPE:
    default:         close(sh.pipe_fd[1]); break;   /* the readers get end of file */
    }
    for (long i = 0; i < nc; i++)
        xpthread_join(ct[i], NULL);

    long made = 0, taken = 0;
    uint64_t made_sum = 0, taken_sum = 0;
    int64_t first = sh.prod[0].began, last = sh.cons[0].finished;
    for (long i = 0; i < np; i++) {
        made += sh.prod[i].items, made_sum += sh.prod[i].sum;
        first = sh.prod[i].began < first ? sh.prod[i].began : first;
    }
    for (long i = 0; i < nc; i++) {
        taken += sh.cons[i].items, taken_sum += sh.cons[i].sum;
        first = sh.cons[i].began < first ? sh.cons[i].began : first;
        last = sh.cons[i].finished > last ? sh.cons[i].finished : last;
    }
    switch (sh.mech) {
    case CONDVAR:    cv_ring_destroy(&sh.cv); break;
    case SEMAPHORES: sem_ring_destroy(&sh.sem); break;
    case SPSC:       spsc_ring_destroy(&sh.spsc); break;
    case PIPE:
    default:         close(sh.pipe_fd[0]); break;
    }
    pthread_barrier_destroy(&sh.start);

    if (made != taken || made_sum != taken_sum || taken == 0) {
        fprintf(stderr, "buffer: %s: %ld items produced, %ld consumed (sums %s): a broken "
                "buffer\n", p->variant, made, taken, made_sum == taken_sum ? "equal" : "differ");
        return -1;
    }
    values[0] = (double)taken * 1e9 / (double)(last - first);
    return 0;
}

static const struct bench_def def = {
    .name = "buffer",
    .x_name = "threads_a_side",
    .x_unit = "threads",
    .usage =
        "buffer (bench) - items/s through a bounded buffer of 1024 slots against producers\n"
        "                 x consumers: condition variables, semaphores, a pipe between\n"
        "                 threads, a lock-free SPSC ring (1 x 1)\n"
        "\n"
        "Usage: bench_buffer [--seconds S] [common flags]\n",
    .metrics = { { "items_per_s", "items/s" } },
    .seconds_quick = 0.1,
    .seconds_full = 0.5,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
