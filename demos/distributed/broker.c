/* broker.c - named task queues served over TCP by one libuv loop: leases, acks, dead letters
 *
 * Usage:    broker [--listen ADDR:PORT] [--key FILE] [--lease-ms MS] [--max-deliveries K]
 *                  [--max-queue N] [--journal FILE] [--fsync always|batch|never]
 *                  [--fsync-ms MS] [--verbose]
 *           broker --make-key FILE
 * Observe:  one thread serves every producer, worker and master. A worker takes a task
 *           (GET), which is then *leased* to it, not given away: if the worker acks it, it
 *           is gone; if the worker dies, disconnects or lets the lease run out, the task
 *           comes back with deliveries + 1, and after --max-deliveries it moves to
 *           "<queue>.dead" instead of going round for ever. The seeds' BaseManager queue
 *           loses a task whose worker dies after get(). Stop the broker with Ctrl-C: it
 *           prints what it counted.
 * Try:      broker --lease-ms 2000 --verbose, then a worker that you kill -9 in the middle
 *           of a task: two seconds later another worker gets that task (deliveries 2).
 *           broker --listen 0.0.0.0:7070 to serve other machines (read "Binding" first).
 *           Send it garbage: `echo hello | nc 127.0.0.1 7070` - it logs why it closed that
 *           connection, and everyone else carries on.
 * Python:   seeds 000 and 003 (docs/seeds.md): BaseManager.register('get_task_queue') with
 *           address=('', 5000) and an authkey; docs/distributed/broker.md says what changes.
 * Binding:  the default is 127.0.0.1, and --listen must name an address. Seed 000 binds
 *           ('', 5000): every interface, so the first `python3 master.py` on a laptop in a
 *           café offers its queues to the whole network (its authkey is b'abc'). With a BaseManager that is worse
 *           than it sounds: what it exchanges is pickles, and unpickling runs code, so
 *           anyone who learns (or guesses) the authkey runs programs as you; and before
 *           Python 3.12 its challenge was HMAC-MD5. Here the key only opens the door and
 *           what comes through is bytes; still, expose a broker on purpose, to a network
 *           you chose, and know that the handshake authenticates but does not encrypt.
 * Reading:  a connection's life, in the order of this file:
 *   accept    -> on_connection(): TCP_NODELAY (a small reply must not wait 40 ms for
 *                Nagle's algorithm), a fresh nonce, CHALLENGE, and a 10 s handshake timer;
 *   read      -> on_read() appends to the connection's buffer; process() cuts it into frames
 *                with wire_frame_size() and answers each in order (handle_frame()); every
 *                reply of one read goes out in one uv_write() (flush());
 *   handshake -> hello(): the MAC proves the client holds the key; WELCOME proves we do;
 *   requests  -> op_put() ... op_inspect(): parse, call the store (store.c, the queues
 *                as bookkeeping), write the reply;
 *   waiting   -> a GET with wait_ms that finds nothing parks the connection in the store
 *                (store_wait) with a timer: a PUT that makes a task ready delivers it at
 *                once (on_deliver), the timer answers "TASKS 0" otherwise. Requests the
 *                client pipelined behind it wait their turn;
 *   leases    -> one timer for the earliest lease deadline of all (arm_lease_timer());
 *   journal   -> with --journal, the store's hooks append records; at the end of each loop
 *                turn flush_turn() writes them (journal.c) before it sends any reply, so an
 *                answered PUT survives a SIGKILL; replay at start restores what was left;
 *   refuse    -> reject(): log "broker: ADDR:PORT: reason", send ERROR, close only this one;
 *   close     -> conn_close(): what it held goes back to its queues.
 * See also: docs/distributed/broker.md, demos/distributed/wire.h (the frames), auth.h (the
 *           handshake), store.h (the queue model), demos/async/server_uv.c (the loop's style)
 */
#include "auth.h"
#include "core.h"
#include "journal.h"
#include "store.h"
#include "uvcheck.h"
#include "wire.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELLO_TIMEOUT_MS 10000      /* a silent client may not hold a slot longer */
#define LINGER_MS 2000              /* a refused client has this long to read why */
#define WRITE_MAX (4u << 20)        /* replies waiting for a slow reader before we stop
                                     * reading its requests (one reply may be 1 MiB) */
#define IN_MIN 4096                 /* a connection's input buffer starts this small... */
#define IN_MAX (2 * (WIRE_HEADER + WIRE_MAX_FRAME))   /* ...and never grows past this */
#define IN_KEEP (64 * 1024)         /* an emptied buffer bigger than this is given back */
#define COMPACT_MIN (16u << 20)     /* the journal is rewritten once past this and doubled */

struct opts {
    char addr[64];
    int port;
    const char *key_file, *journal;
    uint32_t lease_ms, max_deliveries;
    size_t max_queue;
    int fsync, fsync_ms, verbose, fsync_given;
};

struct broker {
    struct opts o;
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t lease_timer;
    uv_signal_t sigint, sigterm;
    uv_prepare_t before_poll;       /* both send the replies of the turn (flush_turn()) */
    uv_check_t after_poll;
    uv_timer_t sync_timer;          /* --fsync batch: fdatasync every --fsync-ms */
    struct conn *dirty;             /* connections with replies to send this turn */
    struct journal *journal;        /* NULL without --journal */
    uint64_t armed;                 /* the deadline lease_timer is set for */
    struct store *st;
    unsigned char key[AUTH_KEY_BYTES];
    unsigned long accepted, rejected;
    int stopping;
    /* scratch for parsing one request (the loop is one thread: one request at a time) */
    struct store_item items[WIRE_MAX_BATCH];
    uint64_t ids[WIRE_MAX_BATCH], ids_out[WIRE_MAX_BATCH];
    struct store_task *tasks[WIRE_MAX_BATCH];
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;               /* handshake, GET wait, resume or linger: one at a time */
    uv_shutdown_t shutdown;
    struct broker *b;
    struct store_consumer sc;       /* registered once the handshake succeeded */
    char addr[64];                  /* "127.0.0.1:41234", for the log */
    char name[WIRE_MAX_NAME + 1];
    unsigned char nonce[WIRE_NONCE];
    unsigned char *in;              /* received bytes not yet answered */
    size_t len, cap;
    struct wire_buf out;            /* replies built since the last flush */
    int open_handles;
    struct conn *next_dirty;
    unsigned dirty : 1, authed : 1, waiting : 1, throttled : 1, reading : 1, finishing : 1,
        closing : 1, registered : 1, shut : 1;
};

/* A flushed batch of replies, alive until libuv has written it. */
struct outbuf {
    uv_write_t req;
    struct wire_buf buf;
};

static char sink[64 * 1024];        /* what a refused client still sends goes here */

static void process(struct conn *c);
static void conn_close(struct conn *c);
static void mark_dirty(struct conn *c);
static void update_reading(struct conn *c);
static void arm_lease_timer(struct broker *b);

/* ---- logging and refusing ------------------------------------------------------------ */

static void conn_log(const struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conn_log(const struct conn *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s: %s\n", prog_name, c->addr, msg);
}

static void put_error(struct conn *c, enum wire_error code, const char *msg)
{
    wire_begin(&c->out, WIRE_ERROR);
    wire_u16(&c->out, (uint16_t)code);
    wire_str(&c->out, msg, strlen(msg));
    wire_end(&c->out);
}

/* What it held goes back to its queues, and it waits for nothing any more. */
static void conn_release(struct conn *c)
{
    if (c->registered) {
        c->registered = 0;
        store_consumer_gone(c->b->st, &c->sc, uv_now(c->b->loop));
        arm_lease_timer(c->b);
    }
}

/* Refuse this connection: log why, answer ERROR, then close it once the reply is out (or
 * after LINGER_MS). Only this connection: everyone else is served on. */
static void reject(struct conn *c, enum wire_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(struct conn *c, enum wire_error code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    conn_log(c, "%s", msg);
    c->b->rejected++;
    put_error(c, code, msg);
    c->finishing = 1;
    uv_timer_stop(&c->timer);         /* no handshake timeout or resume: only the linger */
    conn_release(c);
}

/* ---- writing: the replies of one turn in one uv_write --------------------------------- */

static void on_written(uv_write_t *req, int status);

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void on_linger_done(uv_timer_t *t) { conn_close(t->data); }

static void on_resume(uv_timer_t *t);

/* Send c->out: what the socket takes now goes without a write request (uv_try_write: no
 * allocation, and no epoll_ctl afterwards, which libuv does when a queued write drains),
 * the rest is queued with uv_write() and owned by an outbuf until written. The common case
 * is the first: replies are small and the socket's buffer has room. -1: the connection is
 * broken. */
static int send_out(struct conn *c)
{
    uv_buf_t ub = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
    if (n == UV_EAGAIN)
        n = 0;                        /* nothing now, or writes are queued already */
    if (n < 0)
        return -1;
    if ((size_t)n == c->out.len) {
        if (c->out.cap > IN_KEEP)
            wire_buf_free(&c->out);   /* after a big reply, back to a small buffer */
        else
            wire_buf_reset(&c->out);
        if (c->throttled) {           /* all of it went: it can have more, next turn */
            c->throttled = 0;
            if (!c->waiting)          /* (a waiting GET's timer takes it up itself) */
                uv_timer_start(&c->timer, on_resume, 0, 0);
        }
        return 0;
    }
    struct outbuf *w = xmalloc(sizeof *w);
    w->buf = c->out;
    memset(&c->out, 0, sizeof c->out);
    w->req.data = c;
    ub = uv_buf_init((char *)w->buf.data + n, (unsigned)(w->buf.len - (size_t)n));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_written) < 0) {
        wire_buf_free(&w->buf);
        free(w);
        return -1;
    }
    return 0;
}

static void flush(struct conn *c)
{
    if (c->closing)
        return;
    if (c->out.len > 0 && send_out(c) == -1) {
        conn_close(c);
        return;
    }
    if (c->finishing && !c->shut) {
        /* FIN after the ERROR reply; keep reading into the sink meanwhile, since closing
         * a socket with unread input sends a reset that can destroy the reply. */
        c->shut = 1;
        c->shutdown.data = c;
        if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
            conn_close(c);
        else
            uv_timer_start(&c->timer, on_linger_done, LINGER_MS, 0);
    }
}

/* ---- the journal: records first, replies after ---------------------------------------- */

/* The store's hooks append records to the journal's buffer; flush_turn() writes them with
 * one write(2) (and fdatasync under --fsync always) before any reply of the turn is sent.
 * So a PUT_OK never leaves before its record is in the kernel's hands: SIGKILL of the
 * broker loses no acknowledged put. */
static int on_put_record(void *ctx, const char *q, size_t qlen, uint64_t first_id,
                         const struct store_item *items, size_t n)
{
    struct broker *b = ctx;
    for (size_t i = 0; i < n; i++)
        journal_put(b->journal, q, qlen, first_id + i, items[i].data, items[i].len);
    return 0;                         /* a failed write stops the broker in journal_turn() */
}

static void on_ack_record(void *ctx, const char *q, size_t qlen, uint64_t id)
{
    journal_ack(((struct broker *)ctx)->journal, q, qlen, id);
}

static void on_delivered_record(void *ctx, const char *q, size_t qlen, uint64_t id)
{
    journal_delivered(((struct broker *)ctx)->journal, q, qlen, id);
}

static void on_dead_record(void *ctx, const char *q, size_t qlen, uint64_t id,
                           uint32_t deliveries)
{
    (void)deliveries;                 /* replay counts the DELIVERED records itself */
    journal_dead(((struct broker *)ctx)->journal, q, qlen, id);
}

/* Compaction hands the journal every task in the store: collected first (store_walk is a
 * callback), then given one at a time (journal_rewrite pulls). */
struct snapshot {
    const struct store_task **tasks;
    size_t n, cap, next;
};

static int snap_add(void *arg, const char *q, size_t qlen, const struct store_task *t)
{
    (void)q, (void)qlen;
    struct snapshot *sn = arg;
    if (sn->n == sn->cap) {
        sn->cap = sn->cap ? 2 * sn->cap : 1024;
        sn->tasks = realloc(sn->tasks, sn->cap * sizeof *sn->tasks);
        if (!sn->tasks)
            die_errno("realloc");
    }
    sn->tasks[sn->n++] = t;
    return 0;
}

static int snap_next(void *ctx, struct journal_task *jt)
{
    struct snapshot *sn = ctx;
    if (sn->next == sn->n)
        return 0;
    const struct store_task *t = sn->tasks[sn->next++];
    int dead;
    size_t qlen;
    const char *q = store_queue_name(t, &qlen, &dead);
    *jt = (struct journal_task){ .id = t->id, .queue = q, .queue_len = qlen,
                                 .deliveries = t->deliveries, .dead = dead,
                                 .payload = t->payload, .payload_len = t->len };
    return 1;
}

/* Once the file has doubled since its last rewrite, write it again with only what is in
 * the store now (a task in "q.dead" is written as a task of q, dead). The loop waits
 * meanwhile: a pause proportional to what is outstanding, not to the history. */
static void compact(struct broker *b)
{
    struct snapshot sn = { 0 };
    store_walk(b->st, snap_add, &sn);
    if (journal_rewrite(b->journal, snap_next, &sn) == -1)
        die_msg("journal: %s: stopping before any reply that depends on it goes out",
                journal_error(b->journal));
    if (b->o.verbose)
        fprintf(stderr, "%s: journal rewritten: %zu tasks, %llu bytes\n", prog_name, sn.n,
                (unsigned long long)journal_size(b->journal));
    free(sn.tasks);
}

/* The turn's records reach the kernel (and the disk under --fsync always) before its
 * replies go out. If that fails, the replies must not go: stop (the records may be lost,
 * so the promises must not be made). */
static void journal_turn(struct broker *b)
{
    if (journal_flush(b->journal) == -1)
        die_msg("journal: %s: stopping without sending the replies it would have covered",
                journal_error(b->journal));
    if (journal_compact_due(b->journal, COMPACT_MIN))
        compact(b);
}

static void on_sync_timer(uv_timer_t *t)
{
    struct broker *b = t->data;
    if (journal_sync_due(b->journal) && journal_sync(b->journal) == -1)
        die_msg("journal: %s", journal_error(b->journal));
}

/* Replay: each task the journal still holds is ready again in its queue (a dead one in
 * "<queue>.dead"), in the order it was first put, with its deliveries. */
static void on_replayed(void *ctx, const struct journal_task *t)
{
    struct broker *b = ctx;
    char name[WIRE_MAX_NAME + sizeof WIRE_DEAD_SUFFIX];
    size_t n = t->queue_len;
    CHECK(n <= WIRE_MAX_NAME);
    memcpy(name, t->queue, n);
    if (t->dead) {
        memcpy(name + n, WIRE_DEAD_SUFFIX, sizeof WIRE_DEAD_SUFFIX - 1);
        n += sizeof WIRE_DEAD_SUFFIX - 1;
    }
    if (store_restore(b->st, name, n, t->id, t->payload, t->payload_len, t->deliveries) == -1)
        die_msg("journal: task %llu appears twice", (unsigned long long)t->id);
}

static void open_journal(struct broker *b)
{
    struct journal_info info;
    b->journal = journal_open(b->o.journal, (enum journal_sync)b->o.fsync, b->o.fsync_ms,
                              on_replayed, b, &info);
    if (!b->journal)
        die_msg("%s", info.message);
    store_advance_ids(b->st, info.max_id);
    fprintf(stderr, "%s: journal %s: %llu records replayed, %llu tasks outstanding "
            "(%llu dead)%s%s\n", prog_name, b->o.journal, (unsigned long long)info.records,
            (unsigned long long)info.tasks, (unsigned long long)info.dead,
            info.message[0] ? "; " : "", info.message);
    check_uv("uv_timer_init", uv_timer_init(b->loop, &b->sync_timer));
    b->sync_timer.data = b;
    if (b->o.fsync == JOURNAL_SYNC_BATCH)
        check_uv("uv_timer_start", uv_timer_start(&b->sync_timer, on_sync_timer,
                                                  (uint64_t)b->o.fsync_ms,
                                                  (uint64_t)b->o.fsync_ms));
}

/* ---- the turn's replies ---------------------------------------------------------------- */

/* c has replies to send: they go out at the end of this loop turn, all in one write, and
 * (with a journal) only after the turn's records are written. */
static void mark_dirty(struct conn *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = c->b->dirty;
        c->b->dirty = c;
    }
}

/* The end of a turn of the loop: send every connection's replies. Runs after the IO
 * callbacks (check) and after the timers (prepare, before the loop sleeps), so a reply
 * made by either never waits for the next event. A connection closed this turn is still
 * in memory here: libuv frees handles only after the check phase. */
static void flush_turn(struct broker *b)
{
    if (b->journal)
        journal_turn(b);
    while (b->dirty) {
        struct conn *c = b->dirty;
        b->dirty = c->next_dirty;
        c->dirty = 0;
        flush(c);
    }
}

static void on_before_poll(uv_prepare_t *h) { flush_turn(h->data); }
static void on_after_poll(uv_check_t *h) { flush_turn(h->data); }

static size_t write_queue(const struct conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) + c->out.len;
}

static void on_written(uv_write_t *req, int status)
{
    struct outbuf *w = (struct outbuf *)req;
    struct conn *c = req->data;
    wire_buf_free(&w->buf);
    free(w);
    if (status < 0) {
        conn_close(c);              /* the peer vanished, or we are closing */
        return;
    }
    if (c->throttled && !c->closing && write_queue(c) <= WRITE_MAX / 2) {
        c->throttled = 0;           /* it reads again: so do we */
        process(c);
    }
}

/* ---- the handshake -------------------------------------------------------------------- */

static void on_hello_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;
    reject(c, WIRE_E_AUTH, "no HELLO within %d ms", HELLO_TIMEOUT_MS);
    mark_dirty(c);
    update_reading(c);
}

/* [snippet:hello] */
/* HELLO nonce[32] name mac[32]: check the client's MAC, answer with ours. */
static void hello(struct conn *c, struct wire_reader *r)
{
    const unsigned char *nc, *mac;
    const char *name;
    size_t n;
    wire_get_raw(r, &nc, WIRE_NONCE);
    wire_get_name(r, &name, &n);
    wire_get_raw(r, &mac, WIRE_MAC);
    if (wire_done(r) == -1) {
        reject(c, WIRE_E_MALFORMED, "malformed HELLO");
        return;
    }
    for (size_t i = 0; i < n; i++)      /* a name goes into logs: no control characters */
        c->name[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    c->name[n] = '\0';
    if (auth_check_client(c->b->key, c->nonce, nc, name, n, mac) != 0) {
        reject(c, WIRE_E_AUTH, "wrong key (client \"%s\")", c->name);
        return;
    }
    unsigned char ours[WIRE_MAC];
    auth_broker_mac(c->b->key, c->nonce, nc, name, n, ours);
    wire_begin(&c->out, WIRE_WELCOME);
    wire_raw(&c->out, ours, WIRE_MAC);
    wire_end(&c->out);
    uv_timer_stop(&c->timer);
    c->authed = 1;
    store_consumer_init(c->b->st, &c->sc, c->name, c);
    c->registered = 1;
    if (c->b->o.verbose)
        conn_log(c, "\"%s\" authenticated", c->name);
}
/* [/snippet:hello] */

/* ---- requests ------------------------------------------------------------------------- */

/* u32 n, then n ids, into b->ids; -1 when n is over the batch limit or the frame is short. */
static int get_ids(struct wire_reader *r, struct broker *b, uint32_t *n)
{
    if (wire_get_u32(r, n) == -1 || *n > WIRE_MAX_BATCH)
        return -1;
    for (uint32_t i = 0; i < *n; i++)
        wire_get_u64(r, &b->ids[i]);
    return r->bad ? -1 : 0;
}

/* u32 n, then n payloads, into b->items; -1 when malformed. A payload too big to be
 * delivered again (STORE_MAX_PAYLOAD) is refused here, at the door. */
static int get_items(struct conn *c, struct wire_reader *r, uint32_t *n)
{
    struct broker *b = c->b;
    if (wire_get_u32(r, n) == -1 || *n > WIRE_MAX_BATCH)
        return -1;
    for (uint32_t i = 0; i < *n; i++) {
        const unsigned char *p;
        wire_get_bytes(r, &p, &b->items[i].len);
        b->items[i].data = p;
        if (b->items[i].len > STORE_MAX_PAYLOAD) {
            reject(c, WIRE_E_MALFORMED, "payload of %zu bytes is over the %u limit",
                   b->items[i].len, (unsigned)STORE_MAX_PAYLOAD);
            return -2;
        }
    }
    return r->bad ? -1 : 0;
}

static void put_ok(struct conn *c, const uint64_t *ids, uint32_t n)
{
    wire_begin(&c->out, WIRE_PUT_OK);
    wire_u32(&c->out, n);
    for (uint32_t i = 0; i < n; i++)
        wire_u64(&c->out, ids[i]);
    wire_end(&c->out);
}

/* The answer to a put that the store did not take (STORE_FULL, STORE_REFUSED): an ordinary
 * reply, the connection stays. */
static void put_refused(struct conn *c, int rc, const char *q, size_t qlen)
{
    char msg[300];
    if (rc == STORE_FULL) {
        snprintf(msg, sizeof msg, "queue %.*s is full (--max-queue %zu): nothing was put",
                 (int)qlen, q, c->b->o.max_queue);
        put_error(c, WIRE_E_FULL, msg);
    } else {
        put_error(c, WIRE_E_INTERNAL, "the journal could not be written: nothing was put");
    }
}

static int op_put(struct conn *c, struct wire_reader *r)
{
    struct broker *b = c->b;
    const char *q;
    size_t qlen;
    uint32_t n;
    wire_get_name(r, &q, &qlen);
    int rc = get_items(c, r, &n);
    if (rc != 0 || wire_done(r) == -1)
        return rc == -2 ? 0 : -1;
    rc = store_put(b->st, q, qlen, b->items, n, uv_now(b->loop), b->ids_out);
    if (rc == STORE_OK)
        put_ok(c, b->ids_out, n);
    else
        put_refused(c, rc, q, qlen);
    return 0;
}

static void tasks_reply(struct conn *c, struct store_task **t, size_t n)
{
    wire_begin(&c->out, WIRE_TASKS);
    wire_u32(&c->out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        wire_u64(&c->out, t[i]->id);
        wire_u32(&c->out, t[i]->deliveries);
        wire_bytes(&c->out, t[i]->payload, t[i]->len);
    }
    wire_end(&c->out);
}

static void on_wait_over(uv_timer_t *t)
{
    struct conn *c = t->data;
    store_unwait(c->b->st, &c->sc);
    c->waiting = 0;
    tasks_reply(c, NULL, 0);          /* nothing came within wait_ms: an ordinary answer */
    process(c);
}

/* [snippet:get] */
/* GET queue max wait_ms lease_ms. The reply must fit in one frame: the store stops before
 * the payloads pass the budget (the 16 bytes of id, deliveries and length per task aside). */
static int op_get(struct conn *c, struct wire_reader *r)
{
    struct broker *b = c->b;
    const char *q;
    size_t qlen;
    uint32_t max, wait_ms, lease_ms;
    wire_get_name(r, &q, &qlen);
    wire_get_u32(r, &max);
    wire_get_u32(r, &wait_ms);
    wire_get_u32(r, &lease_ms);
    if (wire_done(r) == -1 || max == 0)
        return -1;
    if (max > WIRE_MAX_BATCH)
        max = WIRE_MAX_BATCH;
    if (lease_ms == 0)
        lease_ms = b->o.lease_ms;
    size_t budget = STORE_MAX_PAYLOAD - 16 * (size_t)max;
    size_t n = store_get(b->st, &c->sc, q, qlen, max, budget, uv_now(b->loop), lease_ms,
                         b->tasks);
    if (n > 0 || wait_ms == 0) {
        tasks_reply(c, b->tasks, n);
        return 0;
    }
    store_wait(b->st, &c->sc, q, qlen, max, budget, lease_ms);
    c->waiting = 1;                   /* later requests of c wait behind this one */
    uv_timer_start(&c->timer, on_wait_over, wait_ms, 0);
    return 0;
}
/* [/snippet:get] */

static void on_resume(uv_timer_t *t) { process(t->data); }

/* The store's deliver hook: c was waiting and tasks came (a PUT, or tasks coming back).
 * The reply is written now; c's next requests are taken up on the next loop turn (not
 * here: the store is in the middle of someone else's operation). */
static void on_deliver(void *ctx, struct store_consumer *sc, struct store_task **t, size_t n)
{
    (void)ctx;
    struct conn *c = sc->data;
    tasks_reply(c, t, n);
    c->waiting = 0;
    uv_timer_start(&c->timer, on_resume, 0, 0);
}

/* ACK, NACK and RENEW: queue, ids (RENEW: and lease_ms); reply OK n_known. */
static int op_settle(struct conn *c, struct wire_reader *r, int op)
{
    struct broker *b = c->b;
    const char *q;
    size_t qlen, known;
    uint32_t n, lease_ms = 0;
    wire_get_name(r, &q, &qlen);
    if (get_ids(r, b, &n) == -1)
        return -1;
    if (op == WIRE_RENEW)
        wire_get_u32(r, &lease_ms);
    if (wire_done(r) == -1)
        return -1;
    uint64_t now = uv_now(b->loop);
    if (op == WIRE_ACK)
        known = store_ack(b->st, &c->sc, q, qlen, b->ids, n);
    else if (op == WIRE_NACK)
        known = store_nack(b->st, &c->sc, q, qlen, b->ids, n, now);
    else
        known = store_renew(b->st, &c->sc, q, qlen, b->ids, n, now,
                            lease_ms ? lease_ms : b->o.lease_ms);
    wire_begin(&c->out, WIRE_OK);
    wire_u32(&c->out, (uint32_t)known);
    wire_end(&c->out);
    return 0;
}

/* FINISH queue ids to_queue results: ack and put in one step. */
static int op_finish(struct conn *c, struct wire_reader *r)
{
    struct broker *b = c->b;
    const char *q, *to;
    size_t qlen, tolen;
    uint32_t n, m;
    wire_get_name(r, &q, &qlen);
    if (get_ids(r, b, &n) == -1)
        return -1;
    wire_get_name(r, &to, &tolen);
    int rc = get_items(c, r, &m);
    if (rc != 0 || wire_done(r) == -1)
        return rc == -2 ? 0 : -1;
    rc = store_finish(b->st, &c->sc, q, qlen, b->ids, n, to, tolen, b->items, m,
                      uv_now(b->loop), b->ids_out);
    if (rc == STORE_OK)
        put_ok(c, b->ids_out, m);
    else
        put_refused(c, rc, to, tolen);
    return 0;
}

static int op_stats(struct conn *c, struct wire_reader *r)
{
    const char *q;
    size_t qlen;
    wire_get_name(r, &q, &qlen);
    if (wire_done(r) == -1)
        return -1;
    struct store_stats s = store_stats(c->b->st, q, qlen);
    wire_begin(&c->out, WIRE_STATS_REPLY);
    uint64_t v[] = { s.ready, s.leased, s.dead, s.put, s.acked, s.redelivered,
                     s.dead_lettered };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        wire_u64(&c->out, v[i]);
    wire_u32(&c->out, s.consumers);
    wire_end(&c->out);
    return 0;
}

/* INSPECT's visitor: one entry per task, while the reply stays under the frame limit. */
struct inspect_walk {
    struct wire_buf *out;
    uint32_t n;
};

static int add_entry(void *arg, const struct store_task *t, int state,
                     const struct store_consumer *owner)
{
    struct inspect_walk *w = arg;
    const char *who = owner ? owner->name : "";
    size_t size = 8 + 1 + 4 + 2 + strlen(who) + 4 + t->len;
    if (w->out->len - w->out->frame_start - WIRE_HEADER + size > WIRE_MAX_FRAME)
        return 1;                     /* full: the client asks for fewer, or pages */
    wire_u64(w->out, t->id);
    wire_u8(w->out, (uint8_t)state);
    wire_u32(w->out, t->deliveries);
    wire_str(w->out, who, strlen(who));
    wire_bytes(w->out, t->payload, t->len);
    w->n++;
    return 0;
}

static int op_inspect(struct conn *c, struct wire_reader *r)
{
    const char *q;
    size_t qlen;
    uint32_t max;
    wire_get_name(r, &q, &qlen);
    wire_get_u32(r, &max);
    if (wire_done(r) == -1)
        return -1;
    wire_begin(&c->out, WIRE_ENTRIES);
    size_t count_at = c->out.len;
    wire_u32(&c->out, 0);             /* the count, filled in below */
    struct inspect_walk w = { &c->out, 0 };
    store_inspect(c->b->st, q, qlen, max, add_entry, &w);
    for (int i = 0; i < 4; i++)
        c->out.data[count_at + (size_t)i] = (unsigned char)(w.n >> (24 - 8 * i));
    wire_end(&c->out);
    return 0;
}

/* One whole frame: the handshake first, then requests. A request that does not parse,
 * or an op we do not know, ends the connection (the client is broken or hostile). */
static void handle_frame(struct conn *c, const unsigned char *f, size_t size)
{
    struct wire_reader r;
    if (wire_open(&r, f, size) == -1) {
        reject(c, WIRE_E_MALFORMED, "version %d, this broker speaks %d", f[WIRE_HEADER],
               WIRE_VERSION);
        return;
    }
    if (!c->authed) {
        if (r.op == WIRE_HELLO)
            hello(c, &r);
        else
            reject(c, WIRE_E_AUTH, "%s before the handshake", wire_op_name(r.op));
        return;
    }
    int rc;
    switch (r.op) {
    case WIRE_PUT: rc = op_put(c, &r); break;
    case WIRE_GET: rc = op_get(c, &r); break;
    case WIRE_ACK: case WIRE_NACK: case WIRE_RENEW: rc = op_settle(c, &r, r.op); break;
    case WIRE_FINISH: rc = op_finish(c, &r); break;
    case WIRE_STATS: rc = op_stats(c, &r); break;
    case WIRE_INSPECT: rc = op_inspect(c, &r); break;
    default:
        reject(c, WIRE_E_UNKNOWN_OP, "unknown op %d", r.op);
        return;
    }
    if (rc == -1)
        reject(c, WIRE_E_MALFORMED, "malformed %s", wire_op_name(r.op));
}

/* ---- reading: frames out of the byte stream ------------------------------------------- */

/* [snippet:process] */
/* Answer every whole frame in c's buffer, in order, unless one must wait (a GET with
 * nothing to give yet) or the client is not reading its replies; then send all the
 * replies of this turn in one write. */
static void process(struct conn *c)
{
    size_t off = 0;
    while (off < c->len && !c->closing && !c->finishing && !c->waiting && !c->throttled) {
        long size = wire_frame_size(c->in + off, c->len - off);
        if (size == -1) {
            uint32_t n = (uint32_t)c->in[off] << 24 | (uint32_t)c->in[off + 1] << 16
                         | (uint32_t)c->in[off + 2] << 8 | c->in[off + 3];
            reject(c, WIRE_E_MALFORMED, "frame of %u bytes is %s the %s limit", n,
                   n < 2 ? "under" : "over", n < 2 ? "2-byte" : "1048576");
            break;
        }
        if (size == 0)
            break;                    /* the rest of this frame has not arrived yet */
        handle_frame(c, c->in + off, (size_t)size);
        off += (size_t)size;
        if (write_queue(c) > WRITE_MAX)
            c->throttled = 1;         /* it does not read: stop answering (and reading) */
    }
    c->len -= off;
    if (c->len > 0 && off > 0)
        memmove(c->in, c->in + off, c->len);
    mark_dirty(c);
    update_reading(c);
    arm_lease_timer(c->b);
}
/* [/snippet:process] */

/* Room for the next read: at least 1 KiB, and the whole of a frame whose length has
 * arrived (a frame is at most WIRE_MAX_FRAME: checked before this grows anything). */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    if (c->finishing) {
        *buf = uv_buf_init(sink, sizeof sink);
        return;
    }
    size_t need = c->len + 1024;
    long size = wire_frame_size(c->in, c->len);
    if (c->len >= WIRE_HEADER && size == 0) {
        size_t whole = WIRE_HEADER + ((size_t)c->in[0] << 24 | (size_t)c->in[1] << 16
                                      | (size_t)c->in[2] << 8 | c->in[3]);
        need = whole > need ? whole : need;
    }
    if (c->cap < need) {
        size_t cap = c->cap ? c->cap : IN_MIN;
        while (cap < need)
            cap *= 2;
        c->cap = cap < IN_MAX ? cap : IN_MAX;
        c->in = realloc(c->in, c->cap);       /* keeps the bytes of the frame so far */
        if (!c->in)
            die_errno("realloc");
    }
    *buf = uv_buf_init((char *)c->in + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = s->data;
    if (nread < 0) {                  /* EOF, or the client vanished */
        if (c->len > 0 && !c->finishing && !c->waiting)
            conn_log(c, "closed in the middle of a frame (%zu bytes of it came)", c->len);
        else if (c->b->o.verbose)
            conn_log(c, "closed (%s)", uv_err_name((int)nread));
        conn_close(c);
        return;
    }
    if (c->finishing)
        return;                       /* refused: what it still sends is not read */
    c->len += (size_t)nread;
    process(c);
    if (c->len == 0 && c->cap > IN_KEEP && !c->closing) {
        free(c->in);                  /* a big frame has passed: back to a small buffer */
        c->in = NULL;
        c->cap = 0;
    }
}

/* Read while a request could be answered or while we must notice a close: not while the
 * client does not read its replies, not when a waiting connection has buffered the most
 * we keep. */
static void update_reading(struct conn *c)
{
    if (c->closing)
        return;
    int want = c->finishing || (!c->throttled && c->len + 1024 <= IN_MAX);
    if (want && !c->reading)
        check_uv("uv_read_start", uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read));
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = (unsigned)want;
}

/* ---- connections come and go ---------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    free(c->in);
    wire_buf_free(&c->out);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    conn_release(c);
    c->closing = 1;                   /* closing the TCP handle cancels its queued writes */
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void peer_name(struct conn *c)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0 &&
        sa.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
    }
    snprintf(c->addr, sizeof c->addr, "%s:%d", ip, port);
}

/* [snippet:accept] */
/* A client connected: the broker speaks first (CHALLENGE with a fresh nonce), and the
 * client has HELLO_TIMEOUT_MS to prove it holds the key. */
static void on_connection(uv_stream_t *server, int status)
{
    struct broker *b = server->data;
    if (status < 0)
        return;                       /* e.g. out of descriptors: libuv retries */
    struct conn *c = xcalloc(1, sizeof *c);
    c->b = b;
    check_uv("uv_tcp_init", uv_tcp_init(b->loop, &c->tcp));
    check_uv("uv_timer_init", uv_timer_init(b->loop, &c->timer));
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        uv_close((uv_handle_t *)&c->timer, on_conn_closed);
        return;
    }
    b->accepted++;
    uv_tcp_nodelay(&c->tcp, 1);       /* small frames must not wait for Nagle (40 ms) */
    peer_name(c);
    if (b->o.verbose)
        conn_log(c, "connected");
    auth_nonce(c->nonce);
    wire_begin(&c->out, WIRE_CHALLENGE);
    wire_raw(&c->out, c->nonce, WIRE_NONCE);
    wire_end(&c->out);
    uv_timer_start(&c->timer, on_hello_timeout, HELLO_TIMEOUT_MS, 0);
    mark_dirty(c);
    update_reading(c);
}
/* [/snippet:accept] */

/* ---- leases: one timer for the earliest deadline -------------------------------------- */

static void on_lease_timer(uv_timer_t *t)
{
    struct broker *b = t->data;
    b->armed = UINT64_MAX;
    size_t n = store_expire(b->st, uv_now(b->loop));
    if (b->o.verbose && n)
        fprintf(stderr, "%s: %zu lease(s) expired: the tasks are ready again\n", prog_name, n);
    arm_lease_timer(b);
}

static void arm_lease_timer(struct broker *b)
{
    if (b->stopping)
        return;
    uint64_t next = store_next_deadline(b->st);
    if (next == b->armed)
        return;
    b->armed = next;
    if (next == UINT64_MAX) {
        uv_timer_stop(&b->lease_timer);
        return;
    }
    uint64_t now = uv_now(b->loop);
    uv_timer_start(&b->lease_timer, on_lease_timer, next > now ? next - now : 0, 0);
}

/* ---- the program ---------------------------------------------------------------------- */

static void close_one(uv_handle_t *h, void *arg)
{
    struct broker *b = arg;
    if (uv_is_closing(h))
        return;
    if (h->data == b)                 /* the broker's own: listener, timers, signals */
        uv_close(h, NULL);
    else if (h->type == UV_TCP)
        conn_close(h->data);          /* and its timer with it */
}

/* SIGINT or SIGTERM: close everything; uv_run() returns when the last handle is closed. */
static void on_signal(uv_signal_t *sig, int signum)
{
    struct broker *b = sig->data;
    fprintf(stderr, "%s: signal %d: closing\n", prog_name, signum);
    b->stopping = 1;
    uv_walk(b->loop, close_one, b);
}

static const char usage_text[] =
    "broker - named task queues over TCP: leases, acks, dead letters, one libuv loop\n"
    "\n"
    "Usage: broker [--listen ADDR:PORT] [--key FILE] [--lease-ms MS] [--max-deliveries K]\n"
    "              [--max-queue N] [--journal FILE] [--fsync always|batch|never]\n"
    "              [--fsync-ms MS] [--verbose]\n"
    "       broker --make-key FILE\n"
    "\n"
    "  --listen ADDR:PORT  where to listen (default 127.0.0.1:7070; port 0: any free one).\n"
    "                      Prints `listening on ADDR:PORT` when ready.\n"
    "  --key FILE          the shared key (default ./taskq.key); made, mode 0600, if it\n"
    "                      does not exist; refused if group or others may read it\n"
    "  --lease-ms MS       how long a task stays with a worker that neither acks nor\n"
    "                      renews it (default 30000; a GET may ask for its own)\n"
    "  --max-deliveries K  deliveries before a task goes to <queue>.dead (default 5)\n"
    "  --max-queue N       ready + leased tasks per queue; a PUT beyond is refused FULL\n"
    "                      (default 100000)\n"
    "  --journal FILE      append accepted tasks, deliveries, acks and dead letters to\n"
    "                      FILE; replay what is outstanding at start. A PUT is answered\n"
    "                      only once its record is written: SIGKILL loses no answered put\n"
    "  --fsync POLICY      with --journal, what a machine crash can lose: always\n"
    "                      (fdatasync before each turn's replies: nothing answered),\n"
    "                      batch (every --fsync-ms: up to that much; the default), never\n"
    "                      (whatever the kernel has not written back yet)\n"
    "  --fsync-ms MS       the batch interval (default 100)\n"
    "  --verbose           log connections, handshakes and expired leases\n"
    "  --make-key FILE     write a new key to FILE (mode 0600) and exit\n"
    "  --help              this text\n";

static void parse_listen(const char *s, struct opts *o)
{
    const char *colon = strrchr(s, ':');
    struct sockaddr_in sa;
    if (!colon || (size_t)(colon - s) >= sizeof o->addr)
        usage_error("--listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:7070)", s);
    memcpy(o->addr, s, (size_t)(colon - s));
    o->addr[colon - s] = '\0';
    o->port = (int)parse_long("--listen", colon + 1, 0, 65535);
    if (uv_ip4_addr(o->addr, o->port, &sa) != 0)
        usage_error("--listen: '%s' is not an IPv4 address", o->addr);
}

static noreturn void make_key_and_exit(const char *path)
{
    char err[512];
    if (auth_make_key(path, err, sizeof err) == -1)
        die_msg("%s", err);
    printf("wrote a new key to %s (mode 0600): copy it to every worker's machine\n", path);
    exit(EXIT_SUCCESS);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const policies[] = { "always", "batch", "never", NULL };
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "key", required_argument, NULL, 'k' },
        { "lease-ms", required_argument, NULL, 'L' },
        { "max-deliveries", required_argument, NULL, 'd' },
        { "max-queue", required_argument, NULL, 'q' },
        { "journal", required_argument, NULL, 'j' },
        { "fsync", required_argument, NULL, 'f' },
        { "fsync-ms", required_argument, NULL, 'F' },
        { "verbose", no_argument, NULL, 'v' },
        { "make-key", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (struct opts){ .addr = "127.0.0.1", .port = 7070, .key_file = AUTH_DEFAULT_KEY_FILE,
                        .lease_ms = 30000, .max_deliveries = 5, .max_queue = 100000,
                        .fsync = JOURNAL_SYNC_BATCH, .fsync_ms = 100 };
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'l': parse_listen(optarg, o); break;
        case 'k': o->key_file = optarg; break;
        case 'L': o->lease_ms = (uint32_t)parse_long("--lease-ms", optarg, 1, 86400000); break;
        case 'd':
            o->max_deliveries = (uint32_t)parse_long("--max-deliveries", optarg, 1, 1000000);
            break;
        case 'q': o->max_queue = (size_t)parse_long("--max-queue", optarg, 1, 100000000); break;
        case 'j': o->journal = optarg; break;
        case 'f':
            o->fsync = parse_choice("--fsync", optarg, policies);
            o->fsync_given = 1;
            break;
        case 'F':
            o->fsync_ms = (int)parse_long("--fsync-ms", optarg, 1, 60000);
            o->fsync_given = 1;
            break;
        case 'v': o->verbose = 1; break;
        case 'm': make_key_and_exit(optarg);
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (o->fsync_given && !o->journal)
        usage_error("--fsync and --fsync-ms say how to write a journal: give --journal FILE");
}

/* The key: made (0600) if the file does not exist, refused if others may read it. */
static void load_key(const char *path, unsigned char key[AUTH_KEY_BYTES])
{
    char err[512];
    if (access(path, F_OK) == -1 && errno == ENOENT) {
        if (auth_make_key(path, err, sizeof err) == -1)
            die_msg("%s", err);
        fprintf(stderr, "%s: made a new key in %s (mode 0600): copy it to the workers\n",
                prog_name, path);
    }
    if (auth_load_key(path, key, err, sizeof err) == -1)
        die_msg("%s", err);
}

static void start_listening(struct broker *b)
{
    struct sockaddr_in sa;
    check_uv("uv_ip4_addr", uv_ip4_addr(b->o.addr, b->o.port, &sa));
    check_uv("uv_tcp_init", uv_tcp_init(b->loop, &b->listener));
    b->listener.data = b;
    int err = uv_tcp_bind(&b->listener, (const struct sockaddr *)&sa, 0);
    if (err == 0)
        err = uv_listen((uv_stream_t *)&b->listener, SOMAXCONN, on_connection);
    if (err < 0)
        die_msg("listen on %s:%d: %s", b->o.addr, b->o.port, uv_err_name(err));
    int len = sizeof sa;
    check_uv("uv_tcp_getsockname",
             uv_tcp_getsockname(&b->listener, (struct sockaddr *)&sa, &len));
    printf("listening on %s:%d\n", b->o.addr, ntohs(sa.sin_port));
    fflush(stdout);
}

static void print_stats(const struct broker *b)
{
    struct store_stats s = store_totals(b->st);
    fprintf(stderr, "%s: stats: %zu queues, put %llu, acked %llu, redelivered %llu, "
            "dead-lettered %llu, left ready %llu; connections %lu, refused %lu, "
            "settles of unknown ids %llu\n", prog_name, store_queue_count(b->st),
            (unsigned long long)s.put, (unsigned long long)s.acked,
            (unsigned long long)s.redelivered, (unsigned long long)s.dead_lettered,
            (unsigned long long)s.ready, b->accepted, b->rejected,
            (unsigned long long)s.unknown);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    static struct broker b;
    parse_args(argc, argv, &b.o);
    auth_init();
    load_key(b.o.key_file, b.key);
    signal(SIGPIPE, SIG_IGN);         /* a vanished client: EPIPE from write, not death */

    struct store_hooks hooks = { .ctx = &b, .deliver = on_deliver };
    if (b.o.journal) {
        hooks.put = on_put_record;
        hooks.ack = on_ack_record;
        hooks.delivered = on_delivered_record;
        hooks.dead = on_dead_record;
    }
    b.st = store_new((struct store_limits){ b.o.max_deliveries, b.o.max_queue }, &hooks);
    b.loop = uv_default_loop();
    if (b.o.journal)
        open_journal(&b);
    b.armed = UINT64_MAX;
    check_uv("uv_timer_init", uv_timer_init(b.loop, &b.lease_timer));
    b.lease_timer.data = &b;
    check_uv("uv_signal_init", uv_signal_init(b.loop, &b.sigint));
    check_uv("uv_signal_init", uv_signal_init(b.loop, &b.sigterm));
    b.sigint.data = b.sigterm.data = &b;
    check_uv("uv_signal_start", uv_signal_start(&b.sigint, on_signal, SIGINT));
    check_uv("uv_signal_start", uv_signal_start(&b.sigterm, on_signal, SIGTERM));
    check_uv("uv_prepare_init", uv_prepare_init(b.loop, &b.before_poll));
    check_uv("uv_check_init", uv_check_init(b.loop, &b.after_poll));
    b.before_poll.data = b.after_poll.data = &b;
    check_uv("uv_prepare_start", uv_prepare_start(&b.before_poll, on_before_poll));
    check_uv("uv_check_start", uv_check_start(&b.after_poll, on_after_poll));
    start_listening(&b);

    uv_run(b.loop, UV_RUN_DEFAULT);   /* every connection, timer and signal: here */

    print_stats(&b);
    check_uv("uv_loop_close", uv_loop_close(b.loop));
    char err[600];
    if (b.journal && journal_close(b.journal, err, sizeof err) == -1)
        die_msg("journal: %s", err);
    store_free(b.st);
    return EXIT_SUCCESS;
}
