/* shmring.h - a one-producer, one-consumer ring of fixed-size records in shared memory,
 * and a doorbell: a futex word that a consumer sleeps on only when it has nothing to do
 *
 * The ring: records live at data[pos & (cap - 1)] for positions head <= pos < tail. Only
 * the producer writes tail and only the consumer writes head, so no lock and no
 * read-modify-write is needed: the producer writes a record, then publishes it by storing
 * the new tail; the consumer sees the tail, reads the record, then stores the new head,
 * which hands the cell back. The stores release and the loads acquire, so a side that
 * sees an index also sees the records (or the freed cells) it stands for. Nothing here
 * makes a system call: moving a record costs a few stores and, when the other side reads
 * it, a cache line or two travelling between CPUs.
 *
 * The doorbell: a consumer with nothing to read should sleep, not spin, and a producer
 * should not pay a system call per record to wake a consumer that is wide awake. So the
 * consumer announces that it is about to sleep (doorbell_arm: sleeping = 1), looks at its
 * ring(s) once more, and only then sleeps in FUTEX_WAIT on the bell's counter; a producer,
 * after publishing, looks at `sleeping` and makes the FUTEX_WAKE call only if it is set
 * (doorbell_ring). That is Dekker's pattern - each side stores its own word, then loads
 * the other's - and it only works if neither store can pass the load that follows it, so
 * those four accesses are sequentially consistent (shmring_publish, shmring_ready_sc,
 * doorbell_arm, doorbell_ring or doorbell_asleep), not just release/acquire: with
 * release/acquire alone the consumer could miss the new tail while the producer misses
 * `sleeping`, and both would carry on as if the other were awake. The sleep is bounded (timeout_ns): a producer that
 * died never rings, and the consumer must look up now and then to notice.
 *
 * One consumer per doorbell (`sleeping` is a flag, not a count); one doorbell may cover
 * several rings that share that consumer. The structures must live in MAP_SHARED memory
 * made before fork() (lib/shared.h shared_map()); cap is a power of two.
 *
 * See also: procpool.c (the pool's ring transport, its only user), docs/processes/shmring.md
 */
#ifndef SHMRING_H
#define SHMRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Each index on a cache line of its own, and cap and size (read by both sides for every
 * record) on a third that nobody writes after shmring_init(): a line that one CPU writes
 * and another reads moves between them at every write, so if cap sat beside head, every
 * record the producer wrote would first wait for the consumer's CPU to give that line
 * back (false sharing: see threads/false_sharing). */
struct shmring {
    _Alignas(64) uint32_t cap, size;      /* set by shmring_init(), before fork */
    _Alignas(64) _Atomic uint64_t tail;   /* written by the producer only */
    _Alignas(64) _Atomic uint64_t head;   /* written by the consumer only */
    _Alignas(64) unsigned char data[];
};

/* Bytes a ring of cap records of `size` bytes takes (a multiple of 64). */
size_t shmring_bytes(uint32_t cap, uint32_t size);
/* Set up (or reset, when neither side is using it) an empty ring; cap a power of two. */
void shmring_init(struct shmring *r, uint32_t cap, uint32_t size);

/* The cell of position pos (the caller keeps pos in [head, head + cap)). */
static inline void *shmring_cell(struct shmring *r, uint64_t pos)
{
    return r->data + (size_t)(pos & (r->cap - 1)) * r->size;
}

/* Producer: free cells now (cap - records not yet consumed). */
uint64_t shmring_room(struct shmring *r);
/* Producer: make the n records written at tail .. tail + n - 1 visible (seq_cst store). */
void shmring_publish(struct shmring *r, uint64_t n);
/* Producer: copy one record in and publish it; returns 0, or -1 when the ring is full. */
int shmring_put(struct shmring *r, const void *rec);

/* Consumer: records ready to read, from position `head` on (acquire load of tail). */
uint64_t shmring_ready(struct shmring *r);
/* The same with a seq_cst load: the re-check after doorbell_arm(). */
uint64_t shmring_ready_sc(struct shmring *r);
/* Consumer: the position of the next record to read. */
uint64_t shmring_head(struct shmring *r);
/* Consumer: hand the first n ready records' cells back to the producer. */
void shmring_consume(struct shmring *r, uint64_t n);

struct doorbell {
    _Alignas(64) _Atomic unsigned seq;    /* the futex word: bumped by every ring that wakes */
    _Atomic unsigned sleeping;            /* 1 while the consumer is (about to be) asleep */
};

/* Consumer: announce the sleep; returns the counter to hand to doorbell_wait() after the
 * last look at the ring(s) found nothing. */
unsigned doorbell_arm(struct doorbell *d);
/* Consumer: sleep until rung or timeout_ns passed (FUTEX_WAIT, returns at once if rung
 * since doorbell_arm), then clear the announcement. Returns 0, or ETIMEDOUT. */
int doorbell_wait(struct doorbell *d, unsigned seq, int64_t timeout_ns);
/* Consumer: take the announcement back without sleeping (the last look found work). */
void doorbell_disarm(struct doorbell *d);
/* Producer, after shmring_publish(): wake the consumer if it announced a sleep. Returns
 * 1 when it made the FUTEX_WAKE system call, 0 when the consumer was awake - or already
 * woken: the waker takes the announcement down (an atomic exchange of `sleeping`), so a
 * sleep costs one FUTEX_WAKE however many records, or producers, come before the
 * consumer runs again. */
int doorbell_ring(struct doorbell *d);
/* The same in two steps, for a producer that decides whether this record is worth waking
 * the consumer for: did it announce a sleep (seq_cst load)? Then wake it (FUTEX_WAKE,
 * unless another waker took the announcement first; returns 1 when it made the call). */
int doorbell_asleep(struct doorbell *d);
int doorbell_wake(struct doorbell *d);

#endif
