/* server_fork.c - the HTTP service with one process per connection
 *
 * Usage:    server_fork [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  the parent only accepts and forks: each connection is served by a child
 *           process of its own, with the same blocking code as server_threads, and the
 *           child exits when the connection ends. The parent learns of each exit from
 *           SIGCHLD (read, like SIGTERM, from a signalfd) and reaps the child at once, so
 *           no zombie stays behind. `ps --ppid $(pgrep -o -x server_fork)` while clients
 *           are connected: one process per connection (pgrep -o: the oldest, the parent;
 *           `pidof -s` would give the newest, a child).
 * Costs:    a fork() per connection (copying the page tables, more for a bigger parent),
 *           a process per connection in memory (its own stack, and pages copied on first
 *           write), a switch per request, and shared state needs explicit shared memory
 *           (the counters here live in a MAP_SHARED mapping).
 * Wins:     isolation: a child that crashes or leaks takes only its own connection with it
 *           - the classic inetd/CGI/NCSA-httpd design, and why privilege-separated servers
 *           (OpenSSH) still fork per connection.
 * Try:      server_fork --port 0; hold 1000 idle connections and look at `free` and at the
 *           fork cost in bench `server`'s req/s for short connections.
 * Python:   docs/seeds.md#seed-000, Apache's "one process per request", set against nginx
 *           (Apache 1.x really pre-forked its processes: see server_prefork.c)
 * See also: docs/async/servers.md, demos/async/server_prefork.c, demos/async/blocking.c,
 *           demos/async/lifecycle.c (stopping, reaping)
 */
#include "core.h"
#include "blocking.h"
#include "lifecycle.h"
#include "service.h"
#include "shared.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage_text[] =
    "server_fork - the HTTP service with one child process per connection\n"
    "\n"
    "Usage: server_fork [--port P] [--bind ADDR] [--header-timeout MS]\n"
    SERVER_FLAGS_HELP;

int main(int argc, char **argv)
{
    struct server_opts o;
    server_parse_args(argc, argv, &o, usage_text, 0);
    server_init();
    int sig_fd = server_signalfd(1);            /* SIGINT, SIGTERM and SIGCHLD */
    int port, listen_fd = server_listen(&o, o.port, 0, &port);
    size_t n = 0, cap = 64;
    pid_t *pids = xcalloc(cap, sizeof *pids);   /* the children alive now */
    server_announce(&o, port, "a process per connection");
    pid_t parent = getpid();                    /* for each child's end_with_parent() */

    int signo;
    while ((signo = server_next_event(listen_fd, sig_fd)) != SIGINT && signo != SIGTERM) {
        if (signo == SIGCHLD) {
            server_reap(pids, &n, 0);           /* every child that has ended, no waiting */
            continue;
        }
        /* [snippet:fork] */
        int fd;
        while ((fd = server_accept(listen_fd)) >= 0) {
            pid_t pid = fork();
            if (pid == 0) {                     /* the child: this connection, then exit */
                end_with_parent(parent, SIGKILL);   /* a killed server leaves no child */
                close(listen_fd);
                close(sig_fd);
                struct server_stop st;
                server_child_stop(&st);         /* SIGTERM ends the connection early */
                server_serve_blocking(fd, &o, &st);
                _exit(0);
            }
            if (pid == -1) {                    /* out of processes: refuse, carry on */
                perror("server_fork: fork");
                server_refuse(fd);
                continue;
            }
            close(fd);                          /* the child has its own copy */
            if (n == cap)
                pids = realloc(pids, (cap *= 2) * sizeof *pids);
            CHECK(pids != NULL);
            pids[n++] = pid;
        }
        if (fd == -2)                           /* out of descriptors: pause, do not spin */
            sleep_ns(SERVER_EMFILE_PAUSE_MS * 1000000);
        /* [/snippet:fork] */
    }

    printf("signal %d: stopping %zu children\n", signo, n);
    close(listen_fd);
    server_stop_children(pids, &n);
    server_print_stats();
    free(pids);
    die_of_signal(signo);                       /* every child reaped: now end as told */
}
