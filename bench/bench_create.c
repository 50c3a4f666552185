/* bench_create.c - what it costs to start a unit of concurrency and see it finish
 *
 * Each series starts something that does nothing, waits for it to be done, and repeats;
 * the figure is the time per start-and-reap, in ns:
 *   fork+wait            fork(); the child _exit()s at once; waitpid(). x is the heap the
 *                        parent has touched, in MiB: fork copies the page tables that map
 *                        it (not the pages - they are shared copy-on-write), so a big
 *                        process forks slower.
 *   vfork+exec           vfork() and execve("/bin/true"): the child borrows the parent's
 *                        memory until exec, so nothing is copied; the price is the exec.
 *   posix_spawn          the library's way to do the same (glibc uses clone(CLONE_VFORK)).
 *   pthread_create+join  a thread that returns at once: no new address space at all.
 *   uv_queue_work        one job handed to libuv's thread pool and its completion
 *                        callback back on the loop: two cross-thread wake-ups, no creation
 *                        (the pool's threads are started once and reused).
 *   uv_timer             a zero-delay timer armed, then one turn of the loop
 *                        (uv_run(UV_RUN_ONCE)) that calls its callback: what a callback
 *                        costs when the loop has nothing else to do.
 * The last two are what a "task" costs when the threads already exist; compare them with
 * the first four to see why pools and event loops exist.
 */
#include "core.h"
#include "harness.h"
#include "uvcheck.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRUE_PATH "/bin/true"

extern char **environ;

static long iterations_flag = 0;            /* --iterations; 0: per-series defaults */
#define MAX_HEAPS 16
static long heap_mib[MAX_HEAPS];            /* --heap-mib: touched heaps for fork+wait */
static size_t nheap;                        /* 0: the mode's default */

/* The variants, in the order of their names: a point's kind. */
enum { V_FORK_WAIT, V_VFORK_EXEC, V_POSIX_SPAWN, V_THREAD_JOIN, V_UV_QUEUE_WORK, V_UV_TIMER,
       V_NKINDS };
static const char *const variants[V_NKINDS] = { "fork+wait", "vfork+exec", "posix_spawn",
                                              "pthread_create+join", "uv_queue_work", "uv_timer" };
/* Starts per run in quick mode (x5 in full): about 10-30 ms of work each. */
static const long quick_iterations[] = { 100, 20, 20, 500, 1000, 2000 };

static int flag(const char *name, const char *value)
{
    if (!strcmp(name, "--iterations"))
        iterations_flag = parse_long(name, value, 1, 10000000);
    else if (!strcmp(name, "--heap-mib"))
        nheap = parse_long_list(name, value, 0, 65536, heap_mib, MAX_HEAPS);
    else
        return 0;
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const long quick[] = { 0, 64 }, full[] = { 0, 16, 64, 256 };
    const long *heaps = nheap ? heap_mib : o->full ? full : quick;
    size_t nh = nheap ? nheap : o->full ? 4 : 2, n = 0;
    for (size_t i = 0; i < nh && n < max; i++)
        pts[n++] = (struct bench_point){ .variant = variants[V_FORK_WAIT],
                                         .x = (double)heaps[i], .kind = V_FORK_WAIT };
    for (int v = V_VFORK_EXEC; v < V_NKINDS && n < max; v++)
        pts[n++] = (struct bench_point){ .variant = variants[v], .x = 0,
                                         .kind = v };
    return n;
}

/* The parent's touched heap for fork+wait, kept between runs of the same size. */
static char *heap;
static size_t heap_bytes;

static void heap_resize(size_t bytes)
{
    if (bytes == heap_bytes)
        return;
    free(heap);
    heap = bytes ? xmalloc(bytes) : NULL;
    if (heap)
        memset(heap, 1, bytes);            /* touched: every page really mapped */
    heap_bytes = bytes;
}

static void reap(pid_t pid)
{
    int status;
    xwaitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char buf[128];
        die_msg("child %ld %s", (long)pid, describe_status(status, buf, sizeof buf));
    }
}

/* These children do not call end_with_parent(): each lives for microseconds (an _exit or
 * an exec of true), so a killed bench cannot leave one working, and the prctl() would be
 * timed with the start. */
/* [snippet:starts] */
static void fork_wait(void)
{
    pid_t pid = xfork();
    if (pid == 0)
        _exit(0);                          /* the child does nothing at all */
    reap(pid);
}

static void vfork_exec(void)
{
    char *argv[] = { "true", NULL };
    pid_t pid = vfork();                   /* the parent sleeps until the child execs */
    if (pid == -1)
        die_errno("vfork");
    if (pid == 0) {
        execve(TRUE_PATH, argv, environ);
        _exit(127);                        /* only _exit is safe in a vfork child */
    }
    reap(pid);
}

static void spawn_true(void)
{
    char *argv[] = { "true", NULL };
    pid_t pid;
    int s = posix_spawn(&pid, TRUE_PATH, NULL, NULL, argv, environ);
    if (s != 0)
        die_code("posix_spawn", s);
    reap(pid);
}

static void *nothing(void *arg)
{
    return arg;
}

static void thread_join(void)
{
    pthread_t t;
    xpthread_create(&t, NULL, nothing, NULL);
    xpthread_join(t, NULL);
}
/* [/snippet:starts] */

/* libuv: one job or one timer at a time, each callback starting the next. */
struct uvjob_state {
    long left;
    uv_work_t work;
    uv_timer_t timer;
};

static void work_cb(uv_work_t *w)
{
    (void)w;                               /* runs on a pool thread; the job is empty */
}

static void after_work_cb(uv_work_t *w, int status)
{
    struct uvjob_state *st = w->data;
    if (status != 0)
        die_uv("uv_queue_work", status);
    if (--st->left > 0)
        check_uv("uv_queue_work", uv_queue_work(w->loop, w, work_cb, after_work_cb));
}

static void timer_cb(uv_timer_t *t)
{
    struct uvjob_state *st = t->data;
    st->left--;
}

static void uvjob_series(int timer, long n)
{
    uv_loop_t loop;
    struct uvjob_state st = { .left = n };
    check_uv("uv_loop_init", uv_loop_init(&loop));
    if (timer) {
        /* One timer, one loop turn, every time: a timer armed from inside its own
         * callback may run in the same pass over due timers (libuv before 1.45). */
        check_uv("uv_timer_init", uv_timer_init(&loop, &st.timer));
        st.timer.data = &st;
        for (long i = 0; i < n; i++) {
            uv_timer_start(&st.timer, timer_cb, 0, 0);
            uv_run(&loop, UV_RUN_ONCE);
        }
    } else {
        st.work.data = &st;
        check_uv("uv_queue_work", uv_queue_work(&loop, &st.work, work_cb, after_work_cb));
        uv_run(&loop, UV_RUN_DEFAULT);     /* returns when the last job queued nothing */
    }
    CHECK(st.left == 0);
    if (timer) {
        uv_close((uv_handle_t *)&st.timer, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    check_uv("uv_loop_close", uv_loop_close(&loop));
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    int v = p->kind;
    long n = iterations_flag ? iterations_flag : quick_iterations[v] * (o->full ? 5 : 1);
    if (v == V_FORK_WAIT) {
        heap_resize((size_t)p->x << 20);
        if (p->x >= 64 && !iterations_flag)
            n = 10;                        /* milliseconds each: keep the run short */
    }
    if ((v == V_VFORK_EXEC || v == V_POSIX_SPAWN) && access(TRUE_PATH, X_OK) != 0) {
        fprintf(stderr, "create: %s: %s - %s skipped\n", TRUE_PATH, strerror(errno),
                p->variant);
        return 1;
    }
    int64_t t0 = now_ns();
    if (v == V_UV_QUEUE_WORK || v == V_UV_TIMER)
        uvjob_series(v == V_UV_TIMER, n);
    else
        for (long i = 0; i < n; i++) {
            switch (v) {
            case V_FORK_WAIT: fork_wait(); break;
            case V_VFORK_EXEC: vfork_exec(); break;
            case V_POSIX_SPAWN: spawn_true(); break;
            default: thread_join(); break;
            }
        }
    values[0] = (double)(now_ns() - t0) / (double)n;
    return 0;
}

static const struct bench_def def = {
    .name = "create",
    .x_name = "parent_heap",                /* fork+wait only; 0 for the others */
    .x_unit = "MiB",
    .usage =
        "create (bench) - the time to start and reap one unit of concurrency: a process\n"
        "                 (fork, vfork+exec, posix_spawn), a thread, a libuv pool job, a\n"
        "                 libuv timer callback\n"
        "\n"
        "Usage: bench_create [--iterations N] [--heap-mib LIST] [common flags]\n"
        "  --iterations N   starts per measured run (default per series, x5 with --full)\n"
        "  --heap-mib LIST  heap the parent has touched before fork+wait, in MiB\n"
        "                   (default 0,64 quick; 0,16,64,256 full)\n",
    .metrics = { { "latency", "ns" } },
    .default_repeats_quick = 5,
    .default_repeats_full = 9,
    .default_warmup = 1,
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    int rc = bench_main(argc, argv, &def);
    heap_resize(0);
    return rc;
}
