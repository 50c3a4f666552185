/* bench_heap.c - push+pop pairs per second on one shared heap against the number of
 *                  processes: the shared-memory heap and seed 001's manager-served heap
 *
 * c-shm: P processes share shheap.c's heap of 300 000 records in shared memory; each
 * loops "lock, pop, unlock, new key, lock, push, unlock" - the shared_heap demo's worker
 * without the demo's checks. py-manager: bench/peers/manager_heap.py, the seed's design: a
 * BaseManager server process owns a Python heap and every pop and push is a round trip to
 * it. x = P, 1 .. 2 x CPUs. Each run counts the pairs completed in a fixed window after
 * every process is ready (set-up and heap building are outside the window).
 * Expect: c-shm is flat or falls a little with P - one lock serialises every operation and
 * its cache line moves between cores - and stays far above py-manager, whose every call
 * is two context switches and a pickle each way.
 */
#include "core.h"
#include "harness.h"
#include "shared.h"
#include "shheap.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


#define RECORDS 300000

enum { C_SHM, PY_MANAGER };                 /* the variants: a point's kind */

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    (void)o;
    static const char *variants[] = { [C_SHM] = "c-shm", [PY_MANAGER] = "py-manager" };
    long xs[64];
    size_t nx = bench_steps(2L * cpu_count(), cpu_count(), xs, 64), n = 0;
    for (size_t v = 0; v < 2; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = variants[v], .x = (double)xs[i],
                                             .kind = (int)v };
    return n;
}

static uint64_t key_volume(const struct shheap_record *r)
{
    return (uint64_t)r->l * r->w * r->h;
}

struct start {
    atomic_int ready, go, stop;
    struct { _Alignas(64) uint64_t pairs; } w[SHHEAP_MAX_HANDS];
};

static void c_worker(struct shheap *h, struct start *st, uint32_t k)
{
    uint64_t x = 0x9e3779b97f4a7c15u * (k + 1), pairs = 0;
    atomic_fetch_add(&st->ready, 1);
    while (!atomic_load(&st->go))
        ;
    while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
        shheap_lock(h, key_volume);
        uint32_t id = shheap_pop(h, k, 0);
        shheap_unlock(h);
        if (id != SHHEAP_NONE) {
            struct shheap_record *r = &shheap_records(h)[id];
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            r->l = (uint16_t)(1 + x % 100), r->w = (uint16_t)(1 + (x >> 8) % 100),
            r->h = (uint16_t)(1 + (x >> 16) % 100);
            shheap_lock(h, key_volume);
            shheap_push(h, key_volume, k);
            shheap_unlock(h);
        }
        pairs++;
    }
    st->w[k].pairs = pairs;
    _exit(0);
}

static int run_c(long procs, double secs, double *rate)
{
    size_t size = shheap_size(RECORDS);
    struct shheap *h = shared_map(size);
    struct start *st = shared_map(sizeof *st);
    shheap_init(h, RECORDS, (uint32_t)procs);
    uint64_t x = 88172645463325252u;
    for (uint32_t i = 0; i < RECORDS; i++) {
        struct shheap_record *r = &shheap_records(h)[i];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        r->l = (uint16_t)(1 + x % 100), r->w = (uint16_t)(1 + (x >> 8) % 100),
        r->h = (uint16_t)(1 + (x >> 16) % 100);
    }
    shheap_rebuild(h, key_volume);
    fflush(NULL);
    pid_t parent = getpid(), pids[SHHEAP_MAX_HANDS];
    for (long k = 0; k < procs; k++)
        if ((pids[k] = xfork()) == 0) {
            end_with_parent(parent, SIGKILL);
            c_worker(h, st, (uint32_t)k);
        }
    while (atomic_load(&st->ready) < procs)
        sleep_ns(100000);
    int64_t t0 = now_ns();
    atomic_store(&st->go, 1);
    sleep_ns((int64_t)(secs * 1e9));
    atomic_store(&st->stop, 1);
    double elapsed = (double)(now_ns() - t0) / 1e9;
    int failed = 0;
    uint64_t pairs = 0;
    for (long k = 0; k < procs; k++) {
        int status;
        xwaitpid(pids[k], &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        pairs += st->w[k].pairs;
    }
    shheap_lock(h, key_volume);
    int valid = shheap_valid(h, key_volume) && h->n == RECORDS;
    shheap_unlock(h);
    shared_unmap(h, size);
    shared_unmap(st, sizeof *st);
    if (failed || !valid) {
        fprintf(stderr, "heap: c-shm %ld: %s\n", procs,
                failed ? "a worker failed" : "the heap lost its shape");
        return -1;
    }
    *rate = (double)pairs / elapsed;
    return 0;
}

/* Run the Python peer; it prints "pairs_per_s=VALUE". */
static int run_py(const struct bench_opts *o, long procs, double *rate)
{
    char n[32], secs[32];
    snprintf(n, sizeof n, "%ld", procs);
    snprintf(secs, sizeof secs, "%g", o->seconds);
    const char *args[] = { "--processes", n, "--seconds", secs, NULL };
    return bench_peer_value(o, args, "pairs_per_s", rate);
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    long procs = (long)p->x;
    if (p->kind == C_SHM)
        return run_c(procs, o->seconds, &values[0]);
    return run_py(o, procs, &values[0]);
}

static const struct bench_def def = {
    .name = "heap",
    .x_name = "processes",
    .x_unit = "processes",
    .usage =
        "heap (bench) - push+pop pairs per second on one heap shared by P processes, P = 1 ..\n"
        "               2 x CPUs: the shared-memory heap and a manager-served Python heap\n"
        "\n"
        "Usage: bench_heap [--seconds S] [--peers DIR] [--python PATH] [common flags]\n",
    .metrics = { { "pairs_per_s", "pairs/s" } },
    .seconds_quick = 0.3,
    .seconds_full = 1.0,
    .peer = "manager_heap.py",
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
