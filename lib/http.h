/* http.h - the small HTTP/1.1 subset every server of the async chapter speaks
 *
 * One protocol, written once, so that the six servers in demos/async/ differ only in how
 * they wait (one event loop, a loop per core, a thread per connection, a thread pool, a
 * process per connection, prefork). The service:
 *     GET /             200, a small fixed body
 *     GET /io?ms=N      200 after N ms of simulated IO wait (the server decides how to wait:
 *                       a timer in an event loop, a sleep in a blocking server)
 *     GET /cpu?us=N     200 after N microseconds of computation (http_cpu_work)
 *                       (N above HTTP_IO_MAX_MS, 60 s, or HTTP_CPU_MAX_US, 2 s: a 400)
 *     anything else     400 malformed request line or header, 431 header block over
 *                       HTTP_MAX_HEAD bytes, 405 a method other than GET, 404 unknown path,
 *                       505 a version other than HTTP/1.0 or 1.1
 * Keep-alive: HTTP/1.1 keeps the connection unless "Connection: close"; HTTP/1.0 closes
 * unless "Connection: keep-alive". 400, 431 and 505 are answered as soon as they are seen
 * and close the connection (the rest of the request cannot be trusted); 404 and 405 wait
 * for the end of the head and keep the connection like a good reply. Requests carry no
 * body: a Content-Length other than 0 or any Transfer-Encoding is a 400.
 *
 * The parser is incremental: the server appends what it received to its buffer and calls
 * http_parse() again; the parser remembers how far it has scanned, so a request that
 * arrives a byte at a time costs no more than one that arrives whole. It never blocks
 * and never allocates, so an event loop and a blocking thread can both use it.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD 8192          /* the request line and headers together (Node.js's cap) */
#define HTTP_BUF_SIZE (2 * HTTP_MAX_HEAD)   /* a connection's input buffer: a head + a spare */
#define HTTP_REPLY_MAX 512          /* room for any reply http_reply() writes */
#define HTTP_IO_MAX_MS 60000        /* bounds on the query values; above them, 400 */
/* /cpu computes on the thread that serves the connection, and in an event loop that stalls
 * every other client of the loop: long enough to watch that happen (2 s), no longer, so
 * one request cannot hold a loop for as long as a client likes. */
#define HTTP_CPU_MAX_US 2000000

enum http_route { HTTP_ROOT, HTTP_IO, HTTP_CPU };

/* The state of one request in progress. Zero it (http_parser_reset) before each request. */
struct http_parser {
    size_t scanned;         /* bytes of the buffer already looked at */
    size_t line_start;      /* where the line being scanned begins */
    int seen_request_line;
    int version_minor;      /* HTTP/1.<minor> */
    int conn_close, conn_keep_alive;    /* what the Connection header asked for */
    int route_status;       /* 404 or 405 found on the request line, answered at the end */
    enum http_route route;
    long arg;
};

/* A complete request, or the error to answer it with. */
struct http_request {
    int status;             /* 0 when the request is good, else the HTTP error (400 ...) */
    enum http_route route;
    long arg;               /* N of /io?ms=N or /cpu?us=N */
    int keep_alive;         /* 1: the connection stays open after the reply */
    size_t head_len;        /* bytes of the buffer this request used */
};

void http_parser_reset(struct http_parser *p);

/* Look at buf[0..len) (everything received since the current request began; the parser
 * resumes where its last call stopped). Returns 0 when the head is not complete yet (read
 * more; len never needs to pass HTTP_MAX_HEAD + 1, the parser answers 431 first), or 1
 * with *req filled in: a request to answer (status 0, 404 or 405; its bytes are
 * buf[0..head_len), anything after them is the next, pipelined request) or an error to
 * answer and then close (status 400, 431 or 505; keep_alive is 0). */
int http_parse(struct http_parser *p, const char *buf, size_t len, struct http_request *req);

/* Write the complete reply for *req (status line, headers, body) into out, which has room
 * for HTTP_REPLY_MAX bytes; `server` names the replying program in the body. Call it once
 * the request's work is done; for HTTP_CPU pass the work's checksum as `extra`, for the
 * others 0. Returns the reply's length. */
size_t http_reply(const struct http_request *req, const char *server, uint64_t extra, char *out);

/* The error reply for a status with no request behind it (e.g. 503 when the server is out
 * of file descriptors): a complete "Connection: close" reply. Returns its length. */
size_t http_error_reply(int status, char *out);

/* Compute for `us` microseconds (a xorshift loop that reads the clock every 1024 rounds),
 * return a checksum so the compiler cannot drop the work. */
uint64_t http_cpu_work(long us);

#endif
