/* bench_syscalls.c - system calls and context switches per request, for every server
 *
 * What does one `GET /` cost the server in trips into the kernel? Each point starts one
 * server (server_target.c: --port 0, stopped by pid), sends it a fixed number of requests
 * over C keep-alive connections (a small client in this file: one request in flight per
 * connection, the next sent when the reply is complete), and divides:
 *   context switches   voluntary + involuntary, summed over every thread of the server and
 *                      of its child processes (/proc/PID/task/TID/status), read before the
 *                      connections open and after the last reply; measured in a first pass
 *                      WITHOUT strace, because a traced process stops at every system call.
 *   system calls       a second pass over new connections with `strace -f -c -o FILE -p PID`
 *                      attached to every thread (and, -f, to every child a fork or prefork
 *                      server starts); strace is stopped with SIGINT after the last reply and
 *                      its summary table is read: the total, and the families that make up
 *                      a request (read/recv, write/send, epoll_wait/poll, io_uring_enter,
 *                      accept; the rest is "other": futex, epoll_ctl, clock...).
 *                      Counting includes the C accepts, not the closes.
 * strace slows a server by an order of magnitude or more: these runs count, they never
 * time. Only the counts are reported. Division is exact because the count is fixed.
 *
 * The servers: the six of demos/async, server_epoll and server_uring (a server that is not
 * built is skipped, said on stderr), and nginx with one worker (skipped where it is not
 * installed). Without strace every point is skipped, as other benches do without a peer.
 * 64 connections by default, the issue's `wrk -c64`. server_prefork runs one worker per
 * connection (server_prefork_64w): a keep-alive connection keeps its worker, so with
 * fewer workers the connections beyond them would wait in the accept queue for ever.
 */
#include "core.h"
#include "harness.h"
#include "server_target.h"
#include "spawn_capture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 1000

static long requests = -1;                  /* --requests: total per pass (-1: mode's) */
static long conns = 64;                     /* --connections */

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--requests") == 0)
        requests = parse_long(name, value, 1, 100000000);
    else if (strcmp(name, "--connections") == 0)
        conns = parse_long(name, value, 1, MAX_CONNS);
    else
        return 0;
    return 1;
}

static const char *models[] = { "server_uv", "server_uv_multi", "server_threads",
                                "server_pool", "server_fork", "server_prefork",
                                "server_epoll", "server_uring" };
#define NMODELS (sizeof models / sizeof *models)
enum { NGINX = NMODELS };                   /* the kind of the nginx point */
static char prefork_name[48];               /* "server_prefork_<conns>w" */

/* --workers for models[kind]: one prefork worker per connection, else the default. */
static int workers_for(int kind)
{
    return strcmp(models[kind], "server_prefork") == 0 ? (int)conns : 0;
}

/* The metrics, in def.metrics order: run() fills values[] by these indices. */
enum { M_TOTAL, M_READ, M_WRITE, M_WAIT, M_URING, M_ACCEPT, M_OTHER, M_CTXSW, M_COUNT };

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    (void)o;
    size_t n = 0;
    snprintf(prefork_name, sizeof prefork_name, "server_prefork_%ldw", conns);
    for (size_t i = 0; i < NMODELS && n < max; i++)
        pts[n++] = (struct bench_point){ .variant = workers_for((int)i) ? prefork_name
                                                                        : models[i],
                                         .x = (double)conns, .kind = (int)i };
    if (n < max)
        pts[n++] = (struct bench_point){ .variant = "nginx_1w", .x = (double)conns,
                                         .kind = NGINX };
    return n;
}

/* The sum of per_task(/proc/PID/task/TID) over every thread of pid and, recursively, of
 * its children. A process that has gone (a fork server's child that exited) adds 0. */
static double tree_sum(pid_t pid, double (*per_task)(const char *dir))
{
    char path[96];
    double sum = 0;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)); ) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s", (int)pid, e->d_name);
        sum += per_task(path);
        char children[128];
        snprintf(children, sizeof children, "%s/children", path);
        FILE *f = fopen(children, "r");
        int child;
        while (f && fscanf(f, "%d", &child) == 1)
            sum += tree_sum(child, per_task);
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}

/* A thread's context switches so far: voluntary_ and nonvoluntary_ctxt_switches. */
static double task_ctxsw(const char *dir)
{
    char path[128], line[256];
    double sum = 0;
    snprintf(path, sizeof path, "%s/status", dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "ctxt_switches:"))
            sum += strtod(strchr(line, ':') + 1, NULL);
    if (f)
        fclose(f);
    return sum;
}

/* 1 when a thread is running or stopped by the tracer (state R or t), else 0. */
static double task_busy(const char *dir)
{
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/stat", dir);
    FILE *f = fopen(path, "r");
    char *paren = f && fgets(line, sizeof line, f) ? strrchr(line, ')') : NULL;
    if (f)
        fclose(f);
    return paren && (paren[2] == 'R' || paren[2] == 't') ? 1 : 0;
}

/* Wait (1 s at most) until every thread of the server sleeps: the client has the last
 * reply as soon as write() copied it, but strace counts that write only at its exit stop;
 * a thread that has moved on to sleep in its next call has passed that stop. */
static void settle(pid_t pid)
{
    for (int i = 0, quiet = 0; i < 200 && quiet < 2; i++) {
        quiet = tree_sum(pid, task_busy) == 0 ? quiet + 1 : 0;
        sleep_ns(5000000);
    }
}

/* The load: n keep-alive connections, one request in flight on each. */
struct load {
    struct pollfd p[MAX_CONNS];
    size_t got[MAX_CONNS];                  /* bytes of the current reply received */
    char buf[MAX_CONNS][1024];
    long n;
};

static void load_open(struct load *l, int port, long n)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    l->n = n;
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            die_errno("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
            die_errno("connect");
        l->p[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
        l->got[i] = 0;
    }
}

static void load_close(struct load *l)
{
    for (long i = 0; i < l->n; i++)
        close(l->p[i].fd);
}

/* 1 when buf[0..len) holds a complete reply (head and Content-Length bytes of body). */
static int reply_complete(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    const char *cl = memmem(buf, (size_t)(end - buf), "Content-Length:", 15);
    if (!cl)
        cl = memmem(buf, (size_t)(end - buf), "content-length:", 15);
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    return len >= (size_t)(end + 4 - buf) + body;
}

static int send_request(int fd)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    return send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)sizeof req - 1 ? 0 : -1;
}

/* Send `total` requests over the open connections and wait for every reply. Returns 0,
 * or -1 (said on stderr) when a connection fails or nothing moves for 10 s. */
static int load_run(struct load *l, long total)
{
    long sent = 0, done = 0;
    for (long i = 0; i < l->n && sent < total; i++, sent++)
        if (send_request(l->p[i].fd) == -1)
            return fprintf(stderr, "syscalls: send: %s\n", strerror(errno)), -1;
    int64_t moved = now_ns();
    while (done < total) {
        if (now_ns() - moved > 10 * (int64_t)1000000000)
            return fprintf(stderr, "syscalls: no reply for 10 s\n"), -1;
        if (poll(l->p, (nfds_t)l->n, 100) <= 0)
            continue;
        for (long i = 0; i < l->n; i++) {
            if (!l->p[i].revents)
                continue;
            ssize_t r = recv(l->p[i].fd, l->buf[i] + l->got[i],
                             sizeof l->buf[i] - 1 - l->got[i], 0);
            if (r <= 0)
                return fprintf(stderr, "syscalls: the server closed a connection\n"), -1;
            l->got[i] += (size_t)r;
            moved = now_ns();
            if (!reply_complete(l->buf[i], l->got[i]))
                continue;
            done++, l->got[i] = 0;
            if (sent < total && send_request(l->p[i].fd) == -1)
                return fprintf(stderr, "syscalls: send: %s\n", strerror(errno)), -1;
            sent += sent < total;
        }
    }
    return 0;
}

/* Write pid and, recursively, its child processes into pids[] (at most max); return how
 * many. A prefork server's workers exist before strace attaches, and -f follows only the
 * children started after it: each process is named with its own -p. */
static size_t tree_pids(pid_t pid, pid_t *pids, size_t n, size_t max)
{
    if (n >= max)
        return n;
    pids[n++] = pid;
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    int child;
    while (f && fscanf(f, "%d", &child) == 1)
        n = tree_pids(child, pids, n, max);
    if (f)
        fclose(f);
    return n;
}

/* Wait until strace has answered for each of `want` processes (10 s at most): a line
 * "Process PID attached", or "attach: ... No such process" for a fork server's child that
 * was exiting. Returns 0 when it attached to at least one, else -1 (said on stderr). */
static int wait_attached(int fd, size_t want)
{
    static char buf[64 * 1024];             /* a line per process: a prefork of 1000 */
    size_t len = 0, seen = 0, ok = 0;
    int64_t deadline = now_ns() + 10 * (int64_t)1000000000;
    while (seen < want && len < sizeof buf - 1 && now_ns() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        seen = ok = 0;
        for (const char *at = buf; (at = strstr(at, "attach")); at++)
            seen++, ok += !strncmp(at, "attached", 8);
    }
    if (seen < want || ok == 0)
        fprintf(stderr, "syscalls: strace answered for %zu of %zu processes: %s\n", seen,
                want, buf);
    return seen < want || ok == 0 ? -1 : 0;
}

#define MAX_PIDS (MAX_CONNS + 16)     /* a prefork server: a worker per connection */

/* Start `strace -f -c -o file -p PID...` on the server's processes and wait until it has
 * attached to each. Returns 0; 1 when strace is not installed (said: skip); -1 when it
 * did not attach. */
static int strace_attach(pid_t pid, const char *file, struct spawn *s)
{
    pid_t pids[MAX_PIDS];
    size_t n = tree_pids(pid, pids, 0, MAX_PIDS);
    static char *argv[5 + 2 * MAX_PIDS + 1] = { "strace", "-f", "-c", "-o" };
    static char pidtxt[MAX_PIDS][16];
    argv[4] = (char *)file;
    size_t a = 5;
    for (size_t i = 0; i < n; i++) {
        snprintf(pidtxt[i], sizeof pidtxt[i], "%d", (int)pids[i]);
        argv[a++] = "-p", argv[a++] = pidtxt[i];
    }
    argv[a] = NULL;
    struct spawn_opts so = { .death_signal = SIGINT, .out = SPAWN_PIPE, .err = SPAWN_PIPE };
    if (spawn_start(s, argv, &so) == SPAWN_MISSING) {
        fprintf(stderr, "syscalls: strace is not installed (apt-get install strace) - "
                        "skipped\n");
        return 1;
    }
    return wait_attached(s->out_fd, n);
}

/* Which family of def.metrics a system call belongs to, or -1 for none. */
static int family(const char *name)
{
    static const struct { const char *name; int metric; } fam[] = {
        { "read", M_READ }, { "readv", M_READ }, { "recvfrom", M_READ },
        { "recvmsg", M_READ }, { "write", M_WRITE }, { "writev", M_WRITE },
        { "sendto", M_WRITE }, { "sendmsg", M_WRITE }, { "sendfile", M_WRITE },
        { "epoll_wait", M_WAIT }, { "epoll_pwait", M_WAIT }, { "epoll_pwait2", M_WAIT },
        { "poll", M_WAIT }, { "ppoll", M_WAIT }, { "select", M_WAIT },
        { "pselect6", M_WAIT }, { "io_uring_enter", M_URING }, { "accept", M_ACCEPT },
        { "accept4", M_ACCEPT },
    };
    for (size_t i = 0; i < sizeof fam / sizeof *fam; i++)
        if (strcmp(fam[i].name, name) == 0)
            return fam[i].metric;
    return -1;
}

/* Add strace's summary table in `file` into calls[M_TOTAL..M_ACCEPT]. Its rows read
 * "% time  seconds  usecs/call  calls  [errors]  syscall", then a "total" row. */
static int parse_summary(const char *file, double *calls)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fprintf(stderr, "syscalls: %s: %s\n", file, strerror(errno)), -1;
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        double pct, secs, per, n;
        char name[64];
        char *last = strrchr(line, ' ');
        if (sscanf(line, "%lf %lf %lf %lf", &pct, &secs, &per, &n) != 4 || !last ||
            sscanf(last, "%63s", name) != 1)
            continue;                       /* a header, a rule or a blank line */
        if (strcmp(name, "total") == 0) {
            calls[M_TOTAL] = n, found = 1;
            continue;
        }
        int m = family(name);
        if (m >= 0)
            calls[m] += n;
    }
    fclose(f);
    if (!found)
        fprintf(stderr, "syscalls: no total in strace's summary %s\n", file);
    return found ? 0 : -1;
}

/* The second pass: new connections, `total` requests with strace attached. */
static int traced_pass(pid_t pid, int port, long total, struct load *l, double *values)
{
    char file[] = "/tmp/bench-syscalls-XXXXXX";
    int fd = mkstemp(file);
    if (fd == -1)
        die_errno("mkstemp");
    close(fd);
    struct spawn st;
    int r = strace_attach(pid, file, &st);
    if (r == 0) {
        load_open(l, port, conns);
        r = load_run(l, total);
        settle(pid);
        kill(st.pid, SIGINT);               /* detach: strace writes its summary */
        char rest[4096];
        int status;
        spawn_finish(&st, rest, sizeof rest, &status);
        load_close(l);
        if (r == 0)
            r = parse_summary(file, values);
    } else if (r == -1) {
        char rest[64];
        int status;
        kill(st.pid, SIGKILL);
        spawn_finish(&st, rest, sizeof rest, &status);
    }
    unlink(file);
    return r;
}

/* 1 (said on stderr) when the model's program is not built beside the bench. */
static int not_built(const char *model)
{
    char path[PATH_MAX];
    sibling_program(model, path, sizeof path);
    if (access(path, X_OK) == 0)
        return 0;
    fprintf(stderr, "syscalls: %s is not built (%s) - skipped\n", model, path);
    return 1;
}

static int run(const struct bench_point *pt, const struct bench_opts *o, double *values)
{
    long total = requests > 0 ? requests : o->full ? 100000 : 20000;
    int nginx = pt->kind == NGINX;
    if (!nginx && not_built(models[pt->kind]))
        return 1;
    struct target tg;
    target_death_signal(SIGKILL);           /* see server_target.h: a detach can eat SIGTERM */
    int s = target_start(nginx ? NULL : models[pt->kind], nginx ? 1 : workers_for(pt->kind),
                         o->peer, 10000, &tg);
    if (s != 0)
        return s;
    struct load *l = xmalloc(sizeof *l);
    memset(values, 0, M_COUNT * sizeof *values);
    /* First pass, untraced: the context switches of `total` requests. */
    double before = tree_sum(tg.pid, task_ctxsw);
    load_open(l, tg.port, conns);
    int r = load_run(l, total);
    double after = tree_sum(tg.pid, task_ctxsw);
    load_close(l);
    if (r == 0)
        r = traced_pass(tg.pid, tg.port, total, l, values);
    free(l);
    values[M_OTHER] = values[M_TOTAL];      /* what no family above counts: the stack's top */
    for (int m = M_READ; m < M_OTHER; m++)
        values[M_OTHER] -= values[m];
    for (int m = M_TOTAL; m < M_CTXSW; m++)
        values[m] /= (double)total;
    values[M_CTXSW] = (after - before) / (double)total;
    if (target_stop(&tg) != 0 && r == 0 && !nginx) {
        fprintf(stderr, "syscalls: %s did not exit cleanly\n", pt->variant);
        r = -1;
    }
    return r;
}

static const struct bench_def def = {
    .name = "syscalls",
    .x_name = "connections",
    .x_unit = "connections",
    .usage =
        "syscalls (bench) - system calls (strace -f -c) and context switches per GET /\n"
        "                   request, every server and nginx, over a fixed request count\n"
        "\n"
        "strace stops the server at every system call, so it runs far slower while traced:\n"
        "this bench counts, it never times. Without strace every point is skipped.\n"
        "\n"
        "Usage: bench_syscalls [--requests N] [--connections C] [--peers DIR] [common flags]\n"
        "  --requests N     requests per pass (default 20000, full: 100000)\n"
        "  --connections C  keep-alive connections, one request in flight each (default 64,\n"
        "                   as the issue's wrk -c64; server_prefork gets C workers)\n",
    .metrics = { { "syscalls_per_req", "calls" }, { "read_per_req", "calls" },
                 { "write_per_req", "calls" }, { "wait_per_req", "calls" },
                 { "uring_enter_per_req", "calls" }, { "accept_per_req", "calls" },
                 { "other_per_req", "calls" }, { "ctxsw_per_req", "switches" } },
    .default_repeats_quick = 1,             /* counts, not times: they barely vary */
    .default_repeats_full = 3,
    .peer = "nginx.conf",
    .peer_is_data = 1,
    .ignore_sigpipe = 1,
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
