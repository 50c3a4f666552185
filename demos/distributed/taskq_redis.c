/* taskq_redis.c - the task-queue interface (taskq.h) on Redis Streams: redis://HOST:PORT
 *
 * Usage:    master --backend redis://127.0.0.1:6379 ...   (the same for worker, producer,
 *           consumer, jobs); start a Redis with `redis-server --port 6379 --save ''`
 * Observe:  redis-cli XRANGE taskq:tasks - +     the tasks not yet acked, oldest first
 *           redis-cli XPENDING taskq:tasks taskq - + 10   who holds which, idle ms, deliveries
 *           redis-cli XRANGE taskq:tasks.dead - +  the tasks that failed max-deliveries times
 * Try:      kill -9 a worker mid-run: its pending entries sit in XPENDING, their idle time
 *           growing, until another worker's XAUTOCLAIM takes them after --lease-ms.
 * See also: docs/distributed/redis.md, taskq_redis_lists.c (the pattern Streams replaced)
 *
 * The model. Queue Q is the stream "taskq:Q" read through one consumer group, "taskq", that
 * every client joins under its own name (taskq_opts.name). A stream keeps its entries after
 * they are read; the group remembers, per entry handed out, who has it, since when (idle
 * time) and how many times it was delivered: the Pending Entries List (PEL). That is a
 * lease table kept by Redis, so the broker's ideas map one to one:
 *   put       XADD taskq:Q * d PAYLOAD           (in a Lua script: see bounds below)
 *   get       XREADGROUP GROUP taskq NAME COUNT max BLOCK wait_ms STREAMS taskq:Q >
 *             and, every quarter lease or when nothing new is there, XAUTOCLAIM first:
 *             entries idle longer than lease_ms, whoever had them (their worker died or
 *             is too slow), delivery count + 1.
 *   ack       XACK, then the entry leaves the stream: a stream never forgets an entry by
 *             itself, and a queue that only grew would fill memory. Not by XDEL of each id
 *             (XDEL finds the entry by scanning the packed node that holds it, which
 *             would be the costliest step of a task) but by cutting the stream's old
 *             end, one XTRIM MINID per ack: see "Trimming" below.
 *   nack      XCLAIM ... IDLE <huge> JUSTID: the entry stays pending but looks long
 *             expired, so the next XAUTOCLAIM by anyone reclaims it (deliveries + 1,
 *             the poison count keeps counting): the nacker's own next get, or another
 *             consumer's within a quarter lease. The other choice, XACK + a fresh XADD,
 *             would wake a blocked reader at once but lose the entry's id and its
 *             delivery count (it would have to travel in the payload).
 *   renew     XCLAIM ... JUSTID: resets the idle time, does not count a delivery.
 *   dead      an entry reclaimed for the (max_deliveries+1)-th time is not returned: it is
 *             moved to the stream "taskq:Q.dead" (XADD there, XACK, XDEL, in MULTI/EXEC).
 *   finish    one Lua script: XACK+trim the tasks, XADD the results (all or nothing).
 * Two differences from the broker to know. A lease is judged by the one who reclaims: an
 * entry is taken back when it has been idle longer than the *claimer's* lease_ms, so all
 * clients of a queue should use the same --lease-ms. And a consumer that disconnects keeps
 * its entries until their lease runs out (Redis does not tie the PEL to connections).
 *
 * Trimming. Every entry older than `need`, the oldest entry still needed, has been
 * acked (or dead-lettered), so XTRIM MINID need removes exactly those. `need` is the
 * oldest pending entry (XPENDING - + 1) if any, else the one after the group's
 * last-delivered-id (XINFO GROUPS): ">" hands entries out in id order, so everything
 * older than a delivered entry was delivered, and a delivered entry that is not pending
 * was acked. An ack of an entry at or above `need` (several workers ack out of order: a
 * newer batch before an older one still held; or an old entry is held long, a slow or a
 * nacked task) cannot be trimmed yet: that one entry is XDELed. So after each script the
 * stream holds exactly the entries not yet acked: XLEN (the bound), stats and inspect
 * count and show those, with no knowledge of the trimming.
 *
 * Bounds. Streams have no "refuse when full": XADD's MAXLEN trims the oldest entries, which
 * for a task queue means silently losing tasks. So put and finish run a small Lua script
 * that checks XLEN (ready + leased) against the bound first and refuses the whole batch
 * with TASKQ_FULL. The bound is the key "taskq:Q.max" if set (redis-cli SET taskq:Q.max
 * 1000: every client sees it, as every client of the broker sees its --max-queue), else
 * TASKQ_REDIS_MAX_QUEUE, the broker's default.
 *
 * Blocking clients use hiredis's synchronous API: a worker has nothing to do while it waits.
 * A server that talks to Redis while serving others would use the asynchronous API on its
 * event loop instead (hiredis's adapters/libuv.h attaches a redisAsyncContext to a uv loop).
 */
#include "taskq_redis.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core.h"

#define GROUP "taskq"
#define TASKQ_REDIS_MAX_QUEUE 100000     /* as the broker's --max-queue default */
#define DEFAULT_LEASE_MS 30000
#define DEFAULT_MAX_DELIVERIES 5
/* The idle time a nack gives an entry: longer than any lease (lease_ms is an int), so any
 * consumer's next XAUTOCLAIM takes it. Entries this idle show as ready in inspect. */
#define NACK_IDLE_MS INT_MAX
#define KNOWN_QUEUES 16
#define KEY_MAX 300

struct taskq {
    struct rconn r;
    char name[128];
    int max_deliveries;
    char known[KNOWN_QUEUES][128];   /* queues whose group this connection has made sure of */
    size_t nknown;
    char claim_queue[128];           /* XAUTOCLAIM's cursor: where the next scan of this */
    char claim_from[TASKQ_ID_MAX];   /* queue's pending list goes on ("0-0": the start) */
    int64_t last_claim_ns;           /* when this client last ran XAUTOCLAIM */
    int nacked;                      /* it nacked since: look again at the next get */
};

/* Ack n tasks of KEYS[1] and add the results to KEYS[2], unless that would take KEYS[2]
 * over its bound (KEYS[3], or ARGV[1]): then nothing at all happens and it returns -2.
 * ARGV: bound, group, n, n ids, results. A put is this with n = 0.
 * The acked entries leave the stream by trimming, not one XDEL each (see the header):
 * `need` is the oldest entry still needed, everything older goes with one XTRIM MINID;
 * an acked id at or above it (acked out of order) is deleted on its own. */
/* [snippet:finish-script] */
static struct rscript finish_script = { .src =
    "local function parts(id) return string.match(id, '^(%d+)-(%d+)$') end\n"
    "local function num_lt(a, b) return #a < #b or (#a == #b and a < b) end\n"
    "local function older(a, b)\n"
    "  local am, as = parts(a)\n"
    "  local bm, bs = parts(b)\n"
    "  if am ~= bm then return num_lt(am, bm) end\n"
    "  return num_lt(as, bs)\n"
    "end\n"
    "local n = tonumber(ARGV[3])\n"
    "local m = #ARGV - 3 - n\n"
    "local max = tonumber(redis.call('GET', KEYS[3]) or ARGV[1])\n"
    "if m > 0 and redis.call('XLEN', KEYS[2]) + m > max then return -2 end\n"
    "if n > 0 then\n"
    "  for i = 4, 3 + n, 1000 do\n"
    "    redis.call('XACK', KEYS[1], ARGV[2], unpack(ARGV, i, math.min(i + 999, 3 + n)))\n"
    "  end\n"
    "  local need = redis.call('XPENDING', KEYS[1], ARGV[2], '-', '+', 1)[1]\n"
    "  need = need and need[1]\n"
    "  for _, g in ipairs(need and {} or redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "    for k = 1, #g - 1, 2 do\n"
    "      if g[k] == 'last-delivered-id' then\n"
    "        local ms, seq = parts(g[k + 1])\n"
    "        need = #seq < 14 and ms .. '-' .. (tonumber(seq) + 1) or g[k + 1]\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for i = 4, 3 + n do\n"
    "    if not (need and older(ARGV[i], need)) then redis.call('XDEL', KEYS[1], ARGV[i]) end\n"
    "  end\n"
    "  if need then redis.call('XTRIM', KEYS[1], 'MINID', need) end\n"
    "end\n"
    "for i = 4 + n, #ARGV do redis.call('XADD', KEYS[2], '*', 'd', ARGV[i]) end\n"
    "return 0\n" };
/* [/snippet:finish-script] */

/* Nack or renew: set the idle time of those entries of KEYS[1] this consumer still holds
 * (one whose lease was lost to another consumer is left alone). ARGV: group, consumer,
 * idle ms, ids. XCLAIM with JUSTID does not count a delivery. */
static struct rscript settle_script = { .src =
    "for i = 4, #ARGV do\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)\n"
    "  if p[1] and p[1][2] == ARGV[2] then\n"
    "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3],"
    " 'JUSTID')\n"
    "  end\n"
    "end\n"
    "return 0\n" };

static struct taskq *redis_open(const struct taskq_opts *o, const char *host, int port,
                                char *err, size_t errlen)
{
    struct taskq *q = rconn_open(sizeof *q, &taskq_redis_backend, host, port, err, errlen);
    if (!q)
        return NULL;
    snprintf(q->name, sizeof q->name, "%s", o->name && *o->name ? o->name : "taskq");
    q->max_deliveries = o->max_deliveries > 0 ? o->max_deliveries : DEFAULT_MAX_DELIVERIES;
    return q;
}

/* Make sure the group exists on queue's stream (and the stream: MKSTREAM). It starts at
 * id 0, not $, so that tasks put before the first consumer came are delivered too; acked
 * entries are deleted, so "from the start" means "everything not yet done". */
static int ensure_group(struct taskq *q, const char *queue, const char *key)
{
    for (size_t i = 0; i < q->nknown; i++)
        if (strcmp(q->known[i], queue) == 0)
            return 0;
    rconn_cmd(q, "XGROUP");
    rconn_str(q, "CREATE");
    rconn_str(q, key);
    rconn_str(q, GROUP);
    rconn_str(q, "0");
    rconn_str(q, "MKSTREAM");
    redisReply *r = rconn_call(q, "BUSYGROUP");     /* someone else made it first: fine */
    if (!r)
        return -1;
    freeReplyObject(r);
    if (q->nknown < KNOWN_QUEUES && strlen(queue) < sizeof q->known[0])
        snprintf(q->known[q->nknown++], sizeof q->known[0], "%s", queue);
    return 0;
}

/* The script's integer answer: 0, or TASKQ_FULL. */
static int script_result(struct taskq *q, redisReply *r)
{
    if (!r)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == TASKQ_FULL ? TASKQ_FULL : 0;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = taskq_fail(q, "redis: unexpected reply to the queue script");
    freeReplyObject(r);
    return rc;
}

static int redis_finish(struct taskq *q, const char *queue, const struct taskq_task *t,
                        size_t n, const char *to_queue, const struct taskq_item *results,
                        size_t m)
{
    char key[KEY_MAX], to_key[KEY_MAX], max_key[KEY_MAX];
    if (rconn_key(q, key, sizeof key, "taskq:", queue, "") == -1 ||
        rconn_key(q, to_key, sizeof to_key, "taskq:", to_queue ? to_queue : queue, "") == -1 ||
        rconn_key(q, max_key, sizeof max_key, "taskq:", to_queue ? to_queue : queue,
                  ".max") == -1 ||
        rconn_timeout(q, 0) == -1)
        return -1;
    rconn_cmd(q, NULL);
    rconn_num(q, 3);
    rconn_str(q, key);
    rconn_str(q, to_key);
    rconn_str(q, max_key);
    rconn_num(q, TASKQ_REDIS_MAX_QUEUE);
    rconn_str(q, GROUP);
    rconn_num(q, (long long)n);
    for (size_t i = 0; i < n; i++)
        rconn_str(q, t[i].id);
    for (size_t i = 0; i < m; i++)
        rconn_arg(q, results[i].data, results[i].len);
    return script_result(q, rconn_eval(q, &finish_script));
}

static int redis_put(struct taskq *q, const char *queue, const struct taskq_item *items,
                     size_t n)
{
    return redis_finish(q, queue, NULL, 0, queue, items, n);
}

static int redis_settle(struct taskq *q, int how, const char *queue,
                        const struct taskq_task *t, size_t n, int lease_ms)
{
    (void)lease_ms;         /* the claimer's lease decides (see the header): reset idle */
    if (how == TASKQ_ACK)
        return redis_finish(q, queue, t, n, NULL, NULL, 0);
    char key[KEY_MAX];
    if (rconn_key(q, key, sizeof key, "taskq:", queue, "") == -1 || rconn_timeout(q, 0) == -1)
        return -1;
    rconn_cmd(q, NULL);
    rconn_num(q, 1);
    rconn_str(q, key);
    rconn_str(q, GROUP);
    rconn_str(q, q->name);
    rconn_num(q, how == TASKQ_NACK ? NACK_IDLE_MS : 0);
    q->nacked |= how == TASKQ_NACK;
    for (size_t i = 0; i < n; i++)
        rconn_str(q, t[i].id);
    return script_result(q, rconn_eval(q, &settle_script));
}

/* The payload of a stream entry [id, [field, value, ...]]: the value of field "d". */
static const redisReply *entry_field(const redisReply *e, const char *field)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, field) == 0)
            return f->element[i + 1];
    return NULL;
}

/* Add a stream entry to the batch as a task delivered `deliveries` times. */
static void add_task(struct taskq_batch *out, const redisReply *e, uint32_t deliveries)
{
    const redisReply *d = entry_field(e, "d");
    struct taskq_task *t = taskq_batch_add(out, d ? d->str : "", d ? d->len : 0);
    rconn_copy(t->id, sizeof t->id, e->element[0]);
    t->deliveries = deliveries;
}

/* Move the entries of `claimed` whose delivery count (counts[i]) is over the limit to the
 * dead-letter stream, all in one MULTI/EXEC, so an entry is in exactly one of the two
 * streams whenever anyone looks. Returns 0 or -1. */
/* [snippet:dead-letter] */
static int dead_letter(struct taskq *q, const char *key, const char *queue,
                       const redisReply *claimed, const long long *counts)
{
    char dead[KEY_MAX];
    if (rconn_key(q, dead, sizeof dead, "taskq:", queue, ".dead") == -1)
        return -1;
    size_t sent = 0;
    for (size_t i = 0; i < claimed->elements; i++) {
        const redisReply *e = claimed->element[i];
        const redisReply *d = entry_field(e, "d");
        if (counts[i] <= q->max_deliveries)
            continue;
        if (sent == 0) {
            rconn_cmd(q, "MULTI");
            rconn_send(q);
        }
        rconn_cmd(q, "XADD");
        rconn_str(q, dead);
        rconn_str(q, "*");
        rconn_str(q, "d");
        rconn_arg(q, d ? d->str : "", d ? d->len : 0);     /* "": not put by taskq */
        rconn_str(q, "id");
        rconn_str(q, e->element[0]->str);
        rconn_str(q, "deliveries");
        rconn_num(q, counts[i]);
        rconn_send(q);
        rconn_cmd(q, "XACK");
        rconn_str(q, key);
        rconn_str(q, GROUP);
        rconn_str(q, e->element[0]->str);
        rconn_send(q);
        rconn_cmd(q, "XDEL");
        rconn_str(q, key);
        rconn_str(q, e->element[0]->str);
        rconn_send(q);
        sent += 3;
    }
    if (sent == 0)
        return 0;
    rconn_cmd(q, "EXEC");
    rconn_send(q);
    return rconn_replies(q, sent + 2);
}
/* [/snippet:dead-letter] */

/* The delivery counts of the claimed entries, from XPENDING ranged on each id (one
 * pipeline). XAUTOCLAIM has already counted this delivery. */
static int claimed_counts(struct taskq *q, const char *key, const redisReply *claimed,
                          long long *counts)
{
    for (size_t i = 0; i < claimed->elements; i++) {
        const char *id = claimed->element[i]->element[0]->str;
        rconn_cmd(q, "XPENDING");
        rconn_str(q, key);
        rconn_str(q, GROUP);
        rconn_str(q, id);
        rconn_str(q, id);
        rconn_num(q, 1);
        rconn_send(q);
    }
    for (size_t i = 0; i < claimed->elements; i++) {
        redisReply *p = rconn_reply(q, NULL);
        if (!p)
            return -1;
        counts[i] = 1;
        if (p->type == REDIS_REPLY_ARRAY && p->elements == 1 &&
            p->element[0]->type == REDIS_REPLY_ARRAY && p->element[0]->elements == 4)
            counts[i] = p->element[0]->element[3]->integer;
        freeReplyObject(p);
    }
    return 0;
}

/* XAUTOCLAIM: take over up to max entries idle longer than lease_ms, dead-letter those
 * delivered too often, add the rest to out. Returns how many were added, or -1. One call
 * looks at no more than 10 * max pending entries, so it goes on where the last one
 * stopped (the cursor it returned) and starts over when that says 0-0. */
static int reclaim(struct taskq *q, const char *queue, const char *key, size_t max,
                   int lease_ms, struct taskq_batch *out)
{
    rconn_cmd(q, "XAUTOCLAIM");
    rconn_str(q, key);
    rconn_str(q, GROUP);
    rconn_str(q, q->name);
    rconn_num(q, lease_ms);
    if (strcmp(q->claim_queue, queue) != 0)
        snprintf(q->claim_from, sizeof q->claim_from, "0-0");
    rconn_str(q, q->claim_from);
    rconn_str(q, "COUNT");
    rconn_num(q, (long long)max);
    redisReply *r = rconn_call(q, NULL);
    if (!r)
        return -1;
    /* [next cursor, [entry, ...], (Redis 7:) [ids deleted meanwhile]] */
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2) {
        rconn_copy(q->claim_from, sizeof q->claim_from, r->element[0]);
        snprintf(q->claim_queue, sizeof q->claim_queue, "%s", queue);
    }
    q->last_claim_ns = now_ns();
    q->nacked = 0;
    const redisReply *claimed = r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_ARRAY ? r->element[1] : NULL;
    int rc = 0;
    if (claimed && claimed->elements > 0) {
        long long *counts = xcalloc(claimed->elements, sizeof *counts);
        for (size_t i = 0; i < claimed->elements; i++)
            if (claimed->element[i]->type != REDIS_REPLY_ARRAY)   /* Redis 6.2: deleted */
                rc = taskq_fail(q, "redis: XAUTOCLAIM returned a deleted entry");
        if (rc == 0 && claimed_counts(q, key, claimed, counts) == 0 &&
            dead_letter(q, key, queue, claimed, counts) == 0) {
            for (size_t i = 0; i < claimed->elements; i++)
                if (counts[i] <= q->max_deliveries)
                    add_task(out, claimed->element[i], (uint32_t)counts[i]);
            rc = (int)out->n;
        } else {
            rc = -1;
        }
        free(counts);
    }
    freeReplyObject(r);
    return rc;
}

/* XREADGROUP: up to max new entries (">"), waiting up to wait_ms for the first. BLOCK 0
 * would mean "for ever" to Redis, so "do not wait" leaves BLOCK out. */
static int read_new(struct taskq *q, const char *key, size_t max, int wait_ms,
                    struct taskq_batch *out)
{
    rconn_cmd(q, "XREADGROUP");
    rconn_str(q, "GROUP");
    rconn_str(q, GROUP);
    rconn_str(q, q->name);
    rconn_str(q, "COUNT");
    rconn_num(q, (long long)max);
    if (wait_ms != 0) {
        rconn_str(q, "BLOCK");
        rconn_num(q, wait_ms > 0 ? wait_ms : 0);
    }
    rconn_str(q, "STREAMS");
    rconn_str(q, key);
    rconn_str(q, ">");
    redisReply *r = rconn_call(q, NULL);
    if (!r)
        return -1;
    /* nil when the wait ran out, else [[key, [entry, ...]]] */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        const redisReply *es = r->element[0]->element[1];
        for (size_t i = 0; es->type == REDIS_REPLY_ARRAY && i < es->elements; i++)
            if (es->element[i]->type == REDIS_REPLY_ARRAY)
                add_task(out, es->element[i], 1);
    }
    freeReplyObject(r);
    return (int)out->n;
}

/* [snippet:get] */
/* A get looks for expired leases (XAUTOCLAIM) first when it is time to: this client
 * nacked something, or has not looked for a quarter of a lease, or there is nothing new
 * to read. So a busy worker pays one round trip per get, and a task whose worker died is
 * taken over at most a quarter lease after its lease ran out. */
static int redis_get(struct taskq *q, const char *queue, size_t max, int wait_ms,
                     int lease_ms, struct taskq_batch *out)
{
    char key[KEY_MAX];
    if (max == 0)
        return 0;
    /* One socket timeout for the whole get (the longest wait in it), set once. */
    if (rconn_key(q, key, sizeof key, "taskq:", queue, "") == -1 ||
        rconn_timeout(q, wait_ms) == -1 || ensure_group(q, queue, key) == -1)
        return -1;
    if (lease_ms <= 0)
        lease_ms = DEFAULT_LEASE_MS;
    int64_t now = now_ns();
    int claimed = q->nacked || strcmp(q->claim_queue, queue) != 0 ||
                  now - q->last_claim_ns >= (int64_t)lease_ms * 250000;
    int n = claimed ? reclaim(q, queue, key, max, lease_ms, out) : 0;
    if (n != 0)
        return n;
    n = read_new(q, key, max, claimed ? wait_ms : 0, out);
    if (n != 0 || claimed)
        return n;
    n = reclaim(q, queue, key, max, lease_ms, out);      /* nothing new: anything expired? */
    if (n != 0 || wait_ms == 0)
        return n;
    return read_new(q, key, max, wait_ms, out);
}
/* [/snippet:get] */

/* A field of a flat [name, value, name, value...] reply as an integer, or UINT64_MAX. */
static uint64_t info_field(const redisReply *r, const char *name)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1]->type == REDIS_REPLY_INTEGER ?
                (uint64_t)r->element[i + 1]->integer : UINT64_MAX;
    return UINT64_MAX;
}

/* Counters: ready = XLEN - pending (acked entries are deleted, so every entry is either
 * waiting or pending); leased = pending; dead = XLEN of the dead stream; put = the stream's
 * entries-added (Redis 7); consumers = the names the group has seen (Redis keeps a
 * consumer until XGROUP DELCONSUMER, connected or not). Acks and redeliveries are not
 * counted by Redis: UINT64_MAX. */
static int redis_stats(struct taskq *q, const char *queue, struct taskq_stats *st)
{
    char key[KEY_MAX], dead[KEY_MAX];
    if (rconn_key(q, key, sizeof key, "taskq:", queue, "") == -1 ||
        rconn_key(q, dead, sizeof dead, "taskq:", queue, ".dead") == -1 ||
        rconn_timeout(q, 0) == -1 || ensure_group(q, queue, key) == -1)
        return -1;
    const char *cmds[][4] = {
        { "XLEN", key, NULL, NULL }, { "XPENDING", key, GROUP, NULL },
        { "XLEN", dead, NULL, NULL }, { "XINFO", "GROUPS", key, NULL },
        { "XINFO", "STREAM", key, NULL },
    };
    enum { N = sizeof cmds / sizeof cmds[0] };
    for (size_t i = 0; i < N; i++) {
        rconn_cmd(q, cmds[i][0]);
        for (size_t j = 1; j < 4 && cmds[i][j]; j++)
            rconn_str(q, cmds[i][j]);
        rconn_send(q);
    }
    redisReply *r[N] = { NULL };
    int rc = 0;
    for (size_t i = 0; i < N; i++)
        if (rc == 0 && !(r[i] = rconn_reply(q, NULL)))
            rc = -1;
    if (rc == 0) {
        uint64_t len = (uint64_t)r[0]->integer;
        uint64_t pending = r[1]->type == REDIS_REPLY_ARRAY && r[1]->elements > 0 ?
            (uint64_t)r[1]->element[0]->integer : 0;
        *st = (struct taskq_stats){
            .ready = len > pending ? len - pending : 0, .leased = pending,
            .dead = (uint64_t)r[2]->integer, .put = info_field(r[4], "entries-added"),
            .acked = UINT64_MAX, .redelivered = UINT64_MAX, .dead_lettered = UINT64_MAX,
        };
        for (size_t i = 0; r[3]->type == REDIS_REPLY_ARRAY && i < r[3]->elements; i++) {
            const redisReply *g = r[3]->element[i];
            if (g->type == REDIS_REPLY_ARRAY && g->elements >= 2 &&
                g->element[1]->type == REDIS_REPLY_STRING &&
                strcmp(g->element[1]->str, GROUP) == 0)
                st->consumers = (uint32_t)info_field(g, "consumers");
        }
    }
    for (size_t i = 0; i < N; i++)
        if (r[i])
            freeReplyObject(r[i]);
    return rc;
}

/* One entry of the stream for inspect: leased (with holder and count) if it is in the
 * pending list `pend` ([[id, consumer, idle, count], ...]), else ready. A nacked entry is
 * pending but so idle that anyone's next get takes it: shown as ready. */
static void add_entry(struct taskq_entries *out, const redisReply *e, const redisReply *pend)
{
    const redisReply *d = entry_field(e, "d");
    struct taskq_entry *x = taskq_entries_add(out, d ? d->str : "", d ? d->len : 0);
    rconn_copy(x->id, sizeof x->id, e->element[0]);
    x->state = TASKQ_READY;
    for (size_t i = 0; pend->type == REDIS_REPLY_ARRAY && i < pend->elements; i++) {
        const redisReply *p = pend->element[i];
        if (p->type != REDIS_REPLY_ARRAY || p->elements != 4 || strcmp(p->element[0]->str, x->id))
            continue;
        x->deliveries = (uint32_t)p->element[3]->integer;
        if (p->element[2]->integer < NACK_IDLE_MS / 2) {
            x->state = TASKQ_LEASED;
            rconn_copy(x->consumer, sizeof x->consumer, p->element[1]);
        }
    }
}

static int redis_inspect(struct taskq *q, const char *queue, size_t max,
                         struct taskq_entries *out)
{
    char key[KEY_MAX], dead[KEY_MAX];
    if (rconn_key(q, key, sizeof key, "taskq:", queue, "") == -1 ||
        rconn_key(q, dead, sizeof dead, "taskq:", queue, ".dead") == -1 ||
        rconn_timeout(q, 0) == -1 || ensure_group(q, queue, key) == -1)
        return -1;
    const char *ranges[][2] = { { key, NULL }, { key, GROUP }, { dead, NULL } };
    for (size_t i = 0; i < 3; i++) {     /* XRANGE k - + COUNT max; XPENDING k g - + max */
        rconn_cmd(q, ranges[i][1] ? "XPENDING" : "XRANGE");
        rconn_str(q, ranges[i][0]);
        if (ranges[i][1])
            rconn_str(q, ranges[i][1]);
        rconn_str(q, "-");
        rconn_str(q, "+");
        if (!ranges[i][1])
            rconn_str(q, "COUNT");
        rconn_num(q, (long long)max);
        rconn_send(q);
    }
    redisReply *r[3] = { NULL };
    int rc = 0;
    for (size_t i = 0; i < 3; i++)
        if (rc == 0 && !(r[i] = rconn_reply(q, NULL)))
            rc = -1;
    for (size_t i = 0; rc == 0 && i < r[0]->elements; i++)
        if (r[0]->element[i]->type == REDIS_REPLY_ARRAY)
            add_entry(out, r[0]->element[i], r[1]);
    for (size_t i = 0; rc == 0 && i < r[2]->elements && out->n < max; i++) {
        const redisReply *e = r[2]->element[i], *d = entry_field(e, "d");
        const redisReply *id = entry_field(e, "id"), *n = entry_field(e, "deliveries");
        struct taskq_entry *x = taskq_entries_add(out, d ? d->str : "", d ? d->len : 0);
        rconn_copy(x->id, sizeof x->id, id ? id : e->element[0]);
        x->state = TASKQ_DEAD;
        x->deliveries = n ? (uint32_t)strtoul(n->str, NULL, 10) : 0;
    }
    for (size_t i = 0; i < 3; i++)
        if (r[i])
            freeReplyObject(r[i]);
    return rc;
}

const struct taskq_backend taskq_redis_backend = {
    .scheme = "redis",
    .open = redis_open,
    .close = rconn_close,
    .put = redis_put,
    .get = redis_get,
    .settle = redis_settle,
    .finish = redis_finish,
    .stats = redis_stats,
    .inspect = redis_inspect,
};

/* --- the connection, shared with taskq_redis_lists.c ------------------------------------ */

struct taskq *rconn_open(size_t size, const struct taskq_backend *b, const char *host,
                         int port, char *err, size_t errlen)
{
    struct timeval tv = { .tv_sec = RCONN_MARGIN_MS / 1000 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "redis %s:%d: %s", host, port,
                 c ? c->errstr : "cannot allocate a connection");
        redisFree(c);
        return NULL;
    }
    struct rconn *r = xcalloc(1, size);
    r->common.backend = b;
    r->c = c;
    r->timeout_ms = -1;
    return (struct taskq *)(void *)r;
}

static struct rconn *rc_of(struct taskq *q) { return (struct rconn *)(void *)q; }

void rconn_close(struct taskq *q)
{
    struct rconn *r = rc_of(q);
    redisFree(r->c);
    free(r->argv);
    free(r->argvlen);
    free(r);
}

void rconn_cmd(struct taskq *q, const char *name)
{
    struct rconn *r = rc_of(q);
    r->argc = r->nnums = 0;
    rconn_str(q, name ? name : "EVALSHA");
    if (!name)
        rconn_str(q, "");                /* the SHA1, filled in by rconn_eval() */
}

void rconn_arg(struct taskq *q, const void *data, size_t len)
{
    struct rconn *r = rc_of(q);
    if (r->argc == r->argcap) {
        r->argcap = r->argcap ? 2 * r->argcap : 32;
        r->argv = realloc(r->argv, r->argcap * sizeof *r->argv);
        r->argvlen = realloc(r->argvlen, r->argcap * sizeof *r->argvlen);
        if (!r->argv || !r->argvlen)
            die_errno("realloc");
    }
    r->argv[r->argc] = data;
    r->argvlen[r->argc++] = len;
}

void rconn_str(struct taskq *q, const char *s) { rconn_arg(q, s, strlen(s)); }

void rconn_num(struct taskq *q, long long n)
{
    struct rconn *r = rc_of(q);
    CHECK(r->nnums < RCONN_NUMS);
    char *s = r->nums[r->nnums++];
    snprintf(s, sizeof r->nums[0], "%lld", n);
    rconn_str(q, s);
}

void rconn_send(struct taskq *q)
{
    struct rconn *r = rc_of(q);
    /* hiredis copies the arguments into its output buffer now: they may be reused after. */
    if (redisAppendCommandArgv(r->c, (int)r->argc, r->argv, r->argvlen) != REDIS_OK)
        die_msg("redisAppendCommandArgv: out of memory");
}

redisReply *rconn_reply(struct taskq *q, const char *tolerate)
{
    struct rconn *r = rc_of(q);
    void *p = NULL;
    if (redisGetReply(r->c, &p) != REDIS_OK || !p) {
        taskq_fail(q, "redis: %s", r->c->err ? r->c->errstr : "no reply");
        return NULL;
    }
    redisReply *reply = p;
    if (reply->type == REDIS_REPLY_ERROR &&
        !(tolerate && strncmp(reply->str, tolerate, strlen(tolerate)) == 0)) {
        taskq_fail(q, "redis: %s", reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

redisReply *rconn_call(struct taskq *q, const char *tolerate)
{
    rconn_send(q);
    return rconn_reply(q, tolerate);
}

int rconn_replies(struct taskq *q, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {     /* read them all, to keep replies in step */
        redisReply *r = rconn_reply(q, NULL);
        if (!r && rc_of(q)->c->err)
            return -1;                   /* the connection is gone: nothing more comes */
        if (!r)
            rc = -1;
        else
            freeReplyObject(r);
    }
    return rc;
}

int rconn_timeout(struct taskq *q, int wait_ms)
{
    struct rconn *r = rc_of(q);
    int ms = wait_ms < 0 ? -1 : (wait_ms > INT_MAX - RCONN_MARGIN_MS ? INT_MAX :
                                 wait_ms + RCONN_MARGIN_MS);
    if (ms == r->timeout_ms)
        return 0;
    struct timeval tv = { .tv_sec = ms < 0 ? 0 : ms / 1000,
                          .tv_usec = ms < 0 ? 0 : (ms % 1000) * 1000 };
    if (redisSetTimeout(r->c, tv) != REDIS_OK)
        return taskq_fail(q, "redis: setting the socket timeout: %s", r->c->errstr);
    r->timeout_ms = ms;
    return 0;
}

redisReply *rconn_eval(struct taskq *q, struct rscript *s)
{
    struct rconn *r = rc_of(q);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->sha[0] || attempt > 0) {
            /* SCRIPT LOAD through its own format call: the built command stays intact. */
            redisReply *l = redisCommand(r->c, "SCRIPT LOAD %s", s->src);
            if (!l || l->type != REDIS_REPLY_STRING) {
                taskq_fail(q, "redis: SCRIPT LOAD: %s",
                           l ? l->str : r->c->errstr);
                if (l)
                    freeReplyObject(l);
                return NULL;
            }
            rconn_copy(s->sha, sizeof s->sha, l);
            freeReplyObject(l);
        }
        r->argv[1] = s->sha;
        r->argvlen[1] = strlen(s->sha);
        redisReply *reply = rconn_call(q, "NOSCRIPT");
        if (!reply || reply->type != REDIS_REPLY_ERROR)
            return reply;
        freeReplyObject(reply);          /* flushed meanwhile: load it again, once */
    }
    taskq_fail(q, "redis: the script is not there even after SCRIPT LOAD");
    return NULL;
}

int rconn_key(struct taskq *q, char *buf, size_t size, const char *prefix, const char *queue,
              const char *suffix)
{
    if ((size_t)snprintf(buf, size, "%s%s%s", prefix, queue, suffix) >= size)
        return taskq_fail(q, "queue name '%.40s...' is too long", queue);
    return 0;
}

void rconn_copy(char *buf, size_t size, const redisReply *r)
{
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        snprintf(buf, size, "%.*s", (int)r->len, r->str);
    else
        snprintf(buf, size, "%s", "");
}
