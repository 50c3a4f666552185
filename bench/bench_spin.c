/* bench_spin.c - cores used by 1..2x(CPUs) busy workers: C threads, C processes,
 *                  Python threads, Python processes
 *
 * Each point runs one command under measure_run() - demos/threads/spin for C, the peer
 * bench/peers/gil_spin.py for Python - and records cores used = (user + sys) / wall for
 * the whole command, start-up included. C workers should follow the ideal line
 * min(N, CPUs); Python threads stay near 1 whatever N is (the GIL); Python processes
 * follow C, a little lower from the interpreter's ~30 ms start-up in every run.
 */
#include "core.h"
#include "harness.h"
#include "measure.h"
#include "shared.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char spin_path[PATH_MAX];            /* the spin demo, beside this binary */

/* The variants; a point's kind is its index here. */
static const struct variant {
    const char *name;
    int py;                    /* 1: the Python peer; 0: the C spin demo */
    const char *how;           /* the workers: --threads or --processes */
} variants[] = {
    { "c-threads", 0, "--threads" },
    { "c-processes", 0, "--processes" },
    { "py-threads", 1, "--threads" },
    { "py-processes", 1, "--processes" },
};

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    (void)o;
    long xs[64];
    size_t nx = bench_steps(2L * cpu_count(), cpu_count(), xs, 64), n = 0;
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = variants[v].name, .x = (double)xs[i],
                                             .kind = (int)v };
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    char n[32], secs[32];
    snprintf(n, sizeof n, "%ld", (long)p->x);
    snprintf(secs, sizeof secs, "%g", o->seconds);
    const char *how = variants[p->kind].how;
    char *c_cmd[] = { spin_path, (char *)how, n, "--seconds", secs, NULL };
    char *py_cmd[] = { (char *)o->python, (char *)o->peer, (char *)how, n, "--seconds", secs,
                       NULL };
    int is_py = variants[p->kind].py;

    if (is_py && bench_peer_missing(o))
        return 1;
    struct measure_opts mo = { .sample_ms = 0, .quiet = 1 };
    struct measure_result r;
    if (measure_run(is_py ? py_cmd : c_cmd, &mo, &r) == -1) {
        fprintf(stderr, "spin: measure_run: %s\n", strerror(errno));
        return -1;
    }
    int status = r.wstatus, exec_errno = r.exec_errno;
    if (r.stop_signal)          /* the run was stopped by a signal to us: stop the bench */
        die_of_signal(r.stop_signal);
    values[0] = r.cores_used;
    values[1] = (double)r.ivcsw;
    measure_free(&r);
    if (exec_errno) {
        fprintf(stderr, "spin: cannot run %s: %s%s\n", is_py ? o->python : spin_path,
                strerror(exec_errno), is_py ? " - Python points skipped" : "");
        return is_py ? 1 : -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char buf[128];
        fprintf(stderr, "spin: %s %s %s: %s\n", p->variant, how, n,
                describe_status(status, buf, sizeof buf));
        return -1;
    }
    return 0;
}

static const struct bench_def def = {
    .name = "spin",
    .x_name = "workers",                    /* threads or processes, by the variant */
    .x_unit = "workers",
    .usage =
        "spin (bench) - cores used by N busy workers as C threads, C processes, Python\n"
        "               threads and Python processes, N = 1 .. 2 x CPUs\n"
        "\n"
        "Usage: bench_spin [--seconds S] [--peers DIR] [--python PATH] [common flags]\n",
    .metrics = { { "cores_used", "cores" }, { "ivcsw", "switches" } },
    .seconds_quick = 0.5,
    .seconds_full = 2.0,
    .peer = "gil_spin.py",
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    /* The spin demo is built into the same folder as this bench. */
    sibling_program("spin", spin_path, sizeof spin_path);
    return bench_main(argc, argv, &def);
}
