/* taskq_redis_lists.c - the task-queue interface on plain Redis lists: redis-lists://HOST:PORT
 *
 * Usage:    worker --backend redis-lists://127.0.0.1:6379 ...   (any taskq program)
 * Observe:  redis-cli LRANGE taskq-list:tasks 0 -1           the waiting tasks, newest first
 *           redis-cli KEYS 'taskq-list:tasks.processing:*'  one list per consumer: its lease
 * Try:      kill -9 a worker: its processing list stays until its heartbeat key expires and
 *           another client's reaper moves the tasks back. Now nack a task that always fails
 *           (the poison task): it comes back for ever, since nothing counts deliveries.
 * See also: docs/distributed/redis.md, taskq_redis.c (Streams, which replaced this pattern)
 *
 * The "reliable queue" pattern from before Redis had streams (Redis 5), kept for the lesson
 * and the bench. Queue Q is the list "taskq-list:Q": producers LPUSH on the left, consumers
 * take from the right, so it is FIFO. A plain RPOP would lose a task whose consumer dies
 * right after taking it, so a consumer instead moves each task atomically into a processing
 * list of its own, "taskq-list:Q.processing:NAME" (BLMOVE waits for one, LMOVE takes more),
 * and acks by removing it from there (LREM). What it cannot do well, each of which Streams
 * does for you:
 *   - No lease expiry on its own. A dead consumer's processing list just stays. Here each
 *     get refreshes a heartbeat key "taskq-list:Q.alive:NAME" (PX = wait + lease) and adds
 *     NAME to the set "taskq-list:Q.consumers"; every lease_ms/2 a client runs the reaper, a
 *     Lua script that moves back the processing lists of names whose heartbeat has expired.
 *     So the lease is per consumer, not per task, and renew renews all that a consumer holds.
 *   - Ack is LREM: O(length of the processing list), which is the prefetch depth; fine at 1,
 *     costly at 64 (each ack walks the list), and it removes by value, not by id: the pattern
 *     has no task ids, so a task's id is "" here, and equal payloads are interchangeable.
 *   - No delivery counts, so no dead-letter queue: a task that always fails is nacked and
 *     delivered for ever; deliveries is always reported as 1.
 *   - No bound: LPUSH never refuses, so put never returns TASKQ_FULL.
 *   - The reaper and inspect reach keys they do not declare (the processing lists of the
 *     names in the set), which a Redis Cluster forbids; fine on one Redis.
 */
#include "taskq_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define DEFAULT_LEASE_MS 30000
#define KEY_MAX 300

struct taskq {
    struct rconn r;
    char name[128];
    int64_t last_reap_ns;            /* when this client last ran the reaper */
    char last_queue[128];            /* the queue of the last get: its heartbeat to drop */
};

/* Move back to the queue (KEYS[1], at the consumers' end, oldest first) the tasks held by
 * consumers in the set KEYS[2] whose heartbeat (ARGV[2] .. name) has expired; ARGV[1] ..
 * name is a consumer's processing list. Returns how many tasks moved. */
/* [snippet:reaper] */
static struct rscript reap_script = { .src =
    "local moved = 0\n"
    "for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('EXISTS', ARGV[2] .. name) == 0 then\n"
    "    while redis.call('LMOVE', ARGV[1] .. name, KEYS[1], 'LEFT', 'RIGHT') do\n"
    "      moved = moved + 1\n"
    "    end\n"
    "    redis.call('SREM', KEYS[2], name)\n"
    "  end\n"
    "end\n"
    "return moved\n" };
/* [/snippet:reaper] */

/* Nack: put back at the consumers' end of KEYS[2] each task that is still in this
 * consumer's processing list KEYS[1] (one the reaper already moved back is left alone). */
static struct rscript nack_script = { .src =
    "for i = 1, #ARGV do\n"
    "  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then\n"
    "    redis.call('RPUSH', KEYS[2], ARGV[i])\n"
    "  end\n"
    "end\n"
    "return 0\n" };

/* Stats and inspect in one script: {ready, leased, consumers alive, then (state, consumer,
 * payload) triples of up to ARGV[3] tasks: those in processing lists first (taken
 * earlier), then the waiting ones oldest first}. ARGV[4] = "1" to list the tasks. */
static struct rscript look_script = { .src =
    "local out = {redis.call('LLEN', KEYS[1]), 0, 0}\n"
    "local max = tonumber(ARGV[3])\n"
    "for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  local p = ARGV[1] .. name\n"
    "  out[2] = out[2] + redis.call('LLEN', p)\n"
    "  out[3] = out[3] + redis.call('EXISTS', ARGV[2] .. name)\n"
    "  if ARGV[4] == '1' then\n"
    "    for _, v in ipairs(redis.call('LRANGE', p, 0, -1)) do\n"
    "      if (#out - 3) / 3 < max then table.insert(out, 2); table.insert(out, name);"
    " table.insert(out, v) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if ARGV[4] == '1' and max > 0 then\n"
    "  local ready = redis.call('LRANGE', KEYS[1], -max, -1)\n"
    "  for i = #ready, 1, -1 do\n"
    "    if (#out - 3) / 3 < max then table.insert(out, 1); table.insert(out, '');"
    " table.insert(out, ready[i]) end\n"
    "  end\n"
    "end\n"
    "return out\n" };

/* The keys of queue: the list, this consumer's processing list and heartbeat, the set of
 * consumers, and the prefixes the scripts append a name to. */
struct keys {
    char list[KEY_MAX], proc[KEY_MAX], alive[KEY_MAX], set[KEY_MAX];
    char proc_prefix[KEY_MAX], alive_prefix[KEY_MAX];
};

static int make_keys(struct taskq *q, const char *queue, struct keys *k)
{
    char suffix[KEY_MAX];
    int rc = rconn_key(q, k->list, sizeof k->list, "taskq-list:", queue, "");
    rc |= rconn_key(q, k->set, sizeof k->set, "taskq-list:", queue, ".consumers");
    rc |= rconn_key(q, k->proc_prefix, sizeof k->proc_prefix, "taskq-list:", queue,
                    ".processing:");
    rc |= rconn_key(q, k->alive_prefix, sizeof k->alive_prefix, "taskq-list:", queue,
                    ".alive:");
    snprintf(suffix, sizeof suffix, "%s", q->name);
    rc |= rconn_key(q, k->proc, sizeof k->proc, k->proc_prefix, suffix, "");
    rc |= rconn_key(q, k->alive, sizeof k->alive, k->alive_prefix, suffix, "");
    return rc ? -1 : 0;
}

static struct taskq *lists_open(const struct taskq_opts *o, const char *host, int port,
                                char *err, size_t errlen)
{
    struct taskq *q = rconn_open(sizeof *q, &taskq_redis_lists_backend, host, port, err,
                                 errlen);
    if (q)
        snprintf(q->name, sizeof q->name, "%s", o->name && *o->name ? o->name : "taskq");
    return q;
}

/* Closing drops this consumer's heartbeat, so the next reaper run gives back at once any
 * task it still holds (a crash leaves the heartbeat to expire instead). */
static void lists_close(struct taskq *q)
{
    struct keys k;
    if (q->last_queue[0] && make_keys(q, q->last_queue, &k) == 0) {
        rconn_cmd(q, "DEL");
        rconn_str(q, k.alive);
        redisReply *r = rconn_call(q, NULL);
        if (r)
            freeReplyObject(r);
    }
    rconn_close(q);
}

/* Ack = LREM each task from this consumer's processing list; with results, LPUSH them on
 * to_queue in the same MULTI/EXEC, so the acks and the results happen together. */
static int lists_finish(struct taskq *q, const char *queue, const struct taskq_task *t,
                        size_t n, const char *to_queue, const struct taskq_item *results,
                        size_t m)
{
    struct keys k;
    char to[KEY_MAX];
    if (make_keys(q, queue, &k) == -1 ||
        rconn_key(q, to, sizeof to, "taskq-list:", to_queue ? to_queue : queue, "") == -1 ||
        rconn_timeout(q, 0) == -1)
        return -1;
    rconn_cmd(q, "MULTI");
    rconn_send(q);
    for (size_t i = 0; i < n; i++) {
        rconn_cmd(q, "LREM");
        rconn_str(q, k.proc);
        rconn_num(q, 1);
        rconn_arg(q, t[i].data, t[i].len);
        rconn_send(q);
    }
    if (m > 0) {
        rconn_cmd(q, "LPUSH");
        rconn_str(q, to);
        for (size_t i = 0; i < m; i++)
            rconn_arg(q, results[i].data, results[i].len);
        rconn_send(q);
    }
    rconn_cmd(q, "EXEC");
    rconn_send(q);
    return rconn_replies(q, n + (m > 0) + 2);
}

static int lists_put(struct taskq *q, const char *queue, const struct taskq_item *items,
                     size_t n)
{
    return lists_finish(q, queue, NULL, 0, queue, items, n);
}

static int lists_settle(struct taskq *q, int how, const char *queue,
                        const struct taskq_task *t, size_t n, int lease_ms)
{
    if (how == TASKQ_ACK)
        return lists_finish(q, queue, t, n, NULL, NULL, 0);
    struct keys k;
    if (make_keys(q, queue, &k) == -1 || rconn_timeout(q, 0) == -1)
        return -1;
    if (how == TASKQ_RENEW) {        /* the lease is the heartbeat: renew it */
        rconn_cmd(q, "SET");
        rconn_str(q, k.alive);
        rconn_str(q, "1");
        rconn_str(q, "PX");
        rconn_num(q, lease_ms > 0 ? lease_ms : DEFAULT_LEASE_MS);
        redisReply *r = rconn_call(q, NULL);
        if (!r)
            return -1;
        freeReplyObject(r);
        return 0;
    }
    rconn_cmd(q, NULL);
    rconn_num(q, 2);
    rconn_str(q, k.proc);
    rconn_str(q, k.list);
    for (size_t i = 0; i < n; i++)
        rconn_arg(q, t[i].data, t[i].len);
    redisReply *r = rconn_eval(q, &nack_script);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Run the reaper if this client has not for lease_ms / 2. */
static int maybe_reap(struct taskq *q, const struct keys *k, int lease_ms)
{
    int64_t now = now_ns();
    if (q->last_reap_ns && now - q->last_reap_ns < (int64_t)lease_ms * 500000)
        return 0;
    q->last_reap_ns = now;
    rconn_cmd(q, NULL);
    rconn_num(q, 2);
    rconn_str(q, k->list);
    rconn_str(q, k->set);
    rconn_str(q, k->proc_prefix);
    rconn_str(q, k->alive_prefix);
    redisReply *r = rconn_eval(q, &reap_script);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Send `count` LMOVEs from the list to the processing list (one pipeline) and add what
 * comes back to out; a nil means the list ran dry. Returns 0 or -1. */
static int take(struct taskq *q, const struct keys *k, size_t count, size_t skip,
                struct taskq_batch *out)
{
    for (size_t i = 0; i < count; i++) {
        rconn_cmd(q, "LMOVE");
        rconn_str(q, k->list);
        rconn_str(q, k->proc);
        rconn_str(q, "RIGHT");
        rconn_str(q, "LEFT");
        rconn_send(q);
    }
    if (rconn_replies(q, skip) == -1)     /* the replies of commands sent before */
        return -1;
    for (size_t i = 0; i < count; i++) {
        redisReply *r = rconn_reply(q, NULL);
        if (!r)
            return -1;           /* after -1 the connection is not used again (taskq.h) */
        if (r->type == REDIS_REPLY_STRING) {
            struct taskq_task *t = taskq_batch_add(out, r->str, r->len);
            t->deliveries = 1;
        }
        freeReplyObject(r);
    }
    return 0;
}

static int lists_get(struct taskq *q, const char *queue, size_t max, int wait_ms,
                     int lease_ms, struct taskq_batch *out)
{
    struct keys k;
    if (max == 0)
        return 0;
    if (lease_ms <= 0)
        lease_ms = DEFAULT_LEASE_MS;
    if (make_keys(q, queue, &k) == -1 || rconn_timeout(q, wait_ms) == -1 ||
        maybe_reap(q, &k, lease_ms) == -1)
        return -1;
    snprintf(q->last_queue, sizeof q->last_queue, "%s", queue);
    /* [snippet:lists-get] */
    /* The heartbeat must outlive the wait, or a task moved at the end of a long BLMOVE
     * could be reaped before this consumer has even seen it. */
    rconn_cmd(q, "SADD");
    rconn_str(q, k.set);
    rconn_str(q, q->name);
    rconn_send(q);
    rconn_cmd(q, "SET");
    rconn_str(q, k.alive);
    rconn_str(q, "1");
    rconn_str(q, "PX");
    rconn_num(q, (long long)lease_ms + (wait_ms > 0 ? wait_ms : 0));
    rconn_send(q);
    if (take(q, &k, max, 2, out) == -1)
        return -1;
    if (out->n > 0 || wait_ms == 0)
        return (int)out->n;
    /* Nothing there: wait for one with BLMOVE (its timeout is in seconds; 0 is for ever),
     * then take what else came with it without waiting. */
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", wait_ms > 0 ? wait_ms / 1000.0 : 0.0);
    rconn_cmd(q, "BLMOVE");
    rconn_str(q, k.list);
    rconn_str(q, k.proc);
    rconn_str(q, "RIGHT");
    rconn_str(q, "LEFT");
    rconn_str(q, secs);
    redisReply *r = rconn_call(q, NULL);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING)
        taskq_batch_add(out, r->str, r->len)->deliveries = 1;
    freeReplyObject(r);
    if (out->n == 1 && max > 1 && take(q, &k, max - 1, 0, out) == -1)
        return -1;
    /* [/snippet:lists-get] */
    return (int)out->n;
}

/* Run the look script: stats only (max 0, list "0") or the tasks too. */
static redisReply *look(struct taskq *q, const char *queue, size_t max, int list)
{
    struct keys k;
    if (make_keys(q, queue, &k) == -1 || rconn_timeout(q, 0) == -1)
        return NULL;
    rconn_cmd(q, NULL);
    rconn_num(q, 2);
    rconn_str(q, k.list);
    rconn_str(q, k.set);
    rconn_str(q, k.proc_prefix);
    rconn_str(q, k.alive_prefix);
    rconn_num(q, (long long)max);
    rconn_str(q, list ? "1" : "0");
    redisReply *r = rconn_eval(q, &look_script);
    if (r && (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || (r->elements - 3) % 3)) {
        freeReplyObject(r);
        taskq_fail(q, "redis: unexpected reply to the look script");
        return NULL;
    }
    return r;
}

/* What a list can tell: waiting, held, consumers with a live heartbeat. Nothing is ever
 * dead-lettered (dead = 0); nothing is counted over time (UINT64_MAX). */
static int lists_stats(struct taskq *q, const char *queue, struct taskq_stats *st)
{
    redisReply *r = look(q, queue, 0, 0);
    if (!r)
        return -1;
    *st = (struct taskq_stats){
        .ready = (uint64_t)r->element[0]->integer, .leased = (uint64_t)r->element[1]->integer,
        .dead = 0, .put = UINT64_MAX, .acked = UINT64_MAX, .redelivered = UINT64_MAX,
        .dead_lettered = UINT64_MAX, .consumers = (uint32_t)r->element[2]->integer,
    };
    freeReplyObject(r);
    return 0;
}

static int lists_inspect(struct taskq *q, const char *queue, size_t max,
                         struct taskq_entries *out)
{
    redisReply *r = look(q, queue, max, 1);
    if (!r)
        return -1;
    for (size_t i = 3; i + 2 < r->elements; i += 3) {
        const redisReply *v = r->element[i + 2];
        struct taskq_entry *e = taskq_entries_add(out, v->str, v->len);
        e->state = r->element[i]->integer == 2 ? TASKQ_LEASED : TASKQ_READY;
        e->deliveries = e->state == TASKQ_LEASED;     /* at least once; not counted */
        rconn_copy(e->consumer, sizeof e->consumer, r->element[i + 1]);
    }
    freeReplyObject(r);
    return 0;
}

const struct taskq_backend taskq_redis_lists_backend = {
    .scheme = "redis-lists",
    .open = lists_open,
    .close = lists_close,
    .put = lists_put,
    .get = lists_get,
    .settle = lists_settle,
    .finish = lists_finish,
    .stats = lists_stats,
    .inspect = lists_inspect,
};
