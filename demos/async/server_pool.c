/* server_pool.c - the HTTP service on a fixed pool of threads fed by a queue
 *
 * Usage:    server_pool [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  N threads start once and never more. The main thread accepts connections and
 *           puts them in a bounded queue; an idle worker takes the next one and serves it
 *           to its end with the same blocking code as server_threads. With more clients
 *           than workers, the extra connections wait in the queue - open, accepted, but
 *           unanswered - until a worker is free: a keep-alive client holds its worker for
 *           as long as it stays connected.
 * Costs:    N stacks and tasks, paid once at start (no creation per connection); the
 *           queue's lock and a wake-up per connection. A full queue refuses newcomers with
 *           503. Memory is bounded by N whatever the load - that is the point of the pool.
 * Wins:     short connections (one request each) under a load spike: bounded memory and
 *           threads, no creation cost; Python's ThreadPoolExecutor, Java's executors.
 * Try:      server_pool --workers 2, then three `curl 'localhost:8080/io?ms=2000'` at once:
 *           the third starts only when one of the first two ends.
 * Python:   seeds/000, Pool(4) with more tasks than workers (task 5 waits for a free one)
 * See also: docs/async/servers.md, demos/async/server_threads.c, lib/server.c
 */
#include "core.h"
#include "server.h"

#include <stdlib.h>
#include <unistd.h>

static const char usage_text[] =
    "server_pool - the HTTP service on a fixed pool of N threads fed by a queue\n"
    "\n"
    "Usage: server_pool [--workers N] [--port P] [--bind ADDR] [--header-timeout MS]\n"
    "  --workers N         threads in the pool (default 32)\n"
    SERVER_FLAGS_HELP;

#define QUEUE_CAP 1024                  /* accepted connections waiting for a worker */

static struct server_opts opts;
static struct server_stop stop = { .stop_fd = -1 };

/* [snippet:queue] */
/* The queue: a ring of connection descriptors under one lock. Workers sleep on
 * `nonempty` until there is a connection to take or the server is stopping. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    int fds[QUEUE_CAP];
    size_t head, count;
    int stopping;
} q = { .lock = PTHREAD_MUTEX_INITIALIZER, .nonempty = PTHREAD_COND_INITIALIZER };

/* Hand fd to the pool, or return -1 if the queue is full. */
static int enqueue(int fd)
{
    pthread_mutex_lock(&q.lock);
    int ok = q.count < QUEUE_CAP;
    if (ok) {
        q.fds[(q.head + q.count++) % QUEUE_CAP] = fd;
        pthread_cond_signal(&q.nonempty);       /* wake one sleeping worker */
    }
    pthread_mutex_unlock(&q.lock);
    return ok ? 0 : -1;
}

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
        int fd = q.fds[q.head];
        q.head = (q.head + 1) % QUEUE_CAP, q.count--;
        pthread_mutex_unlock(&q.lock);
        server_serve_blocking(fd, &opts, &stop);    /* until the client is done */
    }
}
/* [/snippet:queue] */

int main(int argc, char **argv)
{
    server_parse_args(argc, argv, &opts, usage_text, 32);
    server_init();
    int sig_fd = server_signalfd(0);
    server_thread_stop_init(&stop);     /* an eventfd every worker's waits watch */
    int port, listen_fd = server_listen(&opts, opts.port, 0, &port);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
    pthread_t *threads = xcalloc((size_t)opts.workers, sizeof *threads);
    for (int i = 0; i < opts.workers; i++)
        xpthread_create(&threads[i], &attr, worker, NULL);
    pthread_attr_destroy(&attr);
    char model[64];
    snprintf(model, sizeof model, "a pool of %d threads", opts.workers);
    server_announce(&opts, port, model);

    int signo, fd;
    while ((signo = server_next_event(listen_fd, sig_fd)) == 0) {
        while ((fd = server_accept(listen_fd)) >= 0) {
            if (enqueue(fd) == -1)          /* every worker busy and the queue full */
                server_refuse(fd);
        }
        if (fd == -2)                       /* out of descriptors: pause, do not spin */
            sleep_ns(SERVER_EMFILE_PAUSE_MS * 1000000);
    }

    printf("signal %d: stopping %d workers\n", signo, opts.workers);
    close(listen_fd);
    pthread_mutex_lock(&q.lock);
    q.stopping = 1;                         /* idle workers leave their wait ... */
    pthread_cond_broadcast(&q.nonempty);
    pthread_mutex_unlock(&q.lock);
    server_stop_threads(&stop);             /* ... busy ones leave their connection */
    for (int i = 0; i < opts.workers; i++)
        xpthread_join(threads[i], NULL);
    for (size_t i = 0; i < q.count; i++) {  /* accepted but never served */
        close(q.fds[(q.head + i) % QUEUE_CAP]);
        atomic_fetch_add(&server_stats->closed, 1);
    }
    server_print_stats();
    free(threads);
    return EXIT_SUCCESS;
}
