/* server_uring.c - the HTTP service on io_uring: the kernel does the IO, we reap completions
 *
 * Usage:    server_uring [--workers N] [--ring-flags on|off] [--buf-ring on|off] [--bufs N]
 *                        [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  epoll and libuv ask "may I read now?" (readiness) and then make the read call
 *           themselves: two system calls per step. io_uring takes the read itself: the
 *           program writes a request ("recv into this buffer") into the submission queue
 *           (SQ), a ring of entries shared with the kernel, and later finds the result ("n
 *           bytes are in your buffer") in the completion queue (CQ), a second shared ring.
 *           One io_uring_enter() hands the kernel every request queued since the last one
 *           and waits for at least one completion (io_uring_submit_and_wait), so one
 *           system call carries the reads, writes and timers of many connections. Under
 *           `strace -c -f` the server makes far fewer system calls per request than
 *           server_uv (bench `syscalls` counts them).
 * Model:    one ring per thread (--workers N: N threads, each with its own ring and its own
 *           SO_REUSEPORT listening socket, like server_uv_multi; the issue calls it
 *           --threads). Per connection at most one recv, one send and one timeout are in
 *           flight; each is one submission, and user_data (the connection's address with
 *           the kind of operation in its low bits) says whose completion arrived.
 *             accept   one multishot accept: armed once, a completion per new client
 *                      (kernels before 5.19 refuse it: then one accept, re-armed each time)
 *             recv     into a buffer the kernel picks when bytes arrive (below); the
 *                      bytes are copied to the connection's input buffer, http_parse()
 *             send     the replies; more than URING_WRITE_QUEUE_MAX bytes queued for a
 *                      client that does not read stops its reading until half has gone
 *             timeout  one per connection: the header timeout (idle keep-alive too), the
 *                      /io wait (a timeout operation, not a sleep), the slow reader's
 *                      write timeout, the linger of a closing connection
 *           /cpu computes on the ring's thread: like any event loop, it stalls the others.
 * Ring flags: IORING_SETUP_SINGLE_ISSUER (only this thread submits, so the kernel skips its
 *           locking) and IORING_SETUP_DEFER_TASKRUN (completion work runs when we ask for
 *           completions, in io_uring_enter, instead of interrupting the thread whenever a
 *           packet arrives) - most of io_uring's gain here. Used when the kernel has them
 *           (6.1+); --ring-flags off leaves them out to show their effect.
 * Buffers:  a recv submitted with its own buffer pins that buffer until bytes come, and an
 *           idle keep-alive connection waits in a recv for ever: 16 KiB held per idle
 *           client. So each ring registers a provided-buffer ring (kernel 5.19+): a pool
 *           of buffers (--bufs, default 256) the kernel takes one from only when bytes arrive
 *           (IOSQE_BUFFER_SELECT; the completion names it). The bytes are copied to an
 *           input buffer that the connection holds while a request is read, as server_uv
 *           and server_epoll do, and the buffer goes straight back to the pool: an idle
 *           connection holds none. Where the kernel refuses the pool (or --buf-ring off),
 *           each connection keeps its own buffer; the line on stderr at start says which.
 *           A recv that finds the pool empty completes with -ENOBUFS and is submitted again
 *           (--bufs 1 makes that happen at every burst).
 * Refused:  where io_uring_setup() is refused (a kernel without io_uring, seccomp in a
 *           container, sysctl kernel.io_uring_disabled) the server says why and exits 69
 *           (EX_UNAVAILABLE): the tests count that as skipped, the benches skip its points.
 *           SERVER_URING_FORCE_REFUSED=1 in the environment simulates that (the tests use it).
 * Try:      server_uring --port 0   (the kernel picks a port; the first line says which)
 *           strace -c -f build/bin/server_uring while wrk runs: few io_uring_enter calls;
 *           the same wrk against --ring-flags on and --ring-flags off.
 * See also: docs/async/server_uring.md, demos/async/server_uv.c (the same service on libuv),
 *           demos/async/service.c (flags, listening, the EMFILE spare), lib/http.c
 */
#include "core.h"
#include "http.h"
#include "lifecycle.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define URING_ENTRIES 1024                  /* SQ size; the CQ is twice that */
#define URING_WRITE_QUEUE_MAX (64 * 1024)
#define URING_BUFS 256                      /* provided buffers per ring (--bufs default) */
#define URING_BUF_SIZE 2048                 /* each: more than most request heads (nginx's
                                             * client_header_buffer_size is 1 KiB) */
#define URING_BGID 0                        /* the group id recvs name to take from it */
#define URING_SPARE_BUFS 16                 /* idle input buffers a ring keeps for reuse */
#define URING_REFUSED_EXIT 69               /* EX_UNAVAILABLE: io_uring is refused here */

enum op { OP_IGNORE, OP_ACCEPT, OP_RECV, OP_SEND, OP_TIMER, OP_STOP, OP_PAUSE };
enum timer { T_NONE, T_HEAD, T_IO, T_WRITE, T_LINGER };

struct outbuf {
    char *p;
    size_t len, off, cap;
};

struct conn {
    struct ring *r;
    struct conn *prev, *next;       /* the ring's list, to close them all when stopping */
    int fd;
    struct http_parser parser;
    struct http_request req;
    char *in;                       /* HTTP_BUF_SIZE bytes (provided buffers: only while a
                                     * request is read; NULL when idle) */
    size_t len;                     /* bytes in in[] */
    struct outbuf sending, queued;  /* the one in flight, and what waits behind it */
    enum timer timer;               /* what the deadline is for (T_NONE: nothing) */
    int64_t deadline, armed;        /* when it is due; when the timeout in flight fires */
    struct __kernel_timespec ts_arm, ts_update;     /* read by the kernel at submission */
    unsigned recv_out : 1, send_out : 1, timer_out : 1;     /* operations in flight */
    unsigned waiting_io : 1, throttled : 1, finishing : 1, closing : 1;
};

struct ring {
    struct io_uring ring;
    const struct server_opts *o;
    unsigned setup_flags;
    int listen_fd, stop_fd;
    int multishot, accepting, paused, stopping;
    int provided;                   /* 1: recvs take buffers from br (the kernel has it) */
    struct io_uring_buf_ring *br;   /* the provided buffers' ring, shared with the kernel */
    int nbufs;                      /* how many: --bufs, a power of two */
    char *bufs;                     /* nbufs x URING_BUF_SIZE bytes it hands out */
    char *spare[URING_SPARE_BUFS];  /* input buffers no connection holds now */
    int n_spare;
    long nconns;
    struct conn *conns;
    uint64_t stop_value;
    struct __kernel_timespec pause_ts;
    pthread_t thread;
    pthread_barrier_t *ready;       /* main() announces the port once all rings exist */
    char sink[4096];                /* closing connections' input, read and dropped (own
                                     * buffers; provided ones are dropped as they come) */
};

static void process(struct conn *c);
static void conn_close(struct conn *c);
static void maybe_free(struct conn *c);
static void start_recv(struct conn *c);

/* ---- submissions: an entry in the SQ, tagged with whose it is ------------------------ */

static uint64_t tag(void *p, enum op op)
{
    return (uint64_t)(uintptr_t)p | (uint64_t)op;   /* aligned: the low 3 bits are free */
}

/* The next free SQ entry. When the SQ is full, hand it to the kernel now (no wait). */
static struct io_uring_sqe *sqe_for(struct ring *r, void *owner, enum op op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        int err = io_uring_submit(&r->ring);
        if (err < 0)
            die_code("io_uring_submit", -err);
        sqe = io_uring_get_sqe(&r->ring);
        CHECK(sqe != NULL);
    }
    io_uring_sqe_set_data64(sqe, tag(owner, op));
    return sqe;
}

static struct __kernel_timespec ms_ts(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    return (struct __kernel_timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

/* ---- accept ------------------------------------------------------------------------- */

static void arm_accept(struct ring *r)
{
    if (r->accepting || r->paused || r->stopping)
        return;
    struct io_uring_sqe *sqe = sqe_for(r, r, OP_ACCEPT);
    if (r->multishot)
        io_uring_prep_multishot_accept(sqe, r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    r->accepting = 1;
}

static void start_head(struct conn *c);

static void new_conn(struct ring *r, int fd)
{
    struct conn *c = xcalloc(1, sizeof *c);    /* malloc's alignment frees tag()'s bits */
    c->r = r;
    c->fd = fd;
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->nconns++;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    start_head(c);
    start_recv(c);
    if (r->stopping)
        conn_close(c);      /* accepted in the same batch as the stop: it goes too */
}

/* [snippet:uring-accept] */
/* A completion of the accept: a new client, or why there is none. A multishot accept stays
 * armed while its completions carry IORING_CQE_F_MORE; anything else ends it. */
static void on_accept(struct ring *r, int res, unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE))
        r->accepting = 0;
    if (res >= 0) {
        int fd = server_adopt(res);         /* counts it; -1 if it went to the spare */
        if (fd >= 0)
            new_conn(r, fd);
    } else if (res == -EINVAL && r->multishot) {
        r->multishot = 0;                   /* a kernel before 5.19: one accept at a time */
    } else if (res == -EMFILE || res == -ENFILE) {
        /* Out of descriptors: the client stays queued and a re-armed accept would fail at
         * once, again and again. server_accept() gives up the spare descriptor to take
         * that client and answer it 503; if even that fails, pause accepting. */
        int fd = server_accept(r->listen_fd);
        if (fd >= 0)
            new_conn(r, fd);
        if (fd == -2 && !r->stopping) {
            r->pause_ts = ms_ts((int64_t)SERVER_EMFILE_PAUSE_MS * 1000000);
            io_uring_prep_timeout(sqe_for(r, r, OP_PAUSE), &r->pause_ts, 0, 0);
            r->paused = 1;
        }
    } else if (res != -ECANCELED && res != -ECONNABORTED && res != -EAGAIN && res != -EINTR) {
        errno = -res;
        die_errno("accept (io_uring)");
    }
    arm_accept(r);
}
/* [/snippet:uring-accept] */

/* ---- the connection's one timer ------------------------------------------------------ */

static void arm_timer(struct conn *c)
{
    c->ts_arm = ms_ts(c->deadline - now_ns());
    io_uring_prep_timeout(sqe_for(c->r, c, OP_TIMER), &c->ts_arm, 0, 0);
    c->armed = c->deadline;
    c->timer_out = 1;
}

/* One timeout in flight per connection. A later deadline needs no submission (the timeout
 * fires early, sees the deadline ahead and re-arms); an earlier one updates it. */
static void set_timer(struct conn *c, enum timer t, long ms)
{
    c->timer = t;
    c->deadline = now_ns() + (int64_t)ms * 1000000;
    if (!c->timer_out) {
        arm_timer(c);
    } else if (c->armed > c->deadline) {
        c->ts_update = ms_ts(c->deadline - now_ns());
        io_uring_prep_timeout_update(sqe_for(c->r, NULL, OP_IGNORE), &c->ts_update,
                                     tag(c, OP_TIMER), 0);
        c->armed = c->deadline;
    }
}

static void answer(struct conn *c, uint64_t extra);

static void on_timer(struct conn *c)
{
    c->timer_out = 0;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (c->timer == T_NONE)
        return;
    if (now_ns() < c->deadline) {
        arm_timer(c);                       /* moved later meanwhile */
        return;
    }
    enum timer t = c->timer;
    c->timer = T_NONE;
    if (t == T_IO) {
        c->waiting_io = 0;
        answer(c, 0);
        process(c);
        start_recv(c);
    } else if (t == T_HEAD && c->len > 0) {
        c->req = (struct http_request){ .status = 408, .head_len = 0 };   /* slowloris */
        answer(c, 0);
    } else {
        conn_close(c);      /* idle keep-alive, a reader that took nothing, linger over */
    }
}

/* Wait for the next request: a fresh parse and the header timeout from now. */
static void start_head(struct conn *c)
{
    http_parser_reset(&c->parser);
    c->timer = T_NONE;
    if (c->r->o->header_timeout_ms > 0)
        set_timer(c, T_HEAD, c->r->o->header_timeout_ms);
}

/* ---- recv: one submission per read, into a buffer the kernel picks ------------------ */

/* [snippet:uring-bufring] */
/* The provided buffers: nbufs of them in one block, their addresses in a ring shared
 * with the kernel (like the SQ, the program adds at the tail, the kernel takes at the
 * head). A recv submitted with IOSQE_BUFFER_SELECT names the group instead of a buffer;
 * the kernel takes one only when bytes are there to put in it, and the completion says
 * which (IORING_CQE_F_BUFFER, its id in the flags' high bits). */
static void buffers_init(struct ring *r)
{
    r->br = mmap(NULL, (size_t)r->nbufs * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);      /* page-aligned, as required */
    if (r->br == MAP_FAILED)
        die_errno("mmap (buffer ring)");
    r->bufs = xmalloc((size_t)r->nbufs * URING_BUF_SIZE);
    io_uring_buf_ring_init(r->br);
    struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)r->br,
                                    .ring_entries = (unsigned)r->nbufs, .bgid = URING_BGID };
    int err = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (err < 0)
        die_code("io_uring_register_buf_ring", -err);
    for (int i = 0; i < r->nbufs; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * URING_BUF_SIZE, URING_BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask((unsigned)r->nbufs), i);
    io_uring_buf_ring_advance(r->br, r->nbufs);
}

/* The provided buffer a completion carries, or NULL. */
static char *completed_buf(const struct ring *r, unsigned flags)
{
    if (!(flags & IORING_CQE_F_BUFFER))
        return NULL;
    return r->bufs + (size_t)(flags >> IORING_CQE_BUFFER_SHIFT) * URING_BUF_SIZE;
}

/* Hand a provided buffer back to the kernel: the next recv may take it. */
static void give_back(struct ring *r, const char *buf)
{
    if (!buf)
        return;
    unsigned short id = (unsigned short)((buf - r->bufs) / URING_BUF_SIZE);
    io_uring_buf_ring_add(r->br, (char *)buf, URING_BUF_SIZE, id,
                          io_uring_buf_ring_mask((unsigned)r->nbufs), 0);
    io_uring_buf_ring_advance(r->br, 1);
}
/* [/snippet:uring-bufring] */

/* A connection's input buffer comes from the ring's spares, or malloc. */
static char *take_in(struct ring *r)
{
    return r->n_spare ? r->spare[--r->n_spare] : xmalloc(HTTP_BUF_SIZE);
}

static void release_in(struct conn *c)
{
    struct ring *r = c->r;
    if (r->n_spare < URING_SPARE_BUFS)
        r->spare[r->n_spare++] = c->in;
    else
        free(c->in);
    c->in = NULL;
}

/* Read only while a reply could follow: not while /io waits or a slow reader's queue is
 * full (that bounds what it can make us hold). A closing connection's input is dropped. */
static void start_recv(struct conn *c)
{
    if (c->recv_out || c->closing || (!c->finishing && (c->waiting_io || c->throttled)))
        return;
    struct ring *r = c->r;
    if (r->provided && c->in && (c->finishing || c->len == 0))
        release_in(c);                      /* nothing half-read: idle, it holds none */
    if (!r->provided && !c->in)
        c->in = take_in(r);                 /* own buffers: held for the connection's life */
    size_t room = c->finishing ? sizeof r->sink : HTTP_BUF_SIZE - c->len;
    if (room == 0)
        return;
    struct io_uring_sqe *sqe = sqe_for(r, c, OP_RECV);
    if (r->provided) {
        io_uring_prep_recv(sqe, c->fd, NULL, room, 0);     /* at most room bytes */
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = URING_BGID;
    } else {
        io_uring_prep_recv(sqe, c->fd, c->finishing ? r->sink : c->in + c->len, room, 0);
    }
    c->recv_out = 1;
}

static void on_recv(struct conn *c, int res, unsigned flags)
{
    char *buf = completed_buf(c->r, flags);
    c->recv_out = 0;
    if (c->closing) {
        give_back(c->r, buf);
        maybe_free(c);
        return;
    }
    if (res == -ENOBUFS) {                  /* every provided buffer was taken: again */
        start_recv(c);
        return;
    }
    if (res <= 0) {                         /* EOF, or the client vanished */
        give_back(c->r, buf);
        conn_close(c);
        return;
    }
    if (!c->finishing) {
        if (buf) {                          /* a provided buffer: copy, and hand it back */
            if (!c->in)
                c->in = take_in(c->r);
            memcpy(c->in + c->len, buf, (size_t)res);
        }
        c->len += (size_t)res;
    }
    give_back(c->r, buf);
    if (!c->finishing)
        process(c);
    start_recv(c);
}

/* [snippet:uring-process] */
/* Answer every complete request in the buffer, unless one of them must wait. Called only
 * with no recv in flight: the buffer is ours. */
static void process(struct conn *c)
{
    while (!c->closing && !c->finishing && !c->waiting_io && !c->throttled && c->in &&
           http_parse(&c->parser, c->in, c->len, &c->req)) {
        c->timer = T_NONE;                  /* the head is complete: no header timeout */
        atomic_fetch_add(&server_stats->requests, 1);
        if (c->req.status == 0 && c->req.route == HTTP_IO) {
            c->waiting_io = 1;              /* a timeout operation: the ring serves others */
            set_timer(c, T_IO, c->req.arg);
        } else if (c->req.status == 0 && c->req.route == HTTP_CPU) {
            answer(c, http_cpu_work(c->req.arg));   /* computing: nobody else is served */
        } else {
            answer(c, 0);
        }
    }
}
/* [/snippet:uring-process] */

/* ---- send: the replies go out ------------------------------------------------------- */

static void start_send(struct conn *c)
{
    struct outbuf *s = &c->sending;
    io_uring_prep_send(sqe_for(c->r, c, OP_SEND), c->fd, s->p + s->off, s->len - s->off,
                       MSG_NOSIGNAL);
    c->send_out = 1;
}

static void outbuf_add(struct outbuf *b, const char *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = b->len + n > 2 * b->cap ? b->len + n : 2 * b->cap;
        b->p = realloc(b->p, b->cap);
        CHECK(b->p != NULL);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* The kernel reads c->sending while a send is in flight, so new replies go to c->queued
 * (which may move when it grows) and follow when the send is done. */
static void answer(struct conn *c, uint64_t extra)
{
    char reply[HTTP_REPLY_MAX];
    size_t n = http_reply(&c->req, c->r->o->name, extra, reply);
    outbuf_add(c->send_out ? &c->queued : &c->sending, reply, n);
    if (!c->send_out)
        start_send(c);
    c->len -= c->req.head_len;              /* keep what came after: a pipelined request */
    if (c->in)
        memmove(c->in, c->in + c->req.head_len, c->len);
    if (!c->req.keep_alive) {
        c->finishing = 1;                   /* FIN once sent, then drain input a moment */
        set_timer(c, T_LINGER, SERVER_LINGER_MS);
        start_recv(c);
        return;
    }
    size_t waiting = c->sending.len - c->sending.off + c->queued.len;
    if (waiting > URING_WRITE_QUEUE_MAX) {
        c->throttled = 1;                   /* a slow reader: no more requests from it */
        set_timer(c, T_WRITE, SERVER_WRITE_TIMEOUT_MS);
        return;
    }
    start_head(c);
}

static void on_send(struct conn *c, int res)
{
    c->send_out = 0;
    if (c->closing) {
        maybe_free(c);
        return;
    }
    if (res < 0) {
        conn_close(c);
        return;
    }
    struct outbuf *s = &c->sending;
    s->off += (size_t)res;
    if (s->off == s->len) {                 /* all sent: the queued replies are next */
        struct outbuf done = *s;
        *s = c->queued;
        c->queued = (struct outbuf){ .p = done.p, .cap = done.cap };
    }
    if (s->off < s->len)
        start_send(c);
    else if (c->finishing)
        shutdown(c->fd, SHUT_WR);           /* everything sent: now the FIN */
    if (c->throttled && s->len - s->off + c->queued.len <= URING_WRITE_QUEUE_MAX / 2) {
        c->throttled = 0;
        start_head(c);
        process(c);                         /* requests may be waiting in the buffer */
        start_recv(c);
    }
}

/* ---- close: when nothing of it is in flight any more, it is freed --------------------- */

static void maybe_free(struct conn *c)
{
    if (!c->closing || c->recv_out || c->send_out || c->timer_out)
        return;
    struct ring *r = c->r;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    r->nconns--;
    close(c->fd);
    if (c->in)
        release_in(c);
    free(c->sending.p);
    free(c->queued.p);
    free(c);
    atomic_fetch_add(&server_stats->closed, 1);
}

/* shutdown() ends the recv and send in flight (they complete with 0 or an error); the
 * timeout is cancelled. The connection is freed when the last completion has come. */
static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    shutdown(c->fd, SHUT_RDWR);
    if (c->timer_out)
        io_uring_prep_timeout_remove(sqe_for(c->r, NULL, OP_IGNORE), tag(c, OP_TIMER), 0);
    maybe_free(c);                          /* nothing in flight: now */
}

/* ---- the ring: submit, wait, reap a batch of completions ----------------------------- */

static void on_stop(struct ring *r)
{
    r->stopping = 1;
    if (r->accepting)
        io_uring_prep_cancel64(sqe_for(r, NULL, OP_IGNORE), tag(r, OP_ACCEPT), 0);
    for (struct conn *c = r->conns, *next; c; c = next) {
        next = c->next;                     /* conn_close() may free c */
        conn_close(c);
    }
}

static void dispatch(struct ring *r, const struct io_uring_cqe *cqe)
{
    uint64_t data = io_uring_cqe_get_data64(cqe);
    void *owner = (void *)(uintptr_t)(data & ~(uint64_t)7);
    switch ((enum op)(data & 7)) {
    case OP_ACCEPT: on_accept(r, cqe->res, cqe->flags); return;
    case OP_RECV:   on_recv(owner, cqe->res, cqe->flags); return;
    case OP_SEND:   on_send(owner, cqe->res); return;
    case OP_TIMER:  on_timer(owner); return;
    case OP_STOP:   on_stop(r); return;
    case OP_PAUSE:  r->paused = 0; arm_accept(r); return;
    case OP_IGNORE: return;
    }
}

/* [snippet:uring-loop] */
/* One system call submits everything queued since the last one and waits for at least one
 * completion; then every completion that is there is handled before the next call. */
static void *ring_main(void *arg)
{
    struct ring *r = arg;
    int err = io_uring_queue_init(URING_ENTRIES, &r->ring, r->setup_flags);
    if (err < 0)
        die_code("io_uring_queue_init", -err);
    if (r->provided)
        buffers_init(r);
    pthread_barrier_wait(r->ready);     /* every ring exists before the listening line */
    io_uring_prep_read(sqe_for(r, r, OP_STOP), r->stop_fd, &r->stop_value,
                       sizeof r->stop_value, 0);
    arm_accept(r);
    while (!r->stopping || r->nconns > 0 || r->accepting) {
        err = io_uring_submit_and_wait(&r->ring, 1);
        if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY)
            die_code("io_uring_submit_and_wait", -err);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&r->ring, head, cqe) {
            dispatch(r, cqe);
            seen++;
        }
        io_uring_cq_advance(&r->ring, seen);
    }
    io_uring_queue_exit(&r->ring);      /* cancels what is left: the pause timer */
    if (r->provided) {
        munmap(r->br, (size_t)r->nbufs * sizeof(struct io_uring_buf));
        free(r->bufs);
    }
    while (r->n_spare)
        free(r->spare[--r->n_spare]);
    return NULL;
}
/* [/snippet:uring-loop] */

/* ---- the program --------------------------------------------------------------------- */

static const char usage_text[] =
    "server_uring - the HTTP service on io_uring (liburing), one ring per thread\n"
    "\n"
    "Usage: server_uring [--workers N] [--ring-flags on|off] [--buf-ring on|off] [--port P]\n"
    "                    [--bind ADDR] [--header-timeout MS]\n"
    "  --workers N         rings, one thread each, on one SO_REUSEPORT port (the issue's\n"
    "                      --threads N; default 1)\n"
    "  --ring-flags on|off IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN where the kernel\n"
    "                      has them (default on); off: a plain ring, to compare\n"
    "  --buf-ring on|off   recvs take a buffer from a provided-buffer ring only when bytes\n"
    "                      arrive, where the kernel has it (5.19+; default on); off: each\n"
    "                      connection keeps its own 16 KiB buffer, idle or not\n"
    "  --bufs N            provided buffers per ring, a power of two (default 256); when a\n"
    "                      burst of reads finds them all taken, the reads are retried\n"
    SERVER_FLAGS_HELP
    "Where io_uring is refused (no kernel support, seccomp, kernel.io_uring_disabled) it\n"
    "says why and exits 69 (EX_UNAVAILABLE); SERVER_URING_FORCE_REFUSED=1 simulates that.\n";

/* Take `flag VALUE` or `flag=VALUE` out of argv (the other flags are every server's:
 * server_parse_args). Returns VALUE, or NULL when the flag is not there. */
static const char *take_flag(int *argc, char **argv, const char *flag)
{
    size_t n = strlen(flag);
    const char *v = NULL;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strncmp(argv[i], flag, n) == 0 && argv[i][n] == '=')
            v = argv[i] + n + 1;
        else if (strcmp(argv[i], flag) == 0 && i + 1 < *argc)
            v = argv[++i];
        else if (strcmp(argv[i], flag) == 0)
            usage_error("%s needs a value", flag);
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return v;
}

/* An on|off flag (--ring-flags, --buf-ring): 1 for on, the default. */
static int take_on_off(int *argc, char **argv, const char *flag)
{
    static const char *const names[] = { "off", "on", NULL };
    const char *v = take_flag(argc, argv, flag);
    return v ? parse_choice(flag, v, names) : 1;
}

/* 0 when a ring with these flags accepts a provided-buffer ring, else -errno (a kernel
 * before 5.19 answers EINVAL: it does not know the registration). */
static int probe_buf_ring(unsigned flags)
{
    struct io_uring probe;
    int err = io_uring_queue_init(2, &probe, flags);
    if (err < 0)
        return err;
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die_errno("mmap");
    struct io_uring_buf_reg reg = { .ring_addr = (uintptr_t)mem, .ring_entries = 1,
                                    .bgid = URING_BGID };
    err = io_uring_register_buf_ring(&probe, &reg, 0);
    io_uring_queue_exit(&probe);
    munmap(mem, 4096);
    return err < 0 ? err : 0;
}

/* [snippet:uring-refused] */
/* Try a ring with the wanted flags, then without (a kernel before 6.1 answers EINVAL to
 * flags it does not know). Returns the flags that work; where io_uring itself is refused,
 * says why and exits URING_REFUSED_EXIT (69, EX_UNAVAILABLE). */
static unsigned probe_ring(int want_flags)
{
    unsigned flags = want_flags ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN : 0;
    const char *forced = getenv("SERVER_URING_FORCE_REFUSED");
    struct io_uring probe;
    int err = forced && *forced && strcmp(forced, "0") != 0 ? -ENOSYS
              : io_uring_queue_init(2, &probe, flags);
    if (err == -EINVAL && flags) {
        flags = 0;
        err = io_uring_queue_init(2, &probe, flags);
    }
    if (err >= 0) {
        io_uring_queue_exit(&probe);
        return flags;
    }
    char disabled[16] = "";
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (!fgets(disabled, sizeof disabled, f))
            disabled[0] = '\0';
        disabled[strcspn(disabled, "\n")] = '\0';
        fclose(f);
    }
    fprintf(stderr, "%s: io_uring is refused here: io_uring_setup: %s%s (%s%s%s); use "
            "server_epoll or server_uv instead\n", prog_name, strerror(-err),
            forced ? ", simulated" : "",
            "a kernel without io_uring, a seccomp filter, or sysctl kernel.io_uring_disabled",
            *disabled ? ", which is now " : "", disabled);
    exit(URING_REFUSED_EXIT);
}
/* [/snippet:uring-refused] */

int main(int argc, char **argv)
{
    struct server_opts o;
    prog_init(argv[0]);                 /* its name in the messages of the flags below */
    int ring_flags = take_on_off(&argc, argv, "--ring-flags");
    int buf_ring = take_on_off(&argc, argv, "--buf-ring");
    const char *bufs_text = take_flag(&argc, argv, "--bufs");
    long nbufs = bufs_text ? parse_long("--bufs", bufs_text, 1, 32768) : URING_BUFS;
    if (nbufs & (nbufs - 1))
        usage_error("--bufs: %ld is not a power of two", nbufs);
    server_parse_args(argc, argv, &o, usage_text, 1);
    unsigned flags = probe_ring(ring_flags);
    int buf_err = buf_ring ? probe_buf_ring(flags) : 0;
    if (buf_ring && buf_err == 0)
        fprintf(stderr, "reads: a provided-buffer ring of %d x %d bytes per ring; an idle "
                "connection holds no read buffer\n", (int)nbufs, URING_BUF_SIZE);
    else
        fprintf(stderr, "reads: a %d-byte buffer per connection, idle or not (%s%s)\n",
                HTTP_BUF_SIZE, buf_ring ? "provided-buffer ring refused: "
                                        : "--buf-ring off", buf_ring ? strerror(-buf_err) : "");
    server_init();
    int sig_fd = server_signalfd(0);    /* blocked in every thread; main reads them */

    struct ring *rings = xcalloc((size_t)o.workers, sizeof *rings);
    pthread_barrier_t ready;
    CHECK(pthread_barrier_init(&ready, NULL, (unsigned)o.workers + 1) == 0);
    int port = o.port;
    for (int i = 0; i < o.workers; i++) {
        rings[i] = (struct ring){ .o = &o, .setup_flags = flags, .multishot = 1,
                                  .provided = buf_ring && buf_err == 0, .nbufs = (int)nbufs,
                                  .ready = &ready };
        rings[i].listen_fd = server_listen(&o, port, o.workers > 1, &port);
        rings[i].stop_fd = eventfd(0, EFD_CLOEXEC);
        if (rings[i].stop_fd == -1)
            die_errno("eventfd");
        xpthread_create(&rings[i].thread, NULL, ring_main, &rings[i]);
    }
    pthread_barrier_wait(&ready);
    char model[128];
    snprintf(model, sizeof model, "%d io_uring ring%s, one per thread%s%s", o.workers,
             o.workers > 1 ? "s" : "", flags ? ", single issuer, deferred task run" : "",
             rings[0].provided ? ", provided buffers" : "");
    server_announce(&o, port, model);

    int signo = server_next_event(-1, sig_fd);
    printf("signal %d: closing every connection\n", signo);
    for (int i = 0; i < o.workers; i++) {
        uint64_t one = 1;
        if (write(rings[i].stop_fd, &one, sizeof one) != sizeof one)
            die_errno("write eventfd");
    }
    for (int i = 0; i < o.workers; i++) {
        xpthread_join(rings[i].thread, NULL);
        close(rings[i].listen_fd);
        close(rings[i].stop_fd);
    }
    server_print_stats();
    free(rings);
    pthread_barrier_destroy(&ready);
    close(sig_fd);
    return EXIT_SUCCESS;
}
