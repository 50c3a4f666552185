/* server_uv_multi.c - the HTTP service on one libuv loop per core (SO_REUSEPORT)
 *
 * Usage:    server_uv_multi [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  N threads, each running its own event loop on its own listening socket. All N
 *           sockets are bound to the same port with SO_REUSEPORT, and the kernel spreads
 *           new connections over them (by a hash of the client's address and port), so the
 *           loops share nothing: no lock, no queue, no hand-off. Under load `measure` shows
 *           up to N cores used where server_uv stops at one.
 * Costs:    what server_uv costs, per loop; a connection stays on the loop that accepted it,
 *           so an unlucky spread (or one busy connection) can leave one loop loaded while
 *           another idles. Threads share one address space: one crash ends all loops.
 * Wins:     the event loop's low cost per connection, on every core - nginx's worker per
 *           core, as with `listen ... reuseport` (by default nginx's workers share one
 *           listening socket instead).
 * Try:      server_uv_multi --workers 1 vs --workers 2 under wrk (bench `server` does it);
 *           ss -ltnp | grep server_uv_multi   (N listening sockets, one port)
 * Python:   docs/seeds.md#seed-000, nginx's "one process per core, each with an event loop"
 * See also: docs/async/servers.md, demos/async/server_uv.c (the loop each thread runs)
 */
#include "core.h"
#include "lifecycle.h"
#include "server_uv.h"
#include "service.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage_text[] =
    "server_uv_multi - the HTTP service on N libuv loops, one thread each (SO_REUSEPORT)\n"
    "\n"
    "Usage: server_uv_multi [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]\n"
    "  --workers N         event loops, one thread each (default: the CPU count)\n"
    SERVER_FLAGS_HELP;

static void *loop_main(void *arg)
{
    uvs_run(arg);                       /* this thread's loop, until it is told to stop */
    return NULL;
}

int main(int argc, char **argv)
{
    struct server_opts o;
    server_parse_args(argc, argv, &o, usage_text, cpu_count());
    server_init();

    /* Signals first: blocked here, every thread started below inherits the block, and the
     * main thread alone takes SIGINT/SIGTERM from its signalfd. */
    int sig_fd = server_signalfd(0);

    /* [snippet:reuseport] */
    /* The first socket binds the port (maybe port 0: the kernel picks); the others bind the
     * port it got. SO_REUSEPORT on all of them lets them share it. */
    struct uvs_service *svc = xcalloc((size_t)o.workers, sizeof *svc);
    pthread_t *threads = xcalloc((size_t)o.workers, sizeof *threads);
    int port = o.port;
    for (int i = 0; i < o.workers; i++) {
        int fd = server_listen(&o, port, 1, &port);
        uvs_init(&svc[i], &o, fd);
    }
    for (int i = 0; i < o.workers; i++)
        xpthread_create(&threads[i], NULL, loop_main, &svc[i]);
    /* [/snippet:reuseport] */
    char model[64];
    snprintf(model, sizeof model, "%d libuv loops, one per thread", o.workers);
    server_announce(&o, port, model);

    int signo = server_next_event(-1, sig_fd);  /* the main thread only waits for a signal */
    printf("signal %d: stopping %d loops\n", signo, o.workers);
    for (int i = 0; i < o.workers; i++)
        uvs_stop_async(&svc[i]);        /* each loop closes its own connections */
    for (int i = 0; i < o.workers; i++)
        xpthread_join(threads[i], NULL);
    server_print_stats();
    free(threads);
    free(svc);
    close(sig_fd);
    uv_library_shutdown();
    return EXIT_SUCCESS;
}
