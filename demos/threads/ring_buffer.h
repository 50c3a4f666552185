/* ring_buffer.h - a bounded buffer: a ring of K slots between producer and consumer threads,
 *                 kept three ways - a mutex with two condition variables, POSIX semaphores,
 *                 and a lock-free ring for one producer and one consumer
 *
 * The model of the bounded_buffer demo (demos/threads/bounded_buffer.c) and of the buffer
 * bench (bench/bench_buffer.c), kept once so the bench times exactly what the lesson shows.
 * A producer puts an item and must wait while the ring is full; a consumer takes the oldest
 * item and must wait while it is empty. Items are 64-bit numbers; RING_NOTHING is never a
 * real item: it fills the slots at the start, so a take from a slot never written shows.
 *
 * cv_ring      one mutex, two condition variables (not_full, not_empty). With RING_WAIT_WHILE
 *              a waiter re-checks its condition after every wakeup, as it must; RING_WAIT_IF
 *              checks once (the classic bug): a thread woken for an item another thread took
 *              first goes on anyway, takes from an empty ring or puts into a full one, and the
 *              ring loses and repeats items. Its counts stay consistent under the lock (no data
 *              race, ThreadSanitizer is quiet): the bug is in the logic, and the tallies below
 *              count it.
 * sem_ring     two counting semaphores, free slots and filled slots, and a mutex for the ring's
 *              indices: sem_wait() waits and takes a token in one step, so no re-check is needed.
 * spsc_ring    no lock: the producer alone writes `tail`, the consumer alone writes `head`, and
 *              a release store of one paired with an acquire load of the other hands each slot
 *              over. Exactly one producer thread and one consumer thread.
 *
 * Threads: init and destroy while no other thread uses the ring; put, get and close from any
 * threads (spsc: put and close from the one producer, get from the one consumer). Every
 * get returns 1 with an item, or 0 once the ring is closed and (correct modes) empty.
 * Failed calls exit through die_errno()/die_code() naming the call.
 * See also: bounded_buffer.c (the demo), bench/bench_buffer.c, docs/threads/bounded_buffer.md
 */
#ifndef RING_BUFFER_H
#define RING_BUFFER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RING_NOTHING UINT64_MAX            /* what a slot holds before any put */

enum ring_wait { RING_WAIT_WHILE, RING_WAIT_IF };      /* how a cv_ring waiter re-checks */
enum ring_wake { RING_WAKE_SIGNAL, RING_WAKE_BROADCAST };   /* wake one waiter, or all */

struct cv_ring {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    uint64_t *slot;
    long cap, head, count;   /* count leaves 0..cap only under RING_WAIT_IF */
    int closed;              /* no more puts: consumers stop once the ring is empty */
    enum ring_wait wait;
    enum ring_wake wake;
    /* Tallies, kept under the lock: */
    long rewaits;            /* woken, found the condition still false, waited again (while) */
    long empty_takes;        /* took from an empty ring (only RING_WAIT_IF can) */
    long full_puts;          /* put into a full ring over an item not yet taken (RING_WAIT_IF) */
};

void cv_ring_init(struct cv_ring *r, long cap, enum ring_wait wait, enum ring_wake wake);
void cv_ring_destroy(struct cv_ring *r);
void cv_ring_put(struct cv_ring *r, uint64_t item);
int cv_ring_get(struct cv_ring *r, uint64_t *item);
void cv_ring_close(struct cv_ring *r);   /* after the last put: wakes every waiting consumer */

struct sem_ring {
    sem_t free_slots, filled;   /* tokens: slots a producer may fill, items a consumer may take */
    pthread_mutex_t lock;       /* guards head and count: many producers and consumers */
    uint64_t *slot;
    long cap, head, count;
    int closed;
};

void sem_ring_init(struct sem_ring *r, long cap);
void sem_ring_destroy(struct sem_ring *r);
void sem_ring_put(struct sem_ring *r, uint64_t item);
int sem_ring_get(struct sem_ring *r, uint64_t *item);
void sem_ring_close(struct sem_ring *r);

struct spsc_ring {
    _Alignas(64) _Atomic size_t head;  /* next slot to take; written by the consumer only */
    _Alignas(64) _Atomic size_t tail;  /* next slot to fill; written by the producer only */
    _Atomic int closed;                /* set by the producer after its last put */
    _Alignas(64) size_t cap;           /* read-only after init, on a line of its own */
    uint64_t *slot;
};

void spsc_ring_init(struct spsc_ring *r, long cap);
void spsc_ring_destroy(struct spsc_ring *r);
void spsc_ring_put(struct spsc_ring *r, uint64_t item);
int spsc_ring_get(struct spsc_ring *r, uint64_t *item);
void spsc_ring_close(struct spsc_ring *r);

#endif
