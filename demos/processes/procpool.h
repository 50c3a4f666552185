/* procpool.h - a process pool built the way Python's multiprocessing.Pool is built (seed 004)
 *
 * The mechanism, in Python's words and ours:
 *   - The parent is the dispatcher; every worker is a child process (fork()).
 *   - One pipe carries tasks out, one carries results back. All workers read the same task
 *     pipe and write the same result pipe, so each shared end is guarded by a process-shared
 *     lock: "take" around reading the task pipe, "put" around writing the result pipe.
 *   - A worker loops: take a task, run it, put back (task id, ok or error, value). A
 *     sentinel record tells it to leave; so does end-of-file on the task pipe.
 *   - max_tasks_per_child retires a worker after that many tasks; the pool starts another.
 *
 * Where we part from Python (CPython bpo-22393, still open as gh-66587): when a worker dies
 * in the middle of a task - a segfault, _exit(), SIGKILL from outside - Python's Pool starts
 * a new worker but never finishes the dead one's task, so get() without a timeout and map()
 * wait forever. Here every worker has a slot in shared memory saying which task ids it
 * holds; the parent watches each worker through a pidfd, and when one dies it fails those
 * tasks with the wait status (the signal) and starts a replacement. The locks are robust
 * mutexes (a semaphore held by a killed worker would stay taken forever), and the records
 * are numbered so a worker killed between reading the pipe and writing its slot is caught
 * too: the next reader sees the gap in the numbers and reports the missing task as lost.
 *
 * Tasks are a function pointer and one 64-bit argument: a forked worker is a copy of the
 * parent, so the function's address means the same thing on both sides (no pickling).
 * The parent does all its work in whichever procpool_* call the caller is in - one thread,
 * one poll() over the result pipe, the task pipe and the workers' pidfds - so the API is
 * for one thread of the parent. Python runs three helper threads for the same job.
 *
 * The ring transport (opts.transport = PROCPOOL_RING) replaces both pipes and both locks by
 * two rings per worker in shared memory (shmring.h): the parent is the only producer of a
 * worker's task ring and the only consumer of its result ring, so no lock is needed and no
 * record is ever half-taken. The parent gives each task to the least loaded worker when it
 * is submitted (a task may then wait behind a long one while another worker idles: the
 * price of having no shared queue). A dead worker's tasks are accounted by position: those
 * it had taken (the ring's head) without a result are failed, those it had not taken are
 * given to other workers, once. A side with nothing to do sleeps on a futex, bounded, and
 * is woken only when it said it sleeps; the parent notices deaths through the pidfds.
 *
 * See also: pool.c (the demo), bench/bench_pool.c (tasks per second), docs/processes/pool.md
 */
#ifndef PROCPOOL_H
#define PROCPOOL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* A task. Runs in a worker: return 0 after storing the result in *value, or a non-zero
 * error code (an errno value, say), which the task's handle then reports. */
typedef int (*procpool_fn)(int64_t arg, int64_t *value);

/* How tasks and results travel (see procpool.c): pipes, two system calls per record in
 * the worst case; or a ring per worker in shared memory, a system call only to wake a side
 * that went to sleep. A task is 32 bytes and a result 64 bytes whichever the transport:
 * both always fit in one ring cell (and in one atomic pipe write), so nothing is cut up. */
enum procpool_transport { PROCPOOL_PIPE, PROCPOOL_RING };

struct procpool_opts {
    enum procpool_transport transport;   /* PROCPOOL_PIPE (0, the default) or _RING */
    int workers;               /* 0: one per CPU (cpu_count()), like Pool() */
    long max_tasks_per_child;  /* 0: unlimited; else retire a worker after that many */
    int batch;                 /* records a worker takes per lock, 1..64 (0 means 1, as
                                * Python takes one task at a time); more saves lock and
                                * read calls per task, at the price of load balance */
    FILE *log;                 /* NULL, or where to print a line per worker event */
};

enum procpool_state {
    PROCPOOL_PENDING,          /* not finished yet */
    PROCPOOL_DONE,             /* the task returned 0; value holds its result */
    PROCPOOL_ERROR,            /* the task returned an error code; error holds it */
    PROCPOOL_CRASHED,          /* its worker died; wstatus says how (describe_status()) */
    PROCPOOL_TERMINATED,       /* procpool_terminate() stopped it or it never ran */
};

struct procpool_result {
    enum procpool_state state;
    int64_t value;             /* DONE: the task's result */
    int error;                 /* ERROR: the task's error code */
    int wstatus;               /* CRASHED: the dead worker's wait status */
    int worker;                /* the worker slot that ran it, -1 if not known */
    pid_t pid;                 /* that worker's pid, 0 if not known */
    int64_t start_ns, end_ns;  /* when it ran (CLOCK_MONOTONIC, all processes share it) */
};

struct procpool;
struct procpool_task;          /* a handle, as Python's AsyncResult */

/* Start the workers. Never returns NULL; failed system calls exit through die_errno(). */
struct procpool *procpool_create(const struct procpool_opts *o);

/* apply_async: queue fn(arg) and return its handle at once. Not after close/terminate. */
struct procpool_task *procpool_submit(struct procpool *p, procpool_fn fn, int64_t arg);

/* AsyncResult.get(timeout): wait up to timeout_s seconds (< 0: no limit) for the task to
 * finish and copy its outcome into *r. Returns 0, or ETIMEDOUT if it is still pending.
 * Waiting without a limit cannot hang: a dead worker fails its tasks. */
int procpool_get(struct procpool_task *t, double timeout_s, struct procpool_result *r);

/* Release a handle. A pending one is detached: the pool frees it when it finishes. */
void procpool_task_free(struct procpool_task *t);

/* map: run fn on args[0..n-1] and fill results[i] in input order; returns how many did not
 * end PROCPOOL_DONE. */
size_t procpool_map(struct procpool *p, procpool_fn fn, const int64_t *args, size_t n,
                    struct procpool_result *results);

/* close: no more submissions. join (after close or terminate): wait for every task, tell
 * the workers to leave (a sentinel each, then end-of-file) and reap them. terminate: kill
 * the workers now (SIGKILL) and fail every unfinished task as PROCPOOL_TERMINATED. */
void procpool_close(struct procpool *p);
void procpool_join(struct procpool *p);
void procpool_terminate(struct procpool *p);

/* Free everything; a pool not yet joined is terminated first. */
void procpool_free(struct procpool *p);

/* For demos and tests: workers in the pool, their pids, how many are running a task now,
 * which worker holds task t (-1: none), and counters of what happened so far. */
int procpool_size(const struct procpool *p);
pid_t procpool_worker_pid(const struct procpool *p, int w);
int procpool_busy(const struct procpool *p);
int procpool_worker_of(const struct procpool_task *t);
struct procpool_stats {
    long started;              /* worker processes started, replacements included */
    long crashed;              /* workers that died (signal, or exit status not 0) */
    long retired;              /* workers that left after max_tasks_per_child tasks */
    long lost;                 /* tasks caught by the gap check (taken, never recorded) */
    long twice;                /* results that came for a task already finished: a bug if
                                * ever above 0 (each result must arrive exactly once) */
};
struct procpool_stats procpool_stats(const struct procpool *p);

/* Send signal sig to worker w, then wait until the pool has noticed its death, failed its
 * tasks and started its replacement (the chaos test uses it to kill "from outside"). */
void procpool_kill_worker(struct procpool *p, int w, int sig);

/* Let the pool handle what has happened (results, deaths) for up to timeout_s seconds. */
void procpool_pump(struct procpool *p, double timeout_s);

#endif
