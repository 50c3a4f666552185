/* server_pool.c - the HTTP service on a fixed pool of threads, fed complete requests
 *
 * Usage:    server_pool [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  N threads start once and never more. The main thread is a small event loop
 *           (epoll): it accepts, reads every request head as its bytes arrive, and puts
 *           a connection in the workers' queue only when its head is complete. A worker
 *           answers that request with the same code as server_threads (/io sleeps in the
 *           worker) and hands a keep-alive connection back to the loop instead of waiting
 *           on it. So a worker is never held by a client that is slow to send (slowloris)
 *           or idle between requests: the idea of Apache's event MPM. More requests than
 *           workers still wait in the queue - the pool bounds the work, not the clients.
 * Costs:    N stacks and tasks, paid once at start; per connection a struct with its
 *           16 KiB buffer while it is open; two hand-offs (loop -> worker -> loop) and
 *           their wake-ups per request. A full queue refuses newcomers with 503.
 * Wins:     bounded threads and memory under a spike, and neither slow nor idle clients
 *           can take the workers; Python's ThreadPoolExecutor behind an asyncio reader.
 * Try:      server_pool --workers 2, then three `curl 'localhost:8080/io?ms=2000'` at
 *           once: the third starts only when one of the first two ends. Then hold 100
 *           idle `nc localhost 8080` and curl again: it is answered at once.
 * Python:   docs/seeds.md#seed-000, Pool(4) with 5 tasks (task 5 waits for a free worker)
 * See also: docs/async/server_pool.md, docs/async/servers.md,
 *           demos/async/blocking.c (server_answer)
 */
#include "core.h"
#include "http.h"
#include "blocking.h"
#include "lifecycle.h"
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

static const char usage_text[] =
    "server_pool - the HTTP service on a fixed pool of N threads fed complete requests\n"
    "\n"
    "Usage: server_pool [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]\n"
    "  --workers N         threads in the pool (default 32)\n"
    SERVER_FLAGS_HELP;

#define QUEUE_CAP 1024                  /* complete requests waiting for a worker */

static struct server_opts opts;
static struct server_stop stop = { .stop_fd = -1 };

/* One connection. Exactly one side owns it at a time: the loop (reading a head, idle, or
 * lingering after a reply that closes) or one worker (answering). The loop keeps the
 * ones it owns on two lists in deadline order, one for heads and one for lingering:
 * within a list every entry got the same timeout, so appending at the tail keeps it
 * sorted and its first entry is always the next to expire - no timer heap needed. */
struct pconn {
    int fd;
    int lingering;                      /* a closing reply went out: drain, then close */
    int64_t deadline;                   /* INT64_MAX: none */
    struct http_parser parser;
    struct http_request req;            /* the complete head a worker will answer */
    struct pconn *prev, *next;          /* the loop's list (next: also the `back` stack) */
    size_t len;
    char buf[HTTP_BUF_SIZE];
};

struct plist {
    struct pconn *first, *last;
};

/* [snippet:queue] */
/* Two queues under one lock. `ready` carries connections with a complete head to the
 * workers, who sleep on `nonempty`; `back` carries keep-alive connections from the
 * workers to the loop, which learns of them through the eventfd `back_fd`. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct pconn *ready[QUEUE_CAP];
    size_t head, count;
    struct pconn *back;                 /* a stack: the order does not matter */
    int back_fd;
    int stopping;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .nonempty = PTHREAD_COND_INITIALIZER };

/* Hand a complete request to the pool, or return -1 if the queue is full. */
static int enqueue(struct pconn *c)
{
    pthread_mutex_lock(&q.lock);
    int ok = q.count < QUEUE_CAP;
    if (ok) {
        q.ready[(q.head + q.count++) % QUEUE_CAP] = c;
        pthread_cond_signal(&q.nonempty);       /* wake one sleeping worker */
    }
    pthread_mutex_unlock(&q.lock);
    return ok ? 0 : -1;
}

/* A worker answers the request it was given, and any complete pipelined request after it
 * in the buffer; then it gives the connection back to the loop, to wait for the next head
 * or, after a reply that closes, to drain and close. It never waits for a client to send. */
static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&q.lock);
        while (q.count == 0 && !q.stopping)
            pthread_cond_wait(&q.nonempty, &q.lock);
        if (q.stopping) {
            pthread_mutex_unlock(&q.lock);
            return NULL;
        }
        struct pconn *c = q.ready[q.head];
        q.head = (q.head + 1) % QUEUE_CAP, q.count--;
        pthread_mutex_unlock(&q.lock);

        int r;
        do {
            r = server_answer(c->fd, &c->req, &opts, &stop);
            c->len -= c->req.head_len;          /* keep what came after it */
            memmove(c->buf, c->buf + c->req.head_len, c->len);
            http_parser_reset(&c->parser);
        } while (r == 0 && http_parse(&c->parser, c->buf, c->len, &c->req));
        if (r == -1) {                          /* the client is gone, or we are stopping */
            close(c->fd);
            atomic_fetch_add(&server_stats->closed, 1);
            free(c);
            continue;
        }
        if (r == 1) {                           /* the reply said close: the loop drains */
            shutdown(c->fd, SHUT_WR);           /* the input a moment, not this worker */
            c->lingering = 1;
        }
        pthread_mutex_lock(&q.lock);            /* back to the loop: push, then wake it */
        c->next = q.back;
        q.back = c;
        pthread_mutex_unlock(&q.lock);
        uint64_t one = 1;
        if (write(q.back_fd, &one, sizeof one) != sizeof one)
            die_errno("write eventfd");
    }
}
/* [/snippet:queue] */

/* ---- the loop: accept, read heads, time them out ---------------------------------------- */

static int ep;                                  /* the epoll instance */
static struct plist heads, lingering;           /* what the loop owns, earliest first */
static char tag_listen, tag_signal, tag_back;   /* epoll data for the non-connections */

static void watch(int fd, void *data)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = data };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl ADD");
}

static void list_add(struct plist *l, struct pconn *c, int64_t deadline)
{
    c->deadline = deadline;
    c->next = NULL, c->prev = l->last;
    if (l->last)
        l->last->next = c;
    else
        l->first = c;
    l->last = c;
}

static void list_remove(struct pconn *c)
{
    struct plist *l = c->lingering ? &lingering : &heads;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->last = c->prev;
}

static int64_t after_ms(long ms)
{
    return ms > 0 ? now_ns() + (int64_t)ms * 1000000 : INT64_MAX;
}

/* The loop owns c again (new, or back from a worker): wait for the next head - the head
 * timeout starts now; it covers an idle keep-alive connection too - or, if c is
 * lingering, for the client to close. */
static void start_head(struct pconn *c)
{
    if (c->lingering)
        list_add(&lingering, c, after_ms(SERVER_LINGER_MS));
    else
        list_add(&heads, c, after_ms(opts.header_timeout_ms));
    watch(c->fd, c);
}

static void loop_close(struct pconn *c)
{
    list_remove(c);
    close(c->fd);                               /* also leaves the epoll set */
    atomic_fetch_add(&server_stats->closed, 1);
    free(c);
}

/* An error the loop answers itself (400, 431, 505 from the parser, 408 for a head that
 * timed out): send the small reply (best effort: the socket's buffer is empty unless
 * the client stopped reading replies), stop sending, and drain what the client still
 * sends for a moment before closing - closing with unread input would reset the
 * connection and could destroy the reply before the client read it. */
static void loop_refuse(struct pconn *c, const struct http_request *req)
{
    char reply[HTTP_REPLY_MAX];
    (void)!send(c->fd, reply, http_reply(req, opts.name, 0, reply), MSG_NOSIGNAL);
    shutdown(c->fd, SHUT_WR);
    list_remove(c);
    c->lingering = 1;
    list_add(&lingering, c, after_ms(SERVER_LINGER_MS));
}

/* [snippet:readhead] */
/* Bytes for c: read what is there, and when the head is complete hand c to a worker. */
static void on_readable(struct pconn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR)) {
            loop_close(c);                      /* the client closed or vanished */
            return;
        }
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return;                             /* all read; the head is not complete */
        if (c->lingering) {
            c->len = 0;                         /* draining: drop it */
            continue;
        }
        c->len += (size_t)r;
        if (!http_parse(&c->parser, c->buf, c->len, &c->req))
            continue;
        if (c->req.status != 0 && !c->req.keep_alive) {
            atomic_fetch_add(&server_stats->requests, 1);
            loop_refuse(c, &c->req);            /* 400, 431, 505: answered here */
            continue;
        }
        /* A complete request: the worker owns c from here. */
        list_remove(c);
        if (epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL) == -1)
            die_errno("epoll_ctl DEL");
        if (enqueue(c) == -1) {                 /* every worker busy and the queue full */
            server_refuse(c->fd);
            free(c);
        }
        return;
    }
}
/* [/snippet:readhead] */

/* Close or answer 408 every connection whose deadline has passed; return the time until
 * the next deadline in ms for epoll_wait (-1: none). */
static int expire(void)
{
    int64_t now = now_ns();
    while (heads.first && heads.first->deadline <= now) {
        struct pconn *c = heads.first;
        if (c->len > 0)                         /* slowloris: a partial head, then silence */
            loop_refuse(c, &(struct http_request){ .status = 408 });
        else
            loop_close(c);                      /* idle: closed without a word */
    }
    while (lingering.first && lingering.first->deadline <= now)
        loop_close(lingering.first);
    int64_t next = INT64_MAX;
    if (heads.first)
        next = heads.first->deadline;
    if (lingering.first && lingering.first->deadline < next)
        next = lingering.first->deadline;
    return next == INT64_MAX ? -1 : (int)((next - now) / 1000000 + 1);
}

/* Take the connections the workers gave back and wait for their next head. */
static void take_back(void)
{
    uint64_t n;
    (void)!read(q.back_fd, &n, sizeof n);
    pthread_mutex_lock(&q.lock);
    struct pconn *c = q.back;
    q.back = NULL;
    pthread_mutex_unlock(&q.lock);
    while (c) {
        struct pconn *next = c->next;
        start_head(c);
        c = next;
    }
}

static void accept_all(int listen_fd, int64_t *paused_until)
{
    int fd;
    while ((fd = server_accept(listen_fd)) >= 0) {
        struct pconn *c = xmalloc(sizeof *c);
        c->fd = fd, c->len = 0, c->lingering = 0;
        http_parser_reset(&c->parser);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* small replies */
        start_head(c);
    }
    if (fd == -2) {                             /* out of descriptors: pause, do not spin */
        struct epoll_event ev = { .events = 0, .data.ptr = &tag_listen };
        if (epoll_ctl(ep, EPOLL_CTL_MOD, listen_fd, &ev) == -1)
            die_errno("epoll_ctl MOD");
        *paused_until = now_ns() + SERVER_EMFILE_PAUSE_MS * 1000000;
    }
}

/* Stop the workers (idle ones wait on the queue, busy ones in server_wait) and close every
 * connection still held: heads queued but never answered, ones given back while stopping,
 * partial heads and lingering closes. */
static void shut_down(pthread_t *threads)
{
    pthread_mutex_lock(&q.lock);
    q.stopping = 1;                         /* idle workers leave their wait ... */
    pthread_cond_broadcast(&q.nonempty);
    pthread_mutex_unlock(&q.lock);
    server_stop_threads(&stop);             /* ... busy ones leave their request */
    for (int i = 0; i < opts.workers; i++)
        xpthread_join(threads[i], NULL);
    for (size_t i = 0; i < q.count; i++) {  /* complete heads never answered */
        struct pconn *c = q.ready[(q.head + i) % QUEUE_CAP];
        close(c->fd);
        atomic_fetch_add(&server_stats->closed, 1);
        free(c);
    }
    take_back();                            /* given back while stopping */
    while (heads.first)
        loop_close(heads.first);
    while (lingering.first)
        loop_close(lingering.first);
}

int main(int argc, char **argv)
{
    server_parse_args(argc, argv, &opts, usage_text, 32);
    server_init();
    int sig_fd = server_signalfd(0);    /* blocked in every thread; read by the loop */
    server_thread_stop_init(&stop);     /* an eventfd every worker's waits watch */
    int port, listen_fd = server_listen(&opts, opts.port, 0, &port);
    q.back_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (q.back_fd == -1 || ep == -1)
        die_errno("eventfd/epoll_create1");
    watch(listen_fd, &tag_listen);
    watch(sig_fd, &tag_signal);
    watch(q.back_fd, &tag_back);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
    pthread_t *threads = xcalloc((size_t)opts.workers, sizeof *threads);
    for (int i = 0; i < opts.workers; i++)
        xpthread_create(&threads[i], &attr, worker, NULL);
    pthread_attr_destroy(&attr);
    char model[80];
    snprintf(model, sizeof model, "a pool of %d threads behind one epoll loop", opts.workers);
    server_announce(&opts, port, model);

    /* [snippet:loop] */
    int signo = 0;
    int64_t paused_until = 0;
    while (!signo) {
        int timeout = expire();
        if (paused_until) {
            int left = (int)((paused_until - now_ns()) / 1000000 + 1);
            timeout = timeout < 0 || left < timeout ? left : timeout;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, timeout < 0 ? -1 : timeout);
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        if (paused_until && now_ns() >= paused_until) {
            paused_until = 0;
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_listen };
            if (epoll_ctl(ep, EPOLL_CTL_MOD, listen_fd, &ev) == -1)
                die_errno("epoll_ctl MOD");
        }
        for (int i = 0; i < n; i++) {
            void *d = evs[i].data.ptr;
            if (d == &tag_listen) {
                accept_all(listen_fd, &paused_until);
            } else if (d == &tag_back) {
                take_back();
            } else if (d == &tag_signal) {
                struct signalfd_siginfo si;
                if (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
                    signo = (int)si.ssi_signo;
            } else {
                on_readable(d);
            }
        }
    }
    /* [/snippet:loop] */

    printf("signal %d: stopping %d workers\n", signo, opts.workers);
    close(listen_fd);
    shut_down(threads);
    server_print_stats();
    free(threads);
    return EXIT_SUCCESS;
}
