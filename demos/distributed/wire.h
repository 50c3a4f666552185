/* wire.h - the broker's protocol: length-prefixed binary frames, and how fields sit in them
 *
 * Every message between a client and the broker is one frame:
 *
 *     +----------------+---------+------+---------------------------+
 *     | length (u32)   | version | op   | body (length - 2 bytes)   |
 *     +----------------+---------+------+---------------------------+
 *
 * `length` counts what follows it (version + op + body), big-endian, and is at least 2 and
 * at most WIRE_MAX_FRAME. A reader that sees a bigger length, a version it does not speak
 * or a body that does not parse closes that one connection with a logged reason; it never
 * trusts a length enough to allocate it before checking it (the seeds' pickles trusted
 * everything: a pickle is code, a frame is bytes).
 *
 * Body fields, in the order each op lists them (all integers big-endian):
 *     u8, u16, u32, u64   fixed-size integers
 *     str                 u16 length, then that many bytes (queue and client names; no NUL)
 *     bytes               u32 length, then that many bytes (payloads: opaque to the broker)
 *
 * The conversation. The broker speaks first, so a client that does not know the key learns
 * nothing but a nonce (auth.h has the arithmetic):
 *     broker -> CHALLENGE  nonce[32]
 *     client -> HELLO      nonce[32] str name  mac[32]
 *     broker -> WELCOME    mac[32]                       (or ERROR AUTH, then close)
 * Then requests, each answered by exactly one reply, in order. A client may pipeline
 * (write several requests before reading their replies); the broker never reorders.
 *
 *   request                                              reply
 *   PUT     str queue  u32 n  n x bytes                  PUT_OK  u32 n  n x u64 id
 *   GET     str queue  u32 max  u32 wait_ms  u32 lease_ms
 *                                                        TASKS   u32 n  n x task
 *                       task = u64 id  u32 deliveries  bytes payload
 *                       (n = 0 when nothing came within wait_ms: an ordinary answer)
 *   ACK     str queue  u32 n  n x u64 id                 OK      u32 n_known
 *   NACK    str queue  u32 n  n x u64 id                 OK      u32 n_known
 *   RENEW   str queue  u32 n  n x u64 id  u32 lease_ms   OK      u32 n_known
 *   FINISH  str queue  u32 n  n x u64 id  str to_queue  u32 m  m x bytes
 *                       acks n tasks and puts m results in one step: a worker that
 *                       dies between "result sent" and "task acked" cannot exist
 *                                                        PUT_OK  u32 m  m x u64 id
 *   STATS   str queue                                    STATS   stats (below)
 *   INSPECT str queue  u32 max                           ENTRIES u32 n  n x entry
 *                       entry = u64 id  u8 state  u32 deliveries  str consumer  bytes payload
 *   any of them may instead be answered  ERROR  u16 code  str message
 *
 *   stats = u64 ready  u64 leased  u64 dead  u64 put  u64 acked  u64 redelivered
 *           u64 dead_lettered  u32 consumers
 *
 * Queues are made on first use. A task that has been delivered max-deliveries times and
 * comes back (nack, expired lease, dead consumer) moves to the queue named
 * "<queue>.dead" (WIRE_DEAD_SUFFIX), where INSPECT and GET can see it.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1
#define WIRE_HEADER 4                    /* the u32 length prefix */
#define WIRE_MAX_FRAME (1u << 20)        /* 1 MiB after the prefix: version+op+body */
#define WIRE_MAX_NAME 200                /* queue and client names, bytes */
#define WIRE_MAX_BATCH 4096              /* tasks in one PUT, GET, ACK... */
#define WIRE_NONCE 32
#define WIRE_MAC 32
#define WIRE_DEAD_SUFFIX ".dead"

enum wire_op {
    /* handshake */
    WIRE_CHALLENGE = 1, WIRE_HELLO = 2, WIRE_WELCOME = 3,
    /* requests */
    WIRE_PUT = 10, WIRE_GET = 11, WIRE_ACK = 12, WIRE_NACK = 13, WIRE_RENEW = 14,
    WIRE_FINISH = 15, WIRE_STATS = 16, WIRE_INSPECT = 17,
    /* replies */
    WIRE_PUT_OK = 40, WIRE_TASKS = 41, WIRE_OK = 42, WIRE_STATS_REPLY = 43,
    WIRE_ENTRIES = 44, WIRE_ERROR = 45,
};

enum wire_error {
    WIRE_E_AUTH = 1,       /* wrong key: the connection is closed after this reply */
    WIRE_E_MALFORMED = 2,  /* the frame did not parse: closed after this reply */
    WIRE_E_FULL = 3,       /* the queue is at --max-queue: nothing of this PUT was taken */
    WIRE_E_UNKNOWN_OP = 4, /* closed after this reply */
    WIRE_E_INTERNAL = 5,   /* e.g. the journal could not be written: nothing was taken */
};

enum wire_state {          /* INSPECT's entry state */
    WIRE_READY = 1, WIRE_LEASED = 2, WIRE_DEAD = 3,
};

/* Growing output buffer for building frames. wire_begin() starts a frame with `op` (it
 * leaves room for the length); the put functions append fields; wire_end() fills in the
 * length. Several frames may be built back to back in one buffer (pipelining). Memory
 * grows as needed (xmalloc: out of memory exits); wire_buf_free() releases it. */
struct wire_buf {
    unsigned char *data;
    size_t len, cap;
    size_t frame_start;          /* where the frame being built began */
};
void wire_begin(struct wire_buf *b, enum wire_op op);
void wire_u8(struct wire_buf *b, uint8_t v);
void wire_u16(struct wire_buf *b, uint16_t v);
void wire_u32(struct wire_buf *b, uint32_t v);
void wire_u64(struct wire_buf *b, uint64_t v);
void wire_raw(struct wire_buf *b, const void *p, size_t n);     /* n bytes, no length */
void wire_str(struct wire_buf *b, const char *s, size_t n);     /* u16 length + bytes */
void wire_bytes(struct wire_buf *b, const void *p, size_t n);   /* u32 length + bytes */
void wire_end(struct wire_buf *b);
void wire_buf_reset(struct wire_buf *b);                        /* len = 0, keeps memory */
void wire_buf_free(struct wire_buf *b);

/* How much of a received stream is one whole frame. Given the bytes at `p` (n of them):
 * returns the size of the first frame including its prefix when all of it is there;
 * 0 when more bytes are needed; -1 when the prefix announces a frame that is too small
 * (< 2) or too big (> WIRE_MAX_FRAME): the connection must be closed, not buffered. */
long wire_frame_size(const unsigned char *p, size_t n);

/* Reading one frame's fields. wire_open() takes a whole frame (as counted by
 * wire_frame_size()) and checks the version; each get function reads the next field and
 * returns 0, or -1 once anything was out of bounds (and every later get fails too, so a
 * parser may read all fields and check once with wire_done()). Strings and byte fields
 * point into the frame: valid while the frame's memory is. */
struct wire_reader {
    const unsigned char *p, *end;
    int op;
    int bad;                     /* set by the first failed read */
};
int wire_open(struct wire_reader *r, const unsigned char *frame, size_t size);
int wire_get_u8(struct wire_reader *r, uint8_t *v);
int wire_get_u16(struct wire_reader *r, uint16_t *v);
int wire_get_u32(struct wire_reader *r, uint32_t *v);
int wire_get_u64(struct wire_reader *r, uint64_t *v);
int wire_get_raw(struct wire_reader *r, const unsigned char **p, size_t n);
/* a str of 1..WIRE_MAX_NAME bytes with no NUL in it */
int wire_get_name(struct wire_reader *r, const char **s, size_t *n);
int wire_get_bytes(struct wire_reader *r, const unsigned char **p, size_t *n);
/* 0 when every read succeeded and the body was read to its last byte, else -1 */
int wire_done(const struct wire_reader *r);

/* The name of an op or error code, for logs ("PUT", "AUTH"); "?" when unknown. */
const char *wire_op_name(int op);
const char *wire_error_name(int code);

#endif
