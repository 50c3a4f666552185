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
 * Parent:  die_with_parent() in a freshly forked child asks the kernel to SIGKILL it when
 *          the parent dies (precisely: when the thread that forked it exits - here always
 *          the main thread), so a killed parent leaves no orphaned workers behind.
 */
#ifndef SHARED_H
#define SHARED_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* `size` bytes of zeroed shared anonymous memory, or exit naming mmap. */
void *shared_map(size_t size);
void shared_unmap(void *p, size_t size);

/* Initialise *m as a process-shared, robust mutex, or exit naming the failed call. */
void shared_mutex_init(pthread_mutex_t *m);

/* In a child just forked from `parent`: die by SIGKILL when the parent dies (and at once
 * if it already has). Precisely, PR_SET_PDEATHSIG fires when the thread that forked the
 * child exits, so fork from the main thread (or a thread that lives as long as the
 * process). The request survives exec(), so it also covers a program the child goes on
 * to run. */
void die_with_parent(pid_t parent);

/* The same with another signal: SIGTERM lets a server the child execs shut down cleanly
 * (reaping its own workers) when the bench that started it is killed. */
void end_with_parent(pid_t parent, int sig);

#endif
