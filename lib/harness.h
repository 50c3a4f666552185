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
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>

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
};

struct bench_def {
    const char *name;      /* the bench's name, the first CSV column */
    const char *usage;     /* purpose and usage; the harness appends its own flags */
    struct bench_metric metrics[BENCH_MAX_METRICS];
    int nmetrics;
    int default_repeats_quick, default_repeats_full, default_warmup;

    /* Optional: take a flag of the bench's own ("--seconds", "0.5"). Return 1 if it was
     * the bench's (value consumed), 0 if unknown; report a bad value with usage_error(). */
    int (*flag)(const char *name, const char *value);

    /* Write up to `max` points to measure, in order, for the mode in *o; return how many. */
    size_t (*plan)(struct bench_point *points, size_t max, const struct bench_opts *o);

    /* Measure point *p once and write one value per metric into values[]. Return 0; or
     * 1 to skip the point without failing the bench (after saying why on stderr, e.g. a
     * peer that is not installed); or -1 when the run failed (after saying why). */
    int (*run)(const struct bench_point *p, const struct bench_opts *o, double *values);
};

/* Parse the command line, run every planned point and print the rows. Returns the exit
 * status for main(): 0, or 1 if a run failed. Bad flags exit 2 through usage_error(). */
int bench_main(int argc, char **argv, const struct bench_def *def);

/* The worker counts for a scaling chart: 1 to `max`, every one up to 8, beyond that
 * 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ... plus `must` (e.g. the CPU count) and `max`.
 * Writes at most `cap` values to out[], returns how many. */
size_t bench_steps(long max, long must, long *out, size_t cap);

#endif
