/* server_prefork.c - the HTTP service on N processes forked in advance, sharing one socket
 *
 * Usage:    server_prefork [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]
 *                          [--min-rate B]
 * Observe:  the parent opens the listening socket, forks N workers and then only watches
 *           them. Every worker inherited the same listening socket and takes connections
 *           from it itself, one at a time, serving each to its end with the same blocking
 *           code as server_threads. A worker that dies is replaced. With more clients than
 *           workers, the extra ones wait in the kernel's accept queue.
 * Slow:     a client that sends its head slowly holds a worker all that time, so this
 *           model limits it twice (Apache's mod_reqtimeout): the whole head within
 *           --header-timeout, and once it has started at least --min-rate bytes/s (after
 *           1 s of grace). That bounds how long ONE slow client holds a worker (about a
 *           second for a byte every 2 s), not how many: slowloris clients that reconnect
 *           as soon as they are cut off, more of them than workers, keep the accept queue
 *           full of themselves and good clients wait behind them (bench `slowloris`).
 * Costs:    N processes, paid once; a connection holds its worker as long as it stays
 *           open (N keep-alive clients fill the server). Every idle worker waits in poll()
 *           on the one socket, so a new connection wakes all of them and all but one find
 *           nothing to accept (the "thundering herd"; Apache serialised accept() with a
 *           lock, newer kernels offer EPOLLEXCLUSIVE or SO_REUSEPORT).
 * Wins:     process isolation without a fork() per connection: Apache's prefork MPM,
 *           PHP-FPM, gunicorn's sync workers, PostgreSQL's pool-less ancestors.
 * Try:      server_prefork --workers 2, three `curl 'localhost:8080/io?ms=2000'` at once;
 *           kill -9 one worker (ps --ppid ...) and watch the parent start another.
 * Python:   docs/seeds.md#seed-000, one process per core; Pool's workers started up front
 * See also: docs/async/servers.md, demos/async/server_fork.c, demos/async/blocking.c,
 *           demos/async/lifecycle.c (stopping, reaping)
 */
#include "core.h"
#include "blocking.h"
#include "lifecycle.h"
#include "service.h"
#include "shared.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage_text[] =
    "server_prefork - the HTTP service on N processes forked up front, sharing one socket\n"
    "\n"
    "Usage: server_prefork [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]\n"
    "                      [--min-rate B]\n"
    "  --workers N         worker processes (default 32)\n"
    SERVER_MIN_RATE_HELP
    "                      (default 100)\n"
    SERVER_FLAGS_HELP;

#define DEFAULT_MIN_RATE 100    /* bytes/s: any real client sends its head in one packet */

/* [snippet:worker] */
/* A worker: wait for the shared socket to become readable, try to take a connection
 * (another worker may have been quicker: then server_accept() returns -1), serve it. */
static noreturn void worker(int listen_fd, int sig_fd, const struct server_opts *o)
{
    close(sig_fd);
    struct server_stop st;
    server_child_stop(&st);                     /* SIGTERM: leave between connections */
    while (server_wait(listen_fd, POLLIN, INT64_MAX, &st) == 1) {
        int fd = server_accept(listen_fd);
        if (fd >= 0)
            server_serve_blocking(fd, o, &st);
        else if (fd == -2)                      /* out of descriptors: pause, do not spin */
            server_wait(-1, 0, now_ns() + SERVER_EMFILE_PAUSE_MS * 1000000, &st);
    }
    _exit(0);
}
/* [/snippet:worker] */

static pid_t start_worker(int listen_fd, int sig_fd, const struct server_opts *o)
{
    pid_t parent = getpid(), pid = xfork();
    if (pid == 0) {
        /* SIGKILL of the parent must not leave workers serving its port (lib/shared.h). */
        end_with_parent(parent, SIGKILL);
        worker(listen_fd, sig_fd, o);
    }
    return pid;
}

int main(int argc, char **argv)
{
    struct server_opts o;
    server_parse_args_rate(argc, argv, &o, usage_text, 32, DEFAULT_MIN_RATE);
    server_init();
    int sig_fd = server_signalfd(1);
    int port, listen_fd = server_listen(&o, o.port, 0, &port);
    pid_t *pids = xcalloc((size_t)o.workers, sizeof *pids);
    size_t n = 0;
    while (n < (size_t)o.workers)
        pids[n++] = start_worker(listen_fd, sig_fd, &o);
    char model[64];
    snprintf(model, sizeof model, "%d processes sharing one socket", o.workers);
    server_announce(&o, port, model);

    int signo;
    while ((signo = server_next_event(-1, sig_fd)) == SIGCHLD) {
        server_reap(pids, &n, 0);               /* said how it ended; now replace it */
        while (n < (size_t)o.workers)
            pids[n++] = start_worker(listen_fd, sig_fd, &o);
    }
    printf("signal %d: stopping %zu workers\n", signo, n);
    server_stop_children(pids, &n);
    close(listen_fd);
    server_print_stats();
    free(pids);
    die_of_signal(signo);                       /* every worker reaped: now end as told */
}
