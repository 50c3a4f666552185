/* slow_clients.c - connections that drip a request head that never ends (slow_clients.h) */
#include "core.h"
#include "shared.h"
#include "slow_clients.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
int start_slow(int port, long n, pid_t *pid)
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

