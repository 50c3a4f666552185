/* harness.h - the loop every benchmark shares
 *
 * A benchmark file supplies only the work: which points to measure (a variant such as
 * "c-threads" and an x such as the number of workers) and how to measure one point once.
 * The harness owns everything else, the same way for every bench: the flags (--quick,
 * --full, --repeat, --warmup, --variant, --raw, --help), warm-up runs that are thrown away,
 * repeats, the median with its min and max, a progress line per point on stderr, and the
 * CSV rows on stdout.
 *
 * Output: for each point and metric, three rows in the suite's format -
 *     spin,c-threads,2,cores_used,1.98,cores        (the median of the repeats)
 *     spin,c-threads,2,cores_used_min,1.97,cores
 *     spin,c-threads,2,cores_used_max,1.99,cores
 * and, with --raw FILE, every repeat's own value in FILE (same columns, metric without a
 * suffix, one row per repeat in the order they ran), so a reader can redraw the spread.
 * Benches of two tasks also get placement (--placement) and a peer task (process or
 * thread) from here: see "Placement" at the end.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <pthread.h>
#include <sys/types.h>

#define BENCH_MAX_METRICS 6
#define BENCH_MAX_POINTS 512

struct bench_metric {
    const char *name;      /* e.g. "cores_used"; letters, digits and '_' */
    const char *unit;      /* e.g. "cores", "ns", "ops/s" */
};

struct bench_point {
    const char *variant;   /* a series in the chart, e.g. "c-threads" */
    double x;              /* its x value, e.g. the number of workers */
};

struct bench_opts {
    int full;              /* 0: quick mode (the default), 1: --full */
    int repeats;           /* measured runs per point */
    int warmup;            /* discarded runs per point before them */
    const char *variant;   /* --variant: measure only this series, or NULL for all */
    unsigned placements;   /* --placement: bit (1 << p) set for each placement p to measure */
    double seconds;        /* --seconds, or the def's default for the mode (0 if none) */
    const char *python;    /* --python: the interpreter for peers (default "python3") */
    char peer[4096];       /* the def's peer script, found in --peers DIR ("" if none) */
};

struct bench_def {
    const char *name;      /* the bench's name, the first CSV column */
    const char *usage;     /* purpose and usage; the harness appends its own flags */
    struct bench_metric metrics[BENCH_MAX_METRICS];
    int nmetrics;
    int default_repeats_quick, default_repeats_full, default_warmup;

    /* Optional: take a flag of the bench's own ("--seconds", "0.5"). Return 1 if it was
     * the bench's (value consumed), 0 if unknown; report a bad value with usage_error().
     * value is NULL when the flag came last with nothing after it: parse_long() and the
     * other parse_* helpers then say the flag needs a value. */
    int (*flag)(const char *name, const char *value);

    /* Write up to `max` points to measure, in order, for the mode in *o; return how many. */
    size_t (*plan)(struct bench_point *points, size_t max, const struct bench_opts *o);

    /* Measure point *p once and write one value per metric into values[]. Return 0; or
     * 1 to skip the point without failing the bench (after saying why on stderr, e.g. a
     * peer that is not installed); or -1 when the run failed (after saying why). */
    int (*run)(const struct bench_point *p, const struct bench_opts *o, double *values);

    /* Optional: how long one run lasts by default, in quick and in full mode. When set,
     * the harness takes --seconds S and hands the choice to run() as o->seconds. */
    double seconds_quick, seconds_full;

    /* Optional: the file name of a Python peer in bench/peers/ ("gil_spin.py"). When set,
     * the harness takes --peers DIR and --python PATH and hands run() the script's path
     * as o->peer and the interpreter as o->python; see bench_peer_missing(). */
    const char *peer;

    /* 1: the bench takes --placement (see "Placement" below); its plan() asks
     * bench_placement_wanted() which placements to plan points for. */
    int uses_placement;
};

/* Parse the command line, run every planned point and print the rows. Returns the exit
 * status for main(): 0, or 1 if a run failed. Bad flags exit 2 through usage_error(). */
int bench_main(int argc, char **argv, const struct bench_def *def);

/* 1 (after saying on stderr that the bench's Python points are skipped) when the peer
 * script in o->peer cannot be read, else 0. Call it before starting a peer, and return 1
 * from run() when it says the peer is missing. */
int bench_peer_missing(const struct bench_opts *o);

/* Run the bench's Python peer - o->python o->peer args... (args ends with NULL) - and
 * read `value` from the line of its output that reads "KEY VALUE" or "KEY=VALUE".
 * Returns 0; 1 when the peer or the interpreter is missing (said on stderr: the caller
 * skips the point); -1 when the peer failed or printed no such line (said on stderr,
 * with its last line of output). */
int bench_peer_value(const struct bench_opts *o, const char *const args[], const char *key,
                     double *value);

/* The worker counts for a scaling chart: 1 to `max`, every one up to 8, beyond that
 * 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ... plus `must` (e.g. the CPU count) and `max`.
 * Writes at most `cap` values to out[], returns how many. */
size_t bench_steps(long max, long must, long *out, size_t cap);

/* Placement: where the two tasks of a switch, IPC or server bench run. It changes the
 * answer several-fold (a wake-up on another CPU costs far more than a switch on the same
 * one), so a bench that takes --placement plans one series per placement and names it
 * with bench_variant("pipe-processes", p) = "pipe-processes/same-cpu".
 *   BENCH_SAME_CPU  both tasks pinned to the first CPU this process may use: every
 *                   hand-off is a context switch on that CPU
 *   BENCH_SPLIT     task 0 on the first CPU, task 1 on the second: every hand-off is a
 *                   wake-up across CPUs (needs 2 CPUs; planned only where there are)
 *   BENCH_UNPINNED  the scheduler decides, as it does for ordinary programs
 * The harness gives each point's run the process's affinity as it found it at start, so a
 * run that pins itself never leaks its pinning into the next point. */
enum { BENCH_UNPINNED = 0, BENCH_SAME_CPU = 1, BENCH_SPLIT = 2, BENCH_NPLACEMENTS = 3 };

/* "unpinned", "same-cpu" or "split". */
const char *bench_placement_name(int placement);

/* 1 if the placement was asked for (--placement, default all) and is possible here. */
int bench_placement_wanted(const struct bench_opts *o, int placement);

/* "BASE/PLACEMENT-NAME", kept for the life of the program (for bench_point.variant). */
const char *bench_variant(const char *base, int placement);

/* The placement a variant made by bench_variant() names (BENCH_UNPINNED when none). */
int bench_placement_of(const char *variant);

/* Pin the calling thread as task `task` (0 or 1) of a pair placed as `placement`; for
 * BENCH_UNPINNED restore the affinity the program started with. Returns 0 or an errno. */
int bench_pin(int placement, int task);

/* The second task of a pair: fn(arg) in a forked child (BENCH_PROCESS; the child _exits
 * with fn's return value) or in a thread (BENCH_THREAD), pinned as task 1 of `placement`.
 * Memory both tasks use must come from shared_map() (shared.h) when it is a process. */
enum { BENCH_PROCESS = 0, BENCH_THREAD = 1 };
struct bench_peer {
    int kind;
    pid_t pid;
    pthread_t thread;
    int placement;
    int (*fn)(void *);
    void *arg;
    int ret;
};
void bench_peer_start(struct bench_peer *peer, int kind, int placement,
                      int (*fn)(void *), void *arg);

/* Wait for the peer to finish. Returns its fn's value (0: fine), or -1 when the child was
 * killed or exited non-zero (said on stderr). */
int bench_peer_wait(struct bench_peer *peer);

#endif
