/* journal.c - the broker's append-only journal (the contract and the lesson are in journal.h)
 *
 * Three parts: encoding records into a wire_buf (the same builder the frames use), replay
 * (walk the records, keep an id -> task table, hand over what is left), and the file
 * work (one write per flush, fdatasync by policy, rewrite by rename).
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "wire.h"

/* length field + type + id + crc: the smallest record (MAX_ID) */
#define REC_MIN (4 + 1 + 8 + 4)
/* the largest: a PUT with the longest name and payload the wire accepts */
#define REC_MAX (REC_MIN + 2 + WIRE_MAX_NAME + 4 + 4 + WIRE_MAX_FRAME)
#define REWRITE_CHUNK (1u << 20)

struct journal {
    char *path;
    int fd;
    enum journal_sync sync;
    int64_t fsync_ns, last_sync_ns;
    int unsynced;                /* bytes written since the last fdatasync */
    int failed;                  /* a write or sync failed: refuse everything after */
    uint64_t size, base_size;    /* bytes in the file now, and right after the last rewrite */
    uint64_t max_id;
    struct wire_buf buf;         /* records not yet written */
    char err[512];
};

/* --- messages ------------------------------------------------------------------------ */

/* printf into buf (size bytes); a message too long for it ends in "..." */
__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= size && size >= 4)
        memcpy(buf + size - 4, "...", 4);
}

/* "path: call: strerror(errno)" into buf */
static void say_errno(char *buf, size_t size, const char *path, const char *call)
{
    say(buf, size, "%s: %s: %s", path, call, strerror(errno));
}

/* --- CRC-32C ------------------------------------------------------------------------- */

/* CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as in iSCSI (RFC 3720
 * B.4), ext4 and Kafka: better than the Ethernet CRC at catching the burst errors disks
 * make. Four bits at a time from a 16-entry table: small enough to check by hand, about
 * twice as fast as bit by bit. crc32c("123456789") is 0xE3069283. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
    static const uint32_t table[16] = {
        0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3,
        0x61c69362, 0x7198540d, 0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9,
        0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
    };
    uint32_t crc = 0xffffffff;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 15];
        crc = (crc >> 4) ^ table[crc & 15];
    }
    return ~crc;
}

/* --- encoding ------------------------------------------------------------------------ */

/* Start a record whose fields after the id take `fields` bytes: the length is known up
 * front, so nothing has to be patched afterwards. Returns where the record starts. */
static size_t rec_begin(struct wire_buf *b, enum journal_type type, uint64_t id, size_t fields)
{
    size_t start = b->len;
    wire_u32(b, (uint32_t)(1 + 8 + fields + 4));
    wire_u8(b, (uint8_t)type);
    wire_u64(b, id);
    return start;
}

static void rec_end(struct wire_buf *b, size_t start)
{
    wire_u32(b, crc32c(b->data + start, b->len - start));
}

static void rec_put(struct wire_buf *b, const char *queue, size_t queue_len, uint64_t id,
                    uint32_t deliveries, const void *payload, size_t payload_len)
{
    CHECK(queue_len >= 1 && queue_len <= WIRE_MAX_NAME && payload_len <= WIRE_MAX_FRAME);
    size_t start = rec_begin(b, JOURNAL_PUT, id, 2 + queue_len + 4 + 4 + payload_len);
    wire_str(b, queue, queue_len);
    wire_u32(b, deliveries);
    wire_bytes(b, payload, payload_len);
    rec_end(b, start);
}

/* ACK, DEAD and DELIVERED: a reference to a task by id (the queue for humans and checks) */
static void rec_ref(struct wire_buf *b, enum journal_type type, const char *queue,
                    size_t queue_len, uint64_t id)
{
    CHECK(queue_len >= 1 && queue_len <= WIRE_MAX_NAME);
    size_t start = rec_begin(b, type, id, 2 + queue_len);
    wire_str(b, queue, queue_len);
    rec_end(b, start);
}

static void rec_max_id(struct wire_buf *b, uint64_t id)
{
    rec_end(b, rec_begin(b, JOURNAL_MAX_ID, id, 0));
}

/* --- replay: the id -> task table ---------------------------------------------------- */

struct replay {
    struct journal_task *tasks;  /* in the order they were put; pointers into the input */
    unsigned char *gone;         /* gone[i]: task i was acked */
    size_t n, cap;
    uint64_t *keys;              /* open addressing: keys[s] is an id, slot[s] - 1 its task */
    size_t *slot;
    size_t slots, used;
};

static size_t probe(const struct replay *r, uint64_t id)
{
    size_t s = (size_t)((id * 0x9E3779B97F4A7C15u) >> 32) & (r->slots - 1);
    while (r->slot[s] && r->keys[s] != id)
        s = (s + 1) & (r->slots - 1);
    return s;
}

static void grow_table(struct replay *r)
{
    struct replay old = *r;
    r->slots = old.slots ? old.slots * 2 : 64;
    r->keys = xcalloc(r->slots, sizeof *r->keys);
    r->slot = xcalloc(r->slots, sizeof *r->slot);
    for (size_t s = 0; s < old.slots; s++)
        if (old.slot[s]) {
            size_t t = probe(r, old.keys[s]);
            r->keys[t] = old.keys[s];
            r->slot[t] = old.slot[s];
        }
    free(old.keys);
    free(old.slot);
}

/* The outstanding task with this id, or NULL. */
static struct journal_task *find(struct replay *r, uint64_t id)
{
    if (!r->slots)
        return NULL;
    size_t s = probe(r, id);
    if (!r->slot[s] || r->gone[r->slot[s] - 1])
        return NULL;
    return &r->tasks[r->slot[s] - 1];
}

static void add(struct replay *r, const struct journal_task *t)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        struct journal_task *tasks = xmalloc(r->cap * sizeof *tasks);
        unsigned char *gone = xmalloc(r->cap);
        if (r->n) {
            memcpy(tasks, r->tasks, r->n * sizeof *tasks);
            memcpy(gone, r->gone, r->n);
        }
        free(r->tasks);
        free(r->gone);
        r->tasks = tasks;
        r->gone = gone;
    }
    if (2 * (r->used + 1) > r->slots)
        grow_table(r);
    size_t s = probe(r, t->id);
    if (!r->slot[s])
        r->used++;
    r->keys[s] = t->id;
    r->slot[s] = r->n + 1;       /* a re-put after an ack points the id at its new task */
    r->gone[r->n] = 0;
    r->tasks[r->n++] = *t;
}

static void replay_free(struct replay *r)
{
    free(r->tasks);
    free(r->gone);
    free(r->keys);
    free(r->slot);
    memset(r, 0, sizeof *r);
}

/* --- replay: reading records --------------------------------------------------------- */

/* Apply one record whose length and crc checked out. -1 when its fields do not parse. */
static int apply(struct replay *r, const unsigned char *rec, size_t size,
                 struct journal_info *info)
{
    struct wire_reader rd = { .p = rec + 4, .end = rec + size - 4, .op = 0, .bad = 0 };
    uint8_t type;
    struct journal_task t = { 0 };
    wire_get_u8(&rd, &type);
    wire_get_u64(&rd, &t.id);
    if (type == JOURNAL_PUT) {
        wire_get_name(&rd, &t.queue, &t.queue_len);
        wire_get_u32(&rd, &t.deliveries);
        wire_get_bytes(&rd, &t.payload, &t.payload_len);
    } else if (type >= JOURNAL_ACK && type <= JOURNAL_DELIVERED) {
        wire_get_name(&rd, &t.queue, &t.queue_len);
    } else if (type != JOURNAL_MAX_ID) {
        return -1;
    }
    if (wire_done(&rd) == -1)
        return -1;
    if (t.id > info->max_id)
        info->max_id = t.id;
    struct journal_task *old = type == JOURNAL_MAX_ID ? NULL : find(r, t.id);
    if (type == JOURNAL_PUT && !old)
        add(r, &t);
    else if (type == JOURNAL_ACK && old)
        r->gone[old - r->tasks] = 1;
    else if (type == JOURNAL_DEAD && old && !old->dead)
        old->dead = 1;
    else if (type == JOURNAL_DELIVERED && old && old->deliveries < UINT32_MAX)
        old->deliveries++;
    else if (type != JOURNAL_MAX_ID)
        info->ignored++;         /* a put twice, an ack of nothing: the story does not fit */
    return 0;
}

/* How a record can fail its check; the first two can only be a crash's torn write. */
enum flaw { FLAW_NONE, FLAW_SHORT_LENGTH, FLAW_PAST_END, FLAW_BAD_LENGTH, FLAW_CHECKSUM };

static const char *const flaw_text[] = {
    "", "its length is cut short", "it runs past the end of the file",
    "its length is impossible", "it fails its checksum",
};

/* Check the record at p (n bytes to the end of the input): FLAW_NONE with *size set, or
 * what is wrong with it. */
static enum flaw check_record(const unsigned char *p, size_t n, size_t *size)
{
    uint32_t len = 0, want = 0;
    struct wire_reader rd = { .p = p, .end = p + n, .op = 0, .bad = 0 };
    if (wire_get_u32(&rd, &len) == -1)
        return FLAW_SHORT_LENGTH;
    if (len < REC_MIN - 4 || len > REC_MAX - 4)
        return FLAW_BAD_LENGTH;
    if (n - 4 < len)
        return FLAW_PAST_END;
    rd.p = p + len;              /* the crc: the last 4 of the 4 + len bytes */
    wire_get_u32(&rd, &want);
    if (crc32c(p, len) != want)
        return FLAW_CHECKSUM;
    *size = 4 + (size_t)len;
    return FLAW_NONE;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Replay stops at a record that is not a torn tail: say where, and how to go on. */
static int corrupt(size_t off, size_t n, const char *why, struct journal_info *info)
{
    say(info->message, sizeof info->message,
        "the record at byte %zu of %zu is corrupt (%s) and is not a torn last write; "
        "refusing to replay (keep a copy, then `truncate -s %zu` keeps the %llu record%s "
        "before it)", off, n, why, off, (unsigned long long)info->records,
        info->records == 1 ? "" : "s");
    return -1;
}

/* [snippet:torn] */
/* The record at `off` has `flaw`: a torn tail (0, dropped) or corruption (-1). A torn
 * write leaves a record cut short at the end of the file, or one whose bytes the file
 * system allocated but never wrote: zeros to the end. */
static int bad_record(const unsigned char *p, size_t n, size_t off, enum flaw flaw,
                      struct journal_info *info)
{
    size_t len = n - off >= 4 ? (size_t)p[off] << 24 | (size_t)p[off + 1] << 16
                                    | (size_t)p[off + 2] << 8 | p[off + 3] : 0;
    int zeros = all_zero(p + off, n - off);
    int torn = flaw == FLAW_SHORT_LENGTH || flaw == FLAW_PAST_END || zeros
               || (flaw == FLAW_CHECKSUM && all_zero(p + off + 4 + len, n - off - 4 - len));
    if (!torn)
        return corrupt(off, n, flaw_text[flaw], info);
    info->dropped_bytes = n - off;
    say(info->message, sizeof info->message,
        "dropped a torn last record at byte %zu (%zu bytes: %s): a write that a crash cut "
        "short, so never acknowledged", off, n - off,
        zeros ? "zero bytes to the end" : flaw_text[flaw]);
    return 0;
}
/* [/snippet:torn] */

/* Walk all records into r; 0 or -1 as journal_replay_buf(). */
static int scan(const unsigned char *p, size_t n, struct replay *r, struct journal_info *info)
{
    memset(info, 0, sizeof *info);
    size_t off = 0;
    while (off < n) {
        size_t size = 0;
        enum flaw flaw = check_record(p + off, n - off, &size);
        if (flaw != FLAW_NONE)
            return bad_record(p, n, off, flaw, info);
        if (apply(r, p + off, size, info) == -1)
            return corrupt(off, n, "its checksum fits but its fields do not parse", info);
        off += size;
        info->records++;
        info->valid_bytes = off;
    }
    return 0;
}

static void hand_over(struct replay *r, journal_task_fn fn, void *ctx, struct journal_info *info)
{
    for (size_t i = 0; i < r->n; i++)
        if (!r->gone[i]) {
            info->tasks++;
            info->dead += r->tasks[i].dead != 0;
            if (fn)
                fn(ctx, &r->tasks[i]);
        }
}

int journal_replay_buf(const unsigned char *p, size_t n, journal_task_fn fn, void *ctx,
                       struct journal_info *info)
{
    struct replay r = { 0 };
    int rc = scan(p, n, &r, info);
    if (rc == 0)
        hand_over(&r, fn, ctx, info);
    replay_free(&r);
    return rc;
}

/* --- files --------------------------------------------------------------------------- */

/* Map the file at path read-only: *p and *n (NULL and 0 for an empty or missing file).
 * 0, or -1 with info->message set. */
static int map_file(const char *path, const unsigned char **p, size_t *n,
                    struct journal_info *info)
{
    *p = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1 && errno == ENOENT)
        return 0;                /* no journal yet: nothing to replay */
    struct stat st;
    if (fd == -1 || fstat(fd, &st) == -1) {
        say_errno(info->message, sizeof info->message, path, fd == -1 ? "open" : "fstat");
        if (fd != -1)
            close(fd);
        return -1;
    }
    void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                         : NULL;
    if (m == MAP_FAILED) {
        say_errno(info->message, sizeof info->message, path, "mmap");
        close(fd);
        return -1;
    }
    close(fd);                   /* the mapping keeps the file's pages */
    *p = m;
    *n = (size_t)st.st_size;
    return 0;
}

static void unmap_file(const unsigned char *p, size_t n)
{
    if (n)
        munmap((void *)p, n);
}

/* info->message = "path: message", for the messages replay wrote without the path */
static void prefix_path(struct journal_info *info, const char *path)
{
    if (!info->message[0])
        return;
    char msg[sizeof info->message];
    memcpy(msg, info->message, sizeof msg);
    say(info->message, sizeof info->message, "%s: %s", path, msg);
}

int journal_replay(const char *path, journal_task_fn fn, void *ctx, struct journal_info *info)
{
    const unsigned char *p;
    size_t n;
    memset(info, 0, sizeof *info);
    if (map_file(path, &p, &n, info) == -1)
        return -1;
    int rc = journal_replay_buf(p, n, fn, ctx, info);
    prefix_path(info, path);
    unmap_file(p, n);
    return rc;
}

/* Write all n bytes, going on after a short write or a signal. 0, or -1 with errno set. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the directory holding path, so a rename() in it is on disk too. */
static int sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        die_errno("strdup");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd == -1 ? -1 : fsync(fd);
    int saved = errno;
    if (fd != -1)
        close(fd);
    free(copy);
    errno = saved;
    return rc;
}

/* Write a MAX_ID record and every task next() hands over to fd, a chunk at a time. The
 * bytes written go to *total. 0, or -1 with errno set by write(2). */
static int write_snapshot(int fd, uint64_t max_id, int (*next)(void *, struct journal_task *),
                          void *ctx, uint64_t *total)
{
    struct wire_buf b = { 0 };
    struct journal_task t;
    int more = 1, rc = 0;
    *total = 0;
    if (max_id)
        rec_max_id(&b, max_id);  /* or ids acked away would be given out again */
    while (rc == 0 && more) {
        more = next(ctx, &t);
        if (more) {
            rec_put(&b, t.queue, t.queue_len, t.id, t.deliveries, t.payload, t.payload_len);
            if (t.dead)
                rec_ref(&b, JOURNAL_DEAD, t.queue, t.queue_len, t.id);
        }
        if (b.len >= REWRITE_CHUNK || (!more && b.len)) {
            rc = write_all(fd, b.data, b.len);
            *total += b.len;
            wire_buf_reset(&b);
        }
    }
    wire_buf_free(&b);
    return rc;
}

/* [snippet:rewrite] */
/* The rewrite: PATH.tmp written and synced, renamed over PATH, the directory synced, and
 * PATH opened again for appends. A crash anywhere leaves the old file or the new one. */
static int rewrite_file(struct journal *j, int (*next)(void *, struct journal_task *),
                        void *ctx)
{
    size_t size = strlen(j->path) + sizeof ".tmp";
    char *tmp = xmalloc(size);
    snprintf(tmp, size, "%s.tmp", j->path);
    uint64_t total = 0;
    const char *failed = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1)
        failed = "open";
    else if (write_snapshot(fd, j->max_id, next, ctx, &total) == -1)
        failed = "write";
    else if (fdatasync(fd) == -1)
        failed = "fdatasync";
    if (failed)
        say_errno(j->err, sizeof j->err, tmp, failed);
    if (fd != -1 && close(fd) == -1 && !failed)
        say_errno(j->err, sizeof j->err, tmp, failed = "close");
    if (!failed && rename(tmp, j->path) == -1)
        say_errno(j->err, sizeof j->err, tmp, failed = "rename");
    if (failed) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    int append_fd = -1;
    if (sync_dir(j->path) == -1)
        say_errno(j->err, sizeof j->err, j->path, failed = "fsync of its directory");
    else if ((append_fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
        say_errno(j->err, sizeof j->err, j->path, failed = "open");
    if (j->fd != -1)
        close(j->fd);
    j->fd = append_fd;
    j->failed = failed != NULL;  /* renamed but not safely: nothing more goes into it */
    j->size = j->base_size = total;
    j->unsynced = 0;
    j->last_sync_ns = now_ns();
    return failed ? -1 : 0;
}
/* [/snippet:rewrite] */

/* next() for a rewrite from a replay: its outstanding tasks in order */
struct cursor {
    struct replay *r;
    size_t i;
};

static int replay_next(void *ctx, struct journal_task *t)
{
    struct cursor *c = ctx;
    while (c->i < c->r->n && c->r->gone[c->i])
        c->i++;
    if (c->i == c->r->n)
        return 0;
    *t = c->r->tasks[c->i++];
    return 1;
}

static struct journal *journal_new(const char *path, enum journal_sync sync, int fsync_ms)
{
    struct journal *j = xcalloc(1, sizeof *j);
    j->path = strdup(path);
    if (!j->path)
        die_errno("strdup");
    j->fd = -1;
    j->sync = sync;
    j->fsync_ns = (int64_t)fsync_ms * 1000000;
    j->last_sync_ns = now_ns();
    return j;
}

static void journal_free(struct journal *j)
{
    if (j->fd != -1)
        close(j->fd);
    wire_buf_free(&j->buf);
    free(j->path);
    free(j);
}

struct journal *journal_open(const char *path, enum journal_sync sync, int fsync_ms,
                             journal_task_fn fn, void *ctx, struct journal_info *info)
{
    const unsigned char *p;
    size_t n;
    memset(info, 0, sizeof *info);
    if (map_file(path, &p, &n, info) == -1)
        return NULL;
    struct replay r = { 0 };
    struct journal *j = NULL;
    int rc = scan(p, n, &r, info);
    prefix_path(info, path);
    if (rc == 0) {
        j = journal_new(path, sync, fsync_ms);
        j->max_id = info->max_id;
        struct cursor c = { &r, 0 };
        if (rewrite_file(j, replay_next, &c) == -1) {
            say(info->message, sizeof info->message, "%s", j->err);
            journal_free(j);
            j = NULL;
        } else {
            hand_over(&r, fn, ctx, info);
        }
    }
    replay_free(&r);
    unmap_file(p, n);
    return j;
}

/* --- appending ----------------------------------------------------------------------- */

static void saw_id(struct journal *j, uint64_t id)
{
    if (id > j->max_id)
        j->max_id = id;
}

void journal_put(struct journal *j, const char *queue, size_t queue_len, uint64_t id,
                 const void *payload, size_t payload_len)
{
    saw_id(j, id);
    rec_put(&j->buf, queue, queue_len, id, 0, payload, payload_len);
}

void journal_ack(struct journal *j, const char *queue, size_t queue_len, uint64_t id)
{
    rec_ref(&j->buf, JOURNAL_ACK, queue, queue_len, id);
}

void journal_dead(struct journal *j, const char *queue, size_t queue_len, uint64_t id)
{
    rec_ref(&j->buf, JOURNAL_DEAD, queue, queue_len, id);
}

void journal_delivered(struct journal *j, const char *queue, size_t queue_len, uint64_t id)
{
    rec_ref(&j->buf, JOURNAL_DELIVERED, queue, queue_len, id);
}

/* [snippet:flush] */
int journal_flush(struct journal *j)
{
    if (j->failed)
        return -1;
    if (j->buf.len == 0)
        return 0;
    /* One write for the whole turn: every record the turn's replies stand for goes to the
     * kernel before any reply goes out. */
    if (write_all(j->fd, j->buf.data, j->buf.len) == -1) {
        say_errno(j->err, sizeof j->err, j->path, "write");
        j->failed = 1;
        return -1;
    }
    j->size += j->buf.len;
    wire_buf_reset(&j->buf);
    j->unsynced = 1;
    return j->sync == JOURNAL_SYNC_ALWAYS ? journal_sync(j) : 0;
}
/* [/snippet:flush] */

int journal_sync_due(const struct journal *j)
{
    return j->sync == JOURNAL_SYNC_BATCH && j->unsynced
           && now_ns() - j->last_sync_ns >= j->fsync_ns;
}

int journal_sync(struct journal *j)
{
    if (j->failed)
        return -1;
    /* fdatasync, not fsync: the data and the file's size, without its timestamps. */
    if (j->unsynced && fdatasync(j->fd) == -1) {
        say_errno(j->err, sizeof j->err, j->path, "fdatasync");
        j->failed = 1;
        return -1;
    }
    j->unsynced = 0;
    j->last_sync_ns = now_ns();
    return 0;
}

int journal_compact_due(const struct journal *j, uint64_t min_bytes)
{
    return j->size >= min_bytes && j->size >= 2 * j->base_size;
}

int journal_rewrite(struct journal *j, int (*next)(void *ctx, struct journal_task *t),
                    void *ctx)
{
    if (journal_flush(j) == -1)
        return -1;
    return rewrite_file(j, next, ctx);
}

uint64_t journal_size(const struct journal *j) { return j->size; }

const char *journal_error(const struct journal *j) { return j->err; }

int journal_close(struct journal *j, char *err, size_t size)
{
    int rc = journal_flush(j) == -1 || journal_sync(j) == -1 ? -1 : 0;
    if (rc == -1) {
        say(err, size, "%s", j->err);
    } else {
        if (close(j->fd) == -1) {
            say_errno(err, size, j->path, "close");
            rc = -1;
        }
        j->fd = -1;              /* closed even when close() reports an error */
    }
    journal_free(j);
    return rc;
}
