/* harness.c - flags, repeats, statistics and output for every bench (contract in harness.h) */
#include "core.h"
#include "harness.h"
#include "shared.h"

#ifndef PEERS_DIR
#define PEERS_DIR "bench/peers"
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The affinity the program started with: what BENCH_UNPINNED restores. */
static cpu_set_t start_affinity;
static int start_affinity_known;

static const char *const placement_names[BENCH_NPLACEMENTS] = { "unpinned", "same-cpu", "split" };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (sorts v in place); the mean of the two middle values when n is even. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Parse "same-cpu,split" into a bit set of placements, or usage_error(). */
static unsigned parse_placements(const char *list)
{
    /* In the order of the BENCH_* placement numbers, then "all". */
    static const char *const names[] = { "unpinned", "same-cpu", "split", "all", NULL };
    unsigned set = 0;
    const char *cursor = NULL;
    char item[32];
    while (list_item("--placement", list, &cursor, item, sizeof item)) {
        int p = parse_choice("--placement", item, names);
        set |= p == BENCH_NPLACEMENTS ? (1u << BENCH_NPLACEMENTS) - 1 : 1u << p;
    }
    return set;
}

static void print_usage(const struct bench_def *def)
{
    fputs(def->usage, stdout);
    if (def->seconds_quick > 0)
        printf("  --seconds S      how long one run lasts (default %g quick, %g full)\n",
               def->seconds_quick, def->seconds_full);
    if (def->peer)
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
          "\nOutput: CSV rows bench,variant,x,metric,value,unit on stdout; progress on stderr.\n",
          stdout);
    exit(EXIT_SUCCESS);
}

int bench_main(int argc, char **argv, const struct bench_def *def)
{
    prog_init(argv[0]);
    struct bench_opts o = { .repeats = 0, .warmup = def->default_warmup,
                            .placements = (1u << BENCH_NPLACEMENTS) - 1 };
    start_affinity_known = sched_getaffinity(0, sizeof start_affinity, &start_affinity) == 0;
    const char *raw_path = NULL;
    int list = 0, repeats_set = 0;
    const char *peers_dir = PEERS_DIR;
    o.python = "python3";

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
        int placement_flag = def->uses_placement && strcmp(name, "--placement") == 0;
        int seconds_flag = def->seconds_quick > 0 && strcmp(name, "--seconds") == 0;
        int peer_flag = def->peer && (!strcmp(name, "--peers") || !strcmp(name, "--python"));
        int takes_value = strcmp(name, "--repeat") == 0 || strcmp(name, "--warmup") == 0 ||
                          strcmp(name, "--variant") == 0 || strcmp(name, "--raw") == 0 ||
                          placement_flag || seconds_flag || peer_flag;
        if (!strcmp(name, "--help"))
            print_usage(def);
        else if (!strcmp(name, "--quick") && !value)
            o.full = 0;
        else if (!strcmp(name, "--full") && !value)
            o.full = 1;
        else if (!strcmp(name, "--list") && !value)
            list = 1;
        else {
            if (!value && i + 1 < argc)
                value = argv[++i];
            else if (!value && takes_value)
                usage_error("%s needs a value", name);
            /* A bench's own flag that came last gets value NULL: its parse_long() says
             * that the flag needs a value, and a flag it does not know is unknown. */
            if (!strcmp(name, "--repeat")) {
                o.repeats = (int)parse_long(name, value, 1, 1000);
                repeats_set = 1;
            } else if (!strcmp(name, "--warmup"))
                o.warmup = (int)parse_long(name, value, 0, 1000);
            else if (!strcmp(name, "--variant"))
                o.variant = value;
            else if (!strcmp(name, "--raw"))
                raw_path = value;
            else if (placement_flag)
                o.placements = parse_placements(value);
            else if (seconds_flag)
                o.seconds = parse_double(name, value, 0.001, 600);
            else if (peer_flag && !strcmp(name, "--peers"))
                peers_dir = value;
            else if (peer_flag)
                o.python = value;
            else if (takes_value || !def->flag || !def->flag(name, value))
                usage_error("unknown flag '%s'", name);
        }
    }
    if (!repeats_set)
        o.repeats = o.full ? def->default_repeats_full : def->default_repeats_quick;
    if (o.seconds == 0)
        o.seconds = o.full ? def->seconds_full : def->seconds_quick;
    if (def->peer &&
        snprintf(o.peer, sizeof o.peer, "%s/%s", peers_dir, def->peer) >= (int)sizeof o.peer)
        usage_error("--peers: '%s' is too long a path", peers_dir);

    static struct bench_point points[BENCH_MAX_POINTS];
    size_t npoints = def->plan(points, BENCH_MAX_POINTS, &o);
    size_t matched = 0;
    for (size_t i = 0; i < npoints; i++)
        if (!o.variant || !strcmp(o.variant, points[i].variant))
            matched++;
    if (o.variant && matched == 0)
        usage_error("--variant: no series named '%s'", o.variant);
    if (list) {
        for (size_t i = 0; i < npoints; i++)
            if (!o.variant || !strcmp(o.variant, points[i].variant))
                printf("%s %g\n", points[i].variant, points[i].x);
        return EXIT_SUCCESS;
    }

    FILE *raw = NULL;
    if (raw_path) {
        raw = fopen(raw_path, "w");
        if (!raw)
            die_errno(raw_path);   /* e.g. "bench: results/x/spin.raw.csv: No such file..." */
        csv_header(raw);
    }
    csv_header(stdout);

    int failed = 0;
    size_t done = 0;
    double *vals = malloc(sizeof(double) * (size_t)o.repeats * BENCH_MAX_METRICS);
    if (!vals)
        die_errno("malloc");
    for (size_t i = 0; i < npoints; i++) {
        const struct bench_point *p = &points[i];
        if (o.variant && strcmp(o.variant, p->variant))
            continue;
        done++;
        double one[BENCH_MAX_METRICS];
        int verdict = 0;                  /* 0 measured, 1 skipped, -1 failed */
        for (int w = 0; w < o.warmup && verdict == 0; w++)
            verdict = def->run(p, &o, one);
        for (int r = 0; r < o.repeats && verdict == 0; r++) {
            if ((verdict = def->run(p, &o, one)) != 0)
                break;
            for (int m = 0; m < def->nmetrics; m++) {
                vals[m * o.repeats + r] = one[m];
                if (raw)
                    csv_row(raw, def->name, p->variant, p->x, def->metrics[m].name, one[m],
                            def->metrics[m].unit);
            }
        }
        bench_pin(BENCH_UNPINNED, 0);     /* a run that pinned itself leaves no trace */
        if (verdict != 0) {
            fprintf(stderr, "  [%zu/%zu] %s x=%g: %s\n", done, matched, p->variant, p->x,
                    verdict > 0 ? "skipped" : "FAILED");
            if (verdict < 0)
                failed = 1;
            continue;
        }
        fprintf(stderr, "  [%zu/%zu] %s x=%g:", done, matched, p->variant, p->x);
        for (int m = 0; m < def->nmetrics; m++) {
            const struct bench_metric *mt = &def->metrics[m];
            double *v = &vals[m * o.repeats];
            double med = median(v, o.repeats);   /* sorted now: v[0] is min, v[n-1] max */
            char name[128];
            csv_row(stdout, def->name, p->variant, p->x, mt->name, med, mt->unit);
            snprintf(name, sizeof name, "%s_min", mt->name);
            csv_row(stdout, def->name, p->variant, p->x, name, v[0], mt->unit);
            snprintf(name, sizeof name, "%s_max", mt->name);
            csv_row(stdout, def->name, p->variant, p->x, name, v[o.repeats - 1], mt->unit);
            fprintf(stderr, " %s %.4g %s (min %.4g, max %.4g)", mt->name, med, mt->unit, v[0],
                    v[o.repeats - 1]);
        }
        fputc('\n', stderr);
        fflush(stdout);
    }
    free(vals);
    if (raw && fclose(raw) != 0)
        die_errno(raw_path);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int bench_peer_missing(const struct bench_opts *o)
{
    if (access(o->peer, R_OK) == 0)
        return 0;
    fprintf(stderr, "%s: %s - its Python points are skipped\n", o->peer, strerror(errno));
    return 1;
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
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == -1)
        die_errno("pipe2");
    /* fork and exec rather than posix_spawnp(): the peer must die with the bench, even
     * with a SIGKILLed one, and only code run in the child can ask for that (PDEATHSIG
     * survives exec). A failed exec exits 127, which is handled below. */
    fflush(NULL);                 /* nothing buffered is written twice */
    pid_t parent = getpid(), pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        if (dup2(fds[1], STDOUT_FILENO) == -1 || dup2(fds[1], STDERR_FILENO) == -1)
            die_child_errno("dup2");
        execvp(o->python, (char *const *)argv);
        die_child_errno(o->python);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f)
        die_errno("fdopen");
    char line[1024] = "";
    size_t klen = strlen(key);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && (line[klen] == ' ' || line[klen] == '='))
            found = sscanf(line + klen + 1, "%lf", value) == 1;
    fclose(f);
    int status;
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fprintf(stderr, "cannot run %s - its Python points are skipped\n", o->python);
        return 1;
    }
    if (!found || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[128];
        fprintf(stderr, "%s %s: %s%s; last line: %s", o->python, o->peer,
                describe_status(status, how, sizeof how), found ? "" : ", no value printed",
                line[0] ? line : "(none)\n");
        return -1;
    }
    return 0;
}

size_t bench_steps(long max, long must, long *out, size_t cap)
{
    size_t n = 0;
    for (long x = 1; x <= max && n < cap; x++) {
        /* Every x up to 8; past that the powers of two and the points half-way between
         * them (12, 24, 48...), which look evenly spaced on a log axis. */
        long odd = x;
        while (odd % 2 == 0)
            odd /= 2;
        if (max <= 8 || x <= 4 || odd == 1 || odd == 3 || x == must || x == max)
            out[n++] = x;
    }
    return n;
}

const char *bench_placement_name(int placement)
{
    return placement >= 0 && placement < BENCH_NPLACEMENTS ? placement_names[placement] : "?";
}

int bench_placement_wanted(const struct bench_opts *o, int placement)
{
    if (placement < 0 || placement >= BENCH_NPLACEMENTS || !(o->placements & (1u << placement)))
        return 0;
    return placement != BENCH_SPLIT || cpu_count() >= 2;
}

const char *bench_variant(const char *base, int placement)
{
    /* Interned: a plan asks for each name once per run, and the points keep pointing at it. */
    static char *names[BENCH_MAX_POINTS];
    static size_t n;
    char buf[128];
    snprintf(buf, sizeof buf, "%s/%s", base, bench_placement_name(placement));
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], buf))
            return names[i];
    CHECK(n < BENCH_MAX_POINTS);
    names[n] = xmalloc(strlen(buf) + 1);
    strcpy(names[n], buf);
    return names[n++];
}

int bench_placement_of(const char *variant)
{
    const char *slash = strrchr(variant, '/');
    for (int p = 0; slash && p < BENCH_NPLACEMENTS; p++)
        if (!strcmp(slash + 1, placement_names[p]))
            return p;
    return BENCH_UNPINNED;
}

int bench_pin(int placement, int task)
{
    if (placement == BENCH_UNPINNED) {
        if (!start_affinity_known)
            return 0;
        return sched_setaffinity(0, sizeof start_affinity, &start_affinity) == 0 ? 0 : errno;
    }
    /* cpu_id() reads the current mask, which a pinned thread has shrunk: count from the
     * mask the program started with. */
    int k = placement == BENCH_SPLIT ? task : 0, cpu = -1;
    if (start_affinity_known) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &start_affinity) && k-- == 0) {
                cpu = c;
                break;
            }
    } else
        cpu = cpu_id(k);
    return cpu < 0 ? EINVAL : pin_to_cpu(cpu);
}

static void *peer_thread(void *arg)
{
    struct bench_peer *peer = arg;
    int s = bench_pin(peer->placement, 1);
    if (s != 0)
        die_code("bench_pin", s);
    peer->ret = peer->fn(peer->arg);
    return NULL;
}

void bench_peer_start(struct bench_peer *peer, int kind, int placement,
                      int (*fn)(void *), void *arg)
{
    *peer = (struct bench_peer){ .kind = kind, .placement = placement, .fn = fn, .arg = arg };
    if (kind == BENCH_THREAD) {
        xpthread_create(&peer->thread, NULL, peer_thread, peer);
        return;
    }
    fflush(NULL);                 /* nothing buffered is written twice */
    pid_t parent = getpid();
    peer->pid = xfork();
    if (peer->pid == 0) {
        end_with_parent(parent, SIGKILL);      /* a killed bench leaves no partner behind */
        int s = bench_pin(placement, 1);
        if (s != 0) {
            errno = s;
            die_child_errno("sched_setaffinity");
        }
        _exit(fn(arg) == 0 ? 0 : 1);
    }
}

int bench_peer_wait(struct bench_peer *peer)
{
    if (peer->kind == BENCH_THREAD) {
        xpthread_join(peer->thread, NULL);
        return peer->ret;
    }
    int status;
    xwaitpid(peer->pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char buf[128];
    fprintf(stderr, "%s: peer process %ld %s\n", prog_name, (long)peer->pid,
            describe_status(status, buf, sizeof buf));
    return -1;
}

