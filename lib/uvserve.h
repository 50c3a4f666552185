/* uvserve.h - the event-loop side of the async chapter: one libuv loop serving connections
 *
 * server_uv runs one of these; server_uv_multi runs one per core, each in its own thread
 * with its own loop and its own SO_REUSEPORT listening socket. Everything a connection
 * does is a callback on the loop's thread, so a connection costs a small struct (a TCP
 * handle, a timer, the parser's state) instead of a thread's or a process's stack; its
 * input buffer is lent by the loop while a request is read (nginx does the same):
 *   alloc     -> the connection takes a buffer from the loop's free list (or a new one);
 *                it gives it back when the buffer is empty and no request is in flight;
 *   read      -> http_parse(); a complete request is answered at once (/, /cpu, errors)
 *                or after a uv timer (/io?ms=N: the loop serves others meanwhile);
 *   timer     -> the header timeout (a partial head gets 408, an idle one is closed), the
 *                /io wait, and the last moments of a closing connection (one timer, since
 *                a connection is only ever waiting for one of them);
 *   write     -> when more than UVS_WRITE_QUEUE_MAX bytes of replies wait for a slow
 *                reader, the connection stops reading (and so stops producing replies)
 *                until the queue drains below half of that;
 *   EOF/error -> the connection is closed and freed; a pending /io timer goes with it.
 * Accepting: the listening socket is watched with a uv_poll_t and accepted with
 * server_accept(), the same call (and the same spare-descriptor answer to EMFILE: a 503)
 * as the blocking servers. Not uv_listen(): libuv's own EMFILE handling keeps a spare per
 * loop, and with several loops in one process (server_uv_multi) another loop can take the
 * freed slot, after which libuv 1.44 retries accept() in a loop that never returns to the
 * event loop - the busy loop the issue warns about. Here, when the spare cannot help, the
 * loop stops watching the listener for SERVER_EMFILE_PAUSE_MS and serves its connections.
 */
#ifndef UVSERVE_H
#define UVSERVE_H

#include "server.h"

#include <uv.h>

#define UVS_WRITE_QUEUE_MAX (64 * 1024)
#define UVS_FREE_BUFS 16                /* idle input buffers a loop keeps for reuse */

struct uv_service {
    uv_loop_t loop;             /* loop.data points back here */
    uv_poll_t listener;         /* readable: connections are waiting */
    uv_timer_t pause;           /* how long accepting pauses when out of descriptors */
    int listen_fd;
    uv_tcp_t first;             /* see uvs_init(): makes libuv open its spare at start */
    uv_async_t stop_async;      /* how another thread asks this loop to stop */
    const struct server_opts *o;
    union inbuf *free_bufs;     /* input buffers no connection holds now (a list) */
    int n_free_bufs;
    char sink[4096];            /* where closing connections' input is read and dropped */
};

/* Initialise s->loop and start accepting on listen_fd (from server_listen(), non-blocking). */
void uvs_init(struct uv_service *s, const struct server_opts *o, int listen_fd);

/* From the loop's own thread (a signal or async callback): close the listener and every
 * connection; uvs_run() returns once they are closed. */
void uvs_stop(struct uv_service *s);

/* From any other thread: wake the loop and make it call uvs_stop(). */
void uvs_stop_async(struct uv_service *s);

/* Run the loop until uvs_stop(), then close it (checking that nothing was left open). */
void uvs_run(struct uv_service *s);

/* Exit through die_msg() naming the libuv call, when err (a libuv return value) < 0. */
void uv_check(const char *call, int err);

#endif
