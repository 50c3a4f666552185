/* bench_server.c - the six HTTP servers of demos/async (and nginx) under load
 *
 * One source, four benches (bench/CMakeLists.txt builds it four times with SERVER_BENCH):
 *   server      req/s, p50 and p99 latency against concurrent connections for `GET /`:
 *               every server and nginx (1 worker, and one per CPU), wrk as the load. The
 *               event loops and nginx run both ways, one loop and one loop per CPU: epoll,
 *               io_uring and libuv with --workers N (N loops, one SO_REUSEPORT socket
 *               each), nginx with N workers. A series named NAME_Nw ran N of them.
 *   server_io   the same for `GET /io?ms=10`: every request waits 10 ms, so at most
 *               connections / 10 ms requests per second - the ideal line of the chart.
 *               Models that keep every connection served follow it; a pool or prefork
 *               of W workers stops at W / 10 ms.
 *   server_mem  memory (PSS summed over the server's processes, MiB) holding 1, 1 000
 *               (and in full mode 10 000) idle keep-alive connections, each opened by this
 *               bench and used for one request first.
 *   slowloris   req/s of good clients (wrk, 8 keep-alive connections, `GET /`) beside
 *               0, 10, 50, 200, 500 slow clients: each sends one more byte of a request
 *               head that never ends every 2 s and reconnects at once when the server
 *               closes it, as the real slowloris does (slow_clients.c, a child
 *               process of this bench, loopback only). The servers run with their
 *               defaults: a 10 s head timeout, and for prefork also its --min-rate, which
 *               cuts such a client off about 1 s after its first byte. A model that gives
 *               each connection a worker of a fixed set (prefork) makes a new good client
 *               wait about (slow clients ahead / workers) x 1 s for a worker; the other
 *               models keep serving. wrk keeps its connections open, so one that does
 *               get a prefork worker keeps it: just past the worker count the figure
 *               depends on --seconds.
 * Each point starts the server afresh (--port 0, its port read from its first line), runs
 * one measurement and stops it by pid (SIGTERM; SIGKILL after 5 s). wrk runs on the same
 * machine as the server and shares its CPUs: the figures are what this machine does with
 * both, not the server's ceiling. Missing wrk or nginx: those points are skipped.
 *
 * The jobs live beside this file: server_target.c starts and stops the server under test
 * (nginx from the peer file nginx.conf), wrk.c runs the load and reads wrk's report, pss.c
 * probes memory, slow_clients.c is the slowloris crowd. This file plans the points.
 */
#include "core.h"
#include "harness.h"
#include "pss.h"
#include "server_target.h"
#include "slow_clients.h"
#include "wrk.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ROOT 0              /* SERVER_BENCH: which of the four benches this build is */
#define IO 1
#define MEM 2
#define SLOW 3
#ifndef SERVER_BENCH
#define SERVER_BENCH ROOT
#endif

#define GOOD_CONNS 8         /* wrk's connections beside the slow clients */

static long only_x = -1;                    /* --connections: measure this count only */

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--connections") != 0)
        return 0;
    only_x = SERVER_BENCH == SLOW ? parse_long(name, value, 0, SLOW_MAX)
                                  : parse_long(name, value, 1, 100000);
    return 1;
}

static const char *models[] = { "server_uv", "server_uv_multi", "server_threads",
                                "server_pool", "server_fork", "server_prefork",
                                "server_epoll", "server_uring" };
#define NMODELS (sizeof models / sizeof *models)

/* The series: a program (NULL: nginx) and the loops or workers it runs (0: its default).
 * A point's kind is its index here; plan() fills it. */
static struct series {
    const char *model;
    int workers;
    char name[48];
} series[NMODELS + 4];

static void add_series(size_t *n, const char *model, int workers)
{
    struct series *v = &series[*n];
    v->model = model;
    v->workers = workers;
    if (workers > 0)            /* the count in the name: server_uring_4w, nginx_1w */
        snprintf(v->name, sizeof v->name, "%s_%dw", model ? model : "nginx", workers);
    else
        snprintf(v->name, sizeof v->name, "%s", model);
    (*n)++;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const long load_quick[] = { 8, 64 }, load_full[] = { 1, 16, 64, 256, 1024 };
    static const long idle_quick[] = { 1, 1000 }, idle_full[] = { 1, 1000, 10000 };
    static const long slow[] = { 0, 10, 50, 200, 500 };         /* quick: one repeat */
    const long *xs = SERVER_BENCH == MEM ? (o->full ? idle_full : idle_quick)
                   : SERVER_BENCH == SLOW ? slow
                                          : (o->full ? load_full : load_quick);
    size_t nx = SERVER_BENCH == MEM ? (o->full ? 3 : 2)
              : SERVER_BENCH == SLOW ? 5 : (o->full ? 5 : 2);
    size_t nv = 0;
    int cpus = cpu_count();
    for (size_t i = 0; i < NMODELS; i++) {
        /* server_uv_multi is one loop per CPU (its default, said in its name); for / the
         * other two loops run that way too, beside their one loop. */
        int multi = strcmp(models[i], "server_uv_multi") == 0;
        add_series(&nv, models[i], multi ? cpus : 0);
        if (SERVER_BENCH == ROOT && cpus > 1 && (strcmp(models[i], "server_epoll") == 0 ||
                                                 strcmp(models[i], "server_uring") == 0))
            add_series(&nv, models[i], cpus);
    }
    if (SERVER_BENCH != IO)                 /* nginx has no /io: it is the peer for / only */
        add_series(&nv, NULL, 1);
    if (SERVER_BENCH == ROOT && cpus > 1)
        add_series(&nv, NULL, cpus);
    if (only_x >= 0)
        xs = &only_x, nx = 1;
    size_t n = 0;
    for (size_t v = 0; v < nv; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = series[v].name, .x = (double)xs[i],
                                             .kind = (int)v };
    return n;
}

static int run(const struct bench_point *pt, const struct bench_opts *o, double *values)
{
    struct target tg;
    /* Idle connections must stay open for the memory points: no header timeout. */
    const struct series *v = &series[pt->kind];
    int nginx = v->model == NULL;
    int s = target_start(v->model, v->workers, o->peer, SERVER_BENCH == MEM ? 0 : 10000, &tg);
    if (s != 0)
        return s;
    pid_t slow = 0;
    if (SERVER_BENCH == SLOW && pt->x > 0 && start_slow(tg.port, (long)pt->x, &slow) == -1) {
        kill(slow, SIGKILL);
        xwaitpid(slow, NULL, 0);
        target_stop(&tg);
        return -1;
    }
    const char *path = SERVER_BENCH == IO ? "/io?ms=10" : "/";
    int r = SERVER_BENCH == MEM ? hold_idle(tg.pid, tg.port, (long)pt->x, values)
          : SERVER_BENCH == SLOW ? wrk_run(tg.port, path, GOOD_CONNS, o->seconds, values)
                                 : wrk_run(tg.port, path, (long)pt->x, o->seconds, values);
    if (slow > 0) {                     /* its connections close with it */
        int status;
        if (xwaitpid(slow, &status, WNOHANG) == slow) {
            char how[128];
            fprintf(stderr, "server: the slow clients ended during the run (%s)\n",
                    describe_status(status, how, sizeof how));
            r = -1;
        } else {
            kill(slow, SIGKILL);
            xwaitpid(slow, NULL, 0);
        }
    }
    if (target_stop(&tg) != 0 && r == 0 && !nginx) {
        fprintf(stderr, "server: %s did not exit cleanly\n", pt->variant);
        r = -1;
    }
    return r;
}

static const struct bench_def def = {
#if SERVER_BENCH == SLOW
    .name = "slowloris",
    .x_name = "slow_clients",
    .x_unit = "connections",
    .usage =
        "slowloris (bench) - req/s of 8 good keep-alive clients (wrk, GET /) beside 0, 10,\n"
        "                    50, 200, 500 slow clients that send a header byte every 2 s\n"
        "                    and reconnect when cut off; every server and nginx\n"
        "\n"
        "Usage: bench_slowloris [--seconds S] [--connections N] [--peers DIR] [common flags]\n"
        "  --connections N  measure only N slow clients (0 to 5000)\n",
    .default_repeats_quick = 1,             /* 35 points: keep quick mode short */
#elif SERVER_BENCH == MEM
    .name = "server_mem",
    .x_name = "idle_connections",
    .x_unit = "connections",
    .usage =
        "server_mem (bench) - memory (PSS, MiB) of each server holding 1, 1000 (full:\n"
        "                     10000) idle keep-alive connections\n"
        "\n"
        "Usage: bench_server_mem [--connections N] [--peers DIR] [common flags]\n"
        "  --connections N  measure only N idle connections\n",
    .metrics = { { "pss_mb", "MiB" }, { "answered", "connections" } },
#elif SERVER_BENCH == IO
    .name = "server_io",
    .x_name = "connections",
    .x_unit = "connections",
    .usage =
        "server_io (bench) - req/s, p50 and p99 for GET /io?ms=10 against concurrent\n"
        "                    connections, every server, wrk as the load\n"
        "\n"
        "Usage: bench_server_io [--seconds S] [--connections N] [common flags]\n"
        "  --connections N  measure only N concurrent connections\n",
#else
    .name = "server",
    .x_name = "connections",
    .x_unit = "connections",
    .usage =
        "server (bench) - req/s, p50 and p99 for GET / against concurrent connections,\n"
        "                 every server and nginx (1 worker, one per CPU), wrk as the load;\n"
        "                 epoll, io_uring, libuv and nginx with one loop and one per CPU\n"
        "                 (NAME_Nw: N loops or workers)\n"
        "\n"
        "Usage: bench_server [--seconds S] [--connections N] [--peers DIR] [common flags]\n"
        "  --connections N  measure only N concurrent connections\n",
#endif
#if SERVER_BENCH != MEM
    .metrics = { { "rps", "req/s" }, { "p50_ms", "ms" }, { "p99_ms", "ms" },
                 { "errors", "count" } },
#endif
#if SERVER_BENCH != MEM
    .seconds_quick = 1,                     /* how long wrk runs per point */
    .seconds_full = 3,
#endif
#if SERVER_BENCH != IO
    .peer = "nginx.conf",                   /* nginx has no /io: no nginx for server_io */
    .peer_is_data = 1,
#endif
    .ignore_sigpipe = 1,                    /* a client whose server vanished: EPIPE */
    .raise_nofile = 1,                      /* thousands of connections, one end each here */
    .default_repeats_full = 3,
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
