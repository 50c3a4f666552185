/* procpool_ring.h - the process pool parent's two rings: unfinished tasks by number, and
 * the backlog of records waiting for room in the task pipe
 *
 * Pure bookkeeping (no I/O, no system calls), so that tests/unit/test_procpool_ring.c can
 * drive it through wrap-arounds and growth that a real pool reaches only under load.
 *
 * The sequence ring: the parent numbers records 0, 1, 2, ... (seqring_add). Entry `seq`
 * lives at slot[seq & (cap - 1)] while seq is in [oldest, next); the ring grows (doubling,
 * cap stays a power of two) before that span would reach cap, so two live numbers never
 * share a slot and every live entry stays findable by its number. seqring_finish() clears
 * an entry and moves `oldest` past every finished entry, never past an unfinished one.
 * An empty slot inside [oldest, next) is a finished number (or one not yet set).
 *
 * The backlog: a FIFO of fixed-size records in a ring (head, len, cap). backlog_run() gives
 * the contiguous run at the head (the part before the ring wraps), backlog_consume() drops
 * what was written from it; growth keeps the order.
 *
 * See also: procpool.c (the only user), docs/processes/pool.md
 */
#ifndef PROCPOOL_RING_H
#define PROCPOOL_RING_H

#include <stddef.h>
#include <stdint.h>

struct seqring {
    void **slot;
    uint64_t cap, oldest, next;    /* live numbers: [oldest, next) */
};

void seqring_init(struct seqring *r, uint64_t cap);   /* cap: a power of two */
void seqring_free(struct seqring *r);
/* Number a new entry (next++), growing the ring first if need be; its slot is empty. */
uint64_t seqring_add(struct seqring *r);
void seqring_set(struct seqring *r, uint64_t seq, void *item);
/* The entry numbered seq, or NULL if seq is outside [oldest, next) or finished. */
void *seqring_get(const struct seqring *r, uint64_t seq);
/* Clear entry seq (if live) and advance oldest past every finished entry. */
void seqring_finish(struct seqring *r, uint64_t seq);

struct backlog {
    unsigned char *buf;
    size_t size, cap, head, len;   /* records of `size` bytes; [head, head + len) mod cap */
};

void backlog_init(struct backlog *b, size_t size, size_t cap);   /* cap 0: allocate later */
void backlog_free(struct backlog *b);
void backlog_push(struct backlog *b, const void *rec);             /* grows, keeping order */
/* The first records in order, as one contiguous run: *n of them (0 when empty). */
const void *backlog_run(const struct backlog *b, size_t *n);
void backlog_consume(struct backlog *b, size_t n);                 /* drop the first n */

#endif
