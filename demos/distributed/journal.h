/* journal.h - the broker's append-only journal: what it accepted, acked and dead-lettered,
 * replayed after a restart
 *
 * The broker keeps its queues in memory. With --journal FILE it also appends one record
 * per change to a file, and at start-up it reads the file back and rebuilds what was still
 * outstanding. Pure bookkeeping and file IO: no libuv, no sockets.
 *
 * What a crash can lose. A put is acknowledged (PUT_OK sent) only after its record went
 * through write(2), because the broker calls journal_flush() once per event-loop turn
 * before it sends that turn's replies. After write(2) returns the bytes are in the kernel's
 * page cache, which belongs to the kernel, not to the broker: so SIGKILL of the broker
 * alone (or its crash) loses nothing acknowledged, in any mode. A machine crash or power
 * loss loses whatever had not reached the disk yet, and that is what --fsync decides:
 *     always  fdatasync() in every flush, before the replies: nothing acknowledged is lost.
 *     batch   fdatasync() when journal_sync_due() says --fsync-ms passed (the broker asks
 *             from a timer): up to --fsync-ms of acknowledged puts (and acks) can be lost.
 *     never   the kernel writes back when it likes (typically within ~30 s on Linux):
 *             whatever the page cache held can be lost.
 * A lost ACK record means that task is delivered once more after the restart, which
 * at-least-once delivery allows; a lost PUT record is a task the producer was told was
 * taken, which is the promise that matters.
 *
 * Records (integers big-endian, as on the wire; str and bytes as in wire.h):
 *     u32 length | u8 type | u64 id | fields of the type | u32 crc
 *     PUT        str queue  u32 deliveries  bytes payload   a task accepted on queue
 *     ACK        str queue                                  done: forget it
 *     DEAD       str queue                                  moved to "<queue>.dead"
 *     DELIVERED  str queue                                  handed to a consumer once more
 *     MAX_ID     (none)                                     the highest id ever given out
 * `length` counts the bytes after it, up to and including the crc; the crc is CRC-32C over
 * the length field and everything up to the crc. Ids are unique across queues (the broker
 * has one counter), so replay matches ACK, DEAD and DELIVERED to their PUT by id alone.
 * The broker writes: PUT per task of a PUT or of FINISH's results; ACK per task acked (by
 * ACK or FINISH, on its queue or its dead queue); DELIVERED per task a GET hands out; DEAD
 * when a task passes --max-deliveries. NACK and an expired lease write nothing: the task
 * is ready again, as it would be after a restart.
 *
 * Why DELIVERED is journaled. --max-deliveries K moves a task that keeps coming back to
 * the dead-letter queue. If the count lived only in memory, every restart would reset it:
 * a poison task that brings the broker down (or that is in hand whenever an operator or a
 * crash loop restarts it) would get K fresh tries per restart and never be dead-lettered.
 * With DELIVERED the count survives: it costs a few dozen bytes per delivery, written in
 * the same write(2) as the turn's other records. Leases are not journaled: after a restart
 * no consumer holds a connection, so every leased task is ready again (with its count).
 *
 * Torn and corrupt records. A record that runs past the end of the file, or fails its crc
 * and is the last thing in it (or is followed only by zero bytes: blocks the file system
 * allocated but never wrote), is a torn write from a crash: it is dropped, everything
 * before it is replayed and info->message says how many bytes were dropped. Its write never
 * completed, so its reply was never sent: nothing acknowledged is lost. A record that
 * fails its check with valid-looking bytes after it is corruption (a bad disk, an edit):
 * replay stops there with an error and the broker refuses to start, because starting
 * would silently forget acknowledged tasks. The message names the offset, so an operator
 * can keep a copy and `truncate -s OFFSET FILE` to accept the loss knowingly.
 *
 * Compaction. journal_open() rewrites the file after replay with only the outstanding
 * tasks (a MAX_ID record first, so ids never go back), into FILE.tmp, fdatasync, rename()
 * over FILE, fsync of the directory: a crash at any point leaves either the old or the new
 * file whole. While running, journal_compact_due() says when the file has doubled since its
 * last rewrite (and passed a minimum size: Redis's auto-aof-rewrite rule); the broker then
 * hands journal_rewrite() its outstanding tasks.
 *
 * Errors: functions that can fail return -1 (or NULL) with a message naming the failed call
 * and strerror, for the caller to log. After a failed write or fdatasync the journal refuses
 * every later write: the page cache may have dropped the bytes (PostgreSQL's "fsyncgate",
 * 2018), so the only safe course is to stop without sending that turn's replies.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

enum journal_sync { JOURNAL_SYNC_ALWAYS, JOURNAL_SYNC_BATCH, JOURNAL_SYNC_NEVER };

enum journal_type {
    JOURNAL_PUT = 1, JOURNAL_ACK = 2, JOURNAL_DEAD = 3, JOURNAL_DELIVERED = 4,
    JOURNAL_MAX_ID = 5,
};

/* One outstanding task as replay found it (or as journal_rewrite()'s next() hands it
 * over). queue is the queue it was put on, 1..WIRE_MAX_NAME bytes, not NUL-terminated;
 * dead says it now lives on queue + WIRE_DEAD_SUFFIX. A task in a dead-letter queue is
 * given with the name before the suffix and dead = 1: "<queue>.dead" may be longer than
 * WIRE_MAX_NAME, which no record holds. The pointers are valid only during the call: the
 * store copies what it keeps. */
struct journal_task {
    uint64_t id;
    const char *queue;
    size_t queue_len;
    uint32_t deliveries;
    int dead;
    const unsigned char *payload;
    size_t payload_len;
};

/* Called once per outstanding task, in the order the tasks were first put. */
typedef void (*journal_task_fn)(void *ctx, const struct journal_task *t);

/* What a replay found. message is "" when there is nothing to say, a note when a torn last
 * record was dropped, the error when replay failed. */
struct journal_info {
    uint64_t records;        /* valid records read */
    uint64_t tasks;          /* outstanding tasks handed over (dead ones included) */
    uint64_t dead;           /* of which dead-lettered */
    uint64_t max_id;         /* highest id in any record, 0 if none: the next id is max_id + 1 */
    uint64_t valid_bytes;    /* the prefix that replayed */
    uint64_t dropped_bytes;  /* a torn last record, dropped */
    uint64_t ignored;        /* records naming an id that was not outstanding */
    char message[512];
};

/* Replay n bytes of journal: hand fn each task still outstanding at the end. Returns 0
 * (a torn tail dropped is still 0, with a note in info->message), or -1 at a corrupt
 * record (info->message names its offset; fn has not been called). Never reads outside
 * p[0..n). */
int journal_replay_buf(const unsigned char *p, size_t n, journal_task_fn fn, void *ctx,
                       struct journal_info *info);

/* The same for the file at path, read-only. A missing file is an empty journal. */
int journal_replay(const char *path, journal_task_fn fn, void *ctx, struct journal_info *info);

/* Open the journal at path for the broker: replay it (fn gets each outstanding task, as
 * above), compact it, and leave it open for appends under `sync` (fsync_ms is the batch
 * interval). Creates the file (mode 0600) if missing. NULL on failure, with the reason in
 * info->message; fn is called only once the compacted file is safely in place. */
struct journal *journal_open(const char *path, enum journal_sync sync, int fsync_ms,
                             journal_task_fn fn, void *ctx, struct journal_info *info);

/* Append a record to the in-memory buffer (never fails: memory grows, xmalloc exits when
 * there is none). queue is 1..WIRE_MAX_NAME bytes, payload at most WIRE_MAX_FRAME. Nothing
 * reaches the file before journal_flush(). */
void journal_put(struct journal *j, const char *queue, size_t queue_len, uint64_t id,
                 const void *payload, size_t payload_len);
void journal_ack(struct journal *j, const char *queue, size_t queue_len, uint64_t id);
void journal_dead(struct journal *j, const char *queue, size_t queue_len, uint64_t id);
void journal_delivered(struct journal *j, const char *queue, size_t queue_len, uint64_t id);

/* Write the buffer with one write(2) (more only if the kernel takes it in parts), then
 * fdatasync() under JOURNAL_SYNC_ALWAYS. Call once per event-loop turn, before sending the
 * replies the records stand for. 0, or -1 with journal_error() set (and the journal
 * refuses every later flush). */
int journal_flush(struct journal *j);

/* Under JOURNAL_SYNC_BATCH: 1 when written bytes are not yet synced and fsync_ms have
 * passed since the last sync, else 0. The broker asks from a timer and then calls
 * journal_sync(). */
int journal_sync_due(const struct journal *j);

/* fdatasync() now, whatever the policy. 0, or -1 with journal_error() set. */
int journal_sync(struct journal *j);

/* 1 when the file has grown to twice its size after the last rewrite and past min_bytes. */
int journal_compact_due(const struct journal *j, uint64_t min_bytes);

/* Replace the file with one holding exactly the tasks `next` hands over: next(ctx, &t)
 * fills t and returns 1, or returns 0 after the last. Flushes the buffer first; fdatasyncs
 * the new file and its directory whatever the policy. 0, or -1 with journal_error() set
 * (the old file is then still in use, untouched). */
int journal_rewrite(struct journal *j, int (*next)(void *ctx, struct journal_task *t),
                    void *ctx);

/* Bytes in the file now (after the last flush). */
uint64_t journal_size(const struct journal *j);

/* The last error: "journal.log: write: No space left on device". */
const char *journal_error(const struct journal *j);

/* Flush, sync and close (the sync even under `never`: a clean stop loses nothing); frees j
 * either way. 0, or -1 with the message in err (size bytes). */
int journal_close(struct journal *j, char *err, size_t size);

#endif
