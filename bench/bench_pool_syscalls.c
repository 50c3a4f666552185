/* bench_pool_syscalls.c - system calls per task through a process pool: the C pool through
 *                          pipes and through shared-memory rings, and Python's Pool
 *
 * Where does a pool's time go when the tasks are empty? Into the kernel, mostly. Each
 * point runs a pool of CPU-count workers under `strace -f -qq -o FILE` (every process, the
 * workers included, one line per system call) for empty tasks, counts the lines by system
 * call, and does it twice, for N/10 and for N tasks: the difference divided by the
 * difference in tasks is the cost of one more task, start-up and shutdown (fork, mmap,
 * exec, imports) cancelled out. Families: read/write (the pipes), futex (the ring's sleeps
 * and wake-ups, the pipe transport's contended locks, Python's queue locks), poll, and the
 * rest. The variants:
 *   pipe, pipe-batch     procpool.c's default transport, one by one (apply_async) and
 *                        map with batched takes (up to 64 records per lock)
 *   ring, ring-batch     the same through --transport ring
 *   py-apply-async       bench/peers/pool_peer.py, apply_async per task
 *   py-map-chunked       the same peer, Pool.map with its default chunks
 * The C pools run in a child of this program (it starts itself again with --pool-run,
 * which is not for people); strace stops a process at every system call, so these runs
 * count, they never time, and a side that waits longer under strace may sleep (and pay a
 * futex pair) where an untraced run would not: the ring's counts are an upper bound.
 * Without strace every point is skipped.
 */
#include "core.h"
#include "harness.h"
#include "procpool.h"
#include "shared.h"
#include "spawn_capture.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { PIPE, PIPE_BATCH, RING, RING_BATCH, PY_APPLY_ASYNC, PY_MAP_CHUNKED };
static const char *variants[] = { "pipe", "pipe-batch", "ring", "ring-batch",
                                  "py-apply-async", "py-map-chunked" };
enum { M_TOTAL, M_RW, M_FUTEX, M_POLL, M_OTHER, M_COUNT };

static long tasks = -1;                     /* --tasks: N (-1: the mode's) */

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--tasks") != 0)
        return 0;
    tasks = parse_long(name, value, 100, 100000000);
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    size_t n = 0;
    (void)o;
    for (size_t v = 0; v < sizeof variants / sizeof *variants && n < max; v++)
        pts[n++] = (struct bench_point){ .variant = variants[v], .x = cpu_count(),
                                         .kind = (int)v };
    return n;
}

/* ---- the C pool, in the child that strace follows ---------------------------------- */

static int task_empty(int64_t arg, int64_t *value)
{
    *value = arg;
    return 0;
}

/* Run n empty tasks through a pool of `workers` workers, as variant `kind`; exit status 0
 * when every one came back done. Batched, a worker takes up to 64 records at once (fewer
 * by Python's chunk rule, as bench_pool does). */
static int pool_run(int kind, long n, int workers)
{
    long batch = n / (4L * workers);
    int batched = kind == PIPE_BATCH || kind == RING_BATCH;
    batch = !batched ? 1 : batch < 1 ? 1 : batch > 64 ? 64 : batch;
    struct procpool_opts o = { .workers = workers, .batch = (int)batch,
                               .transport = kind >= RING ? PROCPOOL_RING : PROCPOOL_PIPE };
    struct procpool *p = procpool_create(&o);
    long failed = 0;
    if (batched) {
        int64_t *args = xcalloc((size_t)n, sizeof *args);
        struct procpool_result *res = xcalloc((size_t)n, sizeof *res);
        failed = (long)procpool_map(p, task_empty, args, (size_t)n, res);
        free(args);
        free(res);
    } else {
        struct procpool_task **h = xcalloc((size_t)n, sizeof *h);
        for (long i = 0; i < n; i++)
            h[i] = procpool_submit(p, task_empty, i);
        for (long i = 0; i < n; i++) {
            struct procpool_result r;
            procpool_get(h[i], -1, &r);
            failed += r.state != PROCPOOL_DONE || r.value != i;
            procpool_task_free(h[i]);
        }
        free(h);
    }
    procpool_close(p);
    procpool_join(p);
    procpool_free(p);
    return failed ? 1 : 0;
}

/* ---- the count ------------------------------------------------------------------- */

/* Which family a system call belongs to. */
static int family(const char *name)
{
    if (!strcmp(name, "read") || !strcmp(name, "write"))
        return M_RW;
    if (!strcmp(name, "futex"))
        return M_FUTEX;
    if (!strcmp(name, "poll") || !strcmp(name, "ppoll"))
        return M_POLL;
    return M_OTHER;
}

/* Count strace's lines in `file` into calls[] by family. With -f each line starts with
 * the pid, then the call's name and '('; a call that another process interrupted shows
 * twice, "name(... <unfinished ...>" and "<... name resumed>": count the first only.
 * Signals ("--- SIG") and exits ("+++") are not calls. */
static int count_calls(const char *file, double *calls)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fprintf(stderr, "pool_syscalls: %s: %s\n", file, strerror(errno)), -1;
    char line[512], name[64];
    int pid;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        int whole = len > 0 && line[len - 1] == '\n';
        if (sscanf(line, "%d %63[a-z0-9_](", &pid, name) == 2) {
            calls[M_TOTAL]++;
            calls[family(name)]++;
        }
        while (!whole && fgets(line, sizeof line, f))     /* the rest of a long line */
            whole = line[strlen(line) - 1] == '\n';
    }
    fclose(f);
    return 0;
}

/* Run argv (a pool of n tasks) under strace and add its calls into calls[]. Returns 0,
 * 1 when strace is missing (said: skip), -1 when the run failed (said). */
static int traced(const char *const *argv, double *calls)
{
    char file[] = "/tmp/bench-pool-syscalls-XXXXXX";
    int fd = mkstemp(file);
    if (fd == -1)
        die_errno("mkstemp");
    close(fd);
    const char *args[24] = { "strace", "-f", "-qq", "-o", file };
    size_t a = 5;
    for (size_t i = 0; argv[i] && a < 23; i++)
        args[a++] = argv[i];
    args[a] = NULL;
    char out[4096];
    int status, r = 0;
    struct spawn_opts so = { .out = SPAWN_PIPE, .err = SPAWN_PIPE };
    /* In an AddressSanitizer build the traced pool would end in LeakSanitizer, which
     * cannot work under ptrace and fails the run: no leak check in the traced child (the
     * pool's own tests check for leaks). Harmless in other builds and for Python. */
    static char asan[512];
    if (!asan[0]) {
        const char *old = getenv("ASAN_OPTIONS");
        snprintf(asan, sizeof asan, "%s%sdetect_leaks=0", old ? old : "", old ? ":" : "");
        if (setenv("ASAN_OPTIONS", asan, 1) == -1)
            die_errno("setenv");
    }
    if (spawn_capture((char *const *)args, &so, out, sizeof out, &status) == SPAWN_MISSING) {
        fprintf(stderr, "pool_syscalls: strace is not installed (apt-get install strace) - "
                        "skipped\n");
        r = 1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const char *tail = strlen(out) > 300 ? out + strlen(out) - 300 : out;
        fprintf(stderr, "pool_syscalls: %s under strace failed: ...%s\n", argv[0], tail);
        r = -1;
    } else {
        r = count_calls(file, calls);
    }
    unlink(file);
    return r;
}

static const char *opt_python, *opt_peer;   /* for the Python variants */

/* The calls of one run of n tasks, into calls[M_COUNT] (zeroed first). */
static int count_run(int kind, long n, int workers, double *calls)
{
    char tn[32], wn[32], kn[32], self[PATH_MAX];
    snprintf(tn, sizeof tn, "%ld", n);
    snprintf(wn, sizeof wn, "%d", workers);
    snprintf(kn, sizeof kn, "%d", kind);
    memset(calls, 0, M_COUNT * sizeof *calls);
    if (kind == PY_APPLY_ASYNC || kind == PY_MAP_CHUNKED) {
        const char *argv[] = { opt_python, opt_peer, "--mode",
                               kind == PY_APPLY_ASYNC ? "apply_async" : "map", "--tasks", tn,
                               "--work-us", "0", "--workers", wn, NULL };
        return traced(argv, calls);
    }
    const char *argv[] = { sibling_program("bench_pool_syscalls", self, sizeof self),
                           "--pool-run", kn, tn, wn, NULL };
    return traced(argv, calls);
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    int py = p->kind == PY_APPLY_ASYNC || p->kind == PY_MAP_CHUNKED;
    if (py && bench_peer_missing(o))
        return 1;
    opt_python = o->python, opt_peer = o->peer;
    long n = tasks > 0 ? tasks : o->full ? 50000 : 10000;
    double small[M_COUNT], big[M_COUNT];
    int r = count_run(p->kind, n / 10, (int)p->x, small);
    if (r == 0)
        r = count_run(p->kind, n, (int)p->x, big);
    if (r != 0)
        return r;
    /* A count can come out a hair below zero when a pool that makes almost no calls per
     * task happened to make a few more in the small run (a sleep more, a wake-up): noise
     * around 0, reported as 0. */
    for (int m = 0; m < M_COUNT; m++) {
        values[m] = (big[m] - small[m]) / (double)(n - n / 10);
        if (values[m] < 0)
            values[m] = 0;
    }
    return 0;
}

static const struct bench_def def = {
    .name = "pool_syscalls",
    .x_name = "workers",
    .x_unit = "workers",
    .usage =
        "pool_syscalls (bench) - system calls per empty task through a process pool\n"
        "               (strace -f, one run of N/10 and one of N tasks, the difference):\n"
        "               the C pool through pipes and through shared-memory rings, one by\n"
        "               one and batched, and Python's Pool (apply_async, chunked map)\n"
        "\n"
        "Usage: bench_pool_syscalls [--tasks N] [--peers DIR] [--python PATH] [common flags]\n"
        "  --tasks N   tasks in the larger run (default 10000; --full 50000)\n",
    .metrics = { { "syscalls_per_task", "calls" }, { "rw_per_task", "calls" },
                 { "futex_per_task", "calls" }, { "poll_per_task", "calls" },
                 { "other_per_task", "calls" } },
    .default_repeats_quick = 1,
    .default_repeats_full = 3,
    .flag = flag,
    .peer = "pool_peer.py",
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    /* The child that strace follows: --pool-run KIND N WORKERS. Its parent is strace,
     * which the bench started to die with it; we die with strace (and the workers with
     * us), since strace 6.1 killed leaves its tracees running. */
    if (argc == 5 && strcmp(argv[1], "--pool-run") == 0) {
        prog_init(argv[0]);
        end_with_parent(getppid(), SIGKILL);
        return pool_run((int)parse_long("kind", argv[2], 0, RING_BATCH),
                        parse_long("tasks", argv[3], 1, 100000000),
                        (int)parse_long("workers", argv[4], 1, 1024));
    }
    return bench_main(argc, argv, &def);
}
