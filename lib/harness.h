/* harness.h - the loop every benchmark shares
 *
 * A benchmark file supplies only the work: which points to measure (a variant such as
 * "c-threads", its kind - the bench's own number for it, which run() switches on, so no
 * bench reads its own variant names back - and an x such as the number of workers) and
 * how to measure one point once.
 * The harness owns everything else, the same way for every bench: the flags (--quick,
 * --full, --repeat, --warmup, --variant, --raw, --help), warm-up runs that are thrown away,
 * repeats, the median with its min and max, a progress line per point on stderr, and the
 * CSV rows on stdout.
 *
 * Output: for each point and metric, three rows in the suite's format (CSV_HEADER in
 * core.h) - the median of the repeats, their min and their max, named in the stat column:
 *     spin,c-threads,c-threads,,2,workers,workers,cores_used,median,1.98,cores
 *     spin,c-threads,c-threads,,2,workers,workers,cores_used,min,1.97,cores
 *     spin,c-threads,c-threads,,2,workers,workers,cores_used,max,1.99,cores
 * and, with --raw FILE, every repeat's own value in FILE (stat raw, one row per repeat in
 * the order they ran), so a reader can redraw the spread. Every column comes from the
 * point's fields and the def: no reader has to take a variant's name apart.
 * Benches of two tasks also get placement (--placement) and a partner task (process or
 * thread): see placement.h, included here. A bench that runs a Python peer script (or
 * reads a file such as nginx.conf) names it in bench_def.peer; bench_peer_value() runs
 * the script and reads the value it prints.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>

#include "placement.h"

#define BENCH_MAX_METRICS 8
#define BENCH_MAX_POINTS 512

struct bench_metric {
    const char *name;      /* e.g. "cores_used"; letters, digits and '_' */
    const char *unit;      /* e.g. "cores", "ns", "ops/s" */
};

struct bench_point {
    const char *variant;   /* a series in the chart, e.g. "c-threads" or "pipe-threads/split" */
    double x;              /* its x value, e.g. the number of workers (def->x_name says what) */
    int kind;              /* which of the bench's own variants: run() switches on it */
    int placement;         /* BENCH_SAME_CPU, ... in a bench that uses_placement (else 0) */
    const char *label;     /* the variant without its placement; NULL: the variant itself */
};

struct bench_opts {
    int full;              /* 0: quick mode (the default), 1: --full */
    int repeats;           /* measured runs per point */
    int warmup;            /* discarded runs per point before them */
    const char *variant;   /* --variant: measure only this series, or NULL for all */
    unsigned placements;   /* --placement: bit (1 << p) set for each placement p to measure */
    double seconds;        /* --seconds, or the def's default for the mode (0 if none) */
    const char *python;    /* --python: the interpreter for peers (default "python3") */
    char peer[4096];       /* the def's peer file, found in --peers DIR ("" if none) */
};

struct bench_def {
    const char *name;      /* the bench's name, the first CSV column */
    const char *x_name;    /* what x counts, e.g. "threads"; "none" for a bench without x */
    const char *x_unit;    /* its unit, e.g. "threads", "KiB"; "none" without x */
    const char *usage;     /* purpose and usage; the harness appends its own flags */
    struct bench_metric metrics[BENCH_MAX_METRICS];
    int nmetrics;          /* 0: as many as metrics[] names */

    /* Measured runs per point by default in quick and full mode (0: 3 and 5), and runs
     * thrown away before them (default 0). --repeat and --warmup override them. */
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

    /* Optional: the file name of a peer in bench/peers/: a Python script ("gil_spin.py")
     * or, with peer_is_data, a file the bench reads itself ("nginx.conf"). When set, the
     * harness takes --peers DIR and hands run() the file's path as o->peer; for a script
     * it also takes --python PATH, handed over as o->python; see bench_peer_missing(). */
    const char *peer;
    int peer_is_data;

    /* 1: the bench takes --placement (see placement.h); its plan() asks
     * bench_placement_wanted() which placements to plan points for. */
    int uses_placement;

    /* 1: ignore SIGPIPE, so that writing to a peer, partner or server that has gone fails
     * with EPIPE (and the run says so) instead of killing the bench. */
    int ignore_sigpipe;

    /* 1: raise the soft limit on open files to the hard limit before planning (a bench that
     * holds thousands of connections). */
    int raise_nofile;
};

/* The point LABEL/PLACEMENT-NAME ("pipe-processes/same-cpu") of a bench that
 * uses_placement: its variant and label are kept for the life of the program. */
struct bench_point bench_placed_point(const char *label, int kind, int placement, double x);

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

/* The median of v[0..n-1], n >= 1: the middle value, or the mean of the two middle values
 * when n is even. Sorts v in place, so v[0] and v[n-1] are then the min and the max. */
double median(double *v, int n);

/* The worker counts for a scaling chart: every x from 1 to `max` when max <= 8; beyond
 * that 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ... (the powers of two and 1.5 times them), plus
 * `must` (e.g. the CPU count) and `max`. Writes at most `cap` values to out[], returns how
 * many. */
size_t bench_steps(long max, long must, long *out, size_t cap);


#endif
