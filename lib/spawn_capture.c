/* spawn_capture.c - start a program in a child that dies with us, capture its output */
#include "core.h"
#include "shared.h"
#include "spawn_capture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: point stdout or stderr (`fd`) where `how` says. */
static void redirect(int fd, int how, int pipe_fd)
{
    int to = how == SPAWN_PIPE ? pipe_fd : how == SPAWN_NULL ? open("/dev/null", O_WRONLY) : -1;
    if (how != SPAWN_INHERIT && (to == -1 || dup2(to, fd) == -1))
        die_child_errno(how == SPAWN_NULL ? "/dev/null" : "dup2");
}

/* In the child: arrange its end of the world, exec, and report exec's errno if it fails. */
static noreturn void child(char *const argv[], const struct spawn_opts *o, pid_t parent,
                           int out_w, int err_w)
{
    end_with_parent(parent, o->death_signal ? o->death_signal : SIGKILL);
    redirect(STDOUT_FILENO, o->out, out_w);
    redirect(STDERR_FILENO, o->err, out_w);
    if (o->child_setup)
        o->child_setup(o->arg);
    execvp(o->file ? o->file : argv[0], argv);
    int e = errno;
    (void)!write(err_w, &e, sizeof e);
    _exit(127);
}

int spawn_start(struct spawn *s, char *const argv[], const struct spawn_opts *o)
{
    int out[2] = { -1, -1 }, err[2];
    if (o->out == SPAWN_PIPE || o->err == SPAWN_PIPE)
        if (pipe2(out, O_CLOEXEC) == -1)   /* dup2() gives the child a copy without it */
            die_errno("pipe2");
    if (pipe2(err, O_CLOEXEC) == -1)       /* closed by a successful exec: nothing read */
        die_errno("pipe2");
    fflush(NULL);                 /* nothing buffered is written twice */
    pid_t parent = getpid();
    s->pid = xfork();
    if (s->pid == 0)
        child(argv, o, parent, out[1], err[1]);
    close(err[1]);
    if (out[1] != -1)
        close(out[1]);
    s->out_fd = out[0];
    int e = 0;
    ssize_t got;
    while ((got = read(err[0], &e, sizeof e)) == -1 && errno == EINTR)
        ;
    close(err[0]);
    if (got != (ssize_t)sizeof e)
        return 0;
    if (s->out_fd != -1)
        close(s->out_fd);
    s->out_fd = -1;
    xwaitpid(s->pid, NULL, 0);
    errno = e;
    return SPAWN_MISSING;
}

size_t spawn_finish(struct spawn *s, char *buf, size_t size, int *status)
{
    size_t len = 0;
    while (s->out_fd != -1) {
        char sink[4096];
        int full = len + 1 >= size;
        ssize_t got = full ? read(s->out_fd, sink, sizeof sink)
                           : read(s->out_fd, buf + len, size - 1 - len);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == -1)
            die_errno("read");
        if (got == 0)
            break;
        if (!full)
            len += (size_t)got;
    }
    if (size > 0)
        buf[len] = '\0';
    if (s->out_fd != -1)
        close(s->out_fd);
    s->out_fd = -1;
    xwaitpid(s->pid, status, 0);
    return len;
}

int spawn_capture(char *const argv[], const struct spawn_opts *o, char *buf, size_t size,
                  int *status)
{
    struct spawn_opts piped = *o;
    piped.out = SPAWN_PIPE;
    struct spawn s;
    *status = 0;
    if (size > 0)
        buf[0] = '\0';
    if (spawn_start(&s, argv, &piped) == SPAWN_MISSING)
        return SPAWN_MISSING;
    spawn_finish(&s, buf, size, status);
    return 0;
}
