/* fuzz_journal.c - libFuzzer target: replaying arbitrary bytes as a journal
 *
 * A journal is read back after crashes, so its reader must take any bytes at all: replay
 * must not crash or read outside the input, and what it reports must add up. Checked here:
 * every task handed over points inside the input with a name of 1..WIRE_MAX_NAME bytes;
 * on success the valid prefix and the dropped tail are the whole input, on failure the
 * callback was never called; the same input replays the same way twice.
 *
 * Build and run: tests/fuzz/run.sh journal (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "wire.h"

struct seen {
    const unsigned char *data;
    size_t size;
    uint64_t tasks, sum;         /* a digest of what was handed over, to compare runs */
};

static int inside(const struct seen *s, const void *p, size_t n)
{
    const unsigned char *q = p;
    return q >= s->data && n <= s->size && (size_t)(q - s->data) <= s->size - n;
}

static void check_task(void *ctx, const struct journal_task *t)
{
    struct seen *s = ctx;
    if (t->queue_len < 1 || t->queue_len > WIRE_MAX_NAME || !inside(s, t->queue, t->queue_len)
        || (t->payload_len && !inside(s, t->payload, t->payload_len)))
        abort();
    s->tasks++;
    s->sum = s->sum * 31 + t->id + t->deliveries + (uint64_t)t->dead;
    for (size_t i = 0; i < t->payload_len; i++)
        s->sum += t->payload[i];   /* touch every byte: ASan sees an over-read */
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* A copy in its own allocation, so a read one past the end is caught. */
    unsigned char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct seen a = { copy, size, 0, 0 }, b = a;
    struct journal_info info, again;
    int rc = journal_replay_buf(copy, size, check_task, &a, &info);
    if (rc == 0 && (info.valid_bytes + info.dropped_bytes != size || info.tasks != a.tasks
                    || info.dead > info.tasks))
        abort();
    if (rc == -1 && (a.tasks != 0 || info.valid_bytes >= size || !info.message[0]))
        abort();
    if (journal_replay_buf(copy, size, check_task, &b, &again) != rc || a.sum != b.sum
        || again.records != info.records || again.max_id != info.max_id)
        abort();
    free(copy);
    return 0;
}
