/* bench_switching.c - throughput and context switches per second against the number of
 *                      tasks: CPU-bound and IO-bound, threads and processes
 *
 * Each point runs K tasks for a fixed time with switching_run() (switching_model.c, the
 * code behind demos/threads/switching): CPU-bound jobs are a fixed amount of arithmetic,
 * IO-bound jobs a 1 ms sleep. Metrics: jobs finished per second by all tasks together,
 * and voluntary and involuntary context switches per second, counted by each task for
 * itself with getrusage(). K runs from 1 to 64 x CPUs. CPU-bound throughput should stop
 * growing at K = CPUs while involuntary switches climb; IO-bound throughput should keep
 * growing (a sleeping task needs no core) with one voluntary switch per job.
 */
#include "core.h"
#include "harness.h"
#include "switching_model.h"

/* The variants; a point's kind is its index here. */
static const struct variant {
    const char *name;
    enum switching_kind kind;  /* CPU-bound or IO-bound jobs */
    int processes;             /* 1: the tasks are processes; 0: threads */
} variants[] = {
    { "cpu-threads", SWITCHING_CPU, 0 },
    { "cpu-processes", SWITCHING_CPU, 1 },
    { "io-threads", SWITCHING_IO, 0 },
    { "io-processes", SWITCHING_IO, 1 },
};

/* Quick: 1, CPUs, 4, 16 and 64 x CPUs. Full: every power of two up to 64 x CPUs, and CPUs. */
static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    long cpus = cpu_count(), xs[32];
    size_t nx = 0;
    if (o->full) {
        for (long k = 1; k <= 64 * cpus; k *= 2) {
            if (k / 2 < cpus && cpus < k)
                xs[nx++] = cpus;
            xs[nx++] = k;
        }
        if (xs[nx - 1] != 64 * cpus)
            xs[nx++] = 64 * cpus;
    } else {
        long quick[] = { 1, cpus, 4 * cpus, 16 * cpus, 64 * cpus };
        for (size_t i = 0; i < 5; i++)
            if (nx == 0 || quick[i] != xs[nx - 1])
                xs[nx++] = quick[i];
    }
    size_t n = 0;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = variants[v].name, .x = (double)xs[i],
                                             .kind = (int)v };
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    const struct variant *v = &variants[p->kind];
    struct switching_result r;
    if (switching_run((long)p->x, v->kind, v->processes, o->seconds, &r) != 0)
        return -1;
    values[0] = (double)r.jobs / r.wall_s;
    values[1] = (double)r.vcsw / r.wall_s;
    values[2] = (double)r.ivcsw / r.wall_s;
    return 0;
}

static const struct bench_def def = {
    .name = "switching",
    .x_name = "tasks",                      /* threads or processes, by the variant */
    .x_unit = "tasks",
    .usage =
        "switching (bench) - jobs/s and context switches/s against the number of tasks K\n"
        "                    (1 .. 64 x CPUs): CPU-bound and IO-bound, threads and processes\n"
        "\n"
        "Usage: bench_switching [--seconds S] [common flags]\n",
    .metrics = { { "jobs_per_s", "jobs/s" }, { "vcsw_per_s", "switches/s" },
                 { "ivcsw_per_s", "switches/s" } },
    .seconds_quick = 0.1,
    .seconds_full = 0.5,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
