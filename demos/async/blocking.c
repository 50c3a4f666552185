/* blocking.c - one connection served by blocking-style code: the thread and process
 * models' connection loop (see blocking.h) */
#include "blocking.h"
#include "core.h"
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int server_wait(int fd, short events, int64_t deadline_ns, const struct server_stop *st)
{
    for (;;) {
        if (st->stop_flag && *st->stop_flag)
            return -1;
        struct pollfd p[2] = { { .fd = fd, .events = events },
                               { .fd = st->stop_fd, .events = POLLIN } };
        struct timespec ts, *tsp = NULL;
        if (deadline_ns != INT64_MAX) {
            int64_t left = deadline_ns - now_ns();
            if (left <= 0)
                return 0;
            ts = (struct timespec){ .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 };
            tsp = &ts;
        }
        int r = ppoll(p, 2, tsp, st->wait_mask);
        if (r == -1 && errno != EINTR)
            die_errno("ppoll");
        if (r <= 0)
            continue;                       /* a signal (re-check the flag) or the deadline */
        if (p[1].revents)
            return -1;
        if (p[0].revents)
            return 1;
    }
}

static int64_t deadline_after_ms(long ms)
{
    return ms > 0 ? now_ns() + (int64_t)ms * 1000000 : INT64_MAX;
}

/* Send all of buf, waiting for room at most SERVER_WRITE_TIMEOUT_MS at a time: the kernel's
 * socket buffer is the only buffering, so a slow reader simply makes this thread wait. */
static int send_all(int fd, const char *buf, size_t n, const struct server_stop *st)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w > 0) {
            buf += w, n -= (size_t)w;
        } else if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (server_wait(fd, POLLOUT, deadline_after_ms(SERVER_WRITE_TIMEOUT_MS), st) != 1)
                return -1;
        } else if (w == -1 && errno == EINTR) {
            continue;
        } else {
            return -1;                      /* EPIPE, ECONNRESET: the client is gone */
        }
    }
    return 0;
}

/* Closing politely: stop sending, then read and drop what the client still sends until it
 * closes or SERVER_LINGER_MS pass. Closing a socket with unread input makes the kernel send
 * a reset, which can destroy our reply before the client has read it. */
static void linger_close(int fd, const struct server_stop *st)
{
    shutdown(fd, SHUT_WR);
    int64_t deadline = deadline_after_ms(SERVER_LINGER_MS);
    char sink[4096];
    while (server_wait(fd, POLLIN, deadline, st) == 1) {
        ssize_t r = recv(fd, sink, sizeof sink, 0);
        if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
            break;
    }
}

/* [snippet:answer] */
int server_answer(int fd, const struct http_request *req, const struct server_opts *o,
                  const struct server_stop *st)
{
    char reply[HTTP_REPLY_MAX];
    atomic_fetch_add(&server_stats->requests, 1);
    uint64_t extra = 0;
    if (req->status == 0 && req->route == HTTP_IO) {
        if (server_wait(-1, 0, now_ns() + req->arg * 1000000, st) == -1)
            return -1;                      /* simulated IO: this thread just sleeps */
    } else if (req->status == 0 && req->route == HTTP_CPU) {
        extra = http_cpu_work(req->arg);
    }
    if (send_all(fd, reply, http_reply(req, o->name, extra, reply), st) == -1)
        return -1;
    return req->keep_alive ? 0 : 1;
}
/* [/snippet:answer] */

/* When a head that started at `first` with `got` bytes so far falls below the minimum
 * rate: each byte buys 1/min_rate s on top of the grace (mod_reqtimeout's MinRate). */
static int64_t rate_deadline(const struct server_opts *o, int64_t first, size_t got)
{
    if (o->min_rate <= 0 || got == 0)
        return INT64_MAX;
    return first + (int64_t)SERVER_RATE_GRACE_MS * 1000000 +
           (int64_t)got * 1000000000 / o->min_rate;
}

/* [snippet:blocking] */
void server_serve_blocking(int fd, const struct server_opts *o, const struct server_stop *st)
{
    char buf[HTTP_BUF_SIZE], reply[HTTP_REPLY_MAX];
    size_t len = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* small replies, now */
    for (;;) {
        /* Read until one request head is complete. The deadline is for the whole head,
         * not for each read: a client dripping a byte a second is still cut off. The
         * rate check (--min-rate) cuts it off sooner: it must keep bytes coming. */
        struct http_parser p;
        struct http_request req;
        http_parser_reset(&p);
        int64_t deadline = deadline_after_ms(o->header_timeout_ms);
        int64_t first = len > 0 ? now_ns() : 0;     /* when the head's first byte came */
        while (!http_parse(&p, buf, len, &req)) {
            ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
            if (r > 0) {
                if (len == 0)
                    first = now_ns();
                len += (size_t)r;
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != EINTR))
                goto done;                  /* the client closed or vanished */
            int64_t rate = rate_deadline(o, first, len);
            int w = server_wait(fd, POLLIN, rate < deadline ? rate : deadline, st);
            if (w == 0 && len > 0) {        /* slowloris: a partial head, then silence */
                req = (struct http_request){ .status = 408 };
                send_all(fd, reply, http_reply(&req, o->name, 0, reply), st);
                linger_close(fd, st);
            }
            if (w != 1)
                goto done;                  /* header timeout or the server is stopping */
        }
        int answered = server_answer(fd, &req, o, st);
        if (answered == 1)
            linger_close(fd, st);           /* the reply said close: close politely */
        if (answered != 0)
            goto done;
        len -= req.head_len;                /* keep what came after: a pipelined request */
        memmove(buf, buf + req.head_len, len);
    }
done:
    close(fd);
    atomic_fetch_add(&server_stats->closed, 1);
}
/* [/snippet:blocking] */
