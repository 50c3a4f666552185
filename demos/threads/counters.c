/* counters.c - one shared account changed by many threads, five ways (see counters.h) */
#include "counters.h"
#include "core.h"

const char *const counter_lock_names[] = { "none", "mutex", "spin", "atomic", "per-thread",
                                           NULL };

void counters_init(struct counters *c, enum counter_lock lock, long window, int tally)
{
    c->lock = lock;
    c->window = window;
    c->tally = tally;
    c->shared = (struct account){ 0, 0 };
    atomic_store(&c->atomic_balance, 0);
    atomic_store(&c->atomic_updates, 0);
    int s = pthread_mutex_init(&c->mutex, NULL);
    if (s != 0)
        die_code("pthread_mutex_init", s);
    s = pthread_spin_init(&c->spin, PTHREAD_PROCESS_PRIVATE);
    if (s != 0)
        die_code("pthread_spin_init", s);
}

void counters_destroy(struct counters *c)
{
    pthread_mutex_destroy(&c->mutex);
    pthread_spin_destroy(&c->spin);
}

/* Spin for `w` steps doing nothing useful. The counter is volatile so the compiler must
 * keep every step; this is how --window holds the thread between its read and its write. */
static void dawdle(long w)
{
    for (volatile long i = 0; i < w; i++)
        ;
}

/* One change of the balance without any protection - the seed's `balance = balance + n`
 * spelled out as the steps the CPU really takes. `volatile` makes the compiler perform
 * each load and each store where it is written (otherwise it could fold a deposit and
 * the withdrawal that follows into nothing); it does NOT make them atomic. */
/* [snippet:unlocked] */
static void change_unlocked(struct counters *c, struct account *acct, long amount)
{
    volatile struct account *a = acct;
    long balance = a->balance;         /* 1. load the shared balance into a register */
    long updates = a->updates;
    dawdle(c->window);                 /*    (--window: linger here, as a preempted thread would) */
    a->balance = balance + amount;     /* 2. add, 3. store - over whatever is there now */
    if (c->tally)
        a->updates = updates + 1;
}
/* [/snippet:unlocked] */

/* The same change, protected. A lock makes the load-add-store a critical section: one
 * thread at a time. An atomic add does the three steps as one instruction that no other
 * CPU can split: on x86 a lock-prefixed add (`lock add`; the compiler uses `lock xadd`
 * only when the old value is used, and here it is not). Per-thread accounts need no
 * protection at all: no other thread touches them, and they are added up at the end. */
/* [snippet:locked] */
void counters_change(struct counters *c, struct counter_own *own, long amount)
{
    switch (c->lock) {
    case COUNTER_NONE:
        change_unlocked(c, &c->shared, amount);
        break;
    case COUNTER_MUTEX:
        pthread_mutex_lock(&c->mutex); /* waits (asleep, in the kernel) if another holds it */
        change_unlocked(c, &c->shared, amount);
        pthread_mutex_unlock(&c->mutex);
        break;
    case COUNTER_SPIN:
        pthread_spin_lock(&c->spin);   /* waits by looping on the CPU until it is free */
        change_unlocked(c, &c->shared, amount);
        pthread_spin_unlock(&c->spin);
        break;
    case COUNTER_ATOMIC:
        atomic_fetch_add(&c->atomic_balance, amount);
        if (c->tally)
            atomic_fetch_add(&c->atomic_updates, 1);
        break;
    case COUNTER_PER_THREAD:
        change_unlocked(c, &own->acct, amount);   /* ours alone */
        break;
    }
}
/* [/snippet:locked] */

struct account counters_total(const struct counters *c, const struct counter_own *own,
                              long n)
{
    if (c->lock == COUNTER_ATOMIC)
        return (struct account){ atomic_load(&c->atomic_balance),
                                 atomic_load(&c->atomic_updates) };
    if (c->lock != COUNTER_PER_THREAD)
        return c->shared;
    struct account sum = { 0, 0 };
    for (long i = 0; i < n; i++) {
        sum.balance += own[i].acct.balance;
        sum.updates += own[i].acct.updates;
    }
    return sum;
}
