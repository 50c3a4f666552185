/* lifecycle.c - how the thread and process servers stop and collect their workers
 * (see lifecycle.h) */
#include "lifecycle.h"
#include "core.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

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
