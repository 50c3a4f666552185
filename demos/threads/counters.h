/* counters.h - one shared account that many threads change: unprotected, under a mutex,
 *              under a spinlock, with atomic adds, or on per-thread copies merged at the end
 *
 * The model of the race demo (demos/threads/race.c) and of the locks bench (bench/bench_locks.c),
 * kept once so the bench measures exactly what the lesson shows. A change adds an amount
 * to the balance and, if asked, 1 to a tally of changes, both the same way: the tally only
 * goes up, so a lost change is missing from it even when lost changes cancel in the
 * balance. The bench asks for no tally: it times one bare increment of the balance.
 *
 * Threads: counters_init() and counters_total() run while no thread changes the account;
 * counters_change() from any number of threads at once. With COUNTER_NONE concurrent
 * changes race on purpose (a data race: ThreadSanitizer reports it, and it should).
 * See also: race.c (the demo), bench/bench_locks.c, docs/threads/race.md
 */
#ifndef COUNTERS_H
#define COUNTERS_H

#include <pthread.h>
#include <stdatomic.h>

/* How a change is protected. The order is race's --lock order; bench/bench_locks.c names all. */
enum counter_lock { COUNTER_NONE, COUNTER_MUTEX, COUNTER_SPIN, COUNTER_ATOMIC,
                    COUNTER_PER_THREAD };
extern const char *const counter_lock_names[];   /* "none" ... "per-thread", then NULL */

struct account {
    long balance;
    long updates;                 /* the tally: +1 per change */
};

/* A thread's own account, on its own cache line (COUNTER_PER_THREAD changes only it). */
struct counter_own {
    _Alignas(64) struct account acct;
};

struct counters {
    enum counter_lock lock;
    long window;                  /* steps to linger between load and store (race --window) */
    int tally;                    /* count the changes in `updates` too (race: yes) */
    pthread_mutex_t mutex;
    pthread_spinlock_t spin;
    _Alignas(64) struct account shared;               /* none, mutex, spin */
    _Alignas(64) _Atomic long atomic_balance, atomic_updates;   /* atomic */
};

/* Set up *c empty, with `lock`, `window` and `tally`, or exit naming the failed call;
 * counters_destroy() frees the locks. */
void counters_init(struct counters *c, enum counter_lock lock, long window, int tally);
void counters_destroy(struct counters *c);

/* Add `amount` to the balance and (c->tally) 1 to the tally, protected as c->lock says; `own` is the
 * calling thread's account (used by COUNTER_PER_THREAD only). */
void counters_change(struct counters *c, struct counter_own *own, long amount);

/* The account as it ended: the shared one, or the `n` per-thread ones added up. */
struct account counters_total(const struct counters *c, const struct counter_own *own,
                              long n);

#endif
