/* store.h - the broker's queues as pure bookkeeping: tasks, leases, acks, dead letters
 *
 * No sockets, no clock, no event loop: the broker (broker.c) turns frames into these calls
 * and passes the time in, so tests/unit/test_store.c can drive every rule directly.
 *
 * The model. Named queues are made on first use. A task has an id (a u64, unique in the
 * broker and increasing: 1, 2, 3...), a payload (bytes the store never reads), a count of
 * deliveries, and a state:
 *     ready   in its queue's FIFO, waiting for a consumer
 *     leased  handed to one consumer until a deadline: that consumer may ack it (gone for
 *             good), nack it (back to ready at once) or renew the lease; if the deadline
 *             passes or the consumer disconnects, it comes back by itself
 * A task that comes back after max_deliveries deliveries is not retried any more: it moves
 * to the queue "<queue>.dead" (a queue like any other, where INSPECT and GET can see it;
 * a task of a dead queue that comes back goes to its front again: dead letters do not die
 * twice).
 * Delivery is therefore at least once: a consumer that did the work but died before its ack
 * gets the task done twice.
 *
 * Choices worth knowing:
 *  - A task that comes back goes to the FRONT of its queue (the order among tasks returned
 *    together is kept): it was the oldest, and a retry that waited behind 100 000 newer
 *    tasks would look lost. The price: a poison task is retried at once, until it is dead.
 *  - "Length" of a queue, for max_queue, counts its ready and leased tasks (a leased task
 *    is not done). A dead-letter move is never refused, so "<q>.dead" may pass max_queue:
 *    refusing it would mean dropping the task.
 *  - Only the consumer holding a lease may settle it. An id that is unknown, already
 *    settled, or leased to someone else is ignored and counted (stats.unknown), not an error:
 *    after a lease expired, a slow worker's ack for a redelivered task is routine.
 *  - Queues are never removed (a broker serves a handful of named queues).
 *
 * Cost: put, get, ack, nack and renew are O(1) per task plus O(log L) for the lease heap
 * (L tasks leased): tasks are found by id in an open-addressing table, queues by name in a
 * hash table; ready tasks, each queue's leased tasks and each consumer's leases are
 * intrusive lists; leases sit in a binary heap ordered by deadline.
 *
 * Hooks, for a journal (demos/distributed/journal.c) and for waiting consumers. The store
 * calls them, when set, at these moments and no others:
 *    put        before a batch is taken (PUT, and FINISH's results), with the ids it will
 *               get (first_id, first_id+1, ...). Returning -1 refuses the batch: nothing is
 *               taken and the caller answers ERROR INTERNAL. A journal appends its records
 *               here; the broker sends PUT_OK only after the journal has written them.
 *    ack        after a task was acked or finished (it is gone for good)
 *    delivered  after a task was leased to a consumer (its deliveries count grew): a
 *               journal that keeps the count across restarts needs to know, or a poison
 *               task would get max_deliveries fresh tries after every restart
 *    dead       after a task left `queue` for "<queue>.dead" (with its deliveries)
 *    deliver    a consumer waiting in store_wait() got tasks: a PUT or a returning task
 *               made some ready. The tasks are leased already; the callee writes the reply.
 *               It must not call back into the store (the store is mid-operation).
 * Replay after a restart calls store_restore() for every task the journal still holds
 * and store_advance_ids() with the highest id ever given out, and never calls a hook; new
 * ids go on above both. store_walk() hands a journal's compaction every task there is, in
 * an order that replays to the same queues: per queue, leased tasks (oldest lease first),
 * then ready ones in FIFO order.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* The largest payload the broker takes: whatever its size, a task must fit in a TASKS or
 * ENTRIES reply frame with its id, counters and a consumer name around it. */
#define STORE_MAX_PAYLOAD (WIRE_MAX_FRAME - 256)

/* A link in an intrusive circular list (a list is a link whose next is itself when empty). */
struct store_link {
    struct store_link *prev, *next;
};

struct store_queue;
struct store;

struct store_task {
    uint64_t id;
    struct store_queue *q;
    struct store_link qlink;          /* in q's ready or leased list */
    struct store_link clink;          /* in the owner's list of leases */
    struct store_consumer *owner;     /* NULL unless leased */
    uint64_t deadline;                /* lease deadline, ms on the caller's clock */
    size_t heap_at;                   /* index in the lease heap while leased */
    uint32_t deliveries;
    uint8_t state;                    /* WIRE_READY or WIRE_LEASED */
    size_t len;
    unsigned char payload[];
};

/* A connected client, as the store knows it: embedded in the broker's connection and
 * registered with store_consumer_init() (after the handshake). */
struct store_consumer {
    const char *name;                 /* for INSPECT; owned by the caller */
    struct store_link leases;         /* the tasks it holds */
    struct store_link wait;           /* in a queue's waiters while waiting */
    struct store_queue *waiting_on;   /* NULL unless waiting */
    uint32_t want_max, want_lease_ms; /* the waiting GET's max and lease */
    size_t want_bytes;                /* and its budget of payload bytes */
    void *data;                       /* the caller's: its connection */
};

struct store_stats {
    uint64_t ready, leased, dead;              /* now; dead: tasks in "<queue>.dead" */
    uint64_t put, acked, redelivered, dead_lettered;   /* since the start */
    uint64_t unknown;                          /* settles of ids not held by the caller */
    uint32_t consumers;                        /* registered (connected) consumers */
};

struct store_item {                   /* a payload to put */
    const void *data;
    size_t len;
};

/* The hooks (see the top of this file). `queue` is the queue the task is in (or, for dead,
 * the queue it leaves), qlen bytes, not NUL-terminated. */
struct store_hooks {
    void *ctx;
    int (*put)(void *ctx, const char *queue, size_t qlen, uint64_t first_id,
               const struct store_item *items, size_t n);
    void (*ack)(void *ctx, const char *queue, size_t qlen, uint64_t id);
    void (*delivered)(void *ctx, const char *queue, size_t qlen, uint64_t id);
    void (*dead)(void *ctx, const char *queue, size_t qlen, uint64_t id, uint32_t deliveries);
    void (*deliver)(void *ctx, struct store_consumer *c, struct store_task **tasks, size_t n);
};

struct store_limits {
    uint32_t max_deliveries;          /* >= 1 */
    size_t max_queue;                 /* ready + leased per queue, >= 1 */
};

/* Results of store_put() and store_finish(). */
enum { STORE_OK = 0, STORE_FULL = -1, STORE_REFUSED = -2 };

/* A new, empty store (xmalloc: out of memory exits). hooks may be NULL (no hooks). */
struct store *store_new(struct store_limits lim, const struct store_hooks *hooks);
void store_free(struct store *st);

/* Register a consumer (c's memory is the caller's, until store_consumer_gone()). */
void store_consumer_init(struct store *st, struct store_consumer *c, const char *name,
                         void *data);
/* c disconnected: it stops waiting, and every task it holds comes back (or goes to its dead
 * queue), in the order it got them. */
void store_consumer_gone(struct store *st, struct store_consumer *c, uint64_t now);

/* Put n payloads on `queue` (qlen bytes, no NUL needed), all or none: STORE_FULL when the
 * queue would pass max_queue, STORE_REFUSED when the put hook refused; else STORE_OK and
 * the ids in ids[0..n). Wakes waiting consumers. */
int store_put(struct store *st, const char *queue, size_t qlen,
              const struct store_item *items, size_t n, uint64_t now, uint64_t *ids);

/* Lease up to max ready tasks of `queue` to c until now + lease_ms, first in first out,
 * stopping before the payloads pass `budget` bytes (but always taking one if any is ready).
 * Each task's deliveries grows by 1. Returns how many, in out[0..n) (valid until the next
 * call that changes the store). */
size_t store_get(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 uint32_t max, size_t budget, uint64_t now, uint32_t lease_ms,
                 struct store_task **out);

/* c waits for tasks on `queue` (after a store_get() that found none): the next tasks that
 * become ready there go to the waiters in the order they began waiting, through the deliver
 * hook, leased until `now` of the call that made them ready + lease_ms. store_unwait() ends
 * the wait (its timeout ran out); a consumer waits on one queue at a time. */
void store_wait(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                uint32_t max, size_t budget, uint32_t lease_ms);
void store_unwait(struct store *st, struct store_consumer *c);

/* Settle the tasks ids[0..n) of `queue` that c holds; others are ignored and counted.
 * Each returns how many were c's. nack: the tasks come back at once (or go dead);
 * renew: their leases end at now + lease_ms instead. */
size_t store_ack(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 const uint64_t *ids, size_t n);
size_t store_nack(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                  const uint64_t *ids, size_t n, uint64_t now);
size_t store_renew(struct store *st, struct store_consumer *c, const char *queue,
                   size_t qlen, const uint64_t *ids, size_t n, uint64_t now,
                   uint32_t lease_ms);

/* Ack ids[0..n) of `queue` and put m results on `to` in one step: when `to` would pass
 * max_queue (STORE_FULL) or the put hook refuses (STORE_REFUSED), nothing is acked and
 * nothing is put. Else STORE_OK with the results' ids in ids_out[0..m). */
int store_finish(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 const uint64_t *ids, size_t n, const char *to, size_t tolen,
                 const struct store_item *items, size_t m, uint64_t now, uint64_t *ids_out);

/* Every lease whose deadline is <= now comes back; returns how many. store_next_deadline()
 * is the earliest deadline of all leases, or UINT64_MAX when none is leased. */
size_t store_expire(struct store *st, uint64_t now);
uint64_t store_next_deadline(const struct store *st);

/* The counters of `queue` (zeros for a queue never used; consumers is store-wide). */
struct store_stats store_stats(struct store *st, const char *queue, size_t qlen);
/* The same summed over every queue, for the broker's last words. */
struct store_stats store_totals(const struct store *st);
size_t store_queue_count(const struct store *st);

/* Walk `queue` for INSPECT: fn is called for its ready tasks (FIFO order), its leased
 * tasks (in the order they were leased), then the tasks of "<queue>.dead" with state
 * WIRE_DEAD, until it returns nonzero or max entries were given. */
typedef int (*store_visit_fn)(void *arg, const struct store_task *t, int state,
                              const struct store_consumer *owner);
void store_inspect(struct store *st, const char *queue, size_t qlen, uint32_t max,
                   store_visit_fn fn, void *arg);

/* Replay: re-create a ready task with this id at the back of `queue`, without calling any
 * hook; ids given later by store_put() are above every restored one. Returns 0, or -1 when
 * the id is already in the store (the replay is confused: the caller says so). */
int store_restore(struct store *st, const char *queue, size_t qlen, uint64_t id,
                  const void *payload, size_t len, uint32_t deliveries);
/* Replay of an ack: the task leaves the store, whoever held it, without hooks. Returns 1
 * if it was there. */
int store_forget(struct store *st, uint64_t id);
/* Ids given from now on are above max_id (a journal remembers the highest id ever given,
 * so that an id is never reused, even when every task had been acked before the restart). */
void store_advance_ids(struct store *st, uint64_t max_id);
/* The highest id given out so far (0 if none). */
uint64_t store_max_id(const struct store *st);

/* Every task in the store, for a journal's compaction: fn(arg, queue, qlen, task) per task,
 * per queue leased tasks first (oldest lease first), then ready ones (FIFO). Stops early
 * when fn returns nonzero. */
typedef int (*store_walk_fn)(void *arg, const char *queue, size_t qlen,
                             const struct store_task *t);
void store_walk(const struct store *st, store_walk_fn fn, void *arg);
/* The queue a journal names for t: its own, or for a task of "<q>.dead", q with *dead = 1
 * (so that no record holds a name longer than a client may give). */
const char *store_queue_name(const struct store_task *t, size_t *len, int *dead);

#endif
