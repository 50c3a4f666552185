/* server.c (bench) - the six HTTP servers of demos/async (and nginx) under load
 *
 * One source, four benches (bench/CMakeLists.txt builds it four times with SERVER_BENCH):
 *   server      req/s, p50 and p99 latency against concurrent connections for `GET /`:
 *               every server and nginx (1 worker, and one per CPU), wrk as the load.
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
 *               closes it, as the real slowloris does (slow_clients() below, a child
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
 */
#include "core.h"
#include "harness.h"
#include "shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PEERS_DIR
#define PEERS_DIR "bench/peers"
#endif
#define ROOT 0              /* SERVER_BENCH: which of the three benches this build is */
#define IO 1
#define MEM 2
#define SLOW 3
#ifndef SERVER_BENCH
#define SERVER_BENCH ROOT
#endif

#define SLOW_MAX 5000        /* slow clients at most (each is a descriptor here) */
#define SLOW_EVERY_MS 2000   /* one byte per slow client this often */
#define SLOW_LIFE_S 600      /* a slow-client process ends itself after this, whatever */
#define GOOD_CONNS 8         /* wrk's connections beside the slow clients */

static const char *peers_dir = PEERS_DIR;   /* --peers */
static long seconds = -1;                   /* --seconds for wrk; 1 quick, 3 full */
static long only_x = -1;                    /* --connections: measure this count only */
static char nginx_n[32];                    /* "nginx_<CPUs>w" */

static int flag(const char *name, const char *value)
{
    if (!strcmp(name, "--seconds"))
        seconds = parse_long(name, value, 1, 600);
    else if (!strcmp(name, "--peers") && !value)
        usage_error("%s needs a value", name);
    else if (!strcmp(name, "--peers"))
        peers_dir = value;
    else if (!strcmp(name, "--connections"))
        only_x = SERVER_BENCH == SLOW ? parse_long(name, value, 0, SLOW_MAX)
                                      : parse_long(name, value, 1, 100000);
    else
        return 0;
    return 1;
}

static const char *models[] = { "server_uv", "server_uv_multi", "server_threads",
                                "server_pool", "server_fork", "server_prefork" };
#define NMODELS (sizeof models / sizeof *models)

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
    const char *vs[NMODELS + 2];
    size_t nv = 0;
    for (size_t i = 0; i < NMODELS; i++)
        vs[nv++] = models[i];
    snprintf(nginx_n, sizeof nginx_n, "nginx_%dw", cpu_count());
    if (SERVER_BENCH != IO)
        vs[nv++] = "nginx_1w";              /* nginx has no /io: it is the peer for / only */
    if (SERVER_BENCH == ROOT && cpu_count() > 1)
        vs[nv++] = nginx_n;
    if (only_x >= 0)
        xs = &only_x, nx = 1;
    size_t n = 0;
    for (size_t v = 0; v < nv; v++)
        for (size_t i = 0; i < nx && n < max; i++)
            pts[n++] = (struct bench_point){ vs[v], (double)xs[i] };
    return n;
}

/* ---- starting and stopping a server --------------------------------------------------- */

struct peer {
    pid_t pid;
    int port;
    char dir[64];           /* nginx's temporary folder, "" for the course's servers */
};

/* Start build/bin/<model> --port 0 and read its port from "listening on ADDR:PORT". */
static int start_model(const char *model, struct peer *pr)
{
    char path[PATH_MAX];
    sibling_program(model, path, sizeof path);      /* the servers are built beside the bench */
    int fds[2];
    xpipe(fds);
    pid_t bench = getpid();
    pr->pid = xfork();
    if (pr->pid == 0) {
        end_with_parent(bench, SIGTERM);       /* a killed bench leaves no server behind */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        /* Idle connections must stay open for the memory points: no header timeout. */
        execl(path, model, "--port", "0", "--header-timeout",
              SERVER_BENCH == MEM ? "0" : "10000", (char *)NULL);
        die_child_errno(path);
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    int64_t deadline = now_ns() + 10 * (int64_t)1000000000;
    pr->port = -1;
    while (pr->port < 0 && len < sizeof buf - 1 && now_ns() < deadline) {
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *at = strstr(buf, "listening on ");
        char *colon = at ? strchr(at, ':') : NULL;
        if (colon && strchr(colon, '\n'))
            pr->port = atoi(colon + 1);
    }
    close(fds[0]);          /* later lines (the stop message) are not needed */
    pr->dir[0] = '\0';
    if (pr->port <= 0) {
        fprintf(stderr, "server: %s did not say where it listens\n", model);
        kill(pr->pid, SIGKILL);
        xwaitpid(pr->pid, NULL, 0);
        return -1;
    }
    return 0;
}

/* A free loopback port: bind port 0, read what the kernel gave, let it go again. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
        die_errno("socket/bind/getsockname");
    close(fd);
    return ntohs(sa.sin_port);
}

static int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* nginx from Debian with bench/peers/nginx.conf, in a temporary folder. Returns 0, 1 when
 * nginx is not installed (skip), -1 on failure. */
static int start_nginx(int workers, struct peer *pr)
{
    const char *nginx = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : NULL;
    if (!nginx) {
        fprintf(stderr, "server: nginx is not installed (apt-get install nginx-light) - "
                        "its points skipped\n");
        return 1;
    }
    char tmpl[PATH_MAX], conf[PATH_MAX + 16], text[4096], out[8192];
    snprintf(tmpl, sizeof tmpl, "%s/nginx.conf", peers_dir);
    FILE *f = fopen(tmpl, "r");
    if (!f) {
        fprintf(stderr, "server: %s: %s - nginx points skipped\n", tmpl, strerror(errno));
        return 1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    snprintf(pr->dir, sizeof pr->dir, "/tmp/bench-nginx-XXXXXX");
    if (!mkdtemp(pr->dir))
        die_errno("mkdtemp");
    pr->port = free_port();
    /* Fill in @WORKERS@, @PORT@ and @DIR@. */
    size_t o = 0;
    for (const char *p = text; *p && o < sizeof out - 128; ) {
        if (!strncmp(p, "@WORKERS@", 9))
            o += (size_t)snprintf(out + o, sizeof out - o, "%d", workers), p += 9;
        else if (!strncmp(p, "@PORT@", 6))
            o += (size_t)snprintf(out + o, sizeof out - o, "%d", pr->port), p += 6;
        else if (!strncmp(p, "@DIR@", 5))
            o += (size_t)snprintf(out + o, sizeof out - o, "%s", pr->dir), p += 5;
        else
            out[o++] = *p++;
    }
    snprintf(conf, sizeof conf, "%s/nginx.conf", pr->dir);
    f = fopen(conf, "w");
    if (!f || fwrite(out, 1, o, f) != o || fclose(f) != 0)
        die_errno(conf);
    char elog[PATH_MAX + 16];
    snprintf(elog, sizeof elog, "%s/error.log", pr->dir);
    pid_t bench = getpid();
    pr->pid = xfork();
    if (pr->pid == 0) {
        end_with_parent(bench, SIGTERM);       /* nginx's master then stops its workers */
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDOUT_FILENO);
        execl(nginx, "nginx", "-p", pr->dir, "-c", conf, "-e", elog, (char *)NULL);
        die_child_errno(nginx);
    }
    /* nginx prints nothing when ready: try to connect until it answers (at most 10 s). */
    for (int i = 0; i < 500; i++) {
        if (can_connect(pr->port))
            return 0;
        if (waitpid(pr->pid, NULL, WNOHANG) == pr->pid)
            break;
        sleep_ns(20000000);
    }
    fprintf(stderr, "server: nginx did not start (see %s)\n", elog);
    kill(pr->pid, SIGKILL);
    waitpid(pr->pid, NULL, 0);
    nftw(pr->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    return -1;
}

static int start_peer(const char *variant, struct peer *pr)
{
    if (!strncmp(variant, "nginx_", 6))
        return start_nginx(atoi(variant + 6), pr);
    return start_model(variant, pr);
}

/* SIGTERM, then wait (SIGKILL after 5 s). Returns 0 if it exited 0 or, having reaped its
 * workers, died of that SIGTERM as the process servers do. */
static int stop_peer(struct peer *pr)
{
    kill(pr->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; i++) {
        if (xwaitpid(pr->pid, &status, WNOHANG) == pr->pid)
            break;
        if (i == 499) {
            fprintf(stderr, "server: pid %d did not stop in 5 s: killed\n", (int)pr->pid);
            kill(pr->pid, SIGKILL);
            xwaitpid(pr->pid, &status, 0);
        }
        sleep_ns(10000000);
    }
    if (pr->dir[0])
        nftw(pr->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    int clean = WIFEXITED(status) ? WEXITSTATUS(status) == 0
                                  : WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    return clean ? 0 : -1;
}

/* ---- load: wrk ------------------------------------------------------------------------ */

/* "1.23ms" -> 1.23; wrk prints us, ms, s. */
static double wrk_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (!strncmp(end, "us", 2))
        return v / 1000;
    if (!strncmp(end, "ms", 2))
        return v;
    if (!strncmp(end, "s", 1))
        return v * 1000;
    return -1;
}

/* Run wrk against the port; values: req/s, p50 ms, p99 ms, errors. 0, 1 skip, -1 fail. */
static int run_wrk(int port, long conns, const struct bench_opts *o, double *values)
{
    char url[64], c[24], t[16], d[24];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port,
             SERVER_BENCH == IO ? "/io?ms=10" : "/");
    snprintf(c, sizeof c, "%ld", conns);
    snprintf(t, sizeof t, "%d", conns < 2 ? 1 : 2);  /* wrk's threads share the CPUs too */
    snprintf(d, sizeof d, "%lds", seconds > 0 ? seconds : o->full ? 3 : 1);
    int fds[2];
    xpipe(fds);
    pid_t bench = getpid();
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(bench, SIGKILL);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("wrk", "wrk", "-t", t, "-c", c, "-d", d, "--latency", "--timeout", "5s", url,
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[8192];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], out + len, sizeof out - 1 - len)) > 0 ||
           (r == -1 && errno == EINTR))
        len += r > 0 ? (size_t)r : 0;
    out[len] = '\0';
    close(fds[0]);
    int status;
    xwaitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fprintf(stderr, "server: wrk is not installed (apt-get install wrk) - points skipped\n");
        return 1;
    }
    const char *rps = strstr(out, "Requests/sec:"), *p50 = strstr(out, " 50% "),
               *p99 = strstr(out, " 99% ");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !rps || !p50 || !p99) {
        fprintf(stderr, "server: wrk failed:\n%s\n", out);
        return -1;
    }
    values[0] = strtod(rps + 13, NULL);
    values[1] = wrk_ms(p50 + 5 + strspn(p50 + 5, " "));
    values[2] = wrk_ms(p99 + 5 + strspn(p99 + 5, " "));
    double errors = 0;
    const char *e = strstr(out, "Socket errors:");
    long a, b, cc, dd;
    if (e && sscanf(e, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                    &a, &b, &cc, &dd) == 4)
        errors += (double)(a + b + cc + dd);
    if ((e = strstr(out, "Non-2xx or 3xx responses:")))
        errors += strtod(e + 25, NULL);
    values[3] = errors;
    return values[1] < 0 || values[2] < 0 ? -1 : 0;
}

/* ---- memory: idle connections ----------------------------------------------------------- */

/* PSS (proportional set size: shared pages divided among their sharers) of pid and of every
 * process below it, in MiB. Summing plain RSS would count a forked child's shared pages
 * once per child. */
static double tree_pss_mb(pid_t pid)
{
    double kb = 0;
    char path[96], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "Pss:", 4))
                kb += strtod(line + 4, NULL);
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    if ((f = fopen(path, "r"))) {
        int child;
        while (fscanf(f, "%d", &child) == 1)
            kb += tree_pss_mb(child) * 1024;
        fclose(f);
    }
    return kb / 1024;
}

/* Open n connections at once (non-blocking: a server that accepts only some of them must
 * not stall the bench), send one request on each as it connects, take each reply, and stop
 * once nothing has moved for 1 s (at most 15 s in all). Then measure, holding them open.
 * values: PSS MiB, connections answered (a pool or prefork answers only its workers). */
static int hold_idle(struct peer *pr, long n, double *values)
{
    struct pollfd *p = xcalloc((size_t)n, sizeof *p);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pr->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    static const char req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd == -1)
            die_errno("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 && errno != EINPROGRESS)
            die_errno("connect");
        p[i] = (struct pollfd){ .fd = fd, .events = POLLOUT };
    }
    long answered = 0;
    int64_t start = now_ns(), moved = start;
    while (answered < n && now_ns() - moved < 1000000000 && now_ns() - start < 15000000000) {
        if (poll(p, (nfds_t)n, 100) <= 0)
            continue;
        for (long i = 0; i < n; i++) {
            if (p[i].events == 0 || !p[i].revents)
                continue;
            moved = now_ns();
            if (p[i].events == POLLOUT) {   /* connected (or refused): send the request */
                if (send(p[i].fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)sizeof req - 1)
                    p[i].events = POLLIN;
                else
                    p[i].events = 0;
            } else {                        /* the reply (small: one read) */
                char buf[512];
                if (recv(p[i].fd, buf, sizeof buf, 0) > 0 && !strncmp(buf, "HTTP/1.1 200", 12))
                    answered++;
                p[i].events = 0;
            }
        }
    }
    values[0] = tree_pss_mb(pr->pid);
    values[1] = (double)answered;
    for (long i = 0; i < n; i++)
        close(p[i].fd);
    free(p);
    return 0;
}

/* ---- slow clients: slowloris ------------------------------------------------------------ */

/* Byte k of a request head that never ends: a request line, then one header line after
 * another. */
static char endless_head(long k)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: bench\r\n", more[] = "X-Slow: 1\r\n";
    long n = (long)sizeof start - 1;
    return k < n ? start[k] : more[(k - n) % ((long)sizeof more - 1)];
}

static int slow_connect(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die_child_errno("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 && errno != EINPROGRESS)
        die_child_errno("connect");
    return fd;
}

/* In a child of the bench: n connections to 127.0.0.1:port, each sending its next head
 * byte every SLOW_EVERY_MS (spread so that they do not all send at once); one the server
 * closes is replaced by a new one at once. One byte goes to ready_fd when all n have
 * connected and sent a first byte. Runs until killed (and dies with the bench), or
 * SLOW_LIFE_S at most. */
static noreturn void slow_clients(int port, long n, int ready_fd)
{
    struct pollfd *p = xcalloc((size_t)n, sizeof *p);
    long *sent = xcalloc((size_t)n, sizeof *sent);
    int64_t *next = xcalloc((size_t)n, sizeof *next), start = now_ns();
    int64_t every = (int64_t)SLOW_EVERY_MS * 1000000;
    long started = 0;
    for (long i = 0; i < n; i++) {
        p[i] = (struct pollfd){ .fd = slow_connect(port), .events = POLLOUT };
        next[i] = start + every * i / n;
    }
    while (now_ns() - start < (int64_t)SLOW_LIFE_S * 1000000000) {
        int64_t now = now_ns(), wake = now + every;
        for (long i = 0; i < n; i++) {
            if (p[i].events == POLLIN && next[i] <= now) {      /* connected: drip */
                char c = endless_head(sent[i]);
                if (send(p[i].fd, &c, 1, MSG_NOSIGNAL) == 1)
                    sent[i]++;
                next[i] += every;
            }
            if (p[i].events == POLLIN && next[i] < wake)
                wake = next[i];
        }
        if (poll(p, (nfds_t)n, (int)((wake - now) / 1000000 + 1)) == -1 && errno != EINTR)
            die_child_errno("poll");
        for (long i = 0; i < n; i++) {
            char sink[512];
            if (!p[i].revents)
                continue;
            if (p[i].events == POLLOUT && !(p[i].revents & (POLLERR | POLLHUP))) {
                p[i].events = POLLIN;                  /* connected: first byte at once */
                next[i] = now_ns();
                sent[i] = 0;
                if (++started == n && write(ready_fd, "r", 1) != 1)
                    die_child_errno("write");
            } else if (p[i].events == POLLIN && recv(p[i].fd, sink, sizeof sink, 0) > 0) {
                continue;                               /* a 408 on its way: read on */
            } else {                                    /* closed by the server: again */
                close(p[i].fd);
                p[i] = (struct pollfd){ .fd = slow_connect(port), .events = POLLOUT };
            }
        }
    }
    _exit(0);
}

/* Start `n` slow clients against port in a child (pid in *pid) and wait until they are
 * all connected (10 s at most). Returns 0, or -1 after saying why. */
static int start_slow(int port, long n, pid_t *pid)
{
    int fds[2];
    xpipe(fds);
    pid_t bench = getpid();
    *pid = xfork();
    if (*pid == 0) {
        end_with_parent(bench, SIGKILL);
        close(fds[0]);
        slow_clients(port, n, fds[1]);
    }
    close(fds[1]);
    struct pollfd p = { .fd = fds[0], .events = POLLIN };
    char c;
    int ok = poll(&p, 1, 10000) == 1 && read(fds[0], &c, 1) == 1;
    close(fds[0]);
    if (!ok)
        fprintf(stderr, "server: %ld slow clients did not all connect in 10 s\n", n);
    return ok ? 0 : -1;
}

static int run(const struct bench_point *pt, const struct bench_opts *o, double *values)
{
    struct peer pr;
    int s = start_peer(pt->variant, &pr);
    if (s != 0)
        return s;
    pid_t slow = 0;
    if (SERVER_BENCH == SLOW && pt->x > 0 && start_slow(pr.port, (long)pt->x, &slow) == -1) {
        kill(slow, SIGKILL);
        xwaitpid(slow, NULL, 0);
        stop_peer(&pr);
        return -1;
    }
    int r = SERVER_BENCH == MEM ? hold_idle(&pr, (long)pt->x, values)
          : SERVER_BENCH == SLOW ? run_wrk(pr.port, GOOD_CONNS, o, values)
                                 : run_wrk(pr.port, (long)pt->x, o, values);
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
    if (stop_peer(&pr) != 0 && r == 0 && strncmp(pt->variant, "nginx_", 6) != 0) {
        fprintf(stderr, "server: %s did not exit cleanly\n", pt->variant);
        r = -1;
    }
    return r;
}

static const struct bench_def def = {
#if SERVER_BENCH == SLOW
    .name = "slowloris",
    .usage =
        "slowloris (bench) - req/s of 8 good keep-alive clients (wrk, GET /) beside 0, 10,\n"
        "                    50, 200, 500 slow clients that send a header byte every 2 s\n"
        "                    and reconnect when cut off; every server and nginx\n"
        "\n"
        "Usage: bench_slowloris [--seconds S] [--connections N] [--peers DIR] [common flags]\n"
        "  --seconds S      how long wrk runs per point (default 1 quick, 3 full)\n"
        "  --connections N  measure only N slow clients (0 to 5000)\n"
        "  --peers DIR      where nginx.conf is (default: the source tree's bench/peers)\n",
    .default_repeats_quick = 1,             /* 35 points: keep quick mode short */
#elif SERVER_BENCH == MEM
    .name = "server_mem",
    .usage =
        "server_mem (bench) - memory (PSS, MiB) of each server holding 1, 1000 (full:\n"
        "                     10000) idle keep-alive connections\n"
        "\n"
        "Usage: bench_server_mem [--connections N] [--peers DIR] [common flags]\n"
        "  --connections N  measure only N idle connections\n"
        "  --peers DIR      where nginx.conf is (default: the source tree's bench/peers)\n",
    .metrics = { { "pss_mb", "MiB" }, { "answered", "connections" } },
    .nmetrics = 2,
#elif SERVER_BENCH == IO
    .name = "server_io",
    .usage =
        "server_io (bench) - req/s, p50 and p99 for GET /io?ms=10 against concurrent\n"
        "                    connections, every server, wrk as the load\n"
        "\n"
        "Usage: bench_server_io [--seconds S] [--connections N] [common flags]\n"
        "  --seconds S      how long wrk runs per point (default 1 quick, 3 full)\n"
        "  --connections N  measure only N concurrent connections\n",
#else
    .name = "server",
    .usage =
        "server (bench) - req/s, p50 and p99 for GET / against concurrent connections,\n"
        "                 every server and nginx (1 worker, one per CPU), wrk as the load\n"
        "\n"
        "Usage: bench_server [--seconds S] [--connections N] [--peers DIR] [common flags]\n"
        "  --seconds S      how long wrk runs per point (default 1 quick, 3 full)\n"
        "  --connections N  measure only N concurrent connections\n"
        "  --peers DIR      where nginx.conf is (default: the source tree's bench/peers)\n",
#endif
#if SERVER_BENCH != MEM
    .metrics = { { "rps", "req/s" }, { "p50_ms", "ms" }, { "p99_ms", "ms" },
                 { "errors", "count" } },
    .nmetrics = 4,
#endif
#if SERVER_BENCH != SLOW
    .default_repeats_quick = 3,
#endif
    .default_repeats_full = 3,
    .default_warmup = 0,
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    /* Thousands of connections: this process holds one end of each. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    return bench_main(argc, argv, &def);
}
