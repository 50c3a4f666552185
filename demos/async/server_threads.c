/* server_threads.c - the HTTP service with one thread per connection
 *
 * Usage:    server_threads [--port P] [--bind ADDR] [--header-timeout MS]
 * Observe:  the main thread accepts; every connection gets a new thread that reads, parses
 *           and answers with plain blocking-style code (blocking.c), and ends with it.
 *           `ls /proc/$(pidof server_threads)/task | wc -l` while clients are connected:
 *           one task per connection, plus main. /io?ms=N sleeps in its thread, which costs
 *           nothing but that thread's memory; the kernel runs the others meanwhile.
 * Costs:    a thread per connection: a stack (here 256 KiB reserved, touched pages only
 *           count in RSS), a kernel task, a creation per connection, and at least one
 *           context switch per request (the kernel wakes the connection's thread). Threads
 *           share memory: a crash in one ends them all.
 * Wins:     the simplest code to write and read (one request after another, top to
 *           bottom); good up to a few thousand connections, and it uses every core.
 * Try:      server_threads --port 0, then hold 1000 idle connections (bench `server`'s
 *           memory points) and compare RSS with server_uv.
 * Python:   docs/seeds.md#seed-000, Apache's "a worker per request", set against nginx
 * See also: docs/async/servers.md, demos/async/blocking.c (server_serve_blocking)
 */
#include "core.h"
#include "blocking.h"
#include "lifecycle.h"
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "server_threads - the HTTP service with one thread per connection\n"
    "\n"
    "Usage: server_threads [--port P] [--bind ADDR] [--header-timeout MS]\n"
    SERVER_FLAGS_HELP;

static struct server_opts opts;
static struct server_stop stop = { .stop_fd = -1 };

/* How many connection threads are running; shutdown waits until it reaches zero. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static long running;

/* [snippet:thread] */
static void *connection_thread(void *arg)
{
    server_serve_blocking((int)(intptr_t)arg, &opts, &stop);   /* the whole connection */
    pthread_mutex_lock(&lock);
    if (--running == 0)
        pthread_cond_signal(&all_done);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* A detached thread for connection fd: nobody joins it, it cleans up after itself. */
static void start_thread(int fd, const pthread_attr_t *attr)
{
    pthread_t t;
    pthread_mutex_lock(&lock);
    running++;
    pthread_mutex_unlock(&lock);
    int s = pthread_create(&t, attr, connection_thread, (void *)(intptr_t)fd);
    if (s != 0) {                   /* EAGAIN: out of threads; refuse this one, keep going */
        fprintf(stderr, "%s: pthread_create: %s (connection refused)\n", prog_name,
                strerror(s));
        server_refuse(fd);
        pthread_mutex_lock(&lock);
        running--;
        pthread_mutex_unlock(&lock);
    }
}
/* [/snippet:thread] */

int main(int argc, char **argv)
{
    server_parse_args(argc, argv, &opts, usage_text, 0);
    server_init();
    int sig_fd = server_signalfd(0);    /* blocked in every thread; read by main only */
    server_thread_stop_init(&stop);     /* an eventfd every worker's waits watch */
    int port, listen_fd = server_listen(&opts, opts.port, 0, &port);

    /* Small stacks (SERVER_THREAD_STACK): a connection needs little more than its buffer. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
    server_announce(&opts, port, "a thread per connection");

    int signo;
    while ((signo = server_next_event(listen_fd, sig_fd)) == 0) {
        int fd;
        while ((fd = server_accept(listen_fd)) >= 0)
            start_thread(fd, &attr);
        if (fd == -2)                   /* out of descriptors: pause instead of spinning */
            sleep_ns(SERVER_EMFILE_PAUSE_MS * 1000000);
    }

    /* Stop: the eventfd becomes readable and every thread's ppoll() returns; each closes
     * its connection and leaves. Wait until the last one has. */
    pthread_mutex_lock(&lock);
    printf("signal %d: stopping %ld connection threads\n", signo, running);
    pthread_mutex_unlock(&lock);
    close(listen_fd);
    server_stop_threads(&stop);
    pthread_mutex_lock(&lock);
    while (running > 0)
        pthread_cond_wait(&all_done, &lock);
    pthread_mutex_unlock(&lock);
    server_print_stats();
    pthread_attr_destroy(&attr);
    return EXIT_SUCCESS;
}
