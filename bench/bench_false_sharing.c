/* bench_false_sharing.c - increments/s of threads that each increment a counter of their
 *                         own, against threads (1 .. 2 x CPUs): counters packed in one cache
 *                         line, padded to 64 bytes, padded to 128 bytes; per placement
 *
 * Each point runs the false_sharing demo's model (demos/threads/false_sharing_model.c, the
 * same code) for --seconds: T threads released together, each incrementing its own counter
 * (a relaxed atomic load and store: a plain store every time, no locked instruction);
 * incs_per_s is all their increments over the wall time from the first thread's start to
 * the last one's finish; cpu_ns_per_inc is the threads' CPU time over their increments, what
 * one increment costs while its thread runs (less disturbed by other load on the machine,
 * which takes CPUs away but does not slow an increment down). Series: a layout and a
 * placement:
 *   packed   counters 8 bytes apart: eight share a 64-byte line
 *   pad64    a line each
 *   pad128   two lines each (out of reach of the adjacent-line prefetcher)
 *   /split     thread i pinned to the i-th CPU (wrapping round): the line travels
 *   /same-cpu  every thread on the first CPU: one cache, the effect vanishes
 *   /unpinned  the scheduler decides
 * No thread shares data with another, so every layout ends exact; a lost increment fails
 * the bench.
 */
#include "core.h"
#include "false_sharing_model.h"
#include "harness.h"

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    long xs[64];
    size_t nx = bench_steps(2L * cpu_count(), cpu_count(), xs, 64), n = 0;
    static const int places[] = { BENCH_SPLIT, BENCH_SAME_CPU, BENCH_UNPINNED };
    for (size_t p = 0; p < sizeof places / sizeof *places; p++) {
        if (!bench_placement_wanted(o, places[p]))
            continue;
        for (int l = 0; l < FS_NLAYOUTS; l++)
            for (size_t i = 0; i < nx && n < max; i++)
                pts[n++] = bench_placed_point(fs_layout_names[l], l, places[p], (double)xs[i]);
    }
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    struct fs_config c = {
        .threads = (long)p->x,
        .layout = (enum fs_layout)p->kind,
        .place = p->placement == BENCH_SPLIT ? FS_SPREAD
                 : p->placement == BENCH_SAME_CPU ? FS_SAME_CPU : FS_UNPINNED,
        .seconds = o->seconds,
    };
    struct fs_result r;
    fs_run(&c, &r);
    if (r.total != r.counted) {
        fprintf(stderr, "false_sharing: %s counted %llu increments but its counters hold %llu\n",
                p->variant, (unsigned long long)r.counted, (unsigned long long)r.total);
        return -1;
    }
    values[0] = (double)r.total / r.wall_s;
    values[1] = r.cpu_ns_per_inc;
    return 0;
}

static const struct bench_def def = {
    .name = "false_sharing",
    .x_name = "threads",
    .x_unit = "threads",
    .usage =
        "false_sharing (bench) - increments/s of threads each incrementing its own counter,\n"
        "                        against threads (1 .. 2 x CPUs): counters packed in one\n"
        "                        cache line, padded to 64 bytes, padded to 128 bytes; threads\n"
        "                        spread over the CPUs (split), on one CPU, or unpinned\n"
        "\n"
        "Usage: bench_false_sharing [--seconds S] [--placement LIST] [common flags]\n",
    .metrics = { { "incs_per_s", "inc/s" }, { "cpu_ns_per_inc", "ns" } },
    .seconds_quick = 0.05,
    .seconds_full = 0.3,
    .uses_placement = 1,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
