/* server.c - flags, listening, accepting and the blocking connection loop (see server.h) */
#include "server.h"
#include "core.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct server_stats *server_stats;
static int spare_fd = -1;           /* kept open to be given up when accept() hits EMFILE */
static atomic_int spare_out;        /* 1 from giving the spare up until it is back */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;

void server_parse_args_rate(int argc, char **argv, struct server_opts *o, const char *usage,
                            int default_workers, long default_min_rate)
{
    prog_init(argv[0]);
    *o = (struct server_opts){ .name = prog_name, .bind = "127.0.0.1", .port = 8080,
                               .workers = default_workers, .header_timeout_ms = 10000,
                               .min_rate = default_min_rate };
    /* --min-rate is last: a model that does not take it ends the table there (NULL name). */
    const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },
        { "bind", required_argument, NULL, 'b' },
        { "workers", required_argument, NULL, 'w' },
        { "header-timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { default_min_rate >= 0 ? "min-rate" : NULL, required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    struct in_addr addr;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': o->port = (int)parse_long("--port", optarg, 0, 65535); break;
        case 'b':
            if (inet_pton(AF_INET, optarg, &addr) != 1)
                usage_error("--bind: '%s' is not an IPv4 address", optarg);
            o->bind = optarg;
            break;
        case 'w':
            if (default_workers <= 0)
                usage_error("--workers: %s has no workers to set", prog_name);
            o->workers = (int)parse_long("--workers", optarg, 1, 4096);
            break;
        case 't':
            o->header_timeout_ms = parse_long("--header-timeout", optarg, 0, 3600000);
            break;
        case 'r': o->min_rate = parse_long("--min-rate", optarg, 0, 1000000000); break;
        case 'h': usage_exit(usage);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (o->min_rate < 0)
        o->min_rate = 0;                    /* not offered: no rate check */
}

void server_parse_args(int argc, char **argv, struct server_opts *o, const char *usage,
                       int default_workers)
{
    server_parse_args_rate(argc, argv, o, usage, default_workers, -1);
}

void server_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            die_errno("setrlimit");
        printf("open files: soft limit raised from %llu to the hard limit %llu\n",
               (unsigned long long)was, (unsigned long long)rl.rlim_max);
    }
    if (rl.rlim_max < 4096)
        printf("open files: the hard limit is %llu, so at most about that many connections "
               "at once (raise it as root: ulimit -Hn 65536)\n",
               (unsigned long long)rl.rlim_max);
}

void server_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    server_raise_nofile();
    server_stats = mmap(NULL, sizeof *server_stats, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (server_stats == MAP_FAILED)
        die_errno("mmap");
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (spare_fd == -1)
        die_errno("open /dev/null");
}

int server_listen(const struct server_opts *o, int port, int reuseport, int *bound_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        die_errno("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
        die_errno("setsockopt SO_REUSEADDR");
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1)
        die_errno("setsockopt SO_REUSEPORT");
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    CHECK(inet_pton(AF_INET, o->bind, &sa.sin_addr) == 1);     /* checked with the flags */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1)
        die_errno("bind");
    if (listen(fd, SOMAXCONN) == -1)
        die_errno("listen");
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
        die_errno("getsockname");
    *bound_port = ntohs(sa.sin_port);
    return fd;
}

void server_announce(const struct server_opts *o, int port, const char *model)
{
    printf("listening on %s:%d (%s)\n", o->bind, port, model);
}

/* [snippet:emfile] */
/* Called with spare_lock held and a slot just freed: reopen the spare into it. */
static void spare_take_back(void)
{
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);     /* -1 if the slot was taken */
    if (spare_fd >= 0)
        atomic_store(&spare_out, 0);
}

int server_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        atomic_fetch_add(&server_stats->accepted, 1);
        if (!atomic_load(&spare_out))
            return fd;                      /* the common case: no lock */
        /* Another thread has given the spare up, and this fd may be the slot it freed.
         * If the spare did not come back, this client pays for it: 503, and the spare
         * takes its slot. Otherwise a thread that took the slot would keep it, the
         * spare would stay lost, and clients would wait in the queue until some
         * connection ends (server_uv_multi's hang). */
        pthread_mutex_lock(&spare_lock);
        int keep = spare_fd >= 0;
        if (!keep) {
            server_refuse(fd);
            spare_take_back();
        }
        pthread_mutex_unlock(&spare_lock);
        return keep ? fd : -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED ||
        errno == EPROTO || errno == ENETDOWN || errno == EHOSTUNREACH || errno == ENETUNREACH)
        return -1;                          /* nothing to take, or the client already left */
    if (errno != EMFILE && errno != ENFILE)
        die_errno("accept4");
    /* Out of descriptors. The client stays queued and the listening socket stays readable,
     * so simply retrying would spin the CPU. Give up the spare descriptor, take the client,
     * tell it we are full, and take the spare back. The lock keeps two threads from closing
     * the same spare (the second close could hit a descriptor just reused elsewhere).
     * spare_out is set before the close, so a thread whose accept4() gets the freed slot
     * sees it set when that call returns (the kernel's descriptor table lock orders them). */
    pthread_mutex_lock(&spare_lock);
    atomic_store(&spare_out, 1);
    if (spare_fd >= 0)
        close(spare_fd);
    fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int still_out = fd == -1 && (errno == EMFILE || errno == ENFILE);
    if (fd >= 0) {
        atomic_fetch_add(&server_stats->accepted, 1);
        server_refuse(fd);
    }
    spare_take_back();
    pthread_mutex_unlock(&spare_lock);
    return still_out ? -2 : -1;
}
/* [/snippet:emfile] */

void server_refuse(int fd)
{
    char reply[HTTP_REPLY_MAX];
    size_t n = http_error_reply(503, reply);
    (void)!send(fd, reply, n, MSG_NOSIGNAL);    /* best effort: a new socket has room */
    close(fd);
    atomic_fetch_add(&server_stats->closed, 1);
    atomic_fetch_add(&server_stats->refused, 1);
}

void server_thread_stop_init(struct server_stop *st)
{
    *st = (struct server_stop){ .stop_fd = eventfd(0, EFD_CLOEXEC) };
    if (st->stop_fd == -1)
        die_errno("eventfd");
}

void server_stop_threads(const struct server_stop *st)
{
    uint64_t one = 1;
    if (write(st->stop_fd, &one, sizeof one) != sizeof one)
        die_errno("write eventfd");
}

int server_wait(int fd, short events, int64_t deadline_ns, const struct server_stop *st)
{
    for (;;) {
        if (st->stop_flag && *st->stop_flag)
            return -1;
        struct pollfd p[2] = { { .fd = fd, .events = events },
                               { .fd = st->stop_fd, .events = POLLIN } };
        struct timespec ts, *tsp = NULL;
        if (deadline_ns != INT64_MAX) {
            int64_t left = deadline_ns - now_ns();
            if (left <= 0)
                return 0;
            ts = (struct timespec){ .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 };
            tsp = &ts;
        }
        int r = ppoll(p, 2, tsp, st->wait_mask);
        if (r == -1 && errno != EINTR)
            die_errno("ppoll");
        if (r <= 0)
            continue;                       /* a signal (re-check the flag) or the deadline */
        if (p[1].revents)
            return -1;
        if (p[0].revents)
            return 1;
    }
}

static int64_t deadline_after_ms(long ms)
{
    return ms > 0 ? now_ns() + (int64_t)ms * 1000000 : INT64_MAX;
}

/* Send all of buf, waiting for room at most SERVER_WRITE_TIMEOUT_MS at a time: the kernel's
 * socket buffer is the only buffering, so a slow reader simply makes this thread wait. */
static int send_all(int fd, const char *buf, size_t n, const struct server_stop *st)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w, n -= (size_t)w;
        } else if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (server_wait(fd, POLLOUT, deadline_after_ms(SERVER_WRITE_TIMEOUT_MS), st) != 1)
                return -1;
        } else if (w == -1 && errno == EINTR) {
            continue;
        } else {
            return -1;                      /* EPIPE, ECONNRESET: the client is gone */
        }
    }
    return 0;
}

/* Closing politely: stop sending, then read and drop what the client still sends until it
 * closes or SERVER_LINGER_MS pass. Closing a socket with unread input makes the kernel send
 * a reset, which can destroy our reply before the client has read it. */
static void linger_close(int fd, const struct server_stop *st)
{
    shutdown(fd, SHUT_WR);
    int64_t deadline = deadline_after_ms(SERVER_LINGER_MS);
    char sink[4096];
    while (server_wait(fd, POLLIN, deadline, st) == 1) {
        ssize_t r = recv(fd, sink, sizeof sink, 0);
        if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
            break;
    }
}

/* [snippet:answer] */
int server_answer(int fd, const struct http_request *req, const struct server_opts *o,
                  const struct server_stop *st)
{
    char reply[HTTP_REPLY_MAX];
    atomic_fetch_add(&server_stats->requests, 1);
    uint64_t extra = 0;
    if (req->status == 0 && req->route == HTTP_IO) {
        if (server_wait(-1, 0, now_ns() + req->arg * 1000000, st) == -1)
            return -1;                      /* simulated IO: this thread just sleeps */
    } else if (req->status == 0 && req->route == HTTP_CPU) {
        extra = http_cpu_work(req->arg);
    }
    if (send_all(fd, reply, http_reply(req, o->name, extra, reply), st) == -1)
        return -1;
    return req->keep_alive ? 0 : 1;
}
/* [/snippet:answer] */

/* When a head that started at `first` with `got` bytes so far falls below the minimum
 * rate: each byte buys 1/min_rate s on top of the grace (mod_reqtimeout's MinRate). */
static int64_t rate_deadline(const struct server_opts *o, int64_t first, size_t got)
{
    if (o->min_rate <= 0 || got == 0)
        return INT64_MAX;
    return first + (int64_t)SERVER_RATE_GRACE_MS * 1000000 +
           (int64_t)got * 1000000000 / o->min_rate;
}

/* [snippet:blocking] */
void server_serve_blocking(int fd, const struct server_opts *o, const struct server_stop *st)
{
    char buf[HTTP_BUF_SIZE], reply[HTTP_REPLY_MAX];
    size_t len = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* small replies, now */
    for (;;) {
        /* Read until one request head is complete. The deadline is for the whole head,
         * not for each read: a client dripping a byte a second is still cut off. The
         * rate check (--min-rate) cuts it off sooner: it must keep bytes coming. */
        struct http_parser p;
        struct http_request req;
        http_parser_reset(&p);
        int64_t deadline = deadline_after_ms(o->header_timeout_ms);
        int64_t first = len > 0 ? now_ns() : 0;     /* when the head's first byte came */
        while (!http_parse(&p, buf, len, &req)) {
            ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
            if (r > 0) {
                if (len == 0)
                    first = now_ns();
                len += (size_t)r;
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EINTR))
                goto done;                  /* the client closed or vanished */
            int64_t rate = rate_deadline(o, first, len);
            int w = server_wait(fd, POLLIN, rate < deadline ? rate : deadline, st);
            if (w == 0 && len > 0) {        /* slowloris: a partial head, then silence */
                req = (struct http_request){ .status = 408 };
                send_all(fd, reply, http_reply(&req, o->name, 0, reply), st);
                linger_close(fd, st);
            }
            if (w != 1)
                goto done;                  /* header timeout or the server is stopping */
        }
        int answered = server_answer(fd, &req, o, st);
        if (answered == 1)
            linger_close(fd, st);           /* the reply said close: close politely */
        if (answered != 0)
            goto done;
        len -= req.head_len;                /* keep what came after: a pipelined request */
        memmove(buf, buf + req.head_len, len);
    }
done:
    close(fd);
    atomic_fetch_add(&server_stats->closed, 1);
}
/* [/snippet:blocking] */

void server_print_stats(void)
{
    long a = atomic_load(&server_stats->accepted), c = atomic_load(&server_stats->closed);
    printf("stats: accepted %ld, closed %ld, open now %ld (expected 0), requests %ld, "
           "refused %ld (answered 503)\n", a, c, a - c,
           atomic_load(&server_stats->requests), atomic_load(&server_stats->refused));
}

int server_signalfd(int with_sigchld)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (with_sigchld)
        sigaddset(&set, SIGCHLD);
    int s = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (s != 0)
        die_code("pthread_sigmask", s);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd == -1)
        die_errno("signalfd");
    return fd;
}

int server_next_event(int listen_fd, int sig_fd)
{
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t r = read(sig_fd, &si, sizeof si);
        if (r == (ssize_t)sizeof si)
            return (int)si.ssi_signo;
        if (r == -1 && errno != EAGAIN && errno != EINTR)
            die_errno("read signalfd");
        struct pollfd p[2] = { { .fd = sig_fd, .events = POLLIN },
                               { .fd = listen_fd, .events = POLLIN } };
        if (poll(p, 2, -1) == -1 && errno != EINTR)
            die_errno("poll");
        if (p[1].revents && !p[0].revents)
            return 0;
    }
}

static volatile sig_atomic_t child_stop_flag;
static sigset_t child_wait_mask;

static void on_child_stop(int signo)
{
    (void)signo;
    child_stop_flag = 1;
}

void server_child_stop(struct server_stop *st)
{
    struct sigaction sa = { .sa_handler = on_child_stop };  /* no SA_RESTART: wake ppoll */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die_child_errno("sigaction");
    sigemptyset(&child_wait_mask);
    *st = (struct server_stop){ .stop_fd = -1, .wait_mask = &child_wait_mask,
                                .stop_flag = &child_stop_flag };
}

size_t server_reap(pid_t *pids, size_t *n, int all)
{
    size_t reaped = 0;
    while (*n > 0) {
        int status;
        pid_t pid = xwaitpid(-1, &status, all ? 0 : WNOHANG);
        if (pid <= 0)
            break;
        for (size_t i = 0; i < *n; i++)
            if (pids[i] == pid) {
                pids[i] = pids[--*n];       /* order does not matter: swap in the last */
                break;
            }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char how[128];
            fprintf(stderr, "%s: worker %d %s\n", prog_name, (int)pid,
                    describe_status(status, how, sizeof how));
        }
        reaped++;
    }
    return reaped;
}

void server_stop_children(pid_t *pids, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        kill(pids[i], SIGTERM);
    server_reap(pids, n, 1);
}
