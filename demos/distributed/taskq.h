/* taskq.h - one task-queue interface, one file per backend
 *
 * master, worker, jobs, producer and consumer are written against this interface only, so
 * the same programs run on this chapter's broker (taskq_broker.c, URL tcp://HOST:PORT or
 * plain HOST:PORT) and on Redis Streams (taskq_redis.c, URL redis://HOST:PORT), as Redis's
 * own ae.c keeps one event-loop interface over epoll, kqueue and select.
 *
 * The calls block (a worker has nothing else to do while it waits) and are for one thread:
 * a program with several threads opens one taskq each.
 *
 * Delivery is at least once. A task given to a consumer by taskq_get() is leased to it:
 * until the consumer acks it (taskq_ack, or taskq_finish), nacks it, or the lease runs out
 * or the consumer disconnects, after which the task is delivered again (deliveries + 1).
 * A task delivered max-deliveries times that comes back goes to "<queue>.dead" instead.
 * So a result can arrive twice: whoever collects results deduplicates by the task's own id.
 *
 * Errors: calls return -1 and keep a message for taskq_error() ("broker closed the
 * connection", "redis: READONLY ..."); after -1 the connection is unusable except for
 * taskq_close(). A full queue is not an error of the connection: taskq_put() returns
 * TASKQ_FULL and the caller may wait and retry.
 */
#ifndef TASKQ_H
#define TASKQ_H

#include <stddef.h>
#include <stdint.h>

#define TASKQ_ID_MAX 48          /* "1701943925123-17" on Redis, a decimal u64 on the broker */
#define TASKQ_FULL (-2)
#define TASKQ_DEFAULT_URL "tcp://127.0.0.1:7070"

struct taskq;

struct taskq_opts {
    const char *url;             /* tcp://HOST:PORT, HOST:PORT or redis://HOST:PORT */
    const char *key_file;        /* broker backend: the shared key (auth.h) */
    const char *name;            /* this consumer's name, unique: e.g. "worker@host:pid" */
    int max_deliveries;          /* redis backend: dead-letter after this many (broker: its flag) */
};

/* A piece of bytes to put. */
struct taskq_item {
    const void *data;
    size_t len;
};

/* A delivered task. `data` points into the batch's memory: valid until the batch is
 * reused by the next taskq_get() into it, or freed. */
struct taskq_task {
    char id[TASKQ_ID_MAX];       /* the backend's delivery id, as text */
    uint32_t deliveries;         /* 1 the first time this task is handed out */
    const unsigned char *data;
    size_t len;
    size_t off;                  /* where data is in the batch's memory (for taskq.c) */
};

/* What taskq_get() fills; zero-initialise it, reuse it, free it with taskq_batch_free(). */
struct taskq_batch {
    struct taskq_task *tasks;
    size_t n, cap;
    unsigned char *mem;          /* the payloads */
    size_t mem_len, mem_cap;
};
void taskq_batch_free(struct taskq_batch *b);

/* A queue's counters (a backend that cannot count something reports UINT64_MAX). */
struct taskq_stats {
    uint64_t ready, leased, dead;            /* now */
    uint64_t put, acked, redelivered, dead_lettered;   /* since the broker started */
    uint32_t consumers;                      /* connected now */
};

/* One entry of taskq_inspect(): where a task is now. */
enum taskq_state { TASKQ_READY = 1, TASKQ_LEASED = 2, TASKQ_DEAD = 3 };
struct taskq_entry {
    char id[TASKQ_ID_MAX];
    enum taskq_state state;
    uint32_t deliveries;
    char consumer[128];          /* who holds the lease; "" unless leased */
    const unsigned char *data;
    size_t len;
    size_t off;                  /* where data is in the list's memory (for taskq.c) */
};
struct taskq_entries {
    struct taskq_entry *e;
    size_t n, cap;
    unsigned char *mem;
    size_t mem_len, mem_cap;
};
void taskq_entries_free(struct taskq_entries *es);

/* Connect (and authenticate) to the backend named by o->url. Returns NULL with a message
 * in err on failure: bad URL, connection refused, wrong key ("broker refused the key"),
 * key file with loose permissions. */
struct taskq *taskq_open(const struct taskq_opts *o, char *err, size_t errlen);
/* 0 if `url` is well formed and names a backend of this build; else -1 and why in err.
 * The programs check their --backend with it, so a typo is a usage error (exit 2), not a
 * failed connection. */
int taskq_check_url(const char *url, char *err, size_t errlen);
void taskq_close(struct taskq *q);
const char *taskq_error(const struct taskq *q);

/* Put n items on `queue` (all or none). Returns 0, TASKQ_FULL, or -1. */
int taskq_put(struct taskq *q, const char *queue, const struct taskq_item *items, size_t n);

/* Take up to `max` tasks from `queue`, waiting up to wait_ms for the first (0: do not
 * wait), each leased for lease_ms (0: the backend's default). Returns how many (0 when
 * none came in time: an ordinary answer, never an error), or -1. */
int taskq_get(struct taskq *q, const char *queue, size_t max, int wait_ms, int lease_ms,
              struct taskq_batch *out);

/* Ack, nack or renew the lease on n tasks this connection holds (ids from taskq_get).
 * Returns 0 or -1. An id whose lease was already lost is ignored (it was redelivered). */
int taskq_ack(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n);
int taskq_nack(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n);
int taskq_renew(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n,
                int lease_ms);

/* Ack n tasks on `queue` and put m results on `to_queue` as one step. Returns 0,
 * TASKQ_FULL (nothing acked, nothing put) or -1. */
int taskq_finish(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n,
                 const char *to_queue, const struct taskq_item *results, size_t m);

int taskq_stats(struct taskq *q, const char *queue, struct taskq_stats *st);

/* Up to `max` tasks of `queue` and of its dead-letter queue, oldest first, without taking
 * them. Returns 0 or -1. */
int taskq_inspect(struct taskq *q, const char *queue, size_t max, struct taskq_entries *out);

/* --- for backends ----------------------------------------------------------------------- */

/* Each backend file provides one of these; taskq.c picks by URL scheme and forwards. */
struct taskq_backend {
    const char *scheme;          /* "tcp", "redis" */
    struct taskq *(*open)(const struct taskq_opts *o, const char *host, int port,
                          char *err, size_t errlen);
    void (*close)(struct taskq *q);
    int (*put)(struct taskq *q, const char *queue, const struct taskq_item *items, size_t n);
    int (*get)(struct taskq *q, const char *queue, size_t max, int wait_ms, int lease_ms,
               struct taskq_batch *out);
    int (*settle)(struct taskq *q, int how, const char *queue, const struct taskq_task *t,
                  size_t n, int lease_ms);          /* how: TASKQ_ACK, TASKQ_NACK, TASKQ_RENEW */
    int (*finish)(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n,
                  const char *to_queue, const struct taskq_item *results, size_t m);
    int (*stats)(struct taskq *q, const char *queue, struct taskq_stats *st);
    int (*inspect)(struct taskq *q, const char *queue, size_t max, struct taskq_entries *out);
};
enum { TASKQ_ACK = 1, TASKQ_NACK = 2, TASKQ_RENEW = 3 };

/* Every backend's struct taskq begins with this, so taskq.c can reach the common part. */
struct taskq_common {
    const struct taskq_backend *backend;
    char error[256];
};

/* Record a message for taskq_error(); returns -1 for `return taskq_fail(q, ...)`. */
int taskq_fail(struct taskq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a task or an entry to a batch, copying its payload into the batch's memory
 * (data pointers are set by taskq.c once the backend has added them all, since the memory
 * may move while it grows). Backends empty the batch first with b->n = b->mem_len = 0. */
struct taskq_task *taskq_batch_add(struct taskq_batch *b, const void *data, size_t len);
struct taskq_entry *taskq_entries_add(struct taskq_entries *es, const void *data, size_t len);

extern const struct taskq_backend taskq_broker_backend;   /* taskq_broker.c */
extern const struct taskq_backend taskq_redis_backend;    /* taskq_redis.c */

#endif
