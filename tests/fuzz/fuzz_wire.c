/* fuzz_wire.c - libFuzzer target: the input is a stream of frames, as a peer would send it
 *
 * Each frame is cut off with wire_frame_size() and read with wire_open() and the wire_get_*
 * functions in the field layout wire.h gives its op. Besides "no crash, no over-read"
 * (ASan and UBSan watch), one property: a frame that parses to its last byte, written
 * back with the wire_buf builder from the fields read, gives the same bytes. A reader
 * that skipped or misread a field would break it.
 *
 * Build and run: tests/fuzz/run.sh wire (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

/* A reader and the frame being written back from what it reads. */
struct echo {
    struct wire_reader r;
    struct wire_buf b;
};

static uint64_t num(struct echo *e, int bytes)
{
    uint8_t v8 = 0;
    uint16_t v16 = 0;
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    switch (bytes) {
    case 1: wire_get_u8(&e->r, &v8); wire_u8(&e->b, v8); return v8;
    case 2: wire_get_u16(&e->r, &v16); wire_u16(&e->b, v16); return v16;
    case 4: wire_get_u32(&e->r, &v32); wire_u32(&e->b, v32); return v32;
    default: wire_get_u64(&e->r, &v64); wire_u64(&e->b, v64); return v64;
    }
}

static void raw(struct echo *e, size_t n)
{
    const unsigned char *p;
    if (wire_get_raw(&e->r, &p, n) == 0)
        wire_raw(&e->b, p, n);
}

/* a queue or client name: 1..WIRE_MAX_NAME bytes, no NUL */
static void name(struct echo *e)
{
    const char *s;
    size_t n;
    if (wire_get_name(&e->r, &s, &n) == 0)
        wire_str(&e->b, s, n);
}

/* a str that may be empty or hold anything (ENTRIES' consumer, ERROR's message) */
static void text(struct echo *e)
{
    raw(e, (size_t)num(e, 2));
}

static void bytes(struct echo *e)
{
    const unsigned char *p;
    size_t n;
    if (wire_get_bytes(&e->r, &p, &n) == 0)
        wire_bytes(&e->b, p, n);
}

/* u32 n, then n items; a count over WIRE_MAX_BATCH is refused before any item is read */
static size_t count(struct echo *e)
{
    uint64_t n = num(e, 4);
    if (n > WIRE_MAX_BATCH)
        e->r.bad = 1;
    return e->r.bad ? 0 : (size_t)n;
}

static void each(struct echo *e, void (*item)(struct echo *))
{
    for (size_t i = 0, n = count(e); i < n && !e->r.bad; i++)
        item(e);
}

static void id(struct echo *e) { num(e, 8); }

static void ids(struct echo *e) { each(e, id); }

static void payloads(struct echo *e) { each(e, bytes); }

/* TASKS' task: u64 id  u32 deliveries  bytes payload */
static void task(struct echo *e)
{
    num(e, 8);
    num(e, 4);
    bytes(e);
}

/* ENTRIES' entry: u64 id  u8 state  u32 deliveries  str consumer  bytes payload */
static void entry(struct echo *e)
{
    num(e, 8);
    num(e, 1);
    num(e, 4);
    text(e);
    bytes(e);
}

static void requests(struct echo *e, int op)
{
    name(e);                                     /* every request names its queue first */
    if (op == WIRE_PUT) {
        payloads(e);
    } else if (op == WIRE_GET) {
        for (int i = 0; i < 3; i++)
            num(e, 4);                           /* max, wait_ms, lease_ms */
    } else if (op == WIRE_ACK || op == WIRE_NACK) {
        ids(e);
    } else if (op == WIRE_RENEW) {
        ids(e);
        num(e, 4);
    } else if (op == WIRE_FINISH) {
        ids(e);
        name(e);
        payloads(e);
    } else if (op == WIRE_INSPECT) {
        num(e, 4);
    }
}

static void replies(struct echo *e, int op)
{
    switch (op) {
    case WIRE_PUT_OK: ids(e); break;
    case WIRE_OK: num(e, 4); break;
    case WIRE_ERROR:
        num(e, 2);
        text(e);
        break;
    case WIRE_STATS_REPLY:
        for (int i = 0; i < 7; i++)
            num(e, 8);
        num(e, 4);
        break;
    case WIRE_TASKS: each(e, task); break;
    case WIRE_ENTRIES: each(e, entry); break;
    default: e->r.bad = 1;
    }
}

static void hello(struct echo *e)
{
    raw(e, WIRE_NONCE);
    name(e);
    raw(e, WIRE_MAC);
}

/* Read one whole frame in its op's layout; write it back when it parsed. */
static void one_frame(const unsigned char *frame, size_t size)
{
    struct echo e = { 0 };
    if (wire_open(&e.r, frame, size) == -1)
        return;
    int op = e.r.op;
    wire_begin(&e.b, op);
    if (!strcmp(wire_op_name(op), "?"))
        e.r.bad = 1;
    else if (op == WIRE_CHALLENGE || op == WIRE_WELCOME)
        raw(&e, WIRE_NONCE);
    else if (op == WIRE_HELLO)
        hello(&e);
    else if (op >= WIRE_PUT && op <= WIRE_INSPECT)
        requests(&e, op);
    else
        replies(&e, op);
    if (wire_done(&e.r) == 0) {
        wire_end(&e.b);
        if (e.b.len != size || memcmp(e.b.data, frame, size) != 0)
            abort();             /* a field was skipped or misread */
    }
    wire_buf_free(&e.b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    for (;;) {
        long n = wire_frame_size(data, size);
        if (n <= 0)
            return 0;            /* needs more bytes, or a length the broker would refuse */
        /* Copy the frame to its own allocation, so ASan sees a read past its end. */
        unsigned char *frame = malloc((size_t)n);
        if (!frame)
            return 0;
        memcpy(frame, data, (size_t)n);
        one_frame(frame, (size_t)n);
        free(frame);
        data += n;
        size -= (size_t)n;
    }
}
