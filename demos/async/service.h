/* service.h - what the eight servers of the async chapter share besides the protocol
 *
 * Flags:    --port, --bind, --workers, --header-timeout, parsed the same way by every
 *           server (server_parse_args); SERVER_FLAGS_HELP is their --help text. --min-rate
 *           only where the model enforces it (server_parse_args_rate).
 * Start-up: server_raise_nofile() lifts the open-file limit to the hard limit (one file
 *           descriptor per connection); server_listen() opens the listening socket;
 *           server_announce() prints the machine-readable "listening on ADDR:PORT" line.
 * Accept:   server_accept() takes one connection and, when the process is out of file
 *           descriptors (EMFILE), frees a reserved spare descriptor to accept the waiting
 *           client and answer it 503 at once instead of leaving it queued, so the accept
 *           loop neither spins on a listening socket that stays readable nor dies.
 * Counters: server_stats, printed at the end by server_print_stats().
 * The servers' flags and counters are this chapter's knowledge, so they live here, not in
 * lib/. How a connection is served is each model's own: blocking.h for the thread and
 * process servers, server_uv.c for the event loops; lifecycle.h stops their workers.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SERVER_FLAGS_HELP \
    "  --port P            TCP port (default 8080; 0: let the kernel pick one)\n" \
    "  --bind ADDR         IPv4 address to listen on (default 127.0.0.1)\n" \
    "  --header-timeout MS close a connection whose request head has not fully arrived\n" \
    "                      MS ms after the server began waiting for it (default 10000;\n" \
    "                      0: never). It covers idle keep-alive connections too.\n" \
    "  --help              this text\n"

#define SERVER_WRITE_TIMEOUT_MS 10000   /* a reader that takes no bytes for this long goes */
#define SERVER_LINGER_MS 1000           /* how long a closing connection drains its input */
#define SERVER_EMFILE_PAUSE_MS 50       /* accepting pauses this long if the spare fails */

struct server_opts {
    const char *name;           /* the program, named in the reply body */
    const char *bind;           /* --bind */
    int port;                   /* --port */
    int workers;                /* --workers: loops, threads or processes, by server */
    long header_timeout_ms;     /* --header-timeout; 0 means no limit */
    long min_rate;              /* --min-rate, bytes/s a started head must keep up; 0: off */
};

/* Counters every model updates; in MAP_SHARED memory so forked children count too. */
struct server_stats {
    atomic_long accepted, closed, requests, refused;
};
extern struct server_stats *server_stats;

/* Parse the common flags (and --workers when default_workers > 0) into *o, answering
 * --help with `usage` (which should include SERVER_FLAGS_HELP). Exits 2 on a bad flag. */
void server_parse_args(int argc, char **argv, struct server_opts *o, const char *usage,
                       int default_workers);

/* The same, and also --min-rate B (SERVER_MIN_RATE_HELP) with B = default_min_rate unless
 * given: for a model whose worker a slow client holds (server_serve_blocking() enforces
 * it). Models that cannot enforce it call server_parse_args(), which refuses the flag. */
void server_parse_args_rate(int argc, char **argv, struct server_opts *o, const char *usage,
                            int default_workers, long default_min_rate);

#define SERVER_MIN_RATE_HELP \
    "  --min-rate B        once a request head has started, it must keep arriving at B\n" \
    "                      bytes/s on average after a grace of 1 s, or the connection is\n" \
    "                      answered 408 and closed (Apache's mod_reqtimeout MinRate;\n" \
    "                      0: no rate check, only --header-timeout)\n"
#define SERVER_RATE_GRACE_MS 1000       /* the head's first second is never judged */

/* Set stdout to line buffering (lines reach a pipe at once, and children forked later do
 * not inherit unflushed text), ignore SIGPIPE (a vanished client makes write() fail with
 * EPIPE instead of killing the server), raise RLIMIT_NOFILE, map server_stats, reserve
 * the spare descriptor. Call once at the start of main(). */
void server_init(void);

/* Lift the soft open-file limit to the hard limit (raise_nofile(), core.h) and say so on
 * stderr; warn there when the hard limit would cap the number of connections low (each
 * one is a file descriptor). */
void server_raise_nofile(void);

/* A listening TCP socket on o->bind:port (port 0: any free port), non-blocking, with
 * SO_REUSEADDR and, if reuseport, SO_REUSEPORT (several sockets share one port and the
 * kernel spreads connections over them). Returns the socket; *bound_port gets the port. */
int server_listen(const struct server_opts *o, int port, int reuseport, int *bound_port);

/* Print "listening on ADDR:PORT (MODEL)" - tests and benches read this line. */
void server_announce(const struct server_opts *o, int port, const char *model);

/* Accept one connection from a non-blocking listening socket: the new socket (non-blocking,
 * close-on-exec), or -1 when there is none to take (EAGAIN), the client gave up first, or
 * the process was out of descriptors (that client was answered 503 and counted refused);
 * or -2 when out of descriptors and the spare could not help (another thread took the
 * freed slot; that thread's server_accept() refuses its client and puts the spare back):
 * the caller should stop accepting for SERVER_EMFILE_PAUSE_MS rather than retry at once
 * on a socket that stays readable. Any other failure exits (die_errno). */
int server_accept(int listen_fd);

/* Take a connection accepted some other way (io_uring's accept): count it accepted, and,
 * when another thread has given the spare descriptor up and it has not come back, answer
 * this one 503 so the spare gets its slot. Returns fd, or -1 when it was refused. */
int server_adopt(int fd);

/* Answer an accepted connection 503 and close it (no worker free for it); counts it closed
 * and refused. */
void server_refuse(int fd);

/* "stats: accepted A, closed C, open now A-C (expected 0), requests R, refused F". */
void server_print_stats(void);

#endif
