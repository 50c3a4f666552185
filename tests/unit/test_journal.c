/* test_journal.c - the broker's journal: replay gives back exactly what was outstanding;
 * a torn last record is dropped wherever the crash cut it; corruption in the middle stops
 * replay; compaction keeps the outstanding set and the highest id.
 */
#include "unit.h"

#include "journal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_GOT 4096

/* What a replay handed over, copied (the pointers live only during the callback). */
struct got {
    size_t n;
    struct {
        uint64_t id;
        char queue[64];
        char payload[64];
        uint32_t deliveries;
        int dead;
    } t[MAX_GOT];
};

static void collect(void *ctx, const struct journal_task *t)
{
    struct got *g = ctx;
    CHECK(g->n < MAX_GOT && t->queue_len < 64 && t->payload_len < 64);
    g->t[g->n].id = t->id;
    memcpy(g->t[g->n].queue, t->queue, t->queue_len);
    g->t[g->n].queue[t->queue_len] = '\0';
    memcpy(g->t[g->n].payload, t->payload, t->payload_len);
    g->t[g->n].payload[t->payload_len] = '\0';
    g->t[g->n].deliveries = t->deliveries;
    g->t[g->n].dead = t->dead;
    g->n++;
}

static char dir[] = "/tmp/test_journal.XXXXXX";

static const char *path_in_dir(const char *name)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    unsigned char *p = xmalloc(*n + 1);
    CHECK(fread(p, 1, *n, f) == *n);
    fclose(f);
    return p;
}

static struct journal *open_empty(const char *name, struct journal_info *info)
{
    unlink(path_in_dir(name));
    struct journal *j = journal_open(path_in_dir(name), JOURNAL_SYNC_NEVER, 0, collect,
                                     NULL, info);
    CHECK(j && info->tasks == 0);
    return j;
}

static void put_text(struct journal *j, const char *queue, uint64_t id)
{
    char payload[32];
    int n = snprintf(payload, sizeof payload, "task %llu", (unsigned long long)id);
    journal_put(j, queue, strlen(queue), id, payload, (size_t)n);
}

static void close_ok(struct journal *j)
{
    char err[256];
    EXPECT(journal_close(j, err, sizeof err) == 0);
}

/* 1000 tasks on three queues: every third acked, every fifth (not acked) dead-lettered,
 * every seventh delivered twice. Replay hands back exactly the rest, in order. */
static void test_round_trip(void)
{
    static const char *queues[] = { "alpha", "beta", "gamma" };
    struct journal_info info;
    struct journal *j = open_empty("round", &info);
    for (uint64_t id = 1; id <= 1000; id++) {
        const char *q = queues[id % 3];
        put_text(j, q, id);
        if (id % 7 == 0) {
            journal_delivered(j, q, strlen(q), id);
            journal_delivered(j, q, strlen(q), id);
        }
        if (id % 3 == 0)
            journal_ack(j, q, strlen(q), id);
        else if (id % 5 == 0)
            journal_dead(j, q, strlen(q), id);
        if (id % 100 == 0)
            EXPECT(journal_flush(j) == 0);
    }
    close_ok(j);
    static struct got g;
    g.n = 0;
    EXPECT(journal_replay(path_in_dir("round"), collect, &g, &info) == 0);
    EXPECT(info.max_id == 1000 && info.dropped_bytes == 0 && info.ignored == 0);
    EXPECT(info.message[0] == '\0');
    size_t k = 0, bad = 0;
    for (uint64_t id = 1; id <= 1000; id++) {
        if (id % 3 == 0)
            continue;
        char payload[32];
        snprintf(payload, sizeof payload, "task %llu", (unsigned long long)id);
        bad += k >= g.n || g.t[k].id != id || strcmp(g.t[k].queue, queues[id % 3]) != 0
               || strcmp(g.t[k].payload, payload) != 0
               || g.t[k].deliveries != (id % 7 == 0 ? 2u : 0u)
               || g.t[k].dead != (id % 5 == 0);
        k++;
    }
    EXPECT(bad == 0);
    EXPECT(g.n == k && info.tasks == k && k == 667);
    EXPECT(info.dead == 134);    /* multiples of 5 that are not multiples of 3 */
}

/* Write tasks 1..n, then `last` as the final record; the file's bytes and where the last
 * record starts. */
static unsigned char *build(const char *name, int n, void (*last)(struct journal *),
                            size_t *size, size_t *last_start)
{
    struct journal_info info;
    struct journal *j = open_empty(name, &info);
    for (int id = 1; id <= n; id++)
        put_text(j, "q", (uint64_t)id);
    EXPECT(journal_flush(j) == 0);
    *last_start = (size_t)journal_size(j);
    last(j);
    close_ok(j);
    return read_all(path_in_dir(name), size);
}

static void last_put(struct journal *j) { put_text(j, "q", 99); }
static void last_ack(struct journal *j) { journal_ack(j, "q", 1, 3); }

/* A crash can cut the last write anywhere: at every byte of the last record, replay
 * must give back exactly the records before it and drop the rest. */
static void test_torn_tail(void (*last)(struct journal *), size_t whole_tasks)
{
    size_t size, start;
    unsigned char *p = build("torn", 5, last, &size, &start);
    size_t bad = 0;
    for (size_t cut = start; cut <= size; cut++) {
        static struct got g;
        struct journal_info info;
        g.n = 0;
        int rc = journal_replay_buf(p, cut, collect, &g, &info);
        int whole = cut == size;
        bad += rc != 0 || info.dropped_bytes != (whole ? 0 : cut - start)
               || info.valid_bytes != (whole ? size : start)
               || g.n != (whole ? whole_tasks : 5) || g.t[0].id != 1
               || (!whole && cut > start && strstr(info.message, "torn") == NULL);
    }
    EXPECT(bad == 0);
    free(p);
}

/* Zero bytes after the last record (blocks allocated, never written) are a torn tail;
 * so is a record of zeros with a valid length in front. */
static void test_zero_tail(void)
{
    size_t size, start;
    unsigned char *p = build("zero", 5, last_put, &size, &start);
    unsigned char *q = xcalloc(size + 4096, 1);
    memcpy(q, p, size);
    struct journal_info info;
    EXPECT(journal_replay_buf(q, size + 4096, NULL, NULL, &info) == 0);
    EXPECT(info.tasks == 6 && info.dropped_bytes == 4096);
    memset(q + start + 4, 0, size - start - 4);   /* the last record's body never written */
    EXPECT(journal_replay_buf(q, size + 4096, NULL, NULL, &info) == 0);
    EXPECT(info.tasks == 5 && info.dropped_bytes == size + 4096 - start);
    free(q);
    free(p);
}

/* A flipped bit anywhere in a record in the middle, except its length, stops replay with
 * an error naming the offset. A flipped length either stops replay or, when it now runs
 * past the end, looks like a torn tail (journal.h says so): never a silent pass. */
static void test_corruption(void)
{
    size_t size, start;
    unsigned char *p = build("flip", 5, last_put, &size, &start);
    size_t rec = start / 5, second = rec;    /* tasks 1..5 make records of one size */
    size_t missed = 0, silent = 0;
    for (size_t i = second; i < second + rec; i++)
        for (int bit = 0; bit < 8; bit++) {
            struct journal_info info;
            p[i] ^= (unsigned char)(1 << bit);
            int rc = journal_replay_buf(p, size, NULL, NULL, &info);
            p[i] ^= (unsigned char)(1 << bit);
            int in_length = i < second + 4;
            missed += !in_length && (rc != -1 || info.valid_bytes != second
                                     || strstr(info.message, "corrupt") == NULL);
            silent += rc == 0 && info.dropped_bytes == 0;
        }
    EXPECT(missed == 0 && silent == 0);
    struct journal_info info;
    p[second + 10] ^= 1;
    EXPECT(journal_replay(path_in_dir("flip"), NULL, NULL, &info) == 0);  /* file intact */
    FILE *f = fopen(path_in_dir("flip"), "wb");
    CHECK(f && fwrite(p, 1, size, f) == size);
    fclose(f);
    static struct got g;
    g.n = 0;
    EXPECT(journal_open(path_in_dir("flip"), JOURNAL_SYNC_ALWAYS, 0, collect, &g, &info)
           == NULL);
    EXPECT(g.n == 0 && strstr(info.message, path_in_dir("flip")) != NULL);
    EXPECT(strstr(info.message, "truncate -s") != NULL);
    free(p);
}

/* Reopening compacts: the file then holds exactly the outstanding tasks (with their counts
 * and dead flags), the next replay gives the same set, and ids continue after the highest
 * one ever journaled, even when that task was acked away. */
static void test_compaction(void)
{
    struct journal_info info;
    struct journal *j = open_empty("compact", &info);
    for (uint64_t id = 1; id <= 500; id++) {
        put_text(j, "work", id);
        if (id != 7 && id != 250)
            journal_ack(j, "work", 4, id);
    }
    journal_delivered(j, "work", 4, 250);
    journal_dead(j, "work", 4, 250);
    put_text(j, "other", 501);
    journal_ack(j, "other", 5, 501);        /* the highest id, gone */
    close_ok(j);
    struct stat before, after;
    CHECK(stat(path_in_dir("compact"), &before) == 0);
    static struct got g;
    g.n = 0;
    j = journal_open(path_in_dir("compact"), JOURNAL_SYNC_BATCH, 10, collect, &g, &info);
    CHECK(j);
    CHECK(stat(path_in_dir("compact"), &after) == 0);
    EXPECT(info.max_id == 501 && info.tasks == 2 && info.dead == 1 && g.n == 2);
    EXPECT(g.t[0].id == 7 && g.t[0].deliveries == 0 && !g.t[0].dead);
    EXPECT(g.t[1].id == 250 && g.t[1].deliveries == 1 && g.t[1].dead);
    EXPECT(strcmp(g.t[1].payload, "task 250") == 0 && strcmp(g.t[1].queue, "work") == 0);
    /* MAX_ID (17 bytes), two PUTs of 31 bytes + "task 7" and "task 250", one DEAD (23) */
    EXPECT(after.st_size == 17 + 31 + 6 + 31 + 8 + 23 && after.st_size < before.st_size / 50);
    EXPECT(journal_size(j) == (uint64_t)after.st_size);
    EXPECT(access(path_in_dir("compact.tmp"), F_OK) == -1);
    close_ok(j);
    g.n = 0;
    EXPECT(journal_replay(path_in_dir("compact"), collect, &g, &info) == 0);
    EXPECT(info.max_id == 501 && g.n == 2 && g.t[0].id == 7 && g.t[1].id == 250);
}

/* journal_rewrite() while running, from the store's own list (here: an array). */
static int next_from_array(void *ctx, struct journal_task *t)
{
    struct got *g = ctx;
    static size_t i;
    if (i == g->n) {
        i = 0;
        return 0;
    }
    *t = (struct journal_task){ .id = g->t[i].id, .queue = g->t[i].queue,
                                .queue_len = strlen(g->t[i].queue),
                                .deliveries = g->t[i].deliveries, .dead = g->t[i].dead,
                                .payload = (const unsigned char *)g->t[i].payload,
                                .payload_len = strlen(g->t[i].payload) };
    i++;
    return 1;
}

static void test_rewrite(void)
{
    struct journal_info info;
    struct journal *j = open_empty("rewrite", &info);
    EXPECT(!journal_compact_due(j, 1));     /* empty: 0 bytes is not past 1 */
    for (uint64_t id = 1; id <= 100; id++)
        put_text(j, "q", id);
    EXPECT(journal_flush(j) == 0);
    EXPECT(journal_compact_due(j, 1000) && !journal_compact_due(j, 1u << 20));
    static struct got keep = { .n = 2 };
    keep.t[0].id = 40, strcpy(keep.t[0].queue, "q"), strcpy(keep.t[0].payload, "task 40");
    keep.t[1].id = 60, strcpy(keep.t[1].queue, "q"), strcpy(keep.t[1].payload, "task 60");
    keep.t[1].deliveries = 3;
    EXPECT(journal_rewrite(j, next_from_array, &keep) == 0);
    EXPECT(!journal_compact_due(j, 1));     /* not yet twice its new size */
    put_text(j, "q", 101);                  /* appends go to the new file */
    close_ok(j);
    static struct got g;
    g.n = 0;
    EXPECT(journal_replay(path_in_dir("rewrite"), collect, &g, &info) == 0);
    EXPECT(info.max_id == 101 && g.n == 3 && g.t[0].id == 40 && g.t[1].id == 60);
    EXPECT(g.t[1].deliveries == 3 && g.t[2].id == 101);
}

/* Under `batch` a sync is due once something was written and --fsync-ms passed since the
 * last one (0 ms: at once; an hour: not yet); `always` leaves nothing unsynced. */
static struct journal *open_policy(const char *name, enum journal_sync sync, int fsync_ms)
{
    struct journal_info info;
    unlink(path_in_dir(name));
    struct journal *j = journal_open(path_in_dir(name), sync, fsync_ms, NULL, NULL, &info);
    CHECK(j);
    return j;
}

static void test_sync_policy(void)
{
    struct journal *j = open_policy("batch", JOURNAL_SYNC_BATCH, 0);
    EXPECT(!journal_sync_due(j));           /* nothing written yet */
    put_text(j, "q", 1);
    EXPECT(!journal_sync_due(j));           /* buffered only: nothing to sync */
    EXPECT(journal_flush(j) == 0);
    EXPECT(journal_sync_due(j));
    EXPECT(journal_sync(j) == 0 && !journal_sync_due(j));
    close_ok(j);
    j = open_policy("hourly", JOURNAL_SYNC_BATCH, 3600000);
    put_text(j, "q", 1);
    EXPECT(journal_flush(j) == 0 && !journal_sync_due(j));
    close_ok(j);
    j = open_policy("always", JOURNAL_SYNC_ALWAYS, 0);
    put_text(j, "q", 1);
    EXPECT(journal_flush(j) == 0 && !journal_sync_due(j));
    close_ok(j);
}

/* Failed system calls are named, with the path and strerror. */
static void test_errors(void)
{
    struct journal_info info;
    EXPECT(journal_open("/nonexistent-dir/j.log", JOURNAL_SYNC_ALWAYS, 0, NULL, NULL,
                        &info) == NULL);
    EXPECT(strcmp(info.message,
                  "/nonexistent-dir/j.log.tmp: open: No such file or directory") == 0);
    EXPECT(journal_replay(dir, NULL, NULL, &info) == -1);   /* a directory */
    EXPECT(strstr(info.message, ": mmap: ") != NULL);
    EXPECT(journal_replay(path_in_dir("missing"), NULL, NULL, &info) == 0 && info.tasks == 0);
}

int main(void)
{
    CHECK(mkdtemp(dir));
    test_round_trip();
    test_torn_tail(last_put, 6);
    test_torn_tail(last_ack, 4);
    test_zero_tail();
    test_corruption();
    test_compaction();
    test_rewrite();
    test_sync_policy();
    test_errors();
    static const char *names[] = { "round", "torn", "zero", "flip", "compact", "rewrite",
                                   "batch", "hourly", "always" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(path_in_dir(names[i]));
    CHECK(rmdir(dir) == 0);
    return unit_done();
}
