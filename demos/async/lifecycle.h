/* lifecycle.h - how the thread and process servers stop and collect their workers
 *
 * Signals:  server_signalfd() blocks SIGINT and SIGTERM (and SIGCHLD for the process
 *           models) in every thread and child, and reads them from a signalfd; the main
 *           thread waits on it and the listening socket at once (server_next_event()).
 * Stopping: a worker learns that the server stops through its struct server_stop, which
 *           blocking.h's server_wait() watches: an eventfd every thread's waits share
 *           (server_thread_stop_init/server_stop_threads), or, in a forked child, a flag
 *           set by a signal that can arrive only inside a wait (server_child_stop).
 * Children: server_reap() collects ended children and says how any of them failed;
 *           server_stop_children() sends each SIGTERM and reaps them all.
 * See also: demos/async/server_threads.c, server_fork.c, server_prefork.c, server_pool.c
 */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* How a blocking worker learns that the server is stopping: stop_fd (an eventfd that
 * becomes readable, for threads; -1 if unused) and/or the signal mask passed to ppoll()
 * (for processes: SIGINT and SIGTERM are blocked except while waiting, so a signal can
 * only arrive - and set *stop_flag - inside a wait, never be lost between check and wait). */
struct server_stop {
    int stop_fd;
    const sigset_t *wait_mask;          /* NULL: keep the current mask */
    volatile sig_atomic_t *stop_flag;   /* NULL if unused */
};

/* For thread models: st->stop_fd becomes a new eventfd (and nothing else is set);
 * server_stop_threads() makes it readable, so every worker's next server_wait() returns
 * -1 - at once, for all of them, without knowing who is waiting where. */
void server_thread_stop_init(struct server_stop *st);
void server_stop_threads(const struct server_stop *st);

/* Wait until listen_fd is readable (return 0) or a signal arrives on sig_fd (return its
 * number). listen_fd -1: wait for a signal only. */
int server_next_event(int listen_fd, int sig_fd);

/* For a forked worker: SIGINT/SIGTERM (still blocked, inherited) get a handler that sets
 * the returned flag, and *st is set up to let them in only during server_wait(). */
void server_child_stop(struct server_stop *st);

/* The children of the process models. server_reap() collects every child that has ended
 * (blocking until all of them have, if `all`), drops it from pids[0..*n) and reports any
 * that did not exit with status 0; returns how many it collected. server_stop_children()
 * sends each child SIGTERM and reaps them all. */
size_t server_reap(pid_t *pids, size_t *n, int all);
void server_stop_children(pid_t *pids, size_t *n);

/* Block SIGINT, SIGTERM (and SIGCHLD when with_sigchld) in this thread and in every thread
 * or child created after, and return a signalfd that reads them. */
int server_signalfd(int with_sigchld);

#endif
