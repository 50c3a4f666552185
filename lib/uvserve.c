/* uvserve.c - one libuv loop serving the HTTP subset (see uvserve.h) */
#include "uvserve.h"
#include "core.h"
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void uv_check(const char *call, int err)
{
    if (err < 0)
        die_msg("%s: %s", call, uv_strerror(err));
}

/* A connection's input buffer. A free one holds the link to the next free one. */
union inbuf {
    union inbuf *next;
    char data[HTTP_BUF_SIZE];
};

/* One connection. Both handles point back here through their data field; the struct is
 * freed when the second of them has been closed. It holds no input buffer while it is
 * idle (in holds one only while a head is partly read or a request is being answered),
 * so an idle connection costs this struct: a few hundred bytes, nginx's approach. */
struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;               /* header timeout, /io wait or linger: one at a time */
    uv_shutdown_t shutdown;
    struct uv_service *svc;
    struct http_parser parser;
    struct http_request req;        /* the request being answered */
    union inbuf *in;                /* NULL while idle */
    size_t len;                     /* bytes in in->data */
    int open_handles;
    unsigned reading : 1, waiting_io : 1, throttled : 1, finishing : 1, closing : 1;
};

/* [snippet:inbuf] */
/* Bytes arrived for c (libuv's alloc callback runs just before the read): take a buffer
 * from the loop's free list, or a new one. malloc, not calloc: the pages of a buffer are
 * touched only as far as data is written into them. */
static void take_buf(struct conn *c)
{
    struct uv_service *s = c->svc;
    if (c->in)
        return;
    if (s->free_bufs) {
        c->in = s->free_bufs;
        s->free_bufs = c->in->next;
        s->n_free_bufs--;
    } else {
        c->in = xmalloc(sizeof *c->in);
    }
}

/* Give c's buffer back once nothing in it is still needed: it is empty and no request is
 * waiting to be answered (or the connection is on its way out). Keep a few on the free
 * list for the next connection that receives data; free the rest. */
static void give_buf(struct conn *c)
{
    struct uv_service *s = c->svc;
    int ending = c->finishing || c->closing;    /* what is left in it will not be read */
    if (!c->in || (!ending && (c->len > 0 || c->waiting_io)))
        return;
    if (s->n_free_bufs < UVS_FREE_BUFS) {
        c->in->next = s->free_bufs;
        s->free_bufs = c->in;
        s->n_free_bufs++;
    } else {
        free(c->in);
    }
    c->in = NULL;
    c->len = 0;
}
/* [/snippet:inbuf] */

/* A reply on its way out: it must live until libuv says it was written. */
struct reply {
    uv_write_t req;
    char data[HTTP_REPLY_MAX];
};

static void process(struct conn *c);
static void start_head(struct conn *c);

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles == 0) {
        give_buf(c);
        free(c);
        atomic_fetch_add(&server_stats->closed, 1);
    }
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;     /* closing the TCP handle cancels its writes; their callbacks run first */
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    if (c->finishing) {                 /* draining: into the loop's sink, never kept */
        *buf = uv_buf_init(c->svc->sink, sizeof c->svc->sink);
        return;
    }
    take_buf(c);
    *buf = uv_buf_init(c->in->data + c->len, (unsigned)(sizeof c->in->data - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct conn *c = s->data;
    if (nread < 0) {                    /* UV_EOF, or the client vanished (ECONNRESET) */
        conn_close(c);
        return;
    }
    if (c->finishing)
        return;
    c->len += (size_t)nread;
    process(c);
}

/* Read only while a reply could follow: not while /io waits, not while the write queue is
 * full (that is what bounds the memory a slow reader can make us hold). */
static void update_reading(struct conn *c)
{
    if (c->closing)
        return;                         /* uv_close() has stopped reading already */
    int want = !c->closing && (c->finishing || (!c->waiting_io && !c->throttled));
    if (want && !c->reading)
        uv_check("uv_read_start", uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read));
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = (unsigned)want;
}

static void on_linger_done(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0)
        conn_close(req->data);
}

static void on_write(uv_write_t *req, int status)
{
    struct conn *c = req->data;
    free((struct reply *)req);          /* req is the first member of struct reply */
    if (status < 0) {
        conn_close(c);                  /* vanished, or cancelled because we are closing */
        return;
    }
    if (c->throttled && !c->closing &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= UVS_WRITE_QUEUE_MAX / 2) {
        c->throttled = 0;
        start_head(c);                  /* the next request's header timeout starts now */
        process(c);                     /* requests may be waiting in the buffer already */
    }
}

static void on_head_timeout(uv_timer_t *t);

static void on_write_timeout(uv_timer_t *t)
{
    conn_close(t->data);                /* it read nothing for SERVER_WRITE_TIMEOUT_MS */
}

/* Wait for the next request: a fresh parse and the header timeout from now. */
static void start_head(struct conn *c)
{
    http_parser_reset(&c->parser);
    if (c->svc->o->header_timeout_ms > 0)
        uv_timer_start(&c->timer, on_head_timeout, (uint64_t)c->svc->o->header_timeout_ms, 0);
}

/* [snippet:answer] */
/* Queue the reply to c->req. Returns without waiting: libuv writes what the socket takes
 * now and the rest when it becomes writable. */
static void answer(struct conn *c, uint64_t extra)
{
    struct reply *r = xmalloc(sizeof *r);
    uv_buf_t b = uv_buf_init(r->data,
                             (unsigned)http_reply(&c->req, c->svc->o->name, extra, r->data));
    r->req.data = c;
    if (uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        free(r);
        conn_close(c);
        return;
    }
    c->len -= c->req.head_len;          /* keep what came after: a pipelined request */
    memmove(c->in->data, c->in->data + c->req.head_len, c->len);
    if (!c->req.keep_alive) {
        /* Close politely: send FIN after the reply, drain input for a moment, then close. */
        c->finishing = 1;
        give_buf(c);
        c->shutdown.data = c;
        if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
            conn_close(c);
        else
            uv_timer_start(&c->timer, on_linger_done, SERVER_LINGER_MS, 0);
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > UVS_WRITE_QUEUE_MAX) {
        /* A slow reader: take no more requests from it until it has read. Now we are the
         * ones waiting, so the write timeout runs instead of the header timeout. */
        c->throttled = 1;
        uv_timer_start(&c->timer, on_write_timeout, SERVER_WRITE_TIMEOUT_MS, 0);
        return;
    }
    start_head(c);
}
/* [/snippet:answer] */

static void on_io_done(uv_timer_t *t)
{
    struct conn *c = t->data;
    c->waiting_io = 0;
    answer(c, 0);
    process(c);
}

static void on_head_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->len == 0) {                  /* an idle keep-alive connection: just close */
        conn_close(c);
        return;
    }
    c->req = (struct http_request){ .status = 408, .head_len = 0 };   /* slowloris */
    answer(c, 0);
    update_reading(c);
}

/* [snippet:process] */
/* Answer every complete request in the buffer, unless one of them must wait. */
static void process(struct conn *c)
{
    while (!c->closing && !c->finishing && !c->waiting_io && !c->throttled && c->in &&
           http_parse(&c->parser, c->in->data, c->len, &c->req)) {
        uv_timer_stop(&c->timer);       /* the head is complete: no header timeout */
        atomic_fetch_add(&server_stats->requests, 1);
        if (c->req.status == 0 && c->req.route == HTTP_IO) {
            /* Simulated IO: a timer, and the loop is free for everyone else meanwhile. */
            c->waiting_io = 1;
            uv_timer_start(&c->timer, on_io_done, (uint64_t)c->req.arg, 0);
        } else if (c->req.status == 0 && c->req.route == HTTP_CPU) {
            answer(c, http_cpu_work(c->req.arg));   /* computing: nobody else is served */
        } else {
            answer(c, 0);
        }
    }
    update_reading(c);
    give_buf(c);                        /* idle again: the buffer goes back to the loop */
}
/* [/snippet:process] */

static void on_listen_readable(uv_poll_t *p, int status, int events);

static void on_pause_over(uv_timer_t *t)
{
    struct uv_service *s = t->loop->data;
    uv_check("uv_poll_start", uv_poll_start(&s->listener, UV_READABLE, on_listen_readable));
}

/* [snippet:accept] */
/* The listening socket is readable: take the waiting connections (a batch at most, so the
 * connections this loop already serves are not kept waiting), each one a new struct conn. */
static void on_listen_readable(uv_poll_t *p, int status, int events)
{
    (void)status, (void)events;
    struct uv_service *s = p->loop->data;
    for (int i = 0; i < 64; i++) {
        int fd = server_accept(s->listen_fd);
        if (fd == -2) {
            /* Out of descriptors, and the spare could not help (another loop of this
             * process took the freed slot first; that loop answers its client 503 and
             * puts the spare back). Do not spin on a socket that stays readable: stop
             * watching it for a moment; clients wait in the backlog. */
            uv_poll_stop(&s->listener);
            uv_timer_start(&s->pause, on_pause_over, SERVER_EMFILE_PAUSE_MS, 0);
            return;
        }
        if (fd < 0)
            return;                     /* nothing more to take now */
        struct conn *c = xcalloc(1, sizeof *c);
        c->svc = s;
        CHECK(uv_tcp_init(p->loop, &c->tcp) == 0);
        CHECK(uv_timer_init(p->loop, &c->timer) == 0);
        c->tcp.data = c->timer.data = c;
        c->open_handles = 2;
        if (uv_tcp_open(&c->tcp, fd) < 0) {
            close(fd);
            conn_close(c);
            continue;
        }
        uv_tcp_nodelay(&c->tcp, 1);
        start_head(c);
        update_reading(c);
    }
}
/* [/snippet:accept] */

static void on_stop_async(uv_async_t *a)
{
    uvs_stop(a->loop->data);
}

void uvs_init(struct uv_service *s, const struct server_opts *o, int listen_fd)
{
    s->o = o;
    s->free_bufs = NULL;
    s->n_free_bufs = 0;
    uv_check("uv_loop_init", uv_loop_init(&s->loop));
    s->loop.data = s;
    s->listen_fd = listen_fd;
    uv_check("uv_poll_init", uv_poll_init(&s->loop, &s->listener, listen_fd));
    uv_check("uv_poll_start", uv_poll_start(&s->listener, UV_READABLE, on_listen_readable));
    uv_check("uv_timer_init", uv_timer_init(&s->loop, &s->pause));
    uv_check("uv_async_init", uv_async_init(&s->loop, &s->stop_async, on_stop_async));
    /* libuv opens a spare descriptor of its own with a loop's first TCP handle. Open it
     * now, so that the descriptor count is steady from the start (the test compares it). */
    uv_check("uv_tcp_init", uv_tcp_init(&s->loop, &s->first));
    uv_close((uv_handle_t *)&s->first, NULL);
    /* data != NULL marks a connection's handles; these are the service's own. */
    s->listener.data = s->pause.data = s->stop_async.data = NULL;
}

static void close_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h->data)
        conn_close(h->data);
    else
        uv_close(h, NULL);
}

void uvs_stop(struct uv_service *s)
{
    uv_walk(&s->loop, close_one, NULL);
}

void uvs_stop_async(struct uv_service *s)
{
    uv_check("uv_async_send", uv_async_send(&s->stop_async));
}

void uvs_run(struct uv_service *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(&s->loop);
    if (err < 0)
        die_msg("uv_loop_close: %s (a handle was left open)", uv_strerror(err));
    while (s->free_bufs) {
        union inbuf *b = s->free_bufs;
        s->free_bufs = b->next;
        free(b);
    }
    s->n_free_bufs = 0;
}
