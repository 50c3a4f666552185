/* spawn_capture.h - start a program in a child that dies with us, and capture its output
 * (named so, not spawn.h, which would hide the system's <spawn.h> on the include path)
 *
 * One way to start another program for every bench and tool: fork and exec, never
 * posix_spawn(), because only code run in the child can ask the kernel to kill it when we
 * die (end_with_parent(), PR_SET_PDEATHSIG, which survives exec): a bench killed by SIGKILL
 * leaves no server, load generator or Python peer behind.
 *
 * "The program is missing" is told apart from "the program ran and failed" one way: the
 * child writes exec's errno into a close-on-exec pipe. A successful exec closes that pipe
 * with nothing written, so spawn_start() knows, before it returns, whether the program
 * runs. Exit status 127 is left to mean whatever the program meant by it.
 */
#ifndef SPAWN_CAPTURE_H
#define SPAWN_CAPTURE_H

#include <stddef.h>
#include <sys/types.h>

/* spawn_start()'s and spawn_capture()'s result when exec failed (errno says why:
 * ENOENT for "not installed"); the child has been reaped. */
#define SPAWN_MISSING (-2)

/* Where the child's stdout and stderr go. */
enum { SPAWN_INHERIT = 0, SPAWN_PIPE = 1, SPAWN_NULL = 2 };

struct spawn_opts {
    const char *file;      /* the program to exec (a path, or a name searched in PATH);
                            * NULL: argv[0] */
    int death_signal;      /* sent to the child when we die; 0 means SIGKILL. SIGTERM lets
                            * a server reap its own workers first */
    int out;               /* stdout: SPAWN_INHERIT, SPAWN_PIPE (s->out_fd) or SPAWN_NULL */
    int err;               /* stderr: the same; SPAWN_PIPE joins stdout's pipe */
    /* Run in the child after fork, before exec (pin it, restore signal dispositions);
     * it reports its own failures with die_child_errno(). NULL for none. */
    void (*child_setup)(void *arg);
    void *arg;
};

struct spawn {
    pid_t pid;             /* the child, to wait for (or stop) */
    int out_fd;            /* the read end of its stdout/stderr pipe, or -1 */
};

/* Start the program with arguments argv in a child that gets o->death_signal when we die.
 * Returns 0 once it is running (s->pid, s->out_fd filled in); SPAWN_MISSING with errno set
 * when exec failed. Exits through die_errno() if pipe or fork fails. */
int spawn_start(struct spawn *s, char *const argv[], const struct spawn_opts *o);

/* Read everything s->out_fd brings until end-of-file into buf (up to size-1 bytes, NUL-
 * terminated; the rest is read and dropped so the child never blocks on a full pipe),
 * close it and wait for the child: *status as from waitpid(). Returns the bytes kept. */
size_t spawn_finish(struct spawn *s, char *buf, size_t size, int *status);

/* spawn_start() with stdout piped, then spawn_finish(): run the program to the end and
 * keep what it printed. Returns 0 (the program ran; *status says how it ended) or
 * SPAWN_MISSING with errno set (then buf is "" and *status 0). */
int spawn_capture(char *const argv[], const struct spawn_opts *o, char *buf, size_t size,
                  int *status);

#endif
