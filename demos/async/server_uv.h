/* server_uv.h - the event-loop model of server_uv.c, for server_uv_multi to run per thread
 *
 * One struct uvs_service is one libuv loop serving connections from one listening socket.
 * server_uv runs one on its main thread; server_uv_multi runs one per thread, each with its
 * own SO_REUSEPORT socket, by linking server_uv.c built without its main() (the
 * uv_model object library in demos/async/CMakeLists.txt). The callbacks themselves are
 * static in server_uv.c: read them there, from accept to reply.
 */
#ifndef SERVER_UV_H
#define SERVER_UV_H

#include "service.h"

#include <uv.h>

union inbuf;

struct uvs_service {
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
void uvs_init(struct uvs_service *s, const struct server_opts *o, int listen_fd);

/* From the loop's own thread (a signal or async callback): close the listener and every
 * connection; uvs_run() returns once they are closed. */
void uvs_stop(struct uvs_service *s);

/* From any other thread: wake the loop and make it call uvs_stop(). */
void uvs_stop_async(struct uvs_service *s);

/* Run the loop until uvs_stop(), then close it (checking that nothing was left open). */
void uvs_run(struct uvs_service *s);

#endif
