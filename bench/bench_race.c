/* bench_race.c - how often does the unprotected bank balance drift? C beside Python
 *
 * The seed's experiment - two threads deposit and withdraw 5 and 8 on one balance without
 * a lock - run T times per measurement; drift_pct is the share of those runs whose final
 * balance was not 0. x is the number of rounds per thread. Series:
 *   c-pinned  demos/threads/race --lock none --pin on: each thread on a CPU of its own
 *             (the demo's default), so the two run at the same moment
 *   c-unpinned  the same with --pin off: the scheduler places the threads, and may put
 *             both on one CPU for a while
 *   c-1cpu    the whole program pinned to one CPU (and --pin off, as pinning the threads
 *             apart is impossible there): the threads can only take turns, and an update
 *             is lost only when a preemption falls between a load and its store
 *   py        bench/peers/race.py, the seed's code under CPython
 *   py-call   the same with a function call between the read and the write
 * Each point runs the program once with --trials T and reads its "drifted in D of T
 * trials" line. A missing python3 or peer makes the Python points "skipped".
 */
#include "core.h"
#include "harness.h"
#include "spawn_capture.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static long trials = -1;                    /* --trials; by default 10 quick, 20 full */
static char race_path[PATH_MAX];            /* the race demo, beside this binary */

/* The variants; a point's kind is its index here. */
static const struct variant {
    const char *name;
    int py;                    /* 1: the Python peer; 0: the C race demo */
    const char *pin;           /* C: race's --pin */
    int one_cpu;               /* C: the whole program pinned to one CPU */
    const char *gap;           /* Python: the peer's --gap */
} variants[] = {
    { "c-pinned", 0, "on", 0, NULL },
    { "c-unpinned", 0, "off", 0, NULL },
    { "c-1cpu", 0, "off", 1, NULL },
    { "py", 1, NULL, 0, "none" },
    { "py-call", 1, NULL, 0, "call" },
};

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--trials") != 0)
        return 0;
    trials = parse_long(name, value, 1, 10000);
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const double rounds[] = { 1000, 10000, 100000, 1000000 };
    size_t nx = o->full ? 4 : 3, n = 0;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = variants[v].name, .x = rounds[i],
                                             .kind = (int)v };
    return n;
}

/* In the child of spawn_capture(), for c-1cpu: the whole program on one CPU. */
static void pin_one_cpu(void *unused)
{
    (void)unused;
    if (pin_to_cpu(cpu_id(0)) != 0)
        die_child_errno("sched_setaffinity");
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    char rounds[32], ntrials[32];
    long t = trials > 0 ? trials : o->full ? 20 : 10;
    snprintf(rounds, sizeof rounds, "%ld", (long)p->x);
    snprintf(ntrials, sizeof ntrials, "%ld", t);
    const struct variant *v = &variants[p->kind];
    int is_py = v->py;
    /* The pinning choice is the variant's, and passed on explicitly. */
    char *c_cmd[] = { race_path, "--lock", "none", "--rounds", rounds, "--trials", ntrials,
                      "--pin", (char *)v->pin, NULL };
    char *py_cmd[] = { (char *)o->python, (char *)o->peer, "--rounds", rounds, "--trials", ntrials,
                       "--gap", (char *)v->gap, NULL };

    if (is_py && bench_peer_missing(o))
        return 1;
    static char out[1 << 20];
    struct spawn_opts so = { .child_setup = v->one_cpu ? pin_one_cpu : NULL };
    int status;
    if (spawn_capture(is_py ? py_cmd : c_cmd, &so, out, sizeof out, &status) == SPAWN_MISSING) {
        fprintf(stderr, "race: cannot run %s: %s%s\n", is_py ? o->python : race_path,
                strerror(errno), is_py ? " - Python points skipped" : "");
        return is_py ? 1 : -1;
    }
    long drifted, of;
    const char *line = strstr(out, "drifted in ");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line ||
        sscanf(line, "drifted in %ld of %ld trial", &drifted, &of) != 2 || of != t) {
        char how[128];
        fprintf(stderr, "race: %s --rounds %s: %s, no \"drifted in D of %ld\" line\n",
                p->variant, rounds, describe_status(status, how, sizeof how), t);
        return -1;
    }
    values[0] = 100.0 * (double)drifted / (double)t;
    return 0;
}

static const struct bench_def def = {
    .name = "race",
    .x_name = "rounds",                     /* per thread */
    .x_unit = "rounds",
    .usage =
        "race (bench) - how often the seed's unprotected bank balance drifts, C beside\n"
        "               Python, against the rounds per thread\n"
        "\n"
        "Usage: bench_race [--trials T] [--peers DIR] [--python PATH] [common flags]\n"
        "  --trials T       runs of the experiment per measurement (default 10 quick, 20 full)\n",
    .metrics = { { "drift_pct", "%" } },
    .flag = flag,
    .peer = "race.py",
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    /* The race demo is built into the same folder as this bench. */
    sibling_program("race", race_path, sizeof race_path);
    return bench_main(argc, argv, &def);
}
