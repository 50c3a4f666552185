/* false_sharing_model.c - N threads, each incrementing a counter of its own: the counters
 *                         packed side by side, or padded 64 or 128 bytes apart
 *
 * The contract is in false_sharing_model.h. The parts to read: counter_at(), where the
 * layout decides the address, and increment().
 */
#include "core.h"
#include "false_sharing_model.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const fs_layout_names[] = { "packed", "pad64", "pad128", NULL };
const int fs_layout_stride[] = { 8, 64, 128 };
const char *const fs_place_names[] = { "unpinned", "same-cpu", "spread", NULL };

#define BATCH 1024                       /* increments between looks at the stop flag */

struct worker {
    _Alignas(128) _Atomic uint64_t *counter;   /* its counter, where the layout put it */
    long index;
    uint64_t done;                       /* increments made, counted in a register */
    int64_t began, finished;             /* its own clock: main may not be on a CPU yet */
    int64_t cpu_ns;                      /* its CPU time while incrementing */
};

static struct {
    const struct fs_config *c;
    pthread_barrier_t start;
    _Alignas(128) atomic_int stop;       /* a line of its own: only read in the loops */
} sh;

/* [snippet:layout] */
/* Counter i sits `stride` bytes after counter i-1: 8 puts eight of them in one 64-byte
 * cache line, 64 gives each a line, 128 a pair of lines. */
static _Atomic uint64_t *counter_at(char *base, enum fs_layout layout, long i)
{
    return (_Atomic uint64_t *)(base + (size_t)i * (size_t)fs_layout_stride[layout]);
}

/* A load and a store, not an atomic add: the thread is its counter's only writer, so
 * nothing is lost, and the store is a plain one - the cost measured is the cache line's
 * travel, not a locked instruction's. */
static inline void increment(_Atomic uint64_t *c)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v + 1, memory_order_relaxed);
}
/* [/snippet:layout] */

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct fs_config *c = sh.c;
    if (c->place != FS_UNPINNED) {
        int cpu = cpu_id(c->place == FS_SAME_CPU ? 0 : (int)w->index);
        int s = pin_to_cpu(cpu);
        if (s != 0)
            die_code("sched_setaffinity", s);
    }
    pthread_barrier_wait(&sh.start);
    w->began = now_ns();
    int64_t cpu0 = thread_cpu_ns();
    uint64_t done = 0;
    if (c->count > 0) {
        for (long k = 0; k < c->count; k++)
            increment(w->counter);
        done = (uint64_t)c->count;
    } else {
        while (!atomic_load_explicit(&sh.stop, memory_order_relaxed)) {
            for (int k = 0; k < BATCH; k++)
                increment(w->counter);
            done += BATCH;
        }
    }
    w->cpu_ns = thread_cpu_ns() - cpu0;
    w->finished = now_ns();
    w->done = done;
    return NULL;
}

void fs_run(const struct fs_config *c, struct fs_result *r)
{
    long n = c->threads;
    /* 128-byte aligned, so the layout alone decides which counters share a line. */
    size_t bytes = (size_t)n * (size_t)fs_layout_stride[c->layout];
    bytes = (bytes + 127) / 128 * 128;
    char *base = aligned_alloc(128, bytes);
    if (!base)
        die_errno("aligned_alloc");
    memset(base, 0, bytes);
    struct worker *w = aligned_alloc(128, (size_t)n * sizeof *w);
    if (!w)
        die_errno("aligned_alloc");
    memset(w, 0, (size_t)n * sizeof *w);
    pthread_t *tids = xcalloc((size_t)n, sizeof *tids);

    sh.c = c;
    atomic_store(&sh.stop, 0);
    int s = pthread_barrier_init(&sh.start, NULL, (unsigned)n + 1);
    if (s != 0)
        die_code("pthread_barrier_init", s);
    for (long i = 0; i < n; i++) {
        w[i].counter = counter_at(base, c->layout, i);
        w[i].index = i;
        xpthread_create(&tids[i], NULL, worker_main, &w[i]);
    }
    pthread_barrier_wait(&sh.start);
    if (c->count == 0) {
        sleep_ns((int64_t)(c->seconds * 1e9));
        atomic_store(&sh.stop, 1);
    }
    for (long i = 0; i < n; i++)
        xpthread_join(tids[i], NULL);

    memset(r, 0, sizeof *r);
    int64_t first = w[0].began, last = w[0].finished;
    r->slowest = r->fastest = w[0].done;
    int64_t cpu = 0;
    for (long i = 0; i < n; i++) {
        cpu += w[i].cpu_ns;
        r->total += atomic_load(w[i].counter);
        r->counted += w[i].done;
        first = w[i].began < first ? w[i].began : first;
        last = w[i].finished > last ? w[i].finished : last;
        r->slowest = w[i].done < r->slowest ? w[i].done : r->slowest;
        r->fastest = w[i].done > r->fastest ? w[i].done : r->fastest;
    }
    r->wall_s = (double)(last - first) / 1e9;
    r->cpu_ns_per_inc = r->counted ? (double)cpu / (double)r->counted : 0;
    pthread_barrier_destroy(&sh.start);
    free(tids);
    free(w);
    free(base);
}
