/* pool.c - a process pool like Python's multiprocessing.Pool, that survives dying workers
 *
 * Usage:    pool [--workers N] [--tasks N] [--ms MS] [--crash segv|exit|kill|error]
 *                [--kill K] [--max-tasks-per-child M] [--map N] [--terminate] [--seed S]
 *                [--transport pipe|ring]
 * Observe:  the default run is seed 000's picture: a pool of 4 workers gets 5 tasks of
 *           random length; tasks 0-3 start at once, task 4 waits until a worker is free
 *           and runs on that worker. Then apply_async().get(timeout) and map() as in seed
 *           004. The pool itself is procpool.c, beside this file, built the way seed 004
 *           describes Python's: a task pipe out, a result pipe back, a process-shared lock
 *           on each shared end, workers looping until a sentinel, max-tasks-per-child retiring
 *           workers and the pool starting new ones.
 * Why it does not hang: when a worker dies in the middle of a task - a segfault, _exit(),
 *           SIGKILL from outside - Python's Pool replaces the worker but never finishes its
 *           task, so result.get() and map() wait forever (CPython bpo-22393, open to this
 *           day as gh-66587; concurrent.futures raises BrokenProcessPool instead). This
 *           pool watches every worker through a pidfd, fails exactly the tasks the dead
 *           worker held - their handles report the signal - and starts a replacement.
 * Try:      pool --crash segv     (task 1's worker dies; its handle says SIGSEGV)
 *           pool --crash error    (task 1 returns an error code: a failure, not a crash)
 *           pool --tasks 2000 --ms 2 --kill 20    (20 workers SIGKILLed during the run)
 *           pool --tasks 40 --ms 1 --max-tasks-per-child 5   (count the worker pids)
 *           pool --tasks 8 --ms 60000 --terminate (running tasks are stopped, not waited)
 *           strace -f -c build/bin/pool --map 100000 --transport pipe   (then ring: how
 *                                 many system calls does a task cost through each?)
 * Python:   docs/seeds.md#seed-000 Pool(4) with 5 tasks; #seed-002 apply_async, map,
 *           close, join; #seed-004 how Pool works inside
 * See also: docs/processes/pool.md, procpool.h (the pool)
 */
#include "core.h"
#include "procpool.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "pool - a process pool like Python's multiprocessing.Pool, that survives dying workers\n"
    "\n"
    "Usage: pool [--workers N] [--tasks N] [--ms MS] [--crash KIND] [--kill K]\n"
    "            [--max-tasks-per-child M] [--map N] [--terminate] [--seed S]\n"
    "            [--transport pipe|ring]\n"
    "  --workers N     worker processes (default 4, as seed 000's Pool(4); 0: one per CPU)\n"
    "  --tasks N       tasks to submit with apply_async (default 5)\n"
    "  --ms MS         a task works a random time between MS/5 and MS ms (default 500)\n"
    "  --crash KIND    task 1 fails: segv (segfault), exit (_exit(3) mid-task), kill\n"
    "                  (the parent SIGKILLs its worker while it runs it), error (it\n"
    "                  returns an error code)\n"
    "  --kill K        SIGKILL a random worker K times while the tasks run\n"
    "  --max-tasks-per-child M   retire each worker after M tasks (default: never)\n"
    "  --map N         instead: map a function over 0..N-1, compare with serial results\n"
    "  --terminate     once every worker is busy, terminate() the pool\n"
    "  --seed S        seed for the random task lengths (default: from the clock)\n"
    "  --transport T   pipe: tasks and results through two shared pipes (default);\n"
    "                  ring: through a ring per worker in shared memory, with a futex\n"
    "                  sleep only when a side is idle\n"
    "  --help          this text\n";

/* ---- the tasks: each runs inside a worker process ---------------------------------- */

/* A task's argument packs its number and how long it works. */
static int64_t pack(long index, long us) { return (int64_t)index << 32 | us; }
static long index_of(int64_t arg) { return (long)(arg >> 32); }
static long us_of(int64_t arg) { return (long)(arg & 0xffffffff); }

/* The answer a task must return, so the parent can check every value it receives. */
static int64_t expected_value(long index) { return (int64_t)index * index + 1; }

/* [snippet:tasks] */
/* "Work": sleep as the seed's task does (time.sleep(random.random() * 3)). */
static int task_work(int64_t arg, int64_t *value)
{
    sleep_ns(us_of(arg) * 1000);
    *value = expected_value(index_of(arg));
    return 0;
}

/* A crash in the middle of a task. The handler goes back to the default first, so the
 * kernel kills the process by SIGSEGV even under AddressSanitizer (which would catch it
 * and exit with status 1). */
static int task_segv(int64_t arg, int64_t *value)
{
    sleep_ns(us_of(arg) * 1000 / 2);
    signal(SIGSEGV, SIG_DFL);
    volatile int *volatile nowhere = (volatile int *)16;   /* volatile: it must store */
    *nowhere = 1;                              /* no page at address 16: SIGSEGV */
    *value = 0;
    return 0;
}

static int task_exit(int64_t arg, int64_t *value)
{
    sleep_ns(us_of(arg) * 1000 / 2);
    (void)value;
    _exit(3);                                  /* leaves without a result */
}

/* A failure the task reports itself: its handle ends in PROCPOOL_ERROR, nothing dies. */
static int task_error(int64_t arg, int64_t *value)
{
    sleep_ns(us_of(arg) * 1000 / 2);
    *value = 0;
    return EDOM;
}
/* [/snippet:tasks] */

/* For --map: something whose results would show any mix-up of order (splitmix64). */
static int task_mix(int64_t arg, int64_t *value)
{
    uint64_t z = (uint64_t)arg + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    *value = (int64_t)(z ^ (z >> 31));
    return 0;
}

static int task_square(int64_t arg, int64_t *value)
{
    *value = arg * arg;
    return 0;
}

/* ---- the parent ------------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

/* Worker processes of ours that are alive, counted by the kernel rather than by the pool:
 * the children listed in /proc that are not zombies. */
static int live_children(void)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int live = 0, pid;
    while (fscanf(f, "%d", &pid) == 1) {
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *s = fopen(path, "r");
        if (!s)
            continue;
        if (fgets(buf, sizeof buf, s)) {
            char *paren = strrchr(buf, ')');     /* "pid (name) S ...": the state */
            live += paren && paren[1] == ' ' && paren[2] != 'Z';
        }
        fclose(s);
    }
    fclose(f);
    return live;
}

static const char *state_name(enum procpool_state s)
{
    switch (s) {
    case PROCPOOL_PENDING: return "pending";
    case PROCPOOL_DONE: return "done";
    case PROCPOOL_ERROR: return "error";
    case PROCPOOL_CRASHED: return "crashed";
    case PROCPOOL_TERMINATED: return "terminated";
    }
    return "?";
}

/* One line per task: who ran it and when, or how it failed. */
static void print_task(long i, const struct procpool_result *r, int64_t t0, long ms_planned)
{
    char how[128];
    switch (r->state) {
    case PROCPOOL_DONE:
        printf("task %ld: done by worker %d (pid %d) from %.3f s to %.3f s (%ld ms), "
               "value %lld (expected %lld)\n", i, r->worker, (int)r->pid,
               (double)(r->start_ns - t0) / 1e9, (double)(r->end_ns - t0) / 1e9, ms_planned,
               (long long)r->value, (long long)expected_value(i));
        break;
    case PROCPOOL_ERROR:
        printf("task %ld: error %d (%s), reported by the task through its handle\n", i,
               r->error, strerror(r->error));
        break;
    case PROCPOOL_CRASHED:
        printf("task %ld: crashed: its worker %d (pid %d) %s\n", i, r->worker, (int)r->pid,
               describe_status(r->wstatus, how, sizeof how));
        break;
    default:
        printf("task %ld: %s\n", i, state_name(r->state));
    }
}

/* --map N: map() must give exactly what a loop in this process gives, in input order. */
static int run_map(struct procpool *p, long n)
{
    int64_t *args = xcalloc((size_t)n, sizeof *args);
    struct procpool_result *res = xcalloc((size_t)n, sizeof *res);
    for (long i = 0; i < n; i++)
        args[i] = i;
    size_t failed = procpool_map(p, task_mix, args, (size_t)n, res);
    long same = 0;
    for (long i = 0; i < n; i++) {
        int64_t serial;
        task_mix(args[i], &serial);
        same += res[i].state == PROCPOOL_DONE && res[i].value == serial;
    }
    printf("map: %ld of %ld results equal the serial ones, in order (expected %ld); "
           "%zu failed (expected 0)\n", same, n, n, failed);
    free(args);
    free(res);
    return same == n ? 0 : 1;
}

/* The command line: what to run, and how to disturb it. */
struct run {
    long workers, tasks, ms, kills, max_per_child, map_n, seed;
    int terminate, ring;
    const char *crash;            /* NULL, or "segv", "exit", "kill", "error" */
};

static struct run parse_flags(int argc, char **argv)
{
    struct run o = { .workers = 4, .tasks = 5, .ms = 500 };
    static const char *const crash_names[] = { "segv", "exit", "kill", "error", NULL };
    static const char *const transports[] = { "pipe", "ring", NULL };
    static const struct option opts[] = {
        { "workers", required_argument, NULL, 'w' },
        { "tasks", required_argument, NULL, 'n' },
        { "ms", required_argument, NULL, 'm' },
        { "crash", required_argument, NULL, 'c' },
        { "kill", required_argument, NULL, 'k' },
        { "max-tasks-per-child", required_argument, NULL, 'x' },
        { "map", required_argument, NULL, 'M' },
        { "terminate", no_argument, NULL, 't' },
        { "seed", required_argument, NULL, 's' },
        { "transport", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': o.workers = parse_long("--workers", optarg, 0, 256); break;
        case 'n': o.tasks = parse_long("--tasks", optarg, 1, 1000000); break;
        case 'm': o.ms = parse_long("--ms", optarg, 0, 600000); break;
        case 'k': o.kills = parse_long("--kill", optarg, 0, 10000); break;
        case 'x': o.max_per_child = parse_long("--max-tasks-per-child", optarg, 1, 1000000);
                  break;
        case 'M': o.map_n = parse_long("--map", optarg, 1, 10000000); break;
        case 't': o.terminate = 1; break;
        case 's': o.seed = parse_long("--seed", optarg, 1, 1000000000); break;
        case 'T': o.ring = parse_choice("--transport", optarg, transports) == 1; break;
        case 'c': o.crash = crash_names[parse_choice("--crash", optarg, crash_names)]; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (o.crash && o.tasks < 2)
        usage_error("--crash needs at least 2 tasks (task 1 is the one that fails)");
    return o;
}

/* Submit every task at once, as the seed does in a loop of apply_async(); task 1 is the
 * one that fails when --crash asks for it. Fills planned_ms[i], task i's length. */
static struct procpool_task **submit_all(struct procpool *p, const struct run *o,
                                         long *planned_ms)
{
    long tasks = o->tasks, ms = o->ms;
    const char *crash = o->crash;
    /* [snippet:submit] */
    struct procpool_task **h = xcalloc((size_t)tasks, sizeof *h);
    for (long i = 0; i < tasks; i++) {
        long us = ms * 1000 / 5 + (long)(rng_next() % (uint64_t)(ms * 800 + 1));
        procpool_fn fn = task_work;
        if (crash && i == 1)
            fn = !strcmp(crash, "segv") ? task_segv : !strcmp(crash, "exit") ? task_exit
               : !strcmp(crash, "error") ? task_error : task_work;
        planned_ms[i] = us / 1000;
        h[i] = procpool_submit(p, fn, pack(i, us));    /* pool.apply_async(f, (i,)) */
    }
    printf("parent: submitted %ld tasks; waiting for them\n", tasks);
    /* [/snippet:submit] */
    return h;
}

/* --crash kill: SIGKILL from outside. Wait until some worker has task 1, then kill that
 * worker. --terminate: wait until every worker runs a task (or all tasks are running),
 * then stop the pool with tasks still in it. */
static void disturb(struct procpool *p, const struct run *o, struct procpool_task **h)
{
    int n = procpool_size(p);
    if (o->crash && !strcmp(o->crash, "kill")) {
        while (procpool_worker_of(h[1]) < 0 && procpool_get(h[1], 0, NULL) == ETIMEDOUT)
            procpool_pump(p, 0.01);
        int w = procpool_worker_of(h[1]);
        if (w >= 0) {
            printf("parent: sending SIGKILL to worker %d (pid %d), which runs task 1\n", w,
                   (int)procpool_worker_pid(p, w));
            procpool_kill_worker(p, w, SIGKILL);
        }
    }
    if (o->terminate) {
        while (procpool_busy(p) < (n < o->tasks ? n : o->tasks))
            procpool_pump(p, 0.01);
        printf("parent: %d workers busy; terminate()\n", procpool_busy(p));
        procpool_terminate(p);
    }
}

/* Wait for every task's result, print it, and say whether all ended with the right value
 * (0) or not (1). --kill K kills random workers along the way. */
static int collect(struct procpool *p, const struct run *o, struct procpool_task **h,
                   int64_t t0, const long *planned_ms)
{
    long tasks = o->tasks, kills = o->kills;
    int n = procpool_size(p);
    /* [snippet:collect] */
    long counts[5] = { 0 }, right = 0, waiting = 0, next_kill = 1;
    for (long i = 0; i < tasks; i++) {
        struct procpool_result r;
        if (procpool_get(h[i], 60.0, &r) == ETIMEDOUT) {   /* result.get(timeout=60) */
            printf("task %ld: still pending after 60 s\n", i);
            waiting++;
            continue;
        }
        counts[r.state]++;
        right += r.state == PROCPOOL_DONE && r.value == expected_value(i);
        if (tasks <= 20)
            print_task(i, &r, t0, planned_ms[i]);
        /* --kill K: after every tasks/(K+1) results, SIGKILL a random worker. */
        while (kills > 0 && next_kill <= kills && i + 1 >= next_kill * tasks / (kills + 1)) {
            procpool_kill_worker(p, (int)(rng_next() % (uint64_t)n), SIGKILL);
            next_kill++;
        }
    }
    /* [/snippet:collect] */

    /* Seed 000's picture, checked: the task that had to wait started only once the worker
     * that ran it had finished an earlier task. */
    if (tasks == n + 1 && !o->crash && !o->terminate && kills == 0 &&
        counts[PROCPOOL_DONE] == tasks) {
        struct procpool_result last, prev;
        procpool_get(h[n], 0, &last);
        for (long i = 0; i < n; i++) {
            procpool_get(h[i], 0, &prev);
            if (prev.pid == last.pid)
                printf("task %d waited %.3f s for a free worker: it started on worker %d "
                       "when task %ld ended there\n", n, (double)(last.start_ns - t0) / 1e9,
                       last.worker, i);
        }
    }

    printf("tasks: %ld submitted, %ld done, %ld error, %ld crashed, %ld terminated, "
           "%ld still waiting (expected every task to end: 0 waiting)\n", tasks,
           counts[PROCPOOL_DONE], counts[PROCPOOL_ERROR], counts[PROCPOOL_CRASHED],
           counts[PROCPOOL_TERMINATED], waiting);
    printf("values: %ld of %ld done tasks returned the expected value; %ld results came "
           "twice (expected 0)\n", right, counts[PROCPOOL_DONE], procpool_stats(p).twice);
    return waiting > 0 || right != counts[PROCPOOL_DONE];
}

/* Seed 004's two lines: apply_async(f, (10,)).get(timeout=1), then map(f, range(10)). */
static void api_tour(struct procpool *p)
{
    /* [snippet:api] */
    struct procpool_task *t = procpool_submit(p, task_square, 10);
    struct procpool_result r;
    if (procpool_get(t, 1.0, &r) == 0 && r.state == PROCPOOL_DONE)
        printf("apply_async(square, 10).get(timeout=1) = %lld (expected 100)\n",
               (long long)r.value);
    else
        printf("apply_async(square, 10).get(timeout=1): no result within 1 s\n");
    procpool_task_free(t);
    int64_t args[10];
    struct procpool_result res[10];
    for (int i = 0; i < 10; i++)
        args[i] = i;
    procpool_map(p, task_square, args, 10, res);
    printf("map(square, range(10)) = [");
    for (int i = 0; i < 10; i++)
        printf("%s%lld", i ? ", " : "", (long long)res[i].value);
    printf("] (expected [0, 1, 4, ..., 81])\n");
    /* [/snippet:api] */
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct run o = parse_flags(argc, argv);
    rng_state = o.seed ? (uint64_t)o.seed * 2654435761u : (uint64_t)now_ns() | 1;

    /* [snippet:create] */
    struct procpool_opts po = { .workers = (int)o.workers,
                                .max_tasks_per_child = o.max_per_child, .log = stdout,
                                .transport = o.ring ? PROCPOOL_RING : PROCPOOL_PIPE };
    struct procpool *p = procpool_create(&po);        /* Pool(processes=4) */
    int n = procpool_size(p);
    printf("parent %d: pool of %d workers:", (int)getpid(), n);
    for (int w = 0; w < n; w++)
        printf(" %d", (int)procpool_worker_pid(p, w));
    printf("\n");
    if (o.ring)
        printf("parent: tasks and results go through a ring per worker in shared memory\n");
    /* [/snippet:create] */

    int bad;
    if (o.map_n > 0) {
        bad = run_map(p, o.map_n);
    } else {
        int64_t t0 = now_ns();
        long *planned_ms = xcalloc((size_t)o.tasks, sizeof *planned_ms);
        struct procpool_task **h = submit_all(p, &o, planned_ms);
        disturb(p, &o, h);
        bad = collect(p, &o, h, t0, planned_ms);
        for (long i = 0; i < o.tasks; i++)
            procpool_task_free(h[i]);
        free(h);
        free(planned_ms);
        if (!o.terminate && o.tasks <= 20 && !o.crash)
            api_tour(p);
    }

    if (!o.terminate) {
        struct procpool_stats st = procpool_stats(p);
        /* A worker that retired a moment ago may not be replaced yet; a crashed or killed
         * one always is by now, since its task's handle ends only when it is reaped. */
        printf("workers alive: %d (expected %d%s); started %ld in all: %ld replaced after a "
               "crash, %ld retired\n", live_children(), n,
               o.max_per_child ? " or fewer while retirees are replaced" : "", st.started,
               st.crashed, st.retired);
    }
    procpool_close(p);                                 /* pool.close() */
    procpool_join(p);                                  /* pool.join() */
    printf("joined: workers alive %d (expected 0)\n", live_children());
    procpool_free(p);
    return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
