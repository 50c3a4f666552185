/* server.h - what the six servers of the async chapter share besides the protocol
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
 * Blocking: server_serve_blocking() runs one connection to its end with blocking-style
 *           code (read, parse, answer, repeat) on a non-blocking socket: every wait is a
 *           ppoll() with a deadline, so a stalled client (slowloris) is dropped after the
 *           header timeout (or sooner by the --min-rate check) and a slow reader after the
 *           write timeout, and every wait also ends when the server is told to stop. Used
 *           by the thread-per-connection, fork and prefork servers. server_answer() is its
 *           second half, answering one parsed request: the pool's workers use it alone,
 *           as its event loop reads the heads. The libuv servers use lib/uvserve.h.
 */
#ifndef SERVER_H
#define SERVER_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_request;

#define SERVER_FLAGS_HELP \
    "  --port P            TCP port (default 8080; 0: let the kernel pick one)\n" \
    "  --bind ADDR         IPv4 address to listen on (default 127.0.0.1)\n" \
    "  --header-timeout MS close a connection whose request head has not fully arrived\n" \
    "                      MS ms after the server began waiting for it (default 10000;\n" \
    "                      0: never). It covers idle keep-alive connections too.\n" \
    "  --help              this text\n"

#define SERVER_WRITE_TIMEOUT_MS 10000   /* a reader that takes no bytes for this long goes */
#define SERVER_LINGER_MS 1000
#define SERVER_EMFILE_PAUSE_MS 50       /* accepting pauses this long if the spare fails */           /* how long a closing connection drains its input */

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

/* Lift the soft open-file limit to the hard limit and say so; warn when the hard limit
 * would cap the number of connections low (each one is a file descriptor). */
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

/* Answer an accepted connection 503 and close it (no worker free for it); counts it closed
 * and refused. */
void server_refuse(int fd);

/* How a blocking worker learns that the server is stopping: stop_fd (an eventfd that
 * becomes readable, for threads; -1 if unused) and/or the signal mask passed to ppoll()
 * (for processes: SIGINT and SIGTERM are blocked except while waiting, so a signal can
 * only arrive - and set *stop_flag - inside a wait, never be lost between check and wait). */
struct server_stop {
    int stop_fd;
    const sigset_t *wait_mask;          /* NULL: keep the current mask */
    volatile sig_atomic_t *stop_flag;   /* NULL if unused */
};

/* For thread models: st->stop_fd becomes a new eventfd (and nothing else is set);
 * server_stop_threads() makes it readable, so every worker's next server_wait() returns
 * -1 - at once, for all of them, without knowing who is waiting where. */
void server_thread_stop_init(struct server_stop *st);
void server_stop_threads(const struct server_stop *st);

/* Stack size for connection threads: a connection needs its 16 KiB buffer and a few
 * frames, not the default 8 MiB (only touched pages cost memory, but the reserved address
 * space adds up by 10 000 connections). */
#define SERVER_THREAD_STACK (256 * 1024)

/* Wait until fd is ready for `events` (POLLIN/POLLOUT; fd -1 waits for nothing), the
 * monotonic deadline passes (INT64_MAX: none) or the server stops. Returns 1 ready,
 * 0 deadline, -1 stop. */
int server_wait(int fd, short events, int64_t deadline_ns, const struct server_stop *st);

/* Serve connection fd to its end and close it: requests in a loop until the client
 * closes, an error reply, a timeout or a stop. /io waits with server_wait(). A head must
 * be complete within o->header_timeout_ms and, once its first byte is in, keep up
 * o->min_rate bytes/s (after SERVER_RATE_GRACE_MS); else 408 and close. */
void server_serve_blocking(int fd, const struct server_opts *o, const struct server_stop *st);

/* Answer one request whose head is already parsed into *req (a head read by someone else,
 * e.g. the pool's event loop): count it, do its work (/io waits with server_wait(), /cpu
 * computes), send the reply. Returns 0 when the connection may carry the next request
 * (keep-alive); 1 when the reply said close (the caller should stop sending, drain the
 * client's input for SERVER_LINGER_MS, then close, so a reset does not destroy the
 * reply); -1 when the client vanished or the server is stopping. Never closes fd. */
int server_answer(int fd, const struct http_request *req, const struct server_opts *o,
                  const struct server_stop *st);

/* "stats: accepted A, closed C, open now A-C (expected 0), requests R, refused F". */
void server_print_stats(void);

/* Wait until listen_fd is readable (return 0) or a signal arrives on sig_fd (return its
 * number). listen_fd -1: wait for a signal only. */
int server_next_event(int listen_fd, int sig_fd);

/* For a forked worker: SIGINT/SIGTERM (still blocked, inherited) get a handler that sets
 * the returned flag, and *st is set up to let them in only during server_wait(). */
void server_child_stop(struct server_stop *st);

/* The children of the process models. server_reap() collects every child that has ended
 * (blocking until all of them have, if `all`), drops it from pids[0..*n) and reports any
 * that did not exit with status 0; returns how many it collected. server_stop_children()
 * sends each child SIGTERM and reaps them all. */
size_t server_reap(pid_t *pids, size_t *n, int all);
void server_stop_children(pid_t *pids, size_t *n);

/* Block SIGINT, SIGTERM (and SIGCHLD when with_sigchld) in this thread and in every thread
 * or child created after, and return a signalfd that reads them. */
int server_signalfd(int with_sigchld);

#endif
