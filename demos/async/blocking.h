/* blocking.h - one connection served by blocking-style code: the connection loop of the
 * thread-per-connection, fork and prefork servers
 *
 * server_serve_blocking() runs one connection to its end with straight-line code (read,
 * parse, answer, repeat) on a non-blocking socket: every wait is a ppoll() with a deadline
 * (server_wait()), so a stalled client (slowloris) is dropped after the header timeout (or
 * sooner by the --min-rate check) and a slow reader after the write timeout, and every
 * wait also ends when the server is told to stop (lifecycle.h). server_answer() is its
 * second half, answering one parsed request: the pool's workers use it alone, as its event
 * loop reads the heads. The libuv servers serve connections with callbacks instead
 * (server_uv.c).
 * See also: docs/async/servers.md, demos/async/server_threads.c
 */
#ifndef BLOCKING_H
#define BLOCKING_H

#include "lifecycle.h"
#include "service.h"

#include <stdint.h>

struct http_request;

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

#endif
