/* shmring.c - the shared-memory ring and its doorbell (contract in shmring.h) */
#include "shmring.h"
#include "core.h"
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

size_t shmring_bytes(uint32_t cap, uint32_t size)
{
    size_t bytes = sizeof(struct shmring) + (size_t)cap * size;
    return (bytes + 63) / 64 * 64;
}

void shmring_init(struct shmring *r, uint32_t cap, uint32_t size)
{
    CHECK(cap > 0 && (cap & (cap - 1)) == 0);
    r->cap = cap;
    r->size = size;
    atomic_store(&r->tail, 0);
    atomic_store(&r->head, 0);
}

uint64_t shmring_room(struct shmring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);   /* our own */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    return r->cap - (tail - head);
}

void shmring_publish(struct shmring *r, uint64_t n)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + n, memory_order_seq_cst);   /* see doorbell */
}

int shmring_put(struct shmring *r, const void *rec)
{
    if (shmring_room(r) == 0)
        return -1;
    memcpy(shmring_cell(r, atomic_load_explicit(&r->tail, memory_order_relaxed)), rec,
           r->size);
    shmring_publish(r, 1);
    return 0;
}

uint64_t shmring_ready(struct shmring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);   /* our own */
    return atomic_load_explicit(&r->tail, memory_order_acquire) - head;
}

uint64_t shmring_ready_sc(struct shmring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    return atomic_load_explicit(&r->tail, memory_order_seq_cst) - head;
}

uint64_t shmring_head(struct shmring *r)
{
    return atomic_load_explicit(&r->head, memory_order_relaxed);
}

void shmring_consume(struct shmring *r, uint64_t n)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
}

unsigned doorbell_arm(struct doorbell *d)
{
    atomic_store_explicit(&d->sleeping, 1, memory_order_seq_cst);
    return atomic_load_explicit(&d->seq, memory_order_seq_cst);
}

int doorbell_wait(struct doorbell *d, unsigned seq, int64_t timeout_ns)
{
    int r = futex_wait(&d->seq, seq, timeout_ns);   /* returns at once if seq moved on */
    atomic_store_explicit(&d->sleeping, 0, memory_order_relaxed);
    return r;
}

void doorbell_disarm(struct doorbell *d)
{
    atomic_store_explicit(&d->sleeping, 0, memory_order_relaxed);
}

int doorbell_asleep(struct doorbell *d)
{
    return (int)atomic_load_explicit(&d->sleeping, memory_order_seq_cst);
}

int doorbell_wake(struct doorbell *d)
{
    /* Take the announcement down ourselves: until the sleeper runs again and clears it,
     * every record published would see `sleeping` set and pay another FUTEX_WAKE for a
     * consumer that is already on its way (a wake-up takes microseconds, a record far
     * less). The exchange lets exactly one waker make the call, however many look. */
    if (!atomic_exchange_explicit(&d->sleeping, 0, memory_order_seq_cst))
        return 0;
    atomic_fetch_add_explicit(&d->seq, 1, memory_order_seq_cst);
    futex_wake(&d->seq, INT_MAX);
    return 1;
}

int doorbell_ring(struct doorbell *d)
{
    if (!doorbell_asleep(d))
        return 0;                                   /* awake: no system call */
    return doorbell_wake(d);
}
