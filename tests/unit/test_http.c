/* test_http.c - the HTTP parser and replies of lib/http.c, without a socket
 *
 * Every request in the table is parsed whole, then split in two at every byte, then fed a
 * byte at a time: the parser resumes where it stopped, so each way must give the same
 * answer, and none may answer before the bytes that decide it have arrived.
 */
#include "http.h"
#include "unit.h"

#include <string.h>

struct want {
    const char *req;
    size_t len;
    int status, route;
    long arg;
    int keep_alive;
    int lines;                  /* the answer comes after this many lines; 0: at the end */
};
#define R(literal) literal, sizeof literal - 1     /* a request may hold a '\0' */

static const struct want table[] = {
    { R("GET / HTTP/1.1\r\n\r\n"), 0, HTTP_ROOT, 0, 1, 0 },
    { R("GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"), 0, HTTP_ROOT, 0, 1, 0 },
    { R("GET /io?ms=25 HTTP/1.1\r\nHost: a\r\n\r\n"), 0, HTTP_IO, 25, 1, 0 },
    { R("GET /io?ms=60000 HTTP/1.1\r\n\r\n"), 0, HTTP_IO, 60000, 1, 0 },
    { R("GET /cpu?us=2000000 HTTP/1.1\r\n\r\n"), 0, HTTP_CPU, 2000000, 1, 0 },
    { R("\r\n\nGET / HTTP/1.1\n\n"), 0, HTTP_ROOT, 0, 1, 0 },  /* blank lines first, bare LF */
    { R("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 0, HTTP_ROOT, 0, 1, 0 },
    /* Keep-alive: 1.1 keeps unless "close", 1.0 closes unless "keep-alive". */
    { R("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0, HTTP_ROOT, 0, 0, 0 },
    { R("GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n"), 0, HTTP_ROOT, 0, 0, 0 },
    { R("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"), 0, HTTP_ROOT, 0, 1, 0 },
    { R("GET / HTTP/1.0\r\n\r\n"), 0, HTTP_ROOT, 0, 0, 0 },
    { R("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0, HTTP_ROOT, 0, 1, 0 },
    /* 404 and 405 wait for the end of the head and keep the connection. */
    { R("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"), 404, 0, 0, 1, 0 },
    { R("GET /io2?ms=1 HTTP/1.1\r\n\r\n"), 404, 0, 0, 1, 0 },
    { R("POST / HTTP/1.1\r\nHost: a\r\n\r\n"), 405, 0, 0, 1, 0 },
    { R("POST / HTTP/1.0\r\n\r\n"), 405, 0, 0, 0, 0 },
    /* 400 and 505 answer at the line that is wrong (head_len ends there) and close. */
    { R("GET  / HTTP/1.1\r\n\r\n"), 400, 0, 0, 0, 1 },
    { R("GET / HTTP/1.1 \r\n\r\n"), 400, 0, 0, 0, 1 },
    { R("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"), 400, 0, 0, 0, 2 },
    { R("GET / HTTP/1.1\r\n folded: x\r\n\r\n"), 400, 0, 0, 0, 2 },
    { R("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"), 400, 0, 0, 0, 2 },
    { R("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), 400, 0, 0, 0, 2 },
    { R("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, 0, 0, 0, 2 },
    { R("GET /io?ms=x HTTP/1.1\r\n\r\n"), 400, 0, 0, 0, 1 },
    { R("GET /io?ms=60001 HTTP/1.1\r\n\r\n"), 400, 0, 0, 0, 1 },
    { R("GET /cpu?us=2000001 HTTP/1.1\r\n\r\n"), 400, 0, 0, 0, 1 },  /* the /cpu cap */
    { R("GET /cpu HTTP/1.1\r\n\r\n"), 400, 0, 0, 0, 1 },
    { R("GET / HTTP/2.0\r\n\r\n"), 505, 0, 0, 0, 1 },
    { R("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505, 0, 0, 0, 1 },
};

/* Where the answer is due: after `lines` lines, or at the end of the request. */
static size_t head_of(const struct want *w)
{
    if (w->lines == 0)
        return w->len;
    const char *at = w->req;
    for (int i = 0; i < w->lines; i++)
        at = (const char *)memchr(at, '\n', w->len - (size_t)(at - w->req)) + 1;
    return (size_t)(at - w->req);
}

/* Parse buf[0..len) in an allocation of exactly len bytes, so that ASan sees a read past it. */
static int parse_exact(struct http_parser *p, const char *buf, size_t len,
                       struct http_request *req)
{
    char *copy = xmalloc(len);
    memcpy(copy, buf, len);
    int done = http_parse(p, copy, len, req);
    free(copy);
    return done;
}

static int same(const struct http_request *a, const struct http_request *b)
{
    return a->status == b->status && a->keep_alive == b->keep_alive &&
           a->head_len == b->head_len &&
           (a->status != 0 || (a->route == b->route && a->arg == b->arg));
}

static void test_table(void)
{
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
        const struct want *w = &table[t];
        size_t n = w->len, head = head_of(w);
        struct http_parser p;
        struct http_request whole = { 0 }, part = { 0 };

        http_parser_reset(&p);
        if (!EXPECT(parse_exact(&p, w->req, n, &whole) == 1))
            continue;
        if (!EXPECT(whole.status == w->status && whole.keep_alive == w->keep_alive &&
                    whole.head_len == head))
            fprintf(stderr, "  request %zu: got status %d keep %d head_len %zu\n", t,
                    whole.status, whole.keep_alive, whole.head_len);
        if (w->status == 0)
            EXPECT((int)whole.route == w->route && whole.arg == w->arg);

        /* Two pieces, split at every byte: an answer only once the deciding line is in. */
        for (size_t k = 0; k < n; k++) {
            http_parser_reset(&p);
            int early = parse_exact(&p, w->req, k, &part);
            if (!EXPECT(early == (k >= head)))
                fprintf(stderr, "  request %zu split at %zu: answered %d\n", t, k, early);
            if (!early)
                EXPECT(parse_exact(&p, w->req, n, &part) == 1);
            EXPECT(same(&part, &whole));
        }

        /* A byte at a time. */
        http_parser_reset(&p);
        size_t len = 0;
        while (len < n && !parse_exact(&p, w->req, ++len, &part))
            ;
        EXPECT(len == head && same(&part, &whole));
    }
}

/* Two requests in one read: head_len says where the second begins. */
static void test_pipelining(void)
{
    const char buf[] = "GET /io?ms=1 HTTP/1.1\r\n\r\nGET /cpu?us=2 HTTP/1.1\r\n"
                       "Connection: close\r\n\r\nGET /";
    struct http_parser p;
    struct http_request r;

    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf, sizeof buf - 1, &r) == 1);
    EXPECT(r.status == 0 && r.route == HTTP_IO && r.arg == 1 && r.keep_alive == 1);
    EXPECT(r.head_len == 25);

    size_t at = r.head_len;
    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf + at, sizeof buf - 1 - at, &r) == 1);
    EXPECT(r.status == 0 && r.route == HTTP_CPU && r.arg == 2 && r.keep_alive == 0);
    EXPECT(r.head_len == 45);

    at += r.head_len;
    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf + at, sizeof buf - 1 - at, &r) == 0);    /* the third: not yet */
}

/* A head over HTTP_MAX_HEAD bytes is a 431, answered once the cap is passed, not later. */
static void test_431(void)
{
    size_t n = HTTP_MAX_HEAD + 100;
    char *buf = xmalloc(n);
    memset(buf, 'a', n);
    memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
    struct http_parser p;
    struct http_request r;

    http_parser_reset(&p);
    size_t len = 0;
    while (len < n && !parse_exact(&p, buf, ++len, &r))
        ;
    EXPECT(len == HTTP_MAX_HEAD + 1 && r.status == 431 && r.keep_alive == 0);

    /* The header line ends after the cap: whole, it is a 431 at that line. */
    memcpy(buf + n - 4, "\r\n\r\n", 4);
    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf, n, &r) == 1 && r.status == 431 && r.keep_alive == 0);

    /* One byte over the cap is a 431; exactly at the cap is still a request. */
    memcpy(buf + HTTP_MAX_HEAD - 3, "\r\n\r\n", 4);
    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf, n, &r) == 1 && r.status == 431);

    memcpy(buf + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
    http_parser_reset(&p);
    EXPECT(http_parse(&p, buf, n, &r) == 1 && r.status == 0 && r.head_len == HTTP_MAX_HEAD);
    free(buf);
}

/* The reply's Content-Length matches the body that follows the head. */
static int length_matches(const char *reply, size_t n)
{
    const char *cl = strstr(reply, "Content-Length: "), *body = strstr(reply, "\r\n\r\n");
    return cl && body && strtoul(cl + 16, NULL, 10) == n - (size_t)(body + 4 - reply);
}

static void test_replies(void)
{
    char out[HTTP_REPLY_MAX];
    struct http_request r = { .status = 0, .route = HTTP_ROOT, .keep_alive = 1 };
    size_t n = http_reply(&r, "server_x", 0, out);
    EXPECT(n == strlen(out));
    EXPECT(!strcmp(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
                        "Connection: keep-alive\r\n\r\nhello from server_x\n"));

    r = (struct http_request){ .status = 0, .route = HTTP_IO, .arg = 7, .keep_alive = 0 };
    n = http_reply(&r, "s", 0, out);
    EXPECT(strstr(out, "HTTP/1.1 200 OK\r\n") == out && strstr(out, "Connection: close\r\n"));
    EXPECT(length_matches(out, n) && strstr(out, "\r\n\r\nio: waited 7 ms\n"));

    r = (struct http_request){ .status = 0, .route = HTTP_CPU, .arg = 9, .keep_alive = 1 };
    n = http_reply(&r, "s", 0xabcULL, out);
    EXPECT(length_matches(out, n) &&
           strstr(out, "\r\n\r\ncpu: worked 9 us, checksum 0000000000000abc\n"));

    r = (struct http_request){ .status = 405, .keep_alive = 1 };
    n = http_reply(&r, "s", 0, out);
    EXPECT(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n") == out);
    EXPECT(strstr(out, "Allow: GET\r\n") && strstr(out, "Connection: keep-alive\r\n"));
    EXPECT(length_matches(out, n) && strstr(out, "\r\n\r\n405 Method Not Allowed\n"));

    r = (struct http_request){ .status = 404, .keep_alive = 1 };
    n = http_reply(&r, "s", 0, out);
    EXPECT(strstr(out, "HTTP/1.1 404 Not Found\r\n") == out && !strstr(out, "Allow:"));
    EXPECT(length_matches(out, n));

    n = http_error_reply(503, out);
    EXPECT(n == strlen(out));
    EXPECT(!strcmp(out, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 24\r\nConnection: close\r\n\r\n"
                        "503 Service Unavailable\n"));
    const int codes[] = { 400, 408, 431, 505 };
    const char *lines[] = { "400 Bad Request", "408 Request Timeout",
                            "431 Request Header Fields Too Large",
                            "505 HTTP Version Not Supported" };
    for (int i = 0; i < 4; i++) {
        n = http_error_reply(codes[i], out);
        EXPECT(!strncmp(out + 9, lines[i], strlen(lines[i])) && length_matches(out, n));
        EXPECT(strstr(out, "Connection: close\r\n") != NULL);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    prog_init(argv[0]);
    test_table();
    test_pipelining();
    test_431();
    test_replies();
    return unit_done();
}
