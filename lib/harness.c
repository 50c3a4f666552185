/* harness.c - flags, repeats, statistics and output for every bench (contract in harness.h) */
#include "core.h"
#include "harness.h"
#include "spawn_capture.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v in place); the mean of the two middle values when n is even. */
double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_usage(const struct bench_def *def)
{
    fputs(def->usage, stdout);
    if (def->seconds_quick > 0)
        printf("  --seconds S      how long one run lasts (default %g quick, %g full)\n",
               def->seconds_quick, def->seconds_full);
    if (def->peer && def->peer_is_data)
        printf("  --peers DIR      where %s is (default %s)\n", def->peer, PEERS_DIR);
    else if (def->peer)
        printf("  --peers DIR      where the Python peer %s is (default %s)\n"
               "  --python PATH    the Python interpreter for it (default: python3 from PATH)\n",
               def->peer, PEERS_DIR);
    if (def->uses_placement)
        fputs("\nPlacement of the two tasks (each one is a series in the chart):\n"
              "  --placement LIST same-cpu, split, unpinned or all, comma-separated (default all)\n"
              "                   same-cpu: both pinned to one CPU; split: one on each of two\n"
              "                   CPUs; unpinned: wherever the scheduler puts them\n",
              stdout);
    fputs("\nCommon bench flags:\n"
          "  --quick          few points, few repeats: the default, minutes for all benches\n"
          "  --full           every point, more repeats\n"
          "  --repeat N       measured runs per point (median, min and max are reported)\n"
          "  --warmup N       runs per point thrown away before measuring\n"
          "  --variant NAME   measure only this series\n"
          "  --raw FILE       also write every repeat's value to FILE\n"
          "  --list           print the planned points and exit\n"
          "  --help           this text\n"
          "\nOutput: CSV rows " CSV_HEADER " on stdout\n"
          "(stat: median, min or max of the repeats); progress on stderr.\n",
          stdout);
    exit(EXIT_SUCCESS);
}

/* The command line as bench_main() reads it, beyond what goes into bench_opts. */
struct bench_cli {
    const char *raw_path;  /* --raw */
    int list;              /* --list */
};

/* One flag that takes a value: the harness's own, or the bench's (def->flag). */
static void take_value_flag(const struct bench_def *def, const char *name, const char *value,
                            int takes_value, struct bench_opts *o, struct bench_cli *cli,
                            const char **peers_dir)
{
    if (!strcmp(name, "--repeat"))
        o->repeats = (int)parse_long(name, value, 1, 1000);
    else if (!strcmp(name, "--warmup"))
        o->warmup = (int)parse_long(name, value, 0, 1000);
    else if (!strcmp(name, "--variant"))
        o->variant = value;
    else if (!strcmp(name, "--raw"))
        cli->raw_path = value;
    else if (!strcmp(name, "--placement") && def->uses_placement)
        o->placements = bench_parse_placements(value);
    else if (!strcmp(name, "--seconds") && def->seconds_quick > 0)
        o->seconds = parse_double(name, value, 0.001, 600);
    else if (!strcmp(name, "--peers") && def->peer)
        *peers_dir = value;
    else if (!strcmp(name, "--python") && def->peer && !def->peer_is_data)
        o->python = value;
    else if (takes_value || !def->flag || !def->flag(name, value))
        usage_error("unknown flag '%s'", name);
}

/* Parse the command line into *o and *cli; bad flags exit 2 through usage_error(). */
static void parse_bench_flags(int argc, char **argv, const struct bench_def *def,
                              struct bench_opts *o, struct bench_cli *cli)
{
    *o = (struct bench_opts){ .warmup = def->default_warmup, .python = "python3",
                              .placements = (1u << BENCH_NPLACEMENTS) - 1 };
    *cli = (struct bench_cli){ 0 };
    const char *peers_dir = PEERS_DIR;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *value = NULL;
        if (strncmp(arg, "--", 2) != 0)
            usage_error("unexpected argument '%s'", arg);
        char *eq = strchr(arg, '=');
        if (eq) {                        /* --name=value */
            *eq = '\0';
            value = eq + 1;
        }
        const char *name = arg;
        int takes_value = !strcmp(name, "--repeat") || !strcmp(name, "--warmup") ||
                          !strcmp(name, "--variant") || !strcmp(name, "--raw") ||
                          (def->uses_placement && !strcmp(name, "--placement")) ||
                          (def->seconds_quick > 0 && !strcmp(name, "--seconds")) ||
                          (def->peer && !strcmp(name, "--peers")) ||
                          (def->peer && !def->peer_is_data && !strcmp(name, "--python"));
        if (!strcmp(name, "--help"))
            print_usage(def);
        else if (!strcmp(name, "--quick") && !value)
            o->full = 0;
        else if (!strcmp(name, "--full") && !value)
            o->full = 1;
        else if (!strcmp(name, "--list") && !value)
            cli->list = 1;
        else {
            if (!value && i + 1 < argc)
                value = argv[++i];
            else if (!value && takes_value)
                usage_error("%s needs a value", name);
            /* A bench's own flag that came last gets value NULL: its parse_long() says
             * that the flag needs a value, and a flag it does not know is unknown. */
            take_value_flag(def, name, value, takes_value, o, cli, &peers_dir);
        }
    }
    if (o->repeats == 0)
        o->repeats = o->full ? def->default_repeats_full : def->default_repeats_quick;
    if (o->seconds == 0)
        o->seconds = o->full ? def->seconds_full : def->seconds_quick;
    if (def->peer &&
        snprintf(o->peer, sizeof o->peer, "%s/%s", peers_dir, def->peer) >= (int)sizeof o->peer)
        usage_error("--peers: '%s' is too long a path", peers_dir);
}

/* The points that --variant selects: how many (usage_error() when --variant names none). */
static size_t count_points(const struct bench_point *points, size_t n, const struct bench_opts *o)
{
    size_t matched = 0;
    for (size_t i = 0; i < n; i++)
        if (!o->variant || !strcmp(o->variant, points[i].variant))
            matched++;
    if (o->variant && matched == 0)
        usage_error("--variant: no series named '%s'", o->variant);
    return matched;
}

/* --list: the selected points, one "VARIANT X" line each. */
static void list_points(const struct bench_point *points, size_t n, const struct bench_opts *o)
{
    for (size_t i = 0; i < n; i++)
        if (!o->variant || !strcmp(o->variant, points[i].variant))
            printf("%s %g\n", points[i].variant, points[i].x);
}

/* What the rows of point *p say it is about. */
static struct csv_point csv_point_of(const struct bench_def *def, const struct bench_point *p)
{
    return (struct csv_point){
        .bench = def->name, .variant = p->variant, .label = p->label,
        .placement = def->uses_placement ? bench_placement_name(p->placement) : NULL,
        .x = p->x, .x_name = def->x_name, .x_unit = def->x_unit,
    };
}

/* The three rows (median, min, max) of each metric of a measured point, and its progress
 * line. vals holds o->repeats values per metric, and is sorted here. */
static void report_point(const struct bench_def *def, const struct bench_point *p,
                         const struct bench_opts *o, double *vals, const char *progress)
{
    struct csv_point cp = csv_point_of(def, p);
    fprintf(stderr, "%s:", progress);
    for (int m = 0; m < def->nmetrics; m++) {
        const struct bench_metric *mt = &def->metrics[m];
        double *v = &vals[m * o->repeats];
        double med = median(v, o->repeats);   /* sorted now: v[0] is min, v[n-1] max */
        csv_row(stdout, &cp, mt->name, "median", med, mt->unit);
        csv_row(stdout, &cp, mt->name, "min", v[0], mt->unit);
        csv_row(stdout, &cp, mt->name, "max", v[o->repeats - 1], mt->unit);
        fprintf(stderr, " %s %.4g %s (min %.4g, max %.4g)", mt->name, med, mt->unit, v[0],
                v[o->repeats - 1]);
    }
    fputc('\n', stderr);
    fflush(stdout);
}

/* Warm up, then measure point *p o->repeats times (each repeat also into raw, if open),
 * and report it. vals has room for o->repeats values per metric. Returns 0 measured,
 * 1 skipped, -1 failed (after the progress line says so). */
static int run_point(const struct bench_def *def, const struct bench_point *p,
                     const struct bench_opts *o, FILE *raw, double *vals, const char *progress)
{
    double one[BENCH_MAX_METRICS];
    int verdict = 0;                  /* 0 measured, 1 skipped, -1 failed */
    for (int w = 0; w < o->warmup && verdict == 0; w++)
        verdict = def->run(p, o, one);
    for (int r = 0; r < o->repeats && verdict == 0; r++) {
        if ((verdict = def->run(p, o, one)) != 0)
            break;
        for (int m = 0; m < def->nmetrics; m++) {
            vals[m * o->repeats + r] = one[m];
            struct csv_point cp = csv_point_of(def, p);
            if (raw)
                csv_row(raw, &cp, def->metrics[m].name, "raw", one[m], def->metrics[m].unit);
        }
    }
    bench_pin(BENCH_UNPINNED, 0);     /* a run that pinned itself leaves no trace */
    if (verdict != 0)
        fprintf(stderr, "%s: %s\n", progress, verdict > 0 ? "skipped" : "FAILED");
    else
        report_point(def, p, o, vals, progress);
    return verdict;
}

/* *given with its defaults filled in (harness.h): what the rest of the harness reads. */
static struct bench_def with_defaults(const struct bench_def *given)
{
    struct bench_def def = *given;
    CHECK(def.x_name && def.x_unit);     /* every row says what its x is */
    if (def.nmetrics == 0)               /* count the named metrics */
        while (def.nmetrics < BENCH_MAX_METRICS && def.metrics[def.nmetrics].name)
            def.nmetrics++;
    CHECK(def.nmetrics > 0);
    if (def.default_repeats_quick == 0)
        def.default_repeats_quick = 3;
    if (def.default_repeats_full == 0)
        def.default_repeats_full = 5;
    return def;
}

int bench_main(int argc, char **argv, const struct bench_def *given)
{
    prog_init(argv[0]);
    static struct bench_def filled;
    filled = with_defaults(given);
    const struct bench_def *def = &filled;
    bench_placement_init();
    if (def->ignore_sigpipe)       /* writing to a partner that died fails with EPIPE */
        signal(SIGPIPE, SIG_IGN);
    struct nofile_limits nofile;
    if (def->raise_nofile)          /* quietly: stdout carries only CSV; a failure leaves */
        raise_nofile(&nofile);      /* the limit as it was, which the run then meets */
    struct bench_opts o;
    struct bench_cli cli;
    parse_bench_flags(argc, argv, def, &o, &cli);

    static struct bench_point points[BENCH_MAX_POINTS];
    size_t npoints = def->plan(points, BENCH_MAX_POINTS, &o);
    size_t matched = count_points(points, npoints, &o);
    if (cli.list) {
        list_points(points, npoints, &o);
        return EXIT_SUCCESS;
    }

    FILE *raw = NULL;
    if (cli.raw_path) {
        raw = fopen(cli.raw_path, "w");
        if (!raw)
            die_errno(cli.raw_path);   /* e.g. "bench: results/x/spin.raw.csv: No such file..." */
        csv_header(raw);
    }
    csv_header(stdout);

    int failed = 0;
    size_t done = 0;
    double *vals = xmalloc(sizeof(double) * (size_t)o.repeats * BENCH_MAX_METRICS);
    for (size_t i = 0; i < npoints; i++) {
        const struct bench_point *p = &points[i];
        if (o.variant && strcmp(o.variant, p->variant))
            continue;
        char progress[192];
        snprintf(progress, sizeof progress, "  [%zu/%zu] %s x=%g", ++done, matched,
                 p->variant, p->x);
        if (run_point(def, p, &o, raw, vals, progress) < 0)
            failed = 1;
    }
    free(vals);
    if (raw && fclose(raw) != 0)
        die_errno(cli.raw_path);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int bench_peer_missing(const struct bench_opts *o)
{
    if (access(o->peer, R_OK) == 0)
        return 0;
    fprintf(stderr, "%s: %s - its Python points are skipped\n", o->peer, strerror(errno));
    return 1;
}

/* The value of the last line in text that reads "KEY VALUE" or "KEY=VALUE" into *value;
 * 1 if there is one, else 0. *last points at the last line of text ("" if none). */
static int find_key(const char *text, const char *key, double *value, const char **last)
{
    size_t klen = strlen(key);
    int found = 0;
    *last = text;
    for (const char *line = text; *line; ) {
        const char *nl = strchr(line, '\n');
        if (!strncmp(line, key, klen) && (line[klen] == ' ' || line[klen] == '='))
            found = sscanf(line + klen + 1, "%lf", value) == 1;
        *last = line;
        line = nl ? nl + 1 : line + strlen(line);
    }
    return found;
}

int bench_peer_value(const struct bench_opts *o, const char *const args[], const char *key,
                     double *value)
{
    if (bench_peer_missing(o))
        return 1;
    const char *argv[64] = { o->python, o->peer };
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    /* The peer's stdout and stderr both come back through one pipe: the value is on
     * stdout, and a traceback on stderr is the best explanation when it fails. */
    static char out[1 << 16];
    struct spawn_opts so = { .err = SPAWN_PIPE };
    int status;
    if (spawn_capture((char *const *)argv, &so, out, sizeof out, &status) == SPAWN_MISSING) {
        fprintf(stderr, "cannot run %s (%s) - its Python points are skipped\n", o->python,
                strerror(errno));
        return 1;
    }
    const char *last;
    int found = find_key(out, key, value, &last);
    if (!found || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[128];
        fprintf(stderr, "%s %s: %s%s; last line: %s%s", o->python, o->peer,
                describe_status(status, how, sizeof how), found ? "" : ", no value printed",
                last[0] ? last : "(none)\n", last[0] && !strchr(last, '\n') ? "\n" : "");
        return -1;
    }
    return 0;
}

size_t bench_steps(long max, long must, long *out, size_t cap)
{
    size_t n = 0;
    for (long x = 1; x <= max && n < cap; x++) {
        /* Every x when max <= 8; past that 1 to 4, then the powers of two and the points
         * half-way between them (6, 12, 24, 48...), which look evenly spaced on a log axis. */
        long odd = x;
        while (odd % 2 == 0)
            odd /= 2;
        if (max <= 8 || x <= 4 || odd == 1 || odd == 3 || x == must || x == max)
            out[n++] = x;
    }
    return n;
}

