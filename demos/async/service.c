/* service.c - flags, start-up, listening, accepting and counters of the eight servers
 * (see service.h) */
#include "service.h"
#include "core.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
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
    struct nofile_limits l;
    const char *failed = raise_nofile(&l);
    if (failed)
        die_errno(failed);
    /* Notes on stderr: stdout carries the lines scripts and benches read (the port). */
    if (l.now > l.was)
        fprintf(stderr, "open files: soft limit raised from %llu to the hard limit %llu\n",
                l.was, l.hard);
    if (l.hard < 4096)
        fprintf(stderr, "open files: the hard limit is %llu, so at most about that many "
                        "connections at once (raise it as root: ulimit -Hn 65536)\n", l.hard);
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

int server_adopt(int fd)
{
    atomic_fetch_add(&server_stats->accepted, 1);
    if (!atomic_load(&spare_out))
        return fd;                          /* the common case: no lock */
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

int server_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        return server_adopt(fd);
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

void server_print_stats(void)
{
    long a = atomic_load(&server_stats->accepted), c = atomic_load(&server_stats->closed);
    printf("stats: accepted %ld, closed %ld, open now %ld (expected 0), requests %ld, "
           "refused %ld (answered 503)\n", a, c, a - c,
           atomic_load(&server_stats->requests), atomic_load(&server_stats->refused));
}
