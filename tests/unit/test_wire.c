/* test_wire.c - the frame format: what is built reads back, and what is broken is refused
 *
 * A frame with every field type reads back exactly; wire_frame_size() waits for whole
 * frames, counts pipelined ones and refuses lengths out of range before any allocation;
 * a reader that ran past the end stays failed (so a parser cannot act on half a frame);
 * names must be 1..WIRE_MAX_NAME bytes without NUL; a wrong version does not open; trailing
 * bytes make wire_done() fail.
 */
#include "wire.h"
#include "unit.h"

#include <string.h>

static void test_round_trip(void)
{
    struct wire_buf b = { 0 };
    wire_begin(&b, WIRE_PUT);
    wire_u8(&b, 0xab);
    wire_u16(&b, 0x1234);
    wire_u32(&b, 0xdeadbeef);
    wire_u64(&b, 0x0102030405060708u);
    wire_str(&b, "tasks", 5);
    wire_bytes(&b, "\0payload", 8);
    wire_end(&b);
    EXPECT(b.len == 4 + 2 + 1 + 2 + 4 + 8 + 7 + 12);
    EXPECT(b.data[0] == 0 && b.data[3] == b.len - 4 && b.data[4] == WIRE_VERSION);
    EXPECT(wire_frame_size(b.data, b.len) == (long)b.len);
    EXPECT(wire_frame_size(b.data, b.len - 1) == 0);

    struct wire_reader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const char *name;
    const unsigned char *p;
    size_t n, m;
    EXPECT(wire_open(&r, b.data, b.len) == 0 && r.op == WIRE_PUT);
    wire_get_u8(&r, &u8);
    wire_get_u16(&r, &u16);
    wire_get_u32(&r, &u32);
    wire_get_u64(&r, &u64);
    wire_get_name(&r, &name, &n);
    wire_get_bytes(&r, &p, &m);
    EXPECT(wire_done(&r) == 0);
    EXPECT(u8 == 0xab && u16 == 0x1234 && u32 == 0xdeadbeef && u64 == 0x0102030405060708u);
    EXPECT(n == 5 && memcmp(name, "tasks", 5) == 0 && m == 8 && memcmp(p, "\0payload", 8) == 0);
    wire_buf_free(&b);
}

/* Two frames back to back, fed a byte at a time: a size only once each is whole. */
static void test_pipelined(void)
{
    struct wire_buf b = { 0 };
    wire_begin(&b, WIRE_STATS);
    wire_str(&b, "q", 1);
    wire_end(&b);
    size_t first = b.len;
    wire_begin(&b, WIRE_ACK);
    wire_str(&b, "q", 1);
    wire_u32(&b, 0);
    wire_end(&b);
    int ok = 1;
    for (size_t i = 0; i < first; i++)
        ok &= wire_frame_size(b.data, i) == 0;
    EXPECT(ok);
    EXPECT(wire_frame_size(b.data, b.len) == (long)first);
    EXPECT(wire_frame_size(b.data + first, b.len - first) == (long)(b.len - first));
    wire_buf_reset(&b);
    EXPECT(b.len == 0);
    wire_buf_free(&b);
}

static void test_bad_lengths(void)
{
    unsigned char big[4] = { 0x00, 0x10, 0x00, 0x01 };        /* WIRE_MAX_FRAME + 1 */
    unsigned char max[4] = { 0x00, 0x10, 0x00, 0x00 };
    unsigned char tiny[4] = { 0, 0, 0, 1 };
    unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
    EXPECT(wire_frame_size(big, 4) == -1);
    EXPECT(wire_frame_size(huge, 4) == -1);
    EXPECT(wire_frame_size(tiny, 4) == -1);
    EXPECT(wire_frame_size(max, 4) == 0);                     /* allowed: wait for it */
    EXPECT(wire_frame_size(big, 3) == 0);                     /* not even a prefix yet */
}

/* A field past the end fails, and so does everything after it. */
static void test_sticky_failure(void)
{
    unsigned char f[] = { 0, 0, 0, 5, WIRE_VERSION, WIRE_GET, 0, 9, 'x' };  /* str of 9 */
    struct wire_reader r;
    const char *name;
    size_t n;
    uint16_t u16;
    EXPECT(wire_open(&r, f, sizeof f) == 0);
    EXPECT(wire_get_name(&r, &name, &n) == -1 && name == NULL);
    EXPECT(wire_get_u16(&r, &u16) == -1 && wire_done(&r) == -1);

    unsigned char v2[] = { 0, 0, 0, 2, WIRE_VERSION + 1, WIRE_STATS };
    EXPECT(wire_open(&r, v2, sizeof v2) == -1);
    unsigned char trailing[] = { 0, 0, 0, 3, WIRE_VERSION, WIRE_STATS, 7 };
    EXPECT(wire_open(&r, trailing, sizeof trailing) == 0 && wire_done(&r) == -1);
    unsigned char lying[] = { 0, 0, 0, 9, WIRE_VERSION, WIRE_STATS };   /* says 9, has 2 */
    EXPECT(wire_open(&r, lying, sizeof lying) == -1);
}

static int name_ok(const char *s, size_t n)
{
    struct wire_buf b = { 0 };
    wire_begin(&b, WIRE_STATS);
    wire_str(&b, s, n);
    wire_end(&b);
    struct wire_reader r;
    const char *name;
    size_t len;
    int ok = wire_open(&r, b.data, b.len) == 0 && wire_get_name(&r, &name, &len) == 0
             && wire_done(&r) == 0;
    wire_buf_free(&b);
    return ok;
}

static void test_names(void)
{
    char long_name[WIRE_MAX_NAME + 1];
    memset(long_name, 'q', sizeof long_name);
    EXPECT(name_ok("tasks", 5));
    EXPECT(name_ok(long_name, WIRE_MAX_NAME));
    EXPECT(!name_ok(long_name, WIRE_MAX_NAME + 1));
    EXPECT(!name_ok("", 0));
    EXPECT(!name_ok("a\0b", 3));
    EXPECT(strcmp(wire_op_name(WIRE_FINISH), "FINISH") == 0);
    EXPECT(strcmp(wire_op_name(99), "?") == 0);
    EXPECT(strcmp(wire_error_name(WIRE_E_FULL), "FULL") == 0);
}

int main(void)
{
    test_round_trip();
    test_pipelined();
    test_bad_lengths();
    test_sticky_failure();
    test_names();
    return unit_done();
}
