/* ring_buffer.c - the bounded buffer three ways: condition variables, semaphores, lock-free
 * (contract and threading rules in ring_buffer.h) */
#include "core.h"
#include "ring_buffer.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>

/* A fresh array of cap slots, each RING_NOTHING. */
static uint64_t *new_slots(long cap)
{
    uint64_t *s = xcalloc((size_t)cap, sizeof *s);
    for (long i = 0; i < cap; i++)
        s[i] = RING_NOTHING;
    return s;
}

/* The slot `ahead` places after head, wrapped into 0..cap-1. `ahead` is count for the next
 * free slot, so under RING_WAIT_IF it may be negative or past cap: C's % keeps the sign of
 * the dividend, hence the second step. */
static long wrap(long head, long ahead, long cap)
{
    long i = (head + ahead) % cap;
    return i < 0 ? i + cap : i;
}

static void lock(pthread_mutex_t *m)
{
    int s = pthread_mutex_lock(m);
    if (s != 0)
        die_code("pthread_mutex_lock", s);
}

static void unlock(pthread_mutex_t *m)
{
    int s = pthread_mutex_unlock(m);
    if (s != 0)
        die_code("pthread_mutex_unlock", s);
}

/* ---- mutex + two condition variables ------------------------------------------------ */

void cv_ring_init(struct cv_ring *r, long cap, enum ring_wait wait, enum ring_wake wake)
{
    *r = (struct cv_ring){ .cap = cap, .wait = wait, .wake = wake, .slot = new_slots(cap) };
    int s = pthread_mutex_init(&r->lock, NULL);
    if (s == 0)
        s = pthread_cond_init(&r->not_full, NULL);
    if (s == 0)
        s = pthread_cond_init(&r->not_empty, NULL);
    if (s != 0)
        die_code("pthread_mutex_init/pthread_cond_init", s);
}

void cv_ring_destroy(struct cv_ring *r)
{
    pthread_cond_destroy(&r->not_empty);
    pthread_cond_destroy(&r->not_full);
    pthread_mutex_destroy(&r->lock);
    free(r->slot);
}

static void wait_on(pthread_cond_t *c, pthread_mutex_t *m)
{
    int s = pthread_cond_wait(c, m);
    if (s != 0)
        die_code("pthread_cond_wait", s);
}

/* Tell the other side: wake one waiter, or all of them. */
static void wake(const struct cv_ring *r, pthread_cond_t *c)
{
    int s = r->wake == RING_WAKE_BROADCAST ? pthread_cond_broadcast(c) : pthread_cond_signal(c);
    if (s != 0)
        die_code("pthread_cond_signal/broadcast", s);
}

/* [snippet:cv-put] */
void cv_ring_put(struct cv_ring *r, uint64_t item)
{
    lock(&r->lock);
    if (r->wait == RING_WAIT_WHILE) {
        /* pthread_cond_wait() unlocks, sleeps, and locks again before it returns - but
         * between the wakeup and the relock another producer may have filled the slot
         * that was free. So check again, every time: while, not if. */
        while (r->count == r->cap) {
            wait_on(&r->not_full, &r->lock);
            if (r->count == r->cap)
                r->rewaits++;                 /* woken for nothing: the while caught it */
        }
    } else if (r->count >= r->cap) {          /* --wrong if: check once, trust the wakeup */
        wait_on(&r->not_full, &r->lock);
    }
    if (r->count >= r->cap)
        r->full_puts++;                       /* only `if` gets here: an item is overwritten */
    r->slot[wrap(r->head, r->count, r->cap)] = item;
    r->count++;
    wake(r, &r->not_empty);
    unlock(&r->lock);
}
/* [/snippet:cv-put] */

/* [snippet:cv-get] */
int cv_ring_get(struct cv_ring *r, uint64_t *item)
{
    lock(&r->lock);
    if (r->wait == RING_WAIT_WHILE) {
        while (r->count == 0 && !r->closed) {
            wait_on(&r->not_empty, &r->lock);
            if (r->count == 0 && !r->closed)
                r->rewaits++;                 /* the item we were woken for is gone */
        }
    } else if (r->count <= 0 && !r->closed) {
        wait_on(&r->not_empty, &r->lock);     /* --wrong if: assumes an item is there now */
    }
    if (r->count <= 0 && r->closed) {         /* no more items will come */
        unlock(&r->lock);
        return 0;
    }
    if (r->count <= 0)
        r->empty_takes++;                     /* only `if` gets here: a stale slot is taken */
    *item = r->slot[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    wake(r, &r->not_full);
    unlock(&r->lock);
    return 1;
}
/* [/snippet:cv-get] */

void cv_ring_close(struct cv_ring *r)
{
    lock(&r->lock);
    r->closed = 1;
    int s = pthread_cond_broadcast(&r->not_empty);   /* every consumer must see it */
    if (s != 0)
        die_code("pthread_cond_broadcast", s);
    unlock(&r->lock);
}

/* ---- semaphores --------------------------------------------------------------------- */

void sem_ring_init(struct sem_ring *r, long cap)
{
    *r = (struct sem_ring){ .cap = cap, .slot = new_slots(cap) };
    /* pshared 0: shared between the threads of this process (unnamed, nothing to unlink). */
    if (sem_init(&r->free_slots, 0, (unsigned)cap) == -1 || sem_init(&r->filled, 0, 0) == -1)
        die_errno("sem_init");
    int s = pthread_mutex_init(&r->lock, NULL);
    if (s != 0)
        die_code("pthread_mutex_init", s);
}

void sem_ring_destroy(struct sem_ring *r)
{
    sem_destroy(&r->filled);
    sem_destroy(&r->free_slots);
    pthread_mutex_destroy(&r->lock);
    free(r->slot);
}

/* sem_wait() sleeps until the count is above 0 and takes one, in one step; a signal
 * handler can interrupt it (EINTR), and then we simply wait again. */
static void sem_take(sem_t *s)
{
    while (sem_wait(s) == -1)
        if (errno != EINTR)
            die_errno("sem_wait");
}

static void sem_give(sem_t *s)
{
    if (sem_post(s) == -1)
        die_errno("sem_post");
}

/* [snippet:sem] */
void sem_ring_put(struct sem_ring *r, uint64_t item)
{
    sem_take(&r->free_slots);                 /* a free slot is ours: no re-check needed */
    lock(&r->lock);                           /* ...but other producers fill slots too */
    r->slot[wrap(r->head, r->count, r->cap)] = item;
    r->count++;
    unlock(&r->lock);
    sem_give(&r->filled);
}

int sem_ring_get(struct sem_ring *r, uint64_t *item)
{
    sem_take(&r->filled);
    lock(&r->lock);
    if (r->count == 0) {                      /* the token came from close(), not a put */
        CHECK(r->closed);
        unlock(&r->lock);
        sem_give(&r->filled);                 /* pass it on: the next consumer stops too */
        return 0;
    }
    *item = r->slot[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    unlock(&r->lock);
    sem_give(&r->free_slots);
    return 1;
}
/* [/snippet:sem] */

void sem_ring_close(struct sem_ring *r)
{
    lock(&r->lock);
    r->closed = 1;
    unlock(&r->lock);
    sem_give(&r->filled);   /* one extra token: wakes a consumer, which passes it on */
}

/* ---- lock-free, one producer and one consumer ----------------------------------------- */

void spsc_ring_init(struct spsc_ring *r, long cap)
{
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->closed, 0);
    r->cap = (size_t)cap;
    r->slot = new_slots(cap);
}

void spsc_ring_destroy(struct spsc_ring *r)
{
    free(r->slot);
}

/* Nothing to do but wait for the other thread. Spin a little (it may be on another CPU,
 * about to move), then yield: on a machine with fewer CPUs than threads the other one may
 * need ours to make progress. */
static void backoff(unsigned *spins)
{
    if (++*spins > 64)
        sched_yield();
}

/* [snippet:spsc] */
void spsc_ring_put(struct spsc_ring *r, uint64_t item)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);   /* ours alone */
    unsigned spins = 0;
    /* acquire: once we see the consumer's head move, its read of that slot is done. */
    while (tail - atomic_load_explicit(&r->head, memory_order_acquire) == r->cap)
        backoff(&spins);                      /* full */
    r->slot[tail % r->cap] = item;
    /* release: the item is written before the consumer can see the new tail. */
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

int spsc_ring_get(struct spsc_ring *r, uint64_t *item)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);   /* ours alone */
    unsigned spins = 0;
    while (atomic_load_explicit(&r->tail, memory_order_acquire) == head) {   /* empty */
        /* closed is stored after the last tail: seen closed, a tail still equal to head
         * means nothing more will come. */
        if (atomic_load_explicit(&r->closed, memory_order_acquire) &&
            atomic_load_explicit(&r->tail, memory_order_acquire) == head)
            return 0;
        backoff(&spins);
    }
    *item = r->slot[head % r->cap];
    atomic_store_explicit(&r->head, head + 1, memory_order_release);   /* the slot is free */
    return 1;
}
/* [/snippet:spsc] */

void spsc_ring_close(struct spsc_ring *r)
{
    atomic_store_explicit(&r->closed, 1, memory_order_release);
}
