/* taskq_broker.c - the taskq.h interface on this chapter's broker: one blocking TCP client
 *
 * A connection is a socket, an output buffer where each request is built (wire.h) and an
 * input buffer where replies arrive. Every call writes one whole request and then reads
 * exactly one reply frame, parses all of it and checks that nothing was left over: a reply
 * that does not parse is the broker's fault, never something to guess around.
 *
 * Never hang on a dead broker. A broker process that dies closes its sockets (the kernel
 * does it, even after SIGKILL): a read then returns 0 or ECONNRESET and the call fails with
 * "broker closed the connection". A broker machine that vanishes says nothing at all, so
 * every read waits with poll() for at most the time the broker may legitimately take: a
 * GET's wait_ms plus REPLY_MARGIN_MS, or REPLY_MARGIN_MS for any other request.
 *
 * Ids: the broker's ids are u64; taskq_task.id carries them as decimal text (Redis ids are
 * text), and they are parsed back, checked, when the task is acked.
 */
#include "taskq.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "core.h"
#include "wire.h"

#define CONNECT_TIMEOUT_MS 5000
#define REPLY_MARGIN_MS 10000    /* how long a live broker may take beyond a GET's wait */

struct taskq {
    struct taskq_common common;  /* first: taskq.c reaches the error through it */
    int fd;
    struct wire_buf out;         /* the request being sent */
    unsigned char *in;           /* received bytes: the reply, maybe more */
    size_t in_len, in_cap;
    size_t used;                 /* bytes of `in` taken by the last reply parsed */
    int error_code;              /* the code of the last ERROR reply, 0 if none */
    char where[300];             /* "127.0.0.1:7070", for messages */
};

/* --- the socket ---------------------------------------------------------------------- */

/* Connect to one address, waiting at most CONNECT_TIMEOUT_MS: a non-blocking connect()
 * and poll(), then back to blocking. Returns the socket or -1 with errno set. */
static int connect_one(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd == -1)
        return -1;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == -1 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n;
        while ((n = poll(&p, 1, CONNECT_TIMEOUT_MS)) == -1 && errno == EINTR)
            ;
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (n == 0)
            soerr = ETIMEDOUT;
        else if (n == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
            soerr = errno;
        rc = soerr ? -1 : 0;
        errno = soerr;
    }
    if (rc == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    /* Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm holds a
     * request back until the previous one is acknowledged, and a delayed ACK can add
     * 40 ms to every round trip. */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1
        || fcntl(fd, F_SETFL, 0) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int dial(const char *host, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res;
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0) {
        snprintf(err, errlen, "%s:%d: getaddrinfo: %s", host, port, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd == -1; ai = ai->ai_next)
        fd = connect_one(ai);
    if (fd == -1)
        snprintf(err, errlen, "%s:%d: connect: %s (is the broker running?)", host, port,
                 strerror(errno));
    freeaddrinfo(res);
    return fd;
}

/* Send the whole output buffer. MSG_NOSIGNAL: a broker that went away is an error to
 * report, not a SIGPIPE that kills the program. */
static int send_all(struct taskq *q)
{
    for (size_t off = 0; off < q->out.len;) {
        ssize_t n = send(q->fd, q->out.data + off, q->out.len - off, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
            return taskq_fail(q, "%s: broker closed the connection", q->where);
        if (n == -1)
            return taskq_fail(q, "%s: send: %s", q->where, strerror(errno));
        off += (size_t)n;
    }
    wire_buf_reset(&q->out);
    return 0;
}

/* Read until one whole frame is buffered, waiting at most timeout_ms for each piece, and
 * open it in *r (which points into q->in until the next read). The previous reply's bytes
 * are dropped first. A length over the limit is refused before anything is allocated. */
static int read_frame(struct taskq *q, int timeout_ms, struct wire_reader *r)
{
    if (q->used) {
        memmove(q->in, q->in + q->used, q->in_len - q->used);
        q->in_len -= q->used;
        q->used = 0;
    }
    long size;
    while ((size = wire_frame_size(q->in, q->in_len)) == 0) {
        struct pollfd p = { .fd = q->fd, .events = POLLIN };
        int n = poll(&p, 1, timeout_ms);
        if (n == -1 && errno == EINTR)
            continue;                  /* a signal: the caller checks its flag later */
        if (n == -1)
            return taskq_fail(q, "%s: poll: %s", q->where, strerror(errno));
        if (n == 0)
            return taskq_fail(q, "%s: no reply from the broker within %d ms", q->where,
                              timeout_ms);
        if (q->in_cap - q->in_len < 65536) {
            size_t cap = q->in_cap ? q->in_cap * 2 : 131072;
            unsigned char *in = realloc(q->in, cap);
            if (!in)
                die_errno("realloc");
            q->in = in;
            q->in_cap = cap;
        }
        ssize_t got = recv(q->fd, q->in + q->in_len, q->in_cap - q->in_len, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == 0 || (got == -1 && errno == ECONNRESET))
            return taskq_fail(q, "%s: broker closed the connection", q->where);
        if (got == -1)
            return taskq_fail(q, "%s: recv: %s", q->where, strerror(errno));
        q->in_len += (size_t)got;
    }
    if (size == -1)
        return taskq_fail(q, "%s: broker sent a frame of bad length (over %u bytes or "
                          "under 2)", q->where, WIRE_MAX_FRAME);
    q->used = (size_t)size;
    if (wire_open(r, q->in, (size_t)size) == -1)
        return taskq_fail(q, "%s: broker speaks protocol version %d, not %d", q->where,
                          q->in[WIRE_HEADER], WIRE_VERSION);
    return 0;
}

/* A str field that may be empty (an ERROR's message, an idle entry's consumer), copied
 * into buf as printable text. */
static void get_text(struct wire_reader *r, char *buf, size_t size)
{
    uint16_t n = 0;
    const unsigned char *p = NULL;
    buf[0] = '\0';
    if (wire_get_u16(r, &n) == -1 || wire_get_raw(r, &p, n) == -1)
        return;
    size_t k = n < size - 1 ? n : size - 1;
    for (size_t i = 0; i < k; i++)
        buf[i] = p[i] >= 32 && p[i] < 127 ? (char)p[i] : '?';
    buf[k] = '\0';
}

/* Send the request built in q->out and read its reply; return 0 when the reply is `want`
 * (r is then positioned at its body), TASKQ_FULL for ERROR FULL, -1 otherwise. */
static int call(struct taskq *q, int want, int timeout_ms, struct wire_reader *r)
{
    q->error_code = 0;
    if (send_all(q) == -1 || read_frame(q, timeout_ms, r) == -1)
        return -1;
    if (r->op == WIRE_ERROR) {
        uint16_t code = 0;
        char msg[200];
        wire_get_u16(r, &code);
        get_text(r, msg, sizeof msg);
        q->error_code = wire_done(r) == 0 ? code : 0;
        if (q->error_code == WIRE_E_FULL)
            return TASKQ_FULL;
        return taskq_fail(q, "%s: broker answered ERROR %s: %s", q->where,
                          wire_error_name(code), msg);
    }
    if (r->op != want)
        return taskq_fail(q, "%s: broker answered %s to a request that wants %s", q->where,
                          wire_op_name(r->op), wire_op_name(want));
    return 0;
}

static int malformed(struct taskq *q, int op)
{
    return taskq_fail(q, "%s: malformed %s reply from the broker", q->where,
                      wire_op_name(op));
}

/* --- the handshake (auth.h) ---------------------------------------------------------- */

static int handshake(struct taskq *q, const unsigned char key[AUTH_KEY_BYTES], const char *name)
{
    struct wire_reader r;
    const unsigned char *ns, *mac;
    unsigned char nc[WIRE_NONCE], mine[WIRE_MAC];
    size_t name_len = strlen(name);
    if (read_frame(q, REPLY_MARGIN_MS, &r) == -1)
        return -1;
    if (r.op != WIRE_CHALLENGE || wire_get_raw(&r, &ns, WIRE_NONCE) == -1 || wire_done(&r))
        return taskq_fail(q, "%s: expected a CHALLENGE, got %s: is this a taskq broker?",
                          q->where, wire_op_name(r.op));
    unsigned char ns_copy[WIRE_NONCE];
    memcpy(ns_copy, ns, WIRE_NONCE);        /* the next read reuses the buffer */
    auth_nonce(nc);
    auth_client_mac(key, ns_copy, nc, name, name_len, mine);
    wire_begin(&q->out, WIRE_HELLO);
    wire_raw(&q->out, nc, WIRE_NONCE);
    wire_str(&q->out, name, name_len);
    wire_raw(&q->out, mine, WIRE_MAC);
    wire_end(&q->out);
    int rc = call(q, WIRE_WELCOME, REPLY_MARGIN_MS, &r);
    if (rc != 0 && q->error_code == WIRE_E_AUTH)
        return taskq_fail(q, "%s: broker refused the key", q->where);
    if (rc != 0)
        return rc == -1 ? -1 : malformed(q, WIRE_WELCOME);
    if (wire_get_raw(&r, &mac, WIRE_MAC) == -1 || wire_done(&r) == -1)
        return malformed(q, WIRE_WELCOME);
    /* The broker proves it holds the key too: a stranger listening on the port cannot
     * hand out tasks to our workers or swallow our results. */
    if (auth_check_broker(key, ns_copy, nc, name, name_len, mac) != 0)
        return taskq_fail(q, "%s: broker could not prove it holds the key", q->where);
    return 0;
}

static void broker_close(struct taskq *q)
{
    if (q->fd != -1)
        close(q->fd);
    wire_buf_free(&q->out);
    free(q->in);
    free(q);
}

static struct taskq *broker_open(const struct taskq_opts *o, const char *host, int port,
                                 char *err, size_t errlen)
{
    unsigned char key[AUTH_KEY_BYTES];
    size_t name_len = o->name ? strlen(o->name) : 0;
    if (name_len == 0 || name_len > WIRE_MAX_NAME) {
        snprintf(err, errlen, "a client name must have 1 to %d bytes", WIRE_MAX_NAME);
        return NULL;
    }
    if (auth_load_key(o->key_file ? o->key_file : AUTH_DEFAULT_KEY_FILE, key, err,
                      errlen) == -1)
        return NULL;
    struct taskq *q = xcalloc(1, sizeof *q);
    q->common.backend = &taskq_broker_backend;
    snprintf(q->where, sizeof q->where, "%s:%d", host, port);
    q->fd = dial(host, port, err, errlen);
    if (q->fd == -1 || handshake(q, key, o->name) == -1) {
        if (q->fd != -1)
            snprintf(err, errlen, "%s", q->common.error);
        explicit_bzero(key, sizeof key);
        broker_close(q);
        return NULL;
    }
    explicit_bzero(key, sizeof key);
    return q;
}

/* --- requests ------------------------------------------------------------------------ */

/* Start a request on `queue`, refusing a name the broker would refuse. */
static int begin(struct taskq *q, enum wire_op op, const char *queue)
{
    size_t n = strlen(queue);
    if (n == 0 || n > WIRE_MAX_NAME)
        return taskq_fail(q, "queue name '%.40s' must have 1 to %d bytes", queue,
                          WIRE_MAX_NAME);
    wire_buf_reset(&q->out);
    wire_begin(&q->out, op);
    wire_str(&q->out, queue, n);
    return 0;
}

/* Will n items (plus `extra` bytes of other fields) fit in one frame and one batch? */
static int fits(struct taskq *q, const struct taskq_item *items, size_t n, size_t extra)
{
    size_t size = extra;
    for (size_t i = 0; i < n; i++)
        size += 4 + items[i].len;
    if (n > WIRE_MAX_BATCH || size > WIRE_MAX_FRAME)
        return taskq_fail(q, "a batch of %zu items in %zu bytes is over the broker's limits "
                          "(%d items, %u bytes a frame)", n, size, WIRE_MAX_BATCH,
                          WIRE_MAX_FRAME);
    return 0;
}

static void put_items(struct taskq *q, const struct taskq_item *items, size_t n)
{
    wire_u32(&q->out, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        wire_bytes(&q->out, items[i].data, items[i].len);
}

/* Append the n tasks' ids, parsed back from their decimal text. */
static int put_ids(struct taskq *q, const struct taskq_task *t, size_t n)
{
    if (n > WIRE_MAX_BATCH)
        return taskq_fail(q, "%zu ids in one call: the broker takes at most %d", n,
                          WIRE_MAX_BATCH);
    wire_u32(&q->out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        unsigned long long id = strtoull(t[i].id, &end, 10);
        if (t[i].id[0] < '0' || t[i].id[0] > '9' || *end || errno)
            return taskq_fail(q, "'%.40s' is not a broker task id", t[i].id);
        wire_u64(&q->out, id);
    }
    return 0;
}

/* Read PUT_OK: u32 m, then m ids, which must be the m we sent. */
static int read_put_ok(struct taskq *q, struct wire_reader *r, size_t m)
{
    uint32_t n = 0;
    uint64_t id;
    wire_get_u32(r, &n);
    for (uint32_t i = 0; i < n && !r->bad; i++)
        wire_get_u64(r, &id);
    if (wire_done(r) == -1 || n != m)
        return malformed(q, WIRE_PUT_OK);
    return 0;
}

static int broker_put(struct taskq *q, const char *queue, const struct taskq_item *items,
                      size_t n)
{
    struct wire_reader r;
    if (fits(q, items, n, 16 + strlen(queue)) == -1 || begin(q, WIRE_PUT, queue) == -1)
        return -1;
    put_items(q, items, n);
    wire_end(&q->out);
    int rc = call(q, WIRE_PUT_OK, REPLY_MARGIN_MS, &r);
    return rc != 0 ? rc : read_put_ok(q, &r, n);
}

static int broker_get(struct taskq *q, const char *queue, size_t max, int wait_ms,
                      int lease_ms, struct taskq_batch *out)
{
    struct wire_reader r;
    if (max == 0 || max > WIRE_MAX_BATCH)
        return taskq_fail(q, "a get of %zu tasks: the broker gives 1 to %d", max,
                          WIRE_MAX_BATCH);
    if (begin(q, WIRE_GET, queue) == -1)
        return -1;
    wire_u32(&q->out, (uint32_t)max);
    wire_u32(&q->out, (uint32_t)(wait_ms > 0 ? wait_ms : 0));
    wire_u32(&q->out, (uint32_t)(lease_ms > 0 ? lease_ms : 0));
    wire_end(&q->out);
    int rc = call(q, WIRE_TASKS, (wait_ms > 0 ? wait_ms : 0) + REPLY_MARGIN_MS, &r);
    if (rc != 0)
        return -1;                       /* a GET cannot be FULL */
    uint32_t n = 0;
    if (wire_get_u32(&r, &n) == -1 || n > max)
        return malformed(q, WIRE_TASKS);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = 0;
        uint32_t deliveries = 0;
        const unsigned char *p;
        size_t len;
        wire_get_u64(&r, &id);
        wire_get_u32(&r, &deliveries);
        if (wire_get_bytes(&r, &p, &len) == -1)
            return malformed(q, WIRE_TASKS);
        struct taskq_task *t = taskq_batch_add(out, p, len);
        snprintf(t->id, sizeof t->id, "%" PRIu64, id);
        t->deliveries = deliveries;
    }
    if (wire_done(&r) == -1)
        return malformed(q, WIRE_TASKS);
    return (int)n;
}

static int broker_settle(struct taskq *q, int how, const char *queue,
                         const struct taskq_task *t, size_t n, int lease_ms)
{
    static const enum wire_op ops[] = { [TASKQ_ACK] = WIRE_ACK, [TASKQ_NACK] = WIRE_NACK,
                                        [TASKQ_RENEW] = WIRE_RENEW };
    struct wire_reader r;
    uint32_t known;
    if (n == 0)
        return 0;
    if (begin(q, ops[how], queue) == -1 || put_ids(q, t, n) == -1)
        return -1;
    if (how == TASKQ_RENEW)
        wire_u32(&q->out, (uint32_t)(lease_ms > 0 ? lease_ms : 0));
    wire_end(&q->out);
    if (call(q, WIRE_OK, REPLY_MARGIN_MS, &r) != 0)
        return -1;
    if (wire_get_u32(&r, &known) == -1 || wire_done(&r) == -1 || known > n)
        return malformed(q, WIRE_OK);
    return 0;
}

static int broker_finish(struct taskq *q, const char *queue, const struct taskq_task *t,
                         size_t n, const char *to_queue, const struct taskq_item *results,
                         size_t m)
{
    struct wire_reader r;
    size_t to_len = strlen(to_queue);
    if (to_len == 0 || to_len > WIRE_MAX_NAME)
        return taskq_fail(q, "queue name '%.40s' must have 1 to %d bytes", to_queue,
                          WIRE_MAX_NAME);
    if (fits(q, results, m, 24 + strlen(queue) + to_len + 8 * n) == -1
        || begin(q, WIRE_FINISH, queue) == -1 || put_ids(q, t, n) == -1)
        return -1;
    wire_str(&q->out, to_queue, to_len);
    put_items(q, results, m);
    wire_end(&q->out);
    int rc = call(q, WIRE_PUT_OK, REPLY_MARGIN_MS, &r);
    return rc != 0 ? rc : read_put_ok(q, &r, m);
}

static int broker_stats(struct taskq *q, const char *queue, struct taskq_stats *st)
{
    struct wire_reader r;
    if (begin(q, WIRE_STATS, queue) == -1)
        return -1;
    wire_end(&q->out);
    if (call(q, WIRE_STATS_REPLY, REPLY_MARGIN_MS, &r) != 0)
        return -1;
    uint64_t *fields[] = { &st->ready, &st->leased, &st->dead, &st->put, &st->acked,
                           &st->redelivered, &st->dead_lettered };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        wire_get_u64(&r, fields[i]);
    wire_get_u32(&r, &st->consumers);
    return wire_done(&r) == -1 ? malformed(q, WIRE_STATS_REPLY) : 0;
}

static int broker_inspect(struct taskq *q, const char *queue, size_t max,
                          struct taskq_entries *out)
{
    struct wire_reader r;
    if (begin(q, WIRE_INSPECT, queue) == -1)
        return -1;
    wire_u32(&q->out, (uint32_t)(max < UINT32_MAX ? max : UINT32_MAX));
    wire_end(&q->out);
    if (call(q, WIRE_ENTRIES, REPLY_MARGIN_MS, &r) != 0)
        return -1;
    uint32_t n = 0;
    if (wire_get_u32(&r, &n) == -1 || n > max)
        return malformed(q, WIRE_ENTRIES);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = 0;
        uint8_t state = 0;
        uint32_t deliveries = 0;
        char consumer[sizeof out->e->consumer];
        const unsigned char *p;
        size_t len;
        wire_get_u64(&r, &id);
        wire_get_u8(&r, &state);
        wire_get_u32(&r, &deliveries);
        get_text(&r, consumer, sizeof consumer);
        if (wire_get_bytes(&r, &p, &len) == -1 || state < WIRE_READY || state > WIRE_DEAD)
            return malformed(q, WIRE_ENTRIES);
        struct taskq_entry *e = taskq_entries_add(out, p, len);
        snprintf(e->id, sizeof e->id, "%" PRIu64, id);
        e->state = (enum taskq_state)state;
        e->deliveries = deliveries;
        memcpy(e->consumer, consumer, sizeof consumer);
    }
    return wire_done(&r) == -1 ? malformed(q, WIRE_ENTRIES) : 0;
}

const struct taskq_backend taskq_broker_backend = {
    .scheme = "tcp",
    .open = broker_open,
    .close = broker_close,
    .put = broker_put,
    .get = broker_get,
    .settle = broker_settle,
    .finish = broker_finish,
    .stats = broker_stats,
    .inspect = broker_inspect,
};
