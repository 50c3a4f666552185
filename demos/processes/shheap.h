/* shheap.h - a min-heap of records that several processes share, under a robust lock
 *
 * The whole heap lives in one block of shared memory (the caller maps it; shheap_size()
 * says how big): a header with the lock, then a table of records indexed by id, then the
 * heap proper - an array of (key, id) entries. Records never move; the heap moves only
 * 16-byte entries, and the key is cached in the entry so a comparison does not chase the
 * record.
 *
 * Order: a key function (a function pointer, e.g. volume = l*w*h or a timestamp) turns a
 * record into a 64-bit key; ties are broken by id, so the order is total.
 *
 * Hands: a process that pops a record holds it "in hand" (hand[k], one slot per process,
 * in the shared block) until it pushes it back. Every record is therefore, at every
 * moment, either in the heap or in exactly one hand - and that, not the heap array, is the
 * source of truth.
 *
 * Robust lock: the lock is a process-shared robust mutex. If its owner dies while holding
 * it, the next process to lock it gets EOWNERDEAD: the heap array may be half-updated.
 * shheap_lock() then repairs it - rebuilds the heap from "every record not in a hand" -
 * and marks the mutex consistent. A dead process's own hand is given back by whoever
 * reaped it (shheap_return_hand()). Nothing is lost, nothing is duplicated.
 *
 * See also: shared_heap.c (the demo), bench/bench_heap.c (pairs per second),
 *           docs/processes/shared_heap.md, lib/shared.h (the robust lock's helpers)
 */
#ifndef SHHEAP_H
#define SHHEAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SHHEAP_MAX_HANDS 1024
#define SHHEAP_NONE UINT32_MAX     /* an empty hand */

struct shheap_record {
    uint32_t id;           /* the record's identity: 0 .. cap-1, never changes */
    uint32_t tag;          /* its payload's fingerprint, set once: shows a mixed-up record */
    uint16_t l, w, h;      /* a box: the volume key orders by l*w*h */
    uint16_t gen;          /* how many refreshes have replaced its measurements */
    uint64_t stamp;        /* the timestamp key: when it is next due */
    uint64_t visits;       /* how many times a worker processed it */
};

struct shheap_entry {
    uint64_t key;          /* key(record), cached */
    uint32_t id;
    uint32_t pad;
};

typedef uint64_t (*shheap_key_fn)(const struct shheap_record *r);

struct shheap {
    pthread_mutex_t lock;  /* process-shared, robust */
    uint32_t cap;          /* number of records */
    uint32_t n;            /* entries in the heap now */
    uint32_t nhands;
    uint32_t repairs;      /* times a process found the lock's owner dead and rebuilt */
    uint32_t hand[SHHEAP_MAX_HANDS];
    /* then: struct shheap_record records[cap]; struct shheap_entry heap[cap]; */
};

/* Bytes to map for `cap` records. */
size_t shheap_size(uint32_t cap);

/* Set up the heap in `mem` (shheap_size(cap) bytes of shared memory): the robust,
 * process-shared lock, `cap` records with ids 0..cap-1 and zeroed fields, all hands empty
 * and the heap empty. Fill the records (shheap_records()), then call shheap_rebuild(). */
void shheap_init(struct shheap *h, uint32_t cap, uint32_t nhands);

struct shheap_record *shheap_records(struct shheap *h);
struct shheap_entry *shheap_entries(struct shheap *h);

/* Take the lock. If the previous owner died holding it, rebuild the heap, count the repair
 * and make the mutex consistent; return 1 then, 0 otherwise. */
int shheap_lock(struct shheap *h, shheap_key_fn key);
void shheap_unlock(struct shheap *h);

/* With the lock held: put every record that is in no hand into the heap, ordered by key. */
void shheap_rebuild(struct shheap *h, shheap_key_fn key);

/* With the lock held: move the smallest record into hand k and return its id, or
 * SHHEAP_NONE if the heap is empty. crash_midway != 0 is fault injection for the tests:
 * the process kills itself with SIGKILL halfway through, the heap half-updated. */
uint32_t shheap_pop(struct shheap *h, uint32_t k, int crash_midway);

/* With the lock held: push the record in hand k back (its key recomputed); empty hand k.
 * Does nothing if hand k is empty - so it also gives back a dead process's record. */
void shheap_push(struct shheap *h, shheap_key_fn key, uint32_t k);

/* With the lock held: 1 if the heap property holds, every record is in the heap or in
 * exactly one hand, and every cached key is current; 0 otherwise. */
int shheap_valid(struct shheap *h, shheap_key_fn key);

#endif
