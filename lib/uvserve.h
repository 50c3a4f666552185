/* uvserve.h - the event-loop side of the async chapter: one libuv loop serving connections
 *
 * server_uv runs one of these; server_uv_multi runs one per core, each in its own thread
 * with its own loop and its own SO_REUSEPORT listening socket. Everything a connection
 * does is a callback on the loop's thread, so a connection costs a small struct (its
 * buffer, a TCP handle, a timer) instead of a thread's or a process's stack:
 *   read      -> http_parse(); a complete request is answered at once (/, /cpu, errors)
 *                or after a uv timer (/io?ms=N: the loop serves others meanwhile);
 *   timer     -> the header timeout (a partial head gets 408, an idle one is closed), the
 *                /io wait, and the last moments of a closing connection (one timer, since
 *                a connection is only ever waiting for one of them);
 *   write     -> when more than UVS_WRITE_QUEUE_MAX bytes of replies wait for a slow
 *                reader, the connection stops reading (and so stops producing replies)
 *                until the queue drains below half of that;
 *   EOF/error -> the connection is closed and freed; a pending /io timer goes with it.
 * Running out of descriptors: libuv keeps a spare descriptor per loop and uses it to accept
 * and close waiting clients (uv__emfile_trick); on_connection() then sees UV_EMFILE and
 * only reports it, at most once a second.
 */
#ifndef UVSERVE_H
#define UVSERVE_H

#include "server.h"

#include <uv.h>

#define UVS_WRITE_QUEUE_MAX (64 * 1024)

struct uv_service {
    uv_loop_t loop;             /* loop.data points back here */
    uv_tcp_t listener;
    uv_async_t stop_async;      /* how another thread asks this loop to stop */
    const struct server_opts *o;
};

/* Initialise s->loop and start accepting on listen_fd (from server_listen()). */
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
