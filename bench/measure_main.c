/* measure_main.c - measure: run any command and report what it cost (time, cores, memory)
 *
 * Usage:    measure [--csv] [-o FILE] [--interval MS] [--timeline FILE] [--label NAME] -- CMD [ARGS...]
 * Observe:  "cores used" is (user + system CPU time) / wall time. A program that waits
 *           uses almost none; one busy thread uses 1; N busy threads use up to the
 *           number of CPUs. Voluntary context switches count the times the command gave
 *           up the CPU to wait; involuntary ones count the times it was preempted.
 * Try:      measure -- build/bin/spin --threads 2
 *           measure -- python3 bench/peers/gil_spin.py --threads 2      (the GIL: ~1 core)
 *           measure -- sleep 1                                           (~0 cores)
 * See also: docs/measure.md
 *
 * The exit status is the command's own (128 + N when it was killed by signal N; 127 when
 * it could not be started), so measure can stand in front of any command in a script.
 */
#include "core.h"
#include "measure.h"
#include "shared.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char usage_text[] =
    "measure - run a command and report wall time, CPU time, cores used, context\n"
    "          switches, peak memory and how busy each CPU was\n"
    "\n"
    "Usage: measure [options] -- CMD [ARGS...]\n"
    "  --csv            print CSV rows (" CSV_HEADER ")\n"
    "                   instead of prose\n"
    "  -o, --output F   write the report to F instead of stderr (prose) or stdout (CSV)\n"
    "  --interval MS    sample /proc/stat every MS ms (default 100; 0 = start and end only)\n"
    "  --timeline F     write every per-CPU sample to F as CSV (metric busy, x = seconds)\n"
    "  --label NAME     the variant column in CSV rows (default: the command's name)\n"
    "  --help           this text\n"
    "\n"
    "The command's stdout and stderr are left alone. measure exits with the command's\n"
    "status (128+N if it was killed by signal N, 127 if it could not be started).\n";

/* Print the result as prose, for a person. */
static void print_prose(FILE *f, char *const cmd[], const struct measure_result *r,
                        int interval_ms)
{
    char how[160];
    fprintf(f, "measure:");
    for (int i = 0; cmd[i]; i++)
        fprintf(f, " %s", cmd[i]);
    fprintf(f, "\n  exit              %s\n", describe_status(r->wstatus, how, sizeof how));
    fprintf(f, "  wall              %.3f s\n", r->wall_s);
    fprintf(f, "  user CPU          %.3f s\n", r->user_s);
    fprintf(f, "  system CPU        %.3f s\n", r->sys_s);
    fprintf(f, "  cores used        %.2f   (user + system) / wall, of %d CPU%s\n",
            r->cores_used, cpu_count(), cpu_count() == 1 ? "" : "s");
    fprintf(f, "  context switches  %ld voluntary (waited), %ld involuntary (preempted)\n",
            r->vcsw, r->ivcsw);
    fprintf(f, "  peak RSS          %.1f MiB (largest single process)\n",
            (double)r->maxrss_kib / 1024);
    if (r->ncpus == 0) {
        fprintf(f, "  CPU busy          unavailable (/proc/stat cannot be read here)\n");
        return;
    }
    fprintf(f, "  CPU busy         ");
    for (int i = 0; i < r->ncpus; i++)
        fprintf(f, "%s cpu%d %3.0f%%", i && i % 8 == 0 ? "\n                   " : "",
                r->cpu[i], r->busy_pct[i]);
    fprintf(f, "\n                    (the whole machine, not only this command; "
               "from /proc/stat%s)\n", interval_ms ? "" : ", start and end");
}

/* Print the result as CSV rows, for the harness and for scripts. */
static void print_csv(FILE *f, const char *label, const struct measure_result *r)
{
    int code = WIFEXITED(r->wstatus) ? WEXITSTATUS(r->wstatus)
                                     : 128 + WTERMSIG(r->wstatus);
    /* One run, no x: every row is a raw measurement of the command. */
    struct csv_point p = { .bench = "measure", .variant = label, .x = 0, .x_name = "none",
                           .x_unit = "none" };
    csv_header(f);
    csv_row(f, &p, "exit_code", "raw", code, "code");
    csv_row(f, &p, "wall", "raw", r->wall_s, "s");
    csv_row(f, &p, "user", "raw", r->user_s, "s");
    csv_row(f, &p, "sys", "raw", r->sys_s, "s");
    csv_row(f, &p, "cores_used", "raw", r->cores_used, "cores");
    csv_row(f, &p, "vcsw", "raw", (double)r->vcsw, "switches");
    csv_row(f, &p, "ivcsw", "raw", (double)r->ivcsw, "switches");
    csv_row(f, &p, "maxrss", "raw", (double)r->maxrss_kib, "KiB");
    for (int i = 0; i < r->ncpus; i++) {
        char metric[32];
        snprintf(metric, sizeof metric, "cpu%d_busy", r->cpu[i]);
        csv_row(f, &p, metric, "raw", r->busy_pct[i], "%");
    }
}

/* The command line: flags, then the command after them. */
struct measure_cli {
    int csv, interval_ms;
    const char *out_path, *timeline_path, *label;
    char **cmd;
};

/* Parse the flags into *c, or exit 2 through usage_error(). */
static void parse_flags(int argc, char **argv, struct measure_cli *c)
{
    *c = (struct measure_cli){ .interval_ms = 100 };
    static const struct option opts[] = {
        { "csv", no_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "interval", required_argument, NULL, 'i' },
        { "timeline", required_argument, NULL, 't' },
        { "label", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    /* "+" stops at the first non-option, so the command's own flags are left to it. */
    while ((ch = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c->csv = 1; break;
        case 'o': c->out_path = optarg; break;
        case 'i': c->interval_ms = (int)parse_long("--interval", optarg, 0, 60000); break;
        case 't': c->timeline_path = optarg; break;
        case 'l': c->label = optarg; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind >= argc)
        usage_error("no command given (put it after --)");
    c->cmd = &argv[optind];
    if (!c->label) {
        const char *slash = strrchr(c->cmd[0], '/');
        c->label = slash ? slash + 1 : c->cmd[0];
    }
    if (strpbrk(c->label, ",\n"))
        usage_error("--label: '%s' contains a comma or newline", c->label);
    if (c->timeline_path && c->interval_ms == 0)
        usage_error("--timeline needs sampling: give --interval a value above 0");
}

/* Every per-CPU sample as CSV rows (x = seconds since the start). */
static void print_timeline(FILE *f, const struct measure_result *r)
{
    csv_header(f);
    for (size_t i = 0; i < r->nsamples; i++) {
        char variant[32];
        snprintf(variant, sizeof variant, "cpu%d", r->samples[i].cpu);
        struct csv_point p = { .bench = "timeline", .variant = variant,
                               .x = r->samples[i].t_s, .x_name = "elapsed", .x_unit = "s" };
        csv_row(f, &p, "busy", "raw", r->samples[i].busy_pct, "%");
    }
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct measure_cli c;
    parse_flags(argc, argv, &c);

    /* Open the output files first: better to refuse now than after a long run. */
    FILE *out = c.csv ? stdout : stderr, *timeline = NULL;
    if (c.out_path && !(out = fopen(c.out_path, "w")))
        die_errno(c.out_path);
    if (c.timeline_path && !(timeline = fopen(c.timeline_path, "w")))
        die_errno(c.timeline_path);

    struct measure_opts mo = { .sample_ms = c.interval_ms };
    struct measure_result r;
    if (measure_run(c.cmd, &mo, &r) == -1)
        die_errno("measure_run");
    if (r.exec_errno) {
        /* Like env(1): 127 for "not found", 126 for "found but cannot run". */
        int e = r.exec_errno;
        fprintf(stderr, "%s: execvp %s: %s\n", prog_name, c.cmd[0], strerror(e));
        measure_free(&r);
        return e == ENOENT ? 127 : 126;
    }

    if (c.csv)
        print_csv(out, c.label, &r);
    else
        print_prose(out, c.cmd, &r, c.interval_ms);
    if (timeline) {
        print_timeline(timeline, &r);
        if (fclose(timeline) != 0)
            die_errno(c.timeline_path);
    }
    if (out != stdout && out != stderr && fclose(out) != 0)
        die_errno(c.out_path);
    fflush(stdout);

    int status = r.wstatus, stop = r.stop_signal;
    measure_free(&r);
    if (stop)                   /* we were told to stop, and passed it on: end the same way */
        die_of_signal(stop);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
