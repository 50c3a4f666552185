/* switching.c - K tasks on C cores, CPU-bound and IO-bound: when do more tasks stop helping?
 *
 * Usage:    switching [--kind cpu|io|both] [--tasks K,K,...] [--seconds S] [--processes]
 * Observe:  for K = 1, the CPU count, 4x and 64x the CPU count it runs K tasks for a
 *           fixed time and prints how many jobs they finished per second and how often
 *           they were switched out. CPU-bound jobs (pure arithmetic) gain nothing past
 *           K = CPUs: the cores are full, the extra tasks only take turns, and the
 *           involuntary switches (a task switched out while still runnable: its time
 *           slice ran out, or a task that woke up preempted it) climb. IO-bound jobs (a
 *           1 ms sleep, standing in for a disk or network wait) keep gaining with K - a
 *           waiting task needs no core - until the cores are busy with the wake-ups
 *           themselves; each job is one voluntary switch (the task giving up the CPU
 *           because it must wait).
 * Try:      switching --kind cpu --tasks 1,2,3,4     (what happens right past the CPU count?)
 *           switching --kind io --tasks 64,256,1024  (where does the gain stop?)
 *           switching --processes                    (do processes behave differently?)
 *           taskset -c 0 build/bin/switching         (one CPU)
 * Python:   docs/seeds.md#seed-000, "homework in five subjects": switching has a cost;
 *           CPU-bound work wants as many tasks as cores, IO-bound work wants more
 * See also: docs/threads/switching.md, and the switching chart of `make bench`
 */
#include "core.h"
#include "switching_model.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "switching - K CPU-bound or IO-bound tasks: throughput and context switches\n"
    "\n"
    "Usage: switching [--kind cpu|io|both] [--tasks K,K,...] [--seconds S] [--processes]\n"
    "  --kind KIND      cpu (arithmetic jobs), io (1 ms sleeps) or both (default)\n"
    "  --tasks LIST     the task counts to try, comma-separated (default: 1, CPUs,\n"
    "                   4 x CPUs, 64 x CPUs), each at most 4096\n"
    "  --seconds S      how long each run lasts (default 0.2)\n"
    "  --processes      run the tasks as child processes instead of threads\n"
    "  --help           this text\n"
    "\n"
    "One line per run: kind, tasks, jobs done, jobs/s, jobs/s per task, voluntary and\n"
    "involuntary context switches of the tasks, switches/s.\n";

#define MAX_COUNTS 32

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int cpus = cpu_count(), processes = 0, kinds = 3;     /* bit 0: cpu, bit 1: io */
    static const char *const kind_names[] = { "cpu", "io", "both", NULL };  /* 1, 2, 3 */
    long counts[MAX_COUNTS] = { 1, cpus, 4L * cpus, 64L * cpus };
    int ncounts = 4;
    double seconds = 0.2;
    static const struct option opts[] = {
        { "kind", required_argument, NULL, 'k' },
        { "tasks", required_argument, NULL, 't' },
        { "seconds", required_argument, NULL, 's' },
        { "processes", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': kinds = 1 + parse_choice("--kind", optarg, kind_names); break;
        case 't': ncounts = (int)parse_long_list("--tasks", optarg, 1, 4096, counts, MAX_COUNTS);
                  break;
        case 's': seconds = parse_double("--seconds", optarg, 0.01, 60); break;
        case 'p': processes = 1; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    printf("switching: %s on %d CPU%s, %g s per run; a CPU job is %ld arithmetic steps, "
           "an IO job a %ld ms sleep\n", processes ? "processes" : "threads", cpus,
           cpus == 1 ? "" : "s", seconds, SWITCHING_CPU_STEPS, SWITCHING_IO_SLEEP_NS / 1000000);
    printf("%-4s %6s %8s %10s %12s %10s %12s %11s\n", "kind", "tasks", "jobs", "jobs/s",
           "jobs/s/task", "voluntary", "involuntary", "switches/s");
    int failed = 0;
    for (int kind = SWITCHING_CPU; kind <= SWITCHING_IO; kind++) {
        if (!(kinds & (1 << kind)))
            continue;
        /* [snippet:table] */
        for (int i = 0; i < ncounts; i++) {
            struct switching_result r;
            if (switching_run(counts[i], kind, processes, seconds, &r) != 0)
                failed = 1;
            double rate = (double)r.jobs / r.wall_s;
            printf("%-4s %6ld %8ld %10.0f %12.1f %10ld %12ld %11.0f\n",
                   kind == SWITCHING_CPU ? "cpu" : "io", counts[i], r.jobs, rate,
                   rate / (double)counts[i], r.vcsw, r.ivcsw,
                   (double)(r.vcsw + r.ivcsw) / r.wall_s);
            fflush(stdout);
        }
        /* [/snippet:table] */
    }
    printf("expect: cpu jobs/s flat past %d tasks, involuntary switches rising; io jobs/s "
           "growing with tasks, about one voluntary switch per job\n", cpus);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
