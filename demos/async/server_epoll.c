/* server_epoll.c - the HTTP service on one thread with raw epoll: what libuv does underneath
 *
 * Usage:    server_epoll [--workers N] [--drain short|eagain|once] [--port P] [--bind ADDR]
 *                        [--header-timeout MS]
 * Observe:  the same service as server_uv, with the loop written out by hand. epoll is a
 *           *readiness* interface: the kernel says "this socket may be read now", and the
 *           program then makes the read() itself (io_uring, in server_uring, is a
 *           *completion* interface: "your read is done, here are the bytes"). Every
 *           connection is registered once, edge-triggered (EPOLLET): the kernel reports a
 *           socket when new bytes arrive, not for as long as unread bytes remain (that is
 *           level-triggered, epoll's default and poll()'s only mode). So after an edge the
 *           program must read until the socket is empty; whatever it leaves behind no later
 *           event will announce. The listening socket stays level-triggered: it is read a
 *           batch at a time and reported again while clients still wait.
 * Drain:    how the program knows the socket is empty. --drain short (the default, nginx's
 *           rule): a read that came back short of the room it offered took everything
 *           there was (a stream socket hands over all it holds, up to the room), so stop;
 *           a read that filled the room must be followed by another. Unless the peer has
 *           shut its side (EPOLLRDHUP): then read on, to meet the end of file. --drain
 *           eagain reads until read() says EAGAIN: also correct, and one extra read() per
 *           request that comes back empty (strace -c counts it). --drain once is
 *           the lesson's bug: one read per event, trusted whatever it returned. It loses
 *           when a read exactly fills the buffer's free space: the rest stays in the
 *           kernel, no new edge comes until the client sends more, and a client that
 *           pipelined more than a buffer of requests waits for replies that never come
 *           (until the header timeout closes it). tests/test_server_epoll.py shows all three.
 * Costs:    what server_uv costs: one core, and one slow callback (/cpu) stalls everyone.
 *           Reading until the socket is empty lets one client that keeps sending hold the
 *           loop; the read loop stops after EPOLL_READS_MAX reads so that the others get
 *           their turn.
 * Try:      server_epoll --port 0; strace -c -f -p PID under wrk (epoll_wait, read, write
 *           per request: the syscalls bench counts them); --drain eagain vs short.
 *           server_epoll --workers 2: two loops on one SO_REUSEPORT port, one thread each.
 * Python:   docs/seeds.md#seed-000, asyncio's selector event loop (selectors.EpollSelector)
 * Reading:  the same order as server_uv.c, which this file sits beside:
 *   accept    -> on_listen(): server_accept(), each connection a struct conn, EPOLLIN|EPOLLET;
 *   read      -> conn_read(): recv() into the input buffer until a short read (taken while a
 *                request is read, given back when idle, as server_uv does);
 *   process   -> http_parse(); answered at once (/, /cpu, errors) or after a timer (/io);
 *   answer    -> send() now; only what the socket did not take is queued, and only then is
 *                EPOLLOUT armed; over EPOLL_QUEUE_MAX queued the connection stops reading;
 *   timer     -> one deadline per connection (header timeout, /io, slow reader, linger) in
 *                a binary heap; epoll_wait()'s timeout is the nearest of them;
 *   close     -> close(fd) removes it from epoll; the struct is freed at the end of the
 *                loop's round, so no event or timer still in hand points to freed memory.
 * See also: docs/async/server_epoll.md, demos/async/server_uv.c, epoll(7), lib/http.c
 */
#include "core.h"
#include "http.h"
#include "lifecycle.h"
#include "service.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define EPOLL_QUEUE_MAX (64 * 1024)     /* queued reply bytes before a slow reader throttles */
#define EPOLL_READS_MAX 16              /* reads per event before others get their turn */
#define EPOLL_EVENTS 256
#define EPOLL_SPARE_BUFS 16             /* idle input buffers a loop keeps for reuse */

enum timer { T_NONE, T_HEAD, T_IO, T_WRITE, T_LINGER };

struct conn {
    int fd;
    struct loop *loop;
    struct conn *prev, *next;       /* every open connection, to close them all at the end */
    struct http_parser parser;
    struct http_request req;
    char *in;                       /* HTTP_BUF_SIZE bytes while a request is read; else NULL */
    size_t len;
    char *out;                      /* reply bytes the socket has not taken yet */
    size_t out_len, out_off;
    enum timer timer;               /* one deadline at a time, as in server_uv */
    int64_t deadline_ms;
    size_t heap_i;
    struct conn *more_next;         /* on the loop's list of connections with more to read */
    unsigned waiting_io : 1, throttled : 1, finishing : 1, closing : 1, epollout : 1, in_more : 1;
    unsigned peer_shut : 1;         /* EPOLLRDHUP seen: the end of file is still to be read */
};

enum drain { DRAIN_SHORT, DRAIN_EAGAIN, DRAIN_ONCE };   /* --drain, in the order of names[] */

struct loop {
    int ep, listen_fd, stop_fd;     /* stop_fd: a signalfd (one loop) or an eventfd */
    const struct server_opts *o;
    enum drain drain;
    struct conn *conns, *dead;      /* open connections; closed ones, freed after the round */
    struct conn *more;              /* read EPOLL_READS_MAX times: to read again next round */
    struct conn **heap;             /* timers: heap[0] has the nearest deadline */
    size_t n_heap, cap_heap;
    int64_t pause_until_ms;         /* accepting paused after EMFILE (0: not paused) */
    char *spare[EPOLL_SPARE_BUFS];  /* input buffers no connection holds now */
    int n_spare;
    pthread_t thread;
};

static void process(struct conn *c);
static void conn_read(struct conn *c);
static void conn_close(struct conn *c);

static int64_t now_ms(void)
{
    return now_ns() / 1000000;
}

/* ---- timers: a binary min-heap of deadlines, one per connection ------------------------ */

static void heap_swap(struct loop *l, size_t a, size_t b)
{
    struct conn *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_i = a;
    l->heap[b]->heap_i = b;
}

/* Move entry i up or down until its parent is earlier and its children later. */
static void heap_fix(struct loop *l, size_t i)
{
    while (i > 0 && l->heap[(i - 1) / 2]->deadline_ms > l->heap[i]->deadline_ms) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        if (a < l->n_heap && l->heap[a]->deadline_ms < l->heap[m]->deadline_ms)
            m = a;
        if (b < l->n_heap && l->heap[b]->deadline_ms < l->heap[m]->deadline_ms)
            m = b;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

static void timer_stop(struct conn *c)
{
    struct loop *l = c->loop;
    if (c->timer == T_NONE)
        return;
    size_t i = c->heap_i;
    c->timer = T_NONE;
    heap_swap(l, i, --l->n_heap);
    if (i < l->n_heap)
        heap_fix(l, i);
}

static void timer_start(struct conn *c, enum timer kind, int64_t ms)
{
    struct loop *l = c->loop;
    timer_stop(c);
    if (l->n_heap == l->cap_heap) {
        l->cap_heap = l->cap_heap ? 2 * l->cap_heap : 64;
        l->heap = realloc(l->heap, l->cap_heap * sizeof *l->heap);
        if (!l->heap)
            die_errno("realloc");
    }
    c->timer = kind;
    c->deadline_ms = now_ms() + ms;
    c->heap_i = l->n_heap;
    l->heap[l->n_heap++] = c;
    heap_fix(l, c->heap_i);
}

/* ---- accept: a new connection joins the epoll set ------------------------------------- */

static void watch(struct conn *c, int op, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = c };
    if (epoll_ctl(c->loop->ep, op, c->fd, &ev) == -1)
        die_errno("epoll_ctl");
}

/* Wait for the next request: a fresh parse and the header timeout from now. */
static void start_head(struct conn *c)
{
    http_parser_reset(&c->parser);
    if (c->loop->o->header_timeout_ms > 0)
        timer_start(c, T_HEAD, c->loop->o->header_timeout_ms);
}

/* [snippet:accept] */
/* The listener is level-triggered: take a batch, and epoll reports it again if more wait. */
static void on_listen(struct loop *l)
{
    for (int i = 0; i < 64; i++) {
        int fd = server_accept(l->listen_fd);
        if (fd == -2) {     /* out of descriptors, spare taken: stop watching it a moment */
            if (epoll_ctl(l->ep, EPOLL_CTL_DEL, l->listen_fd, NULL) == -1)
                die_errno("epoll_ctl");
            l->pause_until_ms = now_ms() + SERVER_EMFILE_PAUSE_MS;
            return;
        }
        if (fd < 0)
            return;
        struct conn *c = xcalloc(1, sizeof *c);
        *c = (struct conn){ .fd = fd, .loop = l, .next = l->conns };
        if (l->conns)
            l->conns->prev = c;
        l->conns = c;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        watch(c, EPOLL_CTL_ADD, EPOLLIN | EPOLLRDHUP | EPOLLET);    /* once, for good */
        start_head(c);
        conn_read(c);       /* bytes that came with the connection made no edge of their own */
    }
}
/* [/snippet:accept] */

/* ---- read: until the socket is empty, because an edge is reported once ---------------- */

/* Give the input buffer back once nothing in it is needed: an idle connection holds none.
 * The loop keeps a few for the next connection that receives bytes (as server_uv does). */
static void give_buf(struct conn *c)
{
    struct loop *l = c->loop;
    if (!c->in || !(c->closing || c->finishing || (c->len == 0 && !c->waiting_io)))
        return;
    if (l->n_spare < EPOLL_SPARE_BUFS)
        l->spare[l->n_spare++] = c->in;
    else
        free(c->in);
    c->in = NULL;
    c->len = 0;
}

/* [snippet:read] */
static void conn_read(struct conn *c)
{
    for (int reads = 0; reads < EPOLL_READS_MAX; reads++) {
        if (c->closing || (!c->finishing && (c->waiting_io || c->throttled)))
            return;         /* not now: whoever clears the flag calls conn_read() again */
        char sink[4096];    /* a finishing connection's input is read and dropped */
        if (!c->finishing && !c->in)
            c->in = c->loop->n_spare ? c->loop->spare[--c->loop->n_spare]
                                     : xmalloc(HTTP_BUF_SIZE);
        char *to = c->finishing ? sink : c->in + c->len;
        size_t room = c->finishing ? sizeof sink : HTTP_BUF_SIZE - c->len;
        ssize_t n = recv(c->fd, to, room, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            give_buf(c);    /* drained: the next edge brings more */
            return;
        }
        if (n <= 0) {       /* EOF, or the client vanished (ECONNRESET) */
            conn_close(c);
            return;
        }
        /* Short of the room offered: the socket had no more, and new bytes make a new
         * edge. Not so once the peer has shut its side: the end of file makes no edge. */
        int drained = c->loop->drain == DRAIN_SHORT && (size_t)n < room && !c->peer_shut;
        if (c->finishing) {
            if (drained)
                return;
            continue;
        }
        c->len += (size_t)n;
        process(c);
        if (drained || c->loop->drain == DRAIN_ONCE)
            return;         /* --drain once: trusts even a read that filled the room */
    }
    /* Maybe more to read, and no edge will say so: the loop must come back to it itself,
     * after this round's other events (so that one busy client cannot hold the loop). */
    if (!c->in_more) {
        c->in_more = 1;
        c->more_next = c->loop->more;
        c->loop->more = c;
    }
}
/* [/snippet:read] */

/* ---- process: every complete request in the buffer ------------------------------------ */

static void answer(struct conn *c, uint64_t extra);

/* [snippet:process] */
static void process(struct conn *c)
{
    while (!c->closing && !c->finishing && !c->waiting_io && !c->throttled && c->in &&
           http_parse(&c->parser, c->in, c->len, &c->req)) {
        timer_stop(c);                  /* the head is complete: no header timeout */
        atomic_fetch_add(&server_stats->requests, 1);
        if (c->req.status == 0 && c->req.route == HTTP_IO) {
            c->waiting_io = 1;          /* a deadline in the heap; the loop serves others */
            timer_start(c, T_IO, c->req.arg);
        } else if (c->req.status == 0 && c->req.route == HTTP_CPU) {
            answer(c, http_cpu_work(c->req.arg));   /* computing: nobody else is served */
        } else {
            answer(c, 0);
        }
    }
    give_buf(c);
}
/* [/snippet:process] */

/* ---- answer and write: send now, queue only what the socket did not take --------------- */

/* Send what is queued. Returns 0 when the connection was closed. EPOLLOUT is armed only
 * while bytes wait: a socket is writable nearly always, and an armed EPOLLOUT would
 * report it at every edge for nothing. */
static int flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            break;
        if (n == -1) {
            conn_close(c);              /* EPIPE, ECONNRESET: the client is gone */
            return 0;
        }
        c->out_off += (size_t)n;
    }
    int waiting = c->out_off < c->out_len;
    if (!waiting) {
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
        if (c->finishing && shutdown(c->fd, SHUT_WR) == -1) {
            conn_close(c);
            return 0;
        }
    }
    if (waiting != c->epollout) {
        c->epollout = (unsigned)waiting;
        watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP | EPOLLET | (waiting ? EPOLLOUT : 0));
    }
    return 1;
}

/* Send the reply now if nothing is queued (the usual case: no copy, no allocation);
 * queue what the socket did not take behind what already waits. */
static int send_reply(struct conn *c, const char *data, size_t n)
{
    size_t left = c->out_len - c->out_off;
    while (left == 0 && n > 0) {
        ssize_t k = send(c->fd, data, n, MSG_NOSIGNAL);
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1)
            break;                      /* EAGAIN: queue it; an error: flush() says so */
        data += k;
        n -= (size_t)k;
    }
    if (n == 0)
        return flush(c);                /* nothing to queue; flush() does what ends a reply */
    char *out = xmalloc(left + n);
    if (left)
        memcpy(out, c->out + c->out_off, left);
    memcpy(out + left, data, n);
    free(c->out);
    c->out = out;
    c->out_off = 0;
    c->out_len = left + n;
    return flush(c);
}

/* [snippet:answer] */
static void answer(struct conn *c, uint64_t extra)
{
    char reply[HTTP_REPLY_MAX];
    size_t n = http_reply(&c->req, c->loop->o->name, extra, reply);
    c->len -= c->req.head_len;          /* keep what came after: a pipelined request */
    if (c->in)
        memmove(c->in, c->in + c->req.head_len, c->len);
    if (!c->req.keep_alive) {
        /* Close politely: FIN after the reply, drain input for a moment, then close. */
        c->finishing = 1;
        give_buf(c);
        timer_start(c, T_LINGER, SERVER_LINGER_MS);
    }
    if (!send_reply(c, reply, n) || c->finishing)
        return;
    if (c->out_len - c->out_off > EPOLL_QUEUE_MAX) {
        /* A slow reader: take no more of its requests until it has read. */
        c->throttled = 1;
        timer_start(c, T_WRITE, SERVER_WRITE_TIMEOUT_MS);
        return;
    }
    start_head(c);
}
/* [/snippet:answer] */

/* The socket is writable again (EPOLLOUT was armed): send the rest; a throttled reader
 * that has taken enough gets its requests read again. */
static void on_writable(struct conn *c)
{
    if (!flush(c) || !c->throttled || c->out_len - c->out_off > EPOLL_QUEUE_MAX / 2)
        return;
    c->throttled = 0;
    start_head(c);
    process(c);                         /* requests may be waiting in the buffer already */
    conn_read(c);                       /* and in the kernel: no edge will say so */
}

/* ---- timers: header timeout, /io, slow reader, linger ---------------------------------- */

static void on_timer(struct conn *c)
{
    enum timer kind = c->timer;
    timer_stop(c);
    if (kind == T_IO) {
        c->waiting_io = 0;
        answer(c, 0);
        process(c);
        conn_read(c);                   /* bytes may have arrived meanwhile, unannounced */
    } else if (kind == T_HEAD && c->len > 0) {
        c->req = (struct http_request){ .status = 408, .head_len = c->len };   /* slowloris */
        answer(c, 0);
    } else {
        conn_close(c);  /* idle keep-alive, slow reader (SERVER_WRITE_TIMEOUT_MS), linger */
    }
}

/* ---- close: the descriptor now, the struct after the round ---------------------------- */

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    timer_stop(c);
    close(c->fd);                       /* also removes it from the epoll set */
    give_buf(c);
    free(c->out);
    c->out = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->loop->dead;
    c->loop->dead = c;
    atomic_fetch_add(&server_stats->closed, 1);
}

/* ---- the loop: wait for events or the nearest deadline, then handle them -------------- */

/* How long epoll_wait() may sleep: until the nearest deadline, or forever (-1). */
static int wait_ms(struct loop *l)
{
    int64_t next = l->n_heap ? l->heap[0]->deadline_ms : -1;
    if (l->pause_until_ms && (next < 0 || l->pause_until_ms < next))
        next = l->pause_until_ms;
    if (l->more)
        return 0;
    return next < 0 ? -1 : (int)(next > now_ms() ? next - now_ms() : 0);
}

/* What is due now: expired deadlines, the end of an EMFILE pause, reads left over. */
static void run_due(struct loop *l)
{
    struct conn *more = l->more;
    l->more = NULL;
    for (struct conn *c = more, *next; c; c = next) {
        next = c->more_next;
        c->in_more = 0;
        conn_read(c);
    }
    int64_t now = now_ms();
    while (l->n_heap && l->heap[0]->deadline_ms <= now)
        on_timer(l->heap[0]);
    if (l->pause_until_ms && l->pause_until_ms <= now) {
        l->pause_until_ms = 0;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->listen_fd, &ev) == -1)
            die_errno("epoll_ctl");
    }
    while (l->dead && !l->dead->in_more) {      /* a struct still listed waits a round */
        struct conn *c = l->dead;
        l->dead = c->next;
        free(c);
    }
}

/* [snippet:loop] */
/* One loop until stop_fd becomes readable; then every connection is closed. */
static void *loop_run(void *arg)
{
    struct loop *l = arg;
    struct epoll_event ev[EPOLL_EVENTS];
    for (;;) {
        int n = epoll_wait(l->ep, ev, EPOLL_EVENTS, wait_ms(l));
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = ev[i].data.ptr;
            if (c == NULL)
                on_listen(l);
            else if (c == (struct conn *)l)
                goto stop;
            else if (ev[i].events & (EPOLLERR | EPOLLHUP))
                conn_close(c);
            else if (!c->closing && (ev[i].events & EPOLLOUT))
                on_writable(c);
            if (c && c != (struct conn *)l && (ev[i].events & EPOLLRDHUP))
                c->peer_shut = 1;       /* its last bytes may come back short: read on */
            if (c && c != (struct conn *)l && (ev[i].events & (EPOLLIN | EPOLLRDHUP)))
                conn_read(c);           /* a closed one returns at once */
        }
        run_due(l);
    }
stop:
    while (l->conns)
        conn_close(l->conns);
    l->more = NULL;
    for (struct conn *c = l->dead; c; c = l->dead) {
        l->dead = c->next;
        free(c);
    }
    while (l->n_spare)
        free(l->spare[--l->n_spare]);
    free(l->heap);
    close(l->ep);
    return NULL;
}
/* [/snippet:loop] */

static void loop_init(struct loop *l, const struct server_opts *o, int listen_fd, int stop_fd,
                      enum drain drain)
{
    *l = (struct loop){ .listen_fd = listen_fd, .stop_fd = stop_fd, .o = o, .drain = drain };
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep == -1)
        die_errno("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };   /* level-triggered */
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, listen_fd, &ev) == -1)
        die_errno("epoll_ctl");
    ev.data.ptr = l;                    /* the stop descriptor: marked by the loop itself */
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, stop_fd, &ev) == -1)
        die_errno("epoll_ctl");
}

/* ---- the program: one loop on the main thread, or N on threads ------------------------ */

static const char usage_text[] =
    "server_epoll - the HTTP service on raw epoll, edge-triggered (one thread per loop)\n"
    "\n"
    "Usage: server_epoll [--workers N] [--drain short|eagain|once] [--port P] [--bind ADDR]\n"
    "                    [--header-timeout MS]\n"
    "  --workers N         event loops, one thread each, on one SO_REUSEPORT port\n"
    "                      (the issue's --threads N; default 1: the main thread)\n"
    "  --drain HOW         short (default): read until a read comes back short of the\n"
    "                      room offered; eagain: until EAGAIN (one more, empty, read);\n"
    "                      once: one read per event (the bug: a read that fills the\n"
    "                      buffer strands the rest)\n"
    SERVER_FLAGS_HELP;

static const char *const drain_names[] = { "short", "eagain", "once", NULL };

/* Take --drain out of argv (server_parse_args knows only the common flags). */
static enum drain take_drain(int *argc, char **argv)
{
    int drain = 0, k = 1;
    prog_init(argv[0]);
    for (int i = 1; i < *argc; i++) {
        if (strncmp(argv[i], "--drain=", 8) == 0)
            drain = parse_choice("--drain", argv[i] + 8, drain_names);
        else if (strcmp(argv[i], "--drain") == 0 && i + 1 < *argc)
            drain = parse_choice("--drain", argv[++i], drain_names);
        else
            argv[k++] = argv[i];
    }
    *argc = k;
    argv[k] = NULL;
    return (enum drain)drain;
}

int main(int argc, char **argv)
{
    enum drain drain = take_drain(&argc, argv);
    struct server_opts o;
    server_parse_args(argc, argv, &o, usage_text, 1);
    server_init();
    /* SIGINT/SIGTERM blocked in every thread, read from a signalfd. With one loop the
     * signalfd is that loop's stop descriptor; with several, the main thread waits on it
     * and wakes each loop through its eventfd. */
    int sig_fd = server_signalfd(0);
    struct loop *loops = xcalloc((size_t)o.workers, sizeof *loops);
    int port = o.port;
    for (int i = 0; i < o.workers; i++) {
        int stop_fd = o.workers == 1 ? sig_fd : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (stop_fd == -1)
            die_errno("eventfd");
        loop_init(&loops[i], &o, server_listen(&o, port, o.workers > 1, &port), stop_fd,
                  drain);
    }
    for (int i = 0; o.workers > 1 && i < o.workers; i++) {
        xpthread_create(&loops[i].thread, NULL, loop_run, &loops[i]);
        pthread_setname_np(loops[i].thread, "epoll-loop");     /* ps -L, top -H show it */
    }
    char model[96];
    snprintf(model, sizeof model, "%d epoll loop%s, edge-triggered, drain %s", o.workers,
             o.workers > 1 ? "s, one per thread" : "", drain_names[drain]);
    server_announce(&o, port, model);
    if (o.workers == 1) {
        loop_run(&loops[0]);            /* until the signalfd, its stop descriptor, fires */
        printf("signal %d: closing every connection\n", server_next_event(-1, sig_fd));
    } else {
        int signo = server_next_event(-1, sig_fd);
        printf("signal %d: stopping %d loops\n", signo, o.workers);
        for (int i = 0; i < o.workers; i++)
            if (eventfd_write(loops[i].stop_fd, 1) == -1)
                die_errno("eventfd_write");
        for (int i = 0; i < o.workers; i++) {
            xpthread_join(loops[i].thread, NULL);
            close(loops[i].stop_fd);
        }
    }
    for (int i = 0; i < o.workers; i++)
        close(loops[i].listen_fd);
    server_print_stats();
    free(loops);
    close(sig_fd);
    return EXIT_SUCCESS;
}
