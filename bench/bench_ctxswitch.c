/* bench_ctxswitch.c - what one context switch costs: kernel process switch, kernel
 *                       thread switch, coroutine switch and event-loop dispatch
 *
 * Two tasks, A and B, pass a token back and forth, lmbench lat_ctx style. A round trip is
 * A -> B -> A. The token travels through a pair of pipes ("pipe-*") or a futex word in
 * shared memory ("futex-*"); the tasks are two processes or two threads of one process.
 * Pinned to one CPU (placement same-cpu) every hand-off is a real switch: A blocks in its
 * read, the kernel switches to B, B replies and blocks, the kernel switches back.
 *
 * A round trip also pays for the pipe reads and writes (or futex calls) themselves, so the
 * same hand-offs are measured inside one task, where nothing blocks and nothing switches
 * ("in_task", the best of five tries), and subtracted:
 *     switch = (round_trip - in_task) / switches per round trip
 * The switches are counted with getrusage(RUSAGE_THREAD) in both tasks, not assumed (it
 * is two per round trip when everything goes as planned: one each time a task blocks).
 *
 * Two more variants make the same round trip without the kernel choosing who runs:
 *   coroutine   A and B are two stacks in one thread; swapcontext() jumps between them.
 *               (glibc's swapcontext also saves the signal mask: one system call each.)
 *   event-loop  A and B are two libuv callbacks in one thread, woken by their pipe
 *               becoming readable: the loop's epoll_wait() decides who runs next.
 * For these "switch" is the cost of one hand-off, (round_trip - in_task) / 2.
 *
 * Placement (--placement) is a series of its own: same-cpu (a switch), split (a wake-up on
 * the other CPU, which also waits for an idle CPU to wake) and unpinned (the scheduler's
 * choice). x is the working set in KiB each task reads between hand-offs (lat_ctx's size
 * argument): caches hold less of it after every switch.
 */
#include "core.h"
#include "futex.h"
#include "harness.h"
#include "shared.h"
#include "uvcheck.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#define PARTNER_TIMEOUT_NS (10 * 1000000000LL)   /* a partner silent this long has died */

static long rounds_flag = 0;                  /* --rounds; 0: 2000 quick, 20000 full */
#define MAX_SIZES 16
static long sizes_kib[MAX_SIZES];             /* --sizes: the working-set sweep, KiB */
static size_t nsizes;                         /* 0: the mode's default */

enum mech { PIPE, FUTEX, COROUTINE, EVENT_LOOP };

/* What both tasks share: for processes it lives in shared_map() memory. */
struct pair {
    int mech, kind;
    long rounds, warm;
    size_t ws_bytes;
    int p1[2], p2[2];                      /* pipes: p1 carries A -> B, p2 B -> A */
    _Alignas(64) atomic_uint turn;         /* futex word: 0 A's turn, 1 B's turn */
    _Alignas(64) long b_switches;          /* what B counted, read by A afterwards */
};

/* The working set: read one long per cache line, so the whole buffer passes through the
 * cache; the sum goes to a volatile so the compiler cannot skip the reads. */
static volatile long sink;

static long *ws_alloc(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    long *buf = xmalloc(bytes);
    memset(buf, 1, bytes);                 /* real pages, not the shared zero page */
    return buf;
}

static void touch(const long *buf, size_t bytes)
{
    long s = 0;
    for (size_t i = 0; i < bytes / sizeof(long); i += 64 / sizeof(long))
        s += buf[i];
    sink = s;
}

static long switches_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        die_errno("getrusage");
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* [snippet:handoff] */
/* One hand-off: `me` (0 = A, 1 = B) passes the token on, or waits for it. Returns 0, or
 * -1 when the partner is gone (EOF or EPIPE on the pipe, or a futex word unchanged for 10 s). */
static int give(struct pair *s, int me)
{
    int token = me;
    if (s->mech == PIPE) {
        ssize_t w = write(me ? s->p2[1] : s->p1[1], &token, sizeof token);
        if (w == -1 && errno == EPIPE)
            return -1;                     /* the reader is gone */
        if (w != sizeof token)
            die_errno("write");
    } else {
        atomic_store_explicit(&s->turn, (unsigned)!me, memory_order_release);
        futex_wake(&s->turn, 1);
    }
    return 0;
}

static int take(struct pair *s, int me)
{
    int token;
    if (s->mech == PIPE) {
        ssize_t n = read(me ? s->p1[0] : s->p2[0], &token, sizeof token);
        if (n == -1)
            die_errno("read");
        return n == sizeof token ? 0 : -1;
    }
    /* Not our turn yet: sleep in the kernel until the partner flips the word. */
    if (atomic_load_explicit(&s->turn, memory_order_acquire) != (unsigned)me &&
        futex_wait_change(&s->turn, (unsigned)!me, PARTNER_TIMEOUT_NS) != (unsigned)me)
        return -1;
    return 0;
}
/* [/snippet:handoff] */

/* Task B: wait for the token, read its working set, send the token back; count its own
 * switches over the measured rounds (after the warm-up ones). */
static int task_b(void *arg)
{
    struct pair *s = arg;
    long *ws = ws_alloc(s->ws_bytes), start = 0;
    int bad = 0;
    if (s->kind == BENCH_PROCESS) {
        close(s->p1[1]);                   /* A's ends: A's death is then our end-of-file */
        close(s->p2[0]);
    }
    for (long i = 0; i < s->warm + s->rounds && !bad; i++) {
        if (i == s->warm)
            start = switches_now();
        bad = take(s, 1) != 0;
        touch(ws, s->ws_bytes);
        bad = bad || give(s, 1) != 0;
    }
    s->b_switches = switches_now() - start;
    free(ws);
    if (bad)
        fprintf(stderr, "ctxswitch: task B: task A stopped answering\n");
    return bad;
}

/* The same hand-offs in one task: A gives, "B" takes and gives, A takes. Nothing blocks,
 * since each take finds the token already there. */
static void handoffs_in_task(struct pair *s, long *ws_a, long *ws_b)
{
    CHECK(give(s, 0) == 0);
    CHECK(take(s, 1) == 0);
    touch(ws_b, s->ws_bytes);
    CHECK(give(s, 1) == 0);
    CHECK(take(s, 0) == 0);
    touch(ws_a, s->ws_bytes);
}

/* The in-task figure: the best of five timed tries of one_round(), in ns per round. The
 * best, because interruptions only ever add time. */
static double in_task_ns(struct pair *s, long *ws_a, long *ws_b,
                         void (*one_round)(struct pair *, long *, long *))
{
    double best = 0;
    long n = s->rounds / 5 > 100 ? s->rounds / 5 : 100;   /* tiny runs: still a fair floor */
    for (int t = 0; t < 5; t++) {
        int64_t t0 = now_ns();
        for (long i = 0; i < n; i++)
            one_round(s, ws_a, ws_b);
        double per = (double)(now_ns() - t0) / (double)n;
        best = t == 0 || per < best ? per : best;
    }
    return best;
}

/* ---- kernel switches: two processes or two threads ---------------------------------- */

static int run_kernel(struct pair *s, int placement, double *rt, double *in_task,
                      double *switches)
{
    xpipe(s->p1);
    xpipe(s->p2);
    atomic_store(&s->turn, 0);
    long *ws_a = ws_alloc(s->ws_bytes), *ws_b = ws_alloc(s->ws_bytes);
    int pin = bench_pin(placement, 0);
    if (pin != 0)
        die_code("sched_setaffinity", pin);
    *in_task = in_task_ns(s, ws_a, ws_b, handoffs_in_task);
    free(ws_b);

    struct bench_partner partner;
    bench_partner_start(&partner, s->kind, placement, task_b, s);
    if (s->kind == BENCH_PROCESS) {
        /* Keep only A's ends, so B's death is an end-of-file here (and A's, there). */
        close(s->p1[0]);
        close(s->p2[1]);
    }
    int bad = 0;
    int64_t t0 = 0;
    long start = 0;
    for (long i = 0; i < s->warm + s->rounds && !bad; i++) {
        if (i == s->warm) {
            start = switches_now();
            t0 = now_ns();
        }
        bad = give(s, 0) != 0 || take(s, 0) != 0;
        touch(ws_a, s->ws_bytes);
    }
    int64_t t1 = now_ns();
    long a_switches = switches_now() - start;
    if (bad) {
        /* B is gone or stuck: a pipe EOF means it exited; wake a futex waiter to finish. */
        fprintf(stderr, "ctxswitch: task B stopped answering\n");
        atomic_store(&s->turn, 1);
        futex_wake(&s->turn, 1);
    }
    if (s->kind == BENCH_PROCESS)
        close(s->p1[1]);                   /* B sees EOF if it is still reading */
    int partner_bad = bench_partner_wait(&partner);
    if (s->kind == BENCH_PROCESS)
        close(s->p2[0]);
    else
        for (int i = 0; i < 2; i++) {
            close(s->p1[i]);
            close(s->p2[i]);
        }
    free(ws_a);
    *rt = (double)(t1 - t0) / (double)s->rounds;
    *switches = (double)(a_switches + s->b_switches) / (double)s->rounds;
    return bad || partner_bad ? -1 : 0;
}

/* ---- coroutines: two stacks in one thread, swapcontext() between them --------------- */

static ucontext_t ctx_a, ctx_b;
static struct pair *co_pair;
static long *co_ws_b;
static volatile int co_token;

/* [snippet:coroutine] */
static void coroutine_b(void)
{
    for (;;) {                             /* resumed once per round, never returns */
        co_token = 1;
        touch(co_ws_b, co_pair->ws_bytes);
        if (swapcontext(&ctx_b, &ctx_a) != 0)
            die_errno("swapcontext");
    }
}

static void coroutine_round(long *ws_a)
{
    co_token = 0;
    if (swapcontext(&ctx_a, &ctx_b) != 0)  /* run B until it swaps back */
        die_errno("swapcontext");
    CHECK(co_token == 1);
    touch(ws_a, co_pair->ws_bytes);
}
/* [/snippet:coroutine] */

static void coroutine_in_task(struct pair *s, long *ws_a, long *ws_b)
{
    co_token = 0;
    co_token = 1;
    touch(ws_b, s->ws_bytes);
    touch(ws_a, s->ws_bytes);
}

/* B's context: its own stack, starting in coroutine_b(). Kept apart from the caller because
 * getcontext() returns twice, which makes the compiler careful with the caller's locals. */
static __attribute__((noinline)) void *coroutine_make(size_t stack_size)
{
    void *stack = xmalloc(stack_size);
    if (getcontext(&ctx_b) != 0)
        die_errno("getcontext");
    ctx_b.uc_stack.ss_sp = stack;
    ctx_b.uc_stack.ss_size = stack_size;
    ctx_b.uc_link = NULL;
    makecontext(&ctx_b, coroutine_b, 0);
    return stack;
}

static int run_coroutine(struct pair *s, int placement, double *rt, double *in_task,
                         double *switches)
{
    int pin = bench_pin(placement, 0);
    if (pin != 0)
        die_code("sched_setaffinity", pin);
    long *ws_a = ws_alloc(s->ws_bytes);
    co_ws_b = ws_alloc(s->ws_bytes);
    co_pair = s;
    void *stack = coroutine_make(256 * 1024);

    /* In one task: the same token stores and working-set reads, without the jumps. */
    *in_task = in_task_ns(s, ws_a, co_ws_b, coroutine_in_task);

    for (long i = 0; i < s->warm; i++)
        coroutine_round(ws_a);
    long start = switches_now();
    int64_t t0 = now_ns();
    for (long i = 0; i < s->rounds; i++)
        coroutine_round(ws_a);
    *rt = (double)(now_ns() - t0) / (double)s->rounds;
    *switches = (double)(switches_now() - start) / (double)s->rounds;
    free(stack);
    free(ws_a);
    free(co_ws_b);
    return 0;
}

/* ---- event loop: two libuv callbacks in one thread ----------------------------------- */

struct loop_state {
    struct pair *s;
    uv_poll_t poll_a, poll_b;
    long *ws_a, *ws_b;
    long count, start_switches;
    int64_t t0, t1;
    int failed;
};

/* [snippet:event-loop] */
/* B's callback: its pipe is readable - take the token, read the working set, pass it on. */
static void on_b_readable(uv_poll_t *h, int status, int events)
{
    struct loop_state *ls = h->data;
    (void)events;
    if (status < 0 || take(ls->s, 1) != 0) {
        ls->failed = 1;
        uv_stop(h->loop);
        return;
    }
    touch(ls->ws_b, ls->s->ws_bytes);
    CHECK(give(ls->s, 1) == 0);            /* both ends are ours: it cannot fail */
}

/* A's callback: the token is back - one round done; start the next or stop. */
static void on_a_readable(uv_poll_t *h, int status, int events)
{
    struct loop_state *ls = h->data;
    (void)events;
    if (status < 0 || take(ls->s, 0) != 0) {
        ls->failed = 1;
        uv_stop(h->loop);
        return;
    }
    touch(ls->ws_a, ls->s->ws_bytes);
    if (++ls->count == ls->s->warm) {
        ls->start_switches = switches_now();
        ls->t0 = now_ns();
    }
    if (ls->count == ls->s->warm + ls->s->rounds) {
        ls->t1 = now_ns();
        uv_stop(h->loop);
        return;
    }
    CHECK(give(ls->s, 0) == 0);
}
/* [/snippet:event-loop] */

static int run_event_loop(struct pair *s, int placement, double *rt, double *in_task,
                          double *switches)
{
    int pin = bench_pin(placement, 0);
    if (pin != 0)
        die_code("sched_setaffinity", pin);
    s->mech = PIPE;                         /* the token travels by pipe, as in pipe-* */
    xpipe(s->p1);
    xpipe(s->p2);
    struct loop_state ls = { .s = s, .ws_a = ws_alloc(s->ws_bytes),
                             .ws_b = ws_alloc(s->ws_bytes) };
    *in_task = in_task_ns(s, ls.ws_a, ls.ws_b, handoffs_in_task);

    uv_loop_t loop;
    check_uv("uv_loop_init", uv_loop_init(&loop));
    check_uv("uv_poll_init", uv_poll_init(&loop, &ls.poll_a, s->p2[0]));
    check_uv("uv_poll_init", uv_poll_init(&loop, &ls.poll_b, s->p1[0]));
    ls.poll_a.data = ls.poll_b.data = &ls;
    check_uv("uv_poll_start", uv_poll_start(&ls.poll_a, UV_READABLE, on_a_readable));
    check_uv("uv_poll_start", uv_poll_start(&ls.poll_b, UV_READABLE, on_b_readable));
    if (s->warm == 0) {
        ls.start_switches = switches_now();
        ls.t0 = now_ns();
    }
    CHECK(give(s, 0) == 0);                 /* the first token, to B */
    uv_run(&loop, UV_RUN_DEFAULT);
    *switches = (double)(switches_now() - ls.start_switches) / (double)s->rounds;
    *rt = (double)(ls.t1 - ls.t0) / (double)s->rounds;

    uv_close((uv_handle_t *)&ls.poll_a, NULL);
    uv_close((uv_handle_t *)&ls.poll_b, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);          /* lets the closes finish */
    check_uv("uv_loop_close", uv_loop_close(&loop));
    for (int i = 0; i < 2; i++) {
        close(s->p1[i]);
        close(s->p2[i]);
    }
    free(ls.ws_a);
    free(ls.ws_b);
    if (ls.failed)
        fprintf(stderr, "ctxswitch: event-loop: a pipe failed\n");
    return ls.failed ? -1 : 0;
}

/* ---- the harness's side -------------------------------------------------------------- */

struct kind {
    const char *name;
    int mech, task_kind;
};
static const struct kind kinds[] = {
    { "pipe-processes", PIPE, BENCH_PROCESS },
    { "pipe-threads", PIPE, BENCH_THREAD },
    { "futex-processes", FUTEX, BENCH_PROCESS },
    { "futex-threads", FUTEX, BENCH_THREAD },
    { "coroutine", COROUTINE, BENCH_THREAD },
    { "event-loop", EVENT_LOOP, BENCH_THREAD },
};
#define NKINDS (sizeof kinds / sizeof *kinds)

static int flag(const char *name, const char *value)
{
    if (!strcmp(name, "--rounds"))
        rounds_flag = parse_long(name, value, 1, 100000000);
    else if (!strcmp(name, "--sizes"))
        nsizes = parse_long_list(name, value, 0, 1024 * 1024, sizes_kib, MAX_SIZES);
    else
        return 0;
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    /* The working-set sweep: pipe round trips on one CPU, where a switch is a switch. */
    static const long quick[] = { 0, 256 }, full[] = { 0, 16, 64, 256, 1024, 4096 };
    const long *sizes = nsizes ? sizes_kib : o->full ? full : quick;
    size_t nsz = nsizes ? nsizes : o->full ? 6 : 2;
    static const int order[] = { BENCH_SAME_CPU, BENCH_SPLIT, BENCH_UNPINNED };
    size_t n = 0;
    for (size_t k = 0; k < NKINDS; k++)
        for (size_t i = 0; i < 3; i++) {
            int pl = order[i];
            if (!bench_placement_wanted(o, pl))
                continue;
            if (kinds[k].mech >= COROUTINE && pl == BENCH_SPLIT)
                continue;                  /* one thread: nothing to split */
            if (kinds[k].mech == PIPE && pl == BENCH_SAME_CPU) {
                for (size_t z = 0; z < nsz && n < max; z++)
                    pts[n++] = bench_placed_point(kinds[k].name, (int)k, pl, (double)sizes[z]);
            } else if (n < max)
                pts[n++] = bench_placed_point(kinds[k].name, (int)k, pl, 0);
        }
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    const struct kind *k = &kinds[p->kind];
    int placement = p->placement;
    long rounds = rounds_flag ? rounds_flag : o->full ? 20000 : 2000;
    size_t bytes = (size_t)p->x * 1024;
    if (bytes > 64 * 1024 && !rounds_flag)
        rounds = rounds / 4 > 0 ? rounds / 4 : 1;   /* big working sets: fewer, slower rounds */

    /* Shared memory for both tasks, also when they are threads (the same code path). */
    struct pair *s = shared_map(sizeof *s);
    s->mech = k->mech;
    s->kind = k->task_kind;
    s->rounds = rounds;
    s->warm = rounds / 10 > 0 ? rounds / 10 : 1;
    s->ws_bytes = bytes;
    double rt = 0, in_task = 0, switches = 0;
    int rc;
    if (k->mech == COROUTINE)
        rc = run_coroutine(s, placement, &rt, &in_task, &switches);
    else if (k->mech == EVENT_LOOP)
        rc = run_event_loop(s, placement, &rt, &in_task, &switches);
    else
        rc = run_kernel(s, placement, &rt, &in_task, &switches);
    shared_unmap(s, sizeof *s);
    if (rc != 0)
        return -1;

    /* Kernel variants divide by the switches counted; the others by their two hand-offs. */
    double per = k->mech <= FUTEX && switches >= 1 ? switches : 2;
    values[0] = rt;
    values[1] = in_task;
    values[2] = (rt - in_task) / per;
    values[3] = switches;
    return 0;
}

static const struct bench_def def = {
    .name = "ctxswitch",
    .x_name = "working_set",              /* per task, swept on one CPU; else 0 */
    .x_unit = "KiB",
    .usage =
        "ctxswitch (bench) - the cost of one context switch, lmbench lat_ctx style: a token\n"
        "                    passed between two tasks, minus the same hand-offs in one task\n"
        "\n"
        "Usage: bench_ctxswitch [--rounds N] [--sizes KIB,...] [--placement LIST] [flags]\n"
        "  --rounds N       round trips per measured run (default 2000 quick, 20000 full)\n"
        "  --sizes LIST     working set per task in KiB, swept for pipe-*/same-cpu\n"
        "                   (default 0,256 quick; 0,16,64,256,1024,4096 full)\n"
        "\n"
        "Series: pipe- and futex- x processes and threads, coroutine (swapcontext),\n"
        "event-loop (libuv callbacks), each per placement. Metrics per round trip A->B->A:\n"
        "round_trip, in_task (the same hand-offs in one task), switch ((round_trip -\n"
        "in_task) / switches counted), switches (counted with getrusage).\n",
    .metrics = { { "round_trip", "ns" }, { "in_task", "ns" }, { "switch", "ns" },
                 { "switches", "per_round_trip" } },
    .default_repeats_quick = 5,
    .default_repeats_full = 9,
    .default_warmup = 1,
    .flag = flag,
    .plan = plan,
    .run = run,
    .uses_placement = 1,
    .ignore_sigpipe = 1,                  /* a partner that died: EPIPE, not death */
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
