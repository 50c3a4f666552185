/* http.c - the HTTP/1.1 subset of the async chapter: parser, replies, CPU work (see http.h) */
#include "http.h"
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void http_parser_reset(struct http_parser *p)
{
    memset(p, 0, sizeof *p);
}

/* RFC 9110's token characters: what a method or a header name may be made of. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A whole decimal number in s[0..n) within [0, max], or -1. */
static long parse_decimal(const char *s, size_t n, long max)
{
    if (n == 0 || n > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* The target: "/", "/io?ms=N" or "/cpu?us=N". Sets the route or route_status (404), or
 * returns 400 for a known path with a bad query. */
static int parse_target(struct http_parser *p, const char *t, size_t n)
{
    const char *q = memchr(t, '?', n);
    size_t path_len = q ? (size_t)(q - t) : n;
    const char *query = q ? q + 1 : "";
    size_t query_len = q ? n - path_len - 1 : 0;

    if (path_len == 1 && t[0] == '/') {
        p->route = HTTP_ROOT;                   /* any query is ignored, as static files do */
        return 0;
    }
    int io = path_len == 3 && !memcmp(t, "/io", 3);
    int cpu = path_len == 4 && !memcmp(t, "/cpu", 4);
    if (!io && !cpu) {
        p->route_status = 404;
        return 0;
    }
    const char *key = io ? "ms=" : "us=";
    if (query_len < 3 || memcmp(query, key, 3) != 0)
        return 400;
    p->arg = parse_decimal(query + 3, query_len - 3, io ? HTTP_IO_MAX_MS : HTTP_CPU_MAX_US);
    if (p->arg < 0)
        return 400;
    p->route = io ? HTTP_IO : HTTP_CPU;
    return 0;
}

/* "METHOD SP TARGET SP HTTP/1.x", separators exactly one space. Returns 0 or an error. */
static int parse_request_line(struct http_parser *p, const char *line, size_t n)
{
    const char *sp1 = memchr(line, ' ', n);
    if (!sp1 || sp1 == line)
        return 400;
    size_t mlen = (size_t)(sp1 - line);
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)line[i]))
            return 400;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', n - mlen - 1);
    if (!sp2 || sp2 == target || target[0] != '/')
        return 400;
    size_t tlen = (size_t)(sp2 - target);
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
            return 400;
    const char *version = sp2 + 1;
    size_t vlen = n - (size_t)(version - line);
    if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return 400;
    if (version[5] != '1' || version[7] > '1')
        return 505;                             /* well formed, but not a version we speak */
    p->version_minor = version[7] - '0';
    int err = parse_target(p, target, tlen);
    if (err)
        return err;
    if (mlen != 3 || memcmp(line, "GET", 3) != 0)
        p->route_status = 405;                  /* a method, just not one we serve */
    return 0;
}

/* Does the comma-separated header value v[0..n) contain `token` (any case)? */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t tlen = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i - start == tlen && !strncasecmp(v + start, token, tlen))
            return 1;
    }
    return 0;
}

/* "Name: value". Returns 0 or 400. */
static int parse_header(struct http_parser *p, const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    if (!colon || colon == line)
        return 400;                 /* also catches obsolete line folding (leading space) */
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)line[i]))
            return 400;
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *c = v; c < end; c++)
        if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
            return 400;
    size_t vlen = (size_t)(end - v);

    if (nlen == 10 && !strncasecmp(line, "Connection", 10)) {
        p->conn_close |= has_token(v, vlen, "close");
        p->conn_keep_alive |= has_token(v, vlen, "keep-alive");
    } else if (nlen == 14 && !strncasecmp(line, "Content-Length", 14)) {
        if (parse_decimal(v, vlen, 0) != 0)
            return 400;             /* a body we would have to read: not in this service */
    } else if (nlen == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
        return 400;
    }
    return 0;
}

static int finish(struct http_request *req, int status, int keep_alive, size_t head_len)
{
    req->status = status;
    req->keep_alive = keep_alive;
    req->head_len = head_len;
    return 1;
}

/* [snippet:parse] */
int http_parse(struct http_parser *p, const char *buf, size_t len, struct http_request *req)
{
    /* Take one complete line at a time; a line without its '\n' waits for the next call. */
    while (p->scanned < len) {
        const char *nl = memchr(buf + p->scanned, '\n', len - p->scanned);
        if (!nl) {
            p->scanned = len;
            break;
        }
        size_t end = (size_t)(nl - buf);
        if (end + 1 > HTTP_MAX_HEAD)
            return finish(req, 431, 0, end + 1);
        const char *line = buf + p->line_start;
        size_t n = end - p->line_start;
        if (n > 0 && line[n - 1] == '\r')
            n--;                                /* CRLF is the rule; a bare LF is tolerated */
        p->scanned = p->line_start = end + 1;
        if (memchr(line, '\0', n))
            return finish(req, 400, 0, end + 1);

        if (!p->seen_request_line) {
            if (n == 0)
                continue;                       /* blank lines before a request are allowed */
            int err = parse_request_line(p, line, n);
            if (err)
                return finish(req, err, 0, end + 1);
            p->seen_request_line = 1;
        } else if (n > 0) {
            int err = parse_header(p, line, n);
            if (err)
                return finish(req, err, 0, end + 1);
        } else {                                /* the empty line: the head is complete */
            req->route = p->route;
            req->arg = p->arg;
            int keep = p->version_minor == 1 ? !p->conn_close : p->conn_keep_alive;
            return finish(req, p->route_status, keep, end + 1);
        }
    }
    if (len > HTTP_MAX_HEAD)
        return finish(req, 431, 0, len);        /* 8 KiB and still no end of the head */
    return 0;
}
/* [/snippet:parse] */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "Error";
    }
}

static size_t format_reply(int status, int keep_alive, const char *body, char *out)
{
    int n = snprintf(out, HTTP_REPLY_MAX,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n%s",
                     status, reason(status), strlen(body),
                     status == 405 ? "Allow: GET\r\n" : "",
                     keep_alive ? "keep-alive" : "close", body);
    CHECK(n > 0 && n < HTTP_REPLY_MAX);
    return (size_t)n;
}

size_t http_reply(const struct http_request *req, const char *server, uint64_t extra, char *out)
{
    char body[160];
    if (req->status != 0)
        snprintf(body, sizeof body, "%d %s\n", req->status, reason(req->status));
    else if (req->route == HTTP_ROOT)
        snprintf(body, sizeof body, "hello from %.64s\n", server);
    else if (req->route == HTTP_IO)
        snprintf(body, sizeof body, "io: waited %ld ms\n", req->arg);
    else
        snprintf(body, sizeof body, "cpu: worked %ld us, checksum %016llx\n", req->arg,
                 (unsigned long long)extra);
    return format_reply(req->status ? req->status : 200, req->keep_alive, body, out);
}

size_t http_error_reply(int status, char *out)
{
    char body[64];
    snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    return format_reply(status, 0, body, out);
}

uint64_t http_cpu_work(long us)
{
    int64_t deadline = now_ns() + (int64_t)us * 1000;
    uint64_t x = 88172645463325252u;
    do {
        for (int i = 0; i < 1024; i++)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    } while (now_ns() < deadline);
    return x;
}
