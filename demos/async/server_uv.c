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
 * See also: docs/async/servers.md, lib/uvserve.c (the connection callbacks), lib/http.c
 */
#include "core.h"
#include "server.h"
#include "uvserve.h"

#include <stdlib.h>

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
    struct uv_service svc;
    uvs_init(&svc, &o, fd);                 /* the listener joins the loop */
    uv_signal_t sigint, sigterm;
    uv_check("uv_signal_init", uv_signal_init(&svc.loop, &sigint));
    uv_check("uv_signal_init", uv_signal_init(&svc.loop, &sigterm));
    uv_check("uv_signal_start", uv_signal_start(&sigint, on_signal, SIGINT));
    uv_check("uv_signal_start", uv_signal_start(&sigterm, on_signal, SIGTERM));
    sigint.data = sigterm.data = NULL;      /* not connections: closed plainly at the end */
    server_announce(&o, port, "one libuv loop");
    uvs_run(&svc);                          /* every connection, timer and signal: here */
    /* [/snippet:main] */

    server_print_stats();
    uv_library_shutdown();
    return EXIT_SUCCESS;
}
