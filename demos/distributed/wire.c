/* wire.c - building and reading the broker's frames (the format is in wire.h)
 *
 * Two rules make a frame parser safe against a hostile or broken peer, and every function
 * here keeps them: check a length against what is really there before using it, and once
 * one read has failed, fail every read after it (so a parser cannot act on half a frame).
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"

/* --- building ------------------------------------------------------------------------ */

static void reserve(struct wire_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    unsigned char *data = xmalloc(cap);
    if (b->len)
        memcpy(data, b->data, b->len);
    free(b->data);
    b->data = data;
    b->cap = cap;
}

static void put_be(struct wire_buf *b, uint64_t v, int bytes)
{
    reserve(b, (size_t)bytes);
    for (int i = bytes - 1; i >= 0; i--)
        b->data[b->len++] = (unsigned char)(v >> (8 * i));
}

void wire_begin(struct wire_buf *b, enum wire_op op)
{
    b->frame_start = b->len;
    put_be(b, 0, 4);                    /* the length, filled in by wire_end() */
    put_be(b, WIRE_VERSION, 1);
    put_be(b, (uint64_t)op, 1);
}

void wire_u8(struct wire_buf *b, uint8_t v) { put_be(b, v, 1); }
void wire_u16(struct wire_buf *b, uint16_t v) { put_be(b, v, 2); }
void wire_u32(struct wire_buf *b, uint32_t v) { put_be(b, v, 4); }
void wire_u64(struct wire_buf *b, uint64_t v) { put_be(b, v, 8); }

void wire_raw(struct wire_buf *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void wire_str(struct wire_buf *b, const char *s, size_t n)
{
    CHECK(n <= UINT16_MAX);
    wire_u16(b, (uint16_t)n);
    wire_raw(b, s, n);
}

void wire_bytes(struct wire_buf *b, const void *p, size_t n)
{
    CHECK(n <= UINT32_MAX);
    wire_u32(b, (uint32_t)n);
    wire_raw(b, p, n);
}

void wire_end(struct wire_buf *b)
{
    size_t n = b->len - b->frame_start - WIRE_HEADER;
    CHECK(n <= WIRE_MAX_FRAME);         /* the caller must not build what no peer accepts */
    unsigned char *p = b->data + b->frame_start;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
}

void wire_buf_reset(struct wire_buf *b) { b->len = b->frame_start = 0; }

void wire_buf_free(struct wire_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* --- reading ------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

long wire_frame_size(const unsigned char *p, size_t n)
{
    if (n < WIRE_HEADER)
        return 0;
    uint32_t len = be32(p);
    if (len < 2 || len > WIRE_MAX_FRAME)
        return -1;
    return n >= WIRE_HEADER + (size_t)len ? (long)(WIRE_HEADER + len) : 0;
}

int wire_open(struct wire_reader *r, const unsigned char *frame, size_t size)
{
    r->p = frame;
    r->end = frame + size;
    r->op = 0;
    r->bad = size < WIRE_HEADER + 2 || be32(frame) != size - WIRE_HEADER
             || frame[WIRE_HEADER] != WIRE_VERSION;
    if (r->bad)
        return -1;
    r->op = frame[WIRE_HEADER + 1];
    r->p = frame + WIRE_HEADER + 2;
    return 0;
}

/* Take n bytes from the frame, or mark the reader bad. */
static const unsigned char *take(struct wire_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    return p;
}

static int get_be(struct wire_reader *r, uint64_t *v, int bytes)
{
    const unsigned char *p = take(r, (size_t)bytes);
    *v = 0;
    if (!p)
        return -1;
    for (int i = 0; i < bytes; i++)
        *v = *v << 8 | p[i];
    return 0;
}

int wire_get_u8(struct wire_reader *r, uint8_t *v)
{
    uint64_t x;
    int rc = get_be(r, &x, 1);
    *v = (uint8_t)x;
    return rc;
}

int wire_get_u16(struct wire_reader *r, uint16_t *v)
{
    uint64_t x;
    int rc = get_be(r, &x, 2);
    *v = (uint16_t)x;
    return rc;
}

int wire_get_u32(struct wire_reader *r, uint32_t *v)
{
    uint64_t x;
    int rc = get_be(r, &x, 4);
    *v = (uint32_t)x;
    return rc;
}

int wire_get_u64(struct wire_reader *r, uint64_t *v) { return get_be(r, v, 8); }

int wire_get_raw(struct wire_reader *r, const unsigned char **p, size_t n)
{
    *p = take(r, n);
    return *p ? 0 : -1;
}

int wire_get_name(struct wire_reader *r, const char **s, size_t *n)
{
    uint16_t len;
    const unsigned char *p = NULL;
    *s = NULL;
    *n = 0;
    if (wire_get_u16(r, &len) == -1 || wire_get_raw(r, &p, len) == -1)
        return -1;
    if (len == 0 || len > WIRE_MAX_NAME || memchr(p, '\0', len)) {
        r->bad = 1;
        return -1;
    }
    *s = (const char *)p;
    *n = len;
    return 0;
}

int wire_get_bytes(struct wire_reader *r, const unsigned char **p, size_t *n)
{
    uint32_t len;
    *p = NULL;
    *n = 0;
    if (wire_get_u32(r, &len) == -1 || wire_get_raw(r, p, len) == -1)
        return -1;
    *n = len;
    return 0;
}

int wire_done(const struct wire_reader *r) { return r->bad || r->p != r->end ? -1 : 0; }

const char *wire_op_name(int op)
{
    switch (op) {
    case WIRE_CHALLENGE: return "CHALLENGE";
    case WIRE_HELLO: return "HELLO";
    case WIRE_WELCOME: return "WELCOME";
    case WIRE_PUT: return "PUT";
    case WIRE_GET: return "GET";
    case WIRE_ACK: return "ACK";
    case WIRE_NACK: return "NACK";
    case WIRE_RENEW: return "RENEW";
    case WIRE_FINISH: return "FINISH";
    case WIRE_STATS: return "STATS";
    case WIRE_INSPECT: return "INSPECT";
    case WIRE_PUT_OK: return "PUT_OK";
    case WIRE_TASKS: return "TASKS";
    case WIRE_OK: return "OK";
    case WIRE_STATS_REPLY: return "STATS";
    case WIRE_ENTRIES: return "ENTRIES";
    case WIRE_ERROR: return "ERROR";
    default: return "?";
    }
}

const char *wire_error_name(int code)
{
    switch (code) {
    case WIRE_E_AUTH: return "AUTH";
    case WIRE_E_MALFORMED: return "MALFORMED";
    case WIRE_E_FULL: return "FULL";
    case WIRE_E_UNKNOWN_OP: return "UNKNOWN_OP";
    case WIRE_E_INTERNAL: return "INTERNAL";
    default: return "?";
    }
}
