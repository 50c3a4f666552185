/* server_uv.c - the HTTP service on one thread: a libuv event loop
 *
 * Usage:    server_uv [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  one thread, one loop, any number of connections. `curl 'localhost:8080/io?ms=1000'`
 *           in two terminals at once: both answer after about one second, because waiting
 *           for IO is a timer and the thread serves others meanwhile. Now /cpu?us=1000000
 *           twice: the second waits for the first - computing blocks the whole loop.
 * Costs:    per idle connection a small struct with two libuv handles (its 16 KiB input
 *           buffer is lent by the loop only while a request is read); no stack, no switch
 *           between connections (the thread only sleeps when there is nothing at all to do).
 *           One core at most, and one slow callback delays everyone: /cpu is capped at 2 s
 *           (HTTP_CPU_MAX_US) for that reason. No isolation: a crash takes down every
 *           connection.
 * Wins:     many connections that mostly wait (keep-alive, slow IO): memory per connection
 *           stays small and nothing is scheduled that has nothing to do (nginx, Redis, Node).
 * Try:      server_uv --port 0   (the kernel picks a port; the first line says which)
 *           build/bin/measure -- build/bin/server_uv while wrk runs: cores used stays <= 1.
 * Python:   docs/seeds.md#seed-000, nginx's single-process event model (asyncio in Python)
 * Reading:  this file is the whole model, in the order a connection meets it:
 *   accept    -> the listening socket is readable: on_listen_readable() takes the waiting
 *                connections with server_accept(), each one a small struct conn;
 *   alloc     -> bytes arrived: the connection takes a buffer from the loop's free list (or
 *                a new one); it gives it back when the buffer is empty and no request is
 *                in flight (nginx does the same);
 *   read      -> http_parse() in process(); a complete request is answered at once (/,
 *                /cpu, errors) or after a uv timer (/io?ms=N: the loop serves others);
 *   answer    -> the reply is queued with uv_write(); when more than UVS_WRITE_QUEUE_MAX
 *                bytes wait for a slow reader, the connection stops reading (and so stops
 *                producing replies) until the queue drains below half of that;
 *   timer     -> the header timeout (a partial head gets 408, an idle one is closed), the
 *                /io wait, and the last moments of a closing connection (one timer, since
 *                a connection is only ever waiting for one of them);
 *   close     -> EOF or an error: the connection is closed and freed; a pending /io timer
 *                goes with it.
 *           Then the service (uvs_init, uvs_run, uvs_stop) and main(). server_uv_multi
 *           links the same code (built without main(), see server_uv.h) to run one loop
 *           per thread.
 * See also: docs/async/servers.md, docs/async/server_uv.md, lib/http.c (the protocol),
 *           demos/async/service.c (flags, listening, accepting)
 */
#include "core.h"
#include "http.h"
#include "server_uv.h"
#include "service.h"
#include "uvcheck.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UVS_WRITE_QUEUE_MAX (64 * 1024)
#define UVS_FREE_BUFS 16                /* idle input buffers a loop keeps for reuse */

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
    struct uvs_service *svc;
    struct http_parser parser;
    struct http_request req;        /* the request being answered */
    union inbuf *in;                /* NULL while idle */
    size_t len;                     /* bytes in in->data */
    int open_handles;
    unsigned reading : 1, waiting_io : 1, throttled : 1, finishing : 1, closing : 1;
};

/* A reply on its way out: it must live until libuv says it was written. */
struct reply {
    uv_write_t req;
    char data[HTTP_REPLY_MAX];
};

/* The callbacks call each other in both directions (a write that drains the queue starts
 * the next read, a timer answers); declared here so the file can follow a connection. */
static void on_listen_readable(uv_poll_t *p, int status, int events);
static void on_pause_over(uv_timer_t *t);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void process(struct conn *c);
static void answer(struct conn *c, uint64_t extra);
static void on_write(uv_write_t *req, int status);
static void start_head(struct conn *c);
static void update_reading(struct conn *c);
static void on_head_timeout(uv_timer_t *t);
static void on_io_done(uv_timer_t *t);
static void on_write_timeout(uv_timer_t *t);
static void on_linger_done(uv_timer_t *t);
static void on_shutdown(uv_shutdown_t *req, int status);
static void conn_close(struct conn *c);
static void on_closed(uv_handle_t *h);
static void give_buf(struct conn *c);

/* ---- accept: a new connection joins the loop ------------------------------------------- */

/* The listening socket is watched with a uv_poll_t and accepted with server_accept(), the
 * same call (and the same spare-descriptor answer to EMFILE: a 503) as the blocking servers.
 * Not uv_listen(): libuv's own EMFILE handling keeps a spare per loop, and with several
 * loops in one process (server_uv_multi) another loop can take the freed slot, after which
 * libuv 1.44 retries accept() in a loop that never returns to the event loop - a busy loop.
 * Here, when the spare cannot help, the loop stops watching the listener for
 * SERVER_EMFILE_PAUSE_MS and serves its connections. */

/* [snippet:accept] */
/* The listening socket is readable: take the waiting connections (a batch at most, so the
 * connections this loop already serves are not kept waiting), each one a new struct conn. */
static void on_listen_readable(uv_poll_t *p, int status, int events)
{
    (void)status, (void)events;
    struct uvs_service *s = p->loop->data;
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
        check_uv("uv_tcp_init", uv_tcp_init(p->loop, &c->tcp));
        check_uv("uv_timer_init", uv_timer_init(p->loop, &c->timer));
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

/* The pause after EMFILE is over: watch the listening socket again. */
static void on_pause_over(uv_timer_t *t)
{
    struct uvs_service *s = t->loop->data;
    check_uv("uv_poll_start", uv_poll_start(&s->listener, UV_READABLE, on_listen_readable));
}

/* ---- alloc and read: bytes arrive ------------------------------------------------------ */

/* [snippet:inbuf] */
/* Bytes arrived for c (libuv's alloc callback runs just before the read): take a buffer
 * from the loop's free list, or a new one. malloc, not calloc: the pages of a buffer are
 * touched only as far as data is written into them. */
static void take_buf(struct conn *c)
{
    struct uvs_service *s = c->svc;
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
    struct uvs_service *s = c->svc;
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
        check_uv("uv_read_start", uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read));
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = (unsigned)want;
}

/* ---- process: every complete request in the buffer ------------------------------------ */

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

/* ---- answer and write: the reply goes out --------------------------------------------- */

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

/* Wait for the next request: a fresh parse and the header timeout from now. */
static void start_head(struct conn *c)
{
    http_parser_reset(&c->parser);
    if (c->svc->o->header_timeout_ms > 0)
        uv_timer_start(&c->timer, on_head_timeout, (uint64_t)c->svc->o->header_timeout_ms, 0);
}

/* ---- timers: header timeout, /io, slow reader, linger ---------------------------------- */

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

static void on_io_done(uv_timer_t *t)
{
    struct conn *c = t->data;
    c->waiting_io = 0;
    answer(c, 0);
    process(c);
}

static void on_write_timeout(uv_timer_t *t)
{
    conn_close(t->data);                /* it read nothing for SERVER_WRITE_TIMEOUT_MS */
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

/* ---- close: both handles closed, then the connection is freed ------------------------- */

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;     /* closing the TCP handle cancels its writes; their callbacks run first */
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles == 0) {
        give_buf(c);
        free(c);
        atomic_fetch_add(&server_stats->closed, 1);
    }
}

/* ---- the service: one loop, its listener, and how it stops ---------------------------- */

static void on_stop_async(uv_async_t *a)
{
    uvs_stop(a->loop->data);
}

void uvs_init(struct uvs_service *s, const struct server_opts *o, int listen_fd)
{
    s->o = o;
    s->free_bufs = NULL;
    s->n_free_bufs = 0;
    check_uv("uv_loop_init", uv_loop_init(&s->loop));
    s->loop.data = s;
    s->listen_fd = listen_fd;
    check_uv("uv_poll_init", uv_poll_init(&s->loop, &s->listener, listen_fd));
    check_uv("uv_poll_start", uv_poll_start(&s->listener, UV_READABLE, on_listen_readable));
    check_uv("uv_timer_init", uv_timer_init(&s->loop, &s->pause));
    check_uv("uv_async_init", uv_async_init(&s->loop, &s->stop_async, on_stop_async));
    /* libuv opens a spare descriptor of its own with a loop's first TCP handle. Open it
     * now, so that the descriptor count is steady from the start (the test compares it). */
    check_uv("uv_tcp_init", uv_tcp_init(&s->loop, &s->first));
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

void uvs_stop(struct uvs_service *s)
{
    uv_walk(&s->loop, close_one, NULL);
}

void uvs_stop_async(struct uvs_service *s)
{
    check_uv("uv_async_send", uv_async_send(&s->stop_async));
}

void uvs_run(struct uvs_service *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    int err = uv_loop_close(&s->loop);
    if (err < 0)
        die_uv("uv_loop_close (a handle was left open)", err);
    while (s->free_bufs) {
        union inbuf *b = s->free_bufs;
        s->free_bufs = b->next;
        free(b);
    }
    s->n_free_bufs = 0;
}

/* ---- the program: one loop on the main thread ------------------------------------------ */

/* server_uv_multi compiles this file with SERVER_UV_NO_MAIN: the loop above, its own main. */
#ifndef SERVER_UV_NO_MAIN

static const char usage_text[] =
    "server_uv - the HTTP service on one libuv event loop (one thread)\n"
    "\n"
    "Usage: server_uv [--port P] [--bind ADDR] [--header-timeout MS]\n"
    SERVER_FLAGS_HELP;

/* SIGINT and SIGTERM arrive as loop callbacks too (libuv turns them into events on a
 * pipe), so stopping is just one more callback: close everything, and uv_run() returns. */
static void on_signal(uv_signal_t *sig, int signum)
{
    printf("signal %d: closing every connection\n", signum);
    uvs_stop(sig->loop->data);
}

int main(int argc, char **argv)
{
    struct server_opts o;
    server_parse_args(argc, argv, &o, usage_text, 0);
    server_init();
    int port, fd = server_listen(&o, o.port, 0, &port);

    /* [snippet:main] */
    struct uvs_service svc;
    uvs_init(&svc, &o, fd);                 /* the listener joins the loop */
    uv_signal_t sigint, sigterm;
    check_uv("uv_signal_init", uv_signal_init(&svc.loop, &sigint));
    check_uv("uv_signal_init", uv_signal_init(&svc.loop, &sigterm));
    check_uv("uv_signal_start", uv_signal_start(&sigint, on_signal, SIGINT));
    check_uv("uv_signal_start", uv_signal_start(&sigterm, on_signal, SIGTERM));
    sigint.data = sigterm.data = NULL;      /* not connections: closed plainly at the end */
    server_announce(&o, port, "one libuv loop");
    uvs_run(&svc);                          /* every connection, timer and signal: here */
    /* [/snippet:main] */

    server_print_stats();
    uv_library_shutdown();
    return EXIT_SUCCESS;
}

#endif
