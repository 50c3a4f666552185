/* shared.h - what cooperating processes share: memory, a lock, and a parent's lifetime
 *
 * Memory:  shared_map() returns zeroed MAP_SHARED | MAP_ANONYMOUS memory. Children forked
 *          afterwards see the same pages - unlike ordinary memory, which fork() copies -
 *          and nothing is left in /dev/shm when the processes end, however they end.
 * Lock:    shared_mutex_init() makes a pthread mutex that lives in shared memory
 *          (PTHREAD_PROCESS_SHARED) and is robust (PTHREAD_MUTEX_ROBUST): if its owner dies
 *          holding it, the next pthread_mutex_lock() returns EOWNERDEAD instead of blocking
 *          forever, and the new owner decides whether the protected data can be repaired
 *          (pthread_mutex_consistent()) or not.
 * Parent:  end_with_parent() in a freshly forked child asks the kernel to signal it when
 *          the parent dies, so a killed parent - even by SIGKILL, which it cannot catch -
 *          leaves no orphaned workers behind. die_of_signal() lets a parent that caught
 *          SIGINT or SIGTERM, stopped and reaped its children, end the way the signal would
 *          have ended it, so its own parent (a shell: 128+N) sees what happened.
 */
#ifndef SHARED_H
#define SHARED_H

#include <pthread.h>
#include <stdnoreturn.h>
#include <stddef.h>
#include <sys/types.h>

/* `size` bytes of zeroed shared anonymous memory, or exit naming mmap. */
void *shared_map(size_t size);
void shared_unmap(void *p, size_t size);

/* Initialise *m as a process-shared, robust mutex, or exit naming the failed call. */
void shared_mutex_init(pthread_mutex_t *m);

/* Lock *m (made by shared_mutex_init()). If its last owner died holding it, we own it now
 * but what it protects may be half-changed: repair(arg) puts that right (or exits, when
 * nothing can be repaired; NULL: nothing to repair), then the mutex is marked consistent.
 * Returns 1 after a repair, 0 otherwise; exits naming the call on any other error. */
int shared_mutex_lock(pthread_mutex_t *m, void (*repair)(void *arg), void *arg);
void shared_mutex_unlock(pthread_mutex_t *m);

/* Call first thing in a child just forked from `parent` (the parent's getpid(), saved
 * BEFORE fork()): the kernel sends the child `sig` when the parent dies, and the child
 * gets it at once if the parent has already died (it was then adopted by another process,
 * so getppid() no longer matches). SIGKILL for a worker that has nothing to clean up;
 * SIGTERM lets a server the child execs shut down cleanly (reaping its own workers).
 * The request survives exec() (not of a set-user-ID program) but not fork(): each
 * generation asks again. Beware: "the parent dies" means the THREAD that called fork()
 * ends, so fork from the main thread or from one that lives as long as the children.
 * Exits the child through die_child_errno() if prctl() fails. */
void end_with_parent(pid_t parent, int sig);

/* End the process by `sig` as if it had never been caught or blocked: default action,
 * unblocked, raised. For a parent that stopped on SIGINT or SIGTERM and has cleaned up. */
noreturn void die_of_signal(int sig);

#endif
