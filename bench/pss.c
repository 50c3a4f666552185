/* pss.c - memory of a server holding idle connections (contract in pss.h) */
#include "core.h"
#include "pss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

double tree_pss_mb(pid_t pid)
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

int hold_idle(pid_t server, int port, long n, double *values)
{
    struct pollfd *p = xcalloc((size_t)n, sizeof *p);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
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
    values[0] = tree_pss_mb(server);
    values[1] = (double)answered;
    for (long i = 0; i < n; i++)
        close(p[i].fd);
    free(p);
    return 0;
}
