/* test_procpool_ring.c - the process pool's two rings, driven past where a real pool goes
 *
 * The sequence ring (numbers to unfinished tasks): numbers far beyond cap wrap around and
 * stay findable; growth keeps every live entry under its number; finishing out of order
 * moves `oldest` only past finished entries, and nothing live is lost. The backlog ring:
 * FIFO order across a wrap and across growth; the contiguous runs backlog_run() hands out
 * cover the records in order, each once.
 */
#include "procpool_ring.h"
#include "unit.h"

#include <string.h>

enum { N = 100 };

static int items[N * 10];              /* the entries: &items[i] stands for task i */

/* 1 if every number in [r->oldest, r->next) that `live` marks is found under its number
 * and every other one is empty. */
static int all_findable(const struct seqring *r, const char *live)
{
    int ok = 1;
    for (uint64_t s = r->oldest; s < r->next; s++)
        ok &= seqring_get(r, s) == (live[s] ? &items[s] : NULL);
    return ok;
}

/* Number the next entry and set it to its item, as a submit does; mark it live. */
static uint64_t add_live(struct seqring *r, char *live)
{
    uint64_t seq = seqring_add(r);
    seqring_set(r, seq, &items[seq]);
    live[seq] = 1;
    return seq;
}

static void finish_live(struct seqring *r, char *live, uint64_t seq)
{
    seqring_finish(r, seq);
    live[seq] = 0;
}

/* Numbers well beyond cap, with at most 3 live at once: the ring wraps many times and
 * never needs to grow. */
static void test_wrap_around(void)
{
    struct seqring r;
    seqring_init(&r, 4);
    char live[N] = { 0 };
    int ok = 1;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t seq = add_live(&r, live);
        ok &= seq == i;
        if (seq >= 2)                  /* finish the one two back: 3 live at most */
            finish_live(&r, live, seq - 2);
        ok &= r.oldest == (seq >= 2 ? seq - 1 : 0) && all_findable(&r, live);
    }
    EXPECT(ok);
    EXPECT(r.cap == 4 && r.next == N);
    EXPECT(seqring_get(&r, N - 3) == NULL);          /* finished, though its slot is reused */
    EXPECT(seqring_get(&r, N) == NULL);              /* not numbered yet */
    EXPECT(seqring_get(&r, N - 1) == &items[N - 1]);
    seqring_free(&r);
}

/* Finish 0, 1, 2 at once, then keep entry 3 unfinished while the rest come and go: the
 * span [oldest, next) grows past cap, so the ring must grow, and every live entry must stay
 * findable. Starting at 3 makes the first growth happen wrapped: the newest numbers sit
 * below the oldest in the old ring, and land elsewhere in the new one. */
static void test_growth(void)
{
    struct seqring r;
    seqring_init(&r, 4);
    char live[N] = { 0 };
    int ok = 1;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t seq = add_live(&r, live);
        if (seq < 3 || seq % 3 == 1)   /* finish some, never 3 */
            finish_live(&r, live, seq);
        ok &= r.oldest == (seq < 3 ? seq + 1 : 3) && r.next - r.oldest <= r.cap &&
              all_findable(&r, live);
    }
    EXPECT(ok);
    EXPECT(r.cap == 128 && (r.cap & (r.cap - 1)) == 0);
    seqring_finish(&r, 3);             /* now oldest moves past 3 and the finished 4 */
    EXPECT(r.oldest == 5 && all_findable(&r, live));
    seqring_free(&r);
}

/* Out of order: oldest moves only past finished entries; finishing twice, or outside
 * [oldest, next), changes nothing. */
static void test_finish_out_of_order(void)
{
    struct seqring r;
    seqring_init(&r, 8);
    for (int i = 0; i < 6; i++)
        seqring_set(&r, seqring_add(&r), &items[i]);
    seqring_finish(&r, 3);
    seqring_finish(&r, 1);
    EXPECT(r.oldest == 0 && seqring_get(&r, 0) == &items[0]);
    EXPECT(seqring_get(&r, 1) == NULL && seqring_get(&r, 3) == NULL);
    seqring_finish(&r, 0);
    EXPECT(r.oldest == 2 && seqring_get(&r, 2) == &items[2]);   /* past 0 and 1, not 2 */
    seqring_finish(&r, 2);
    EXPECT(r.oldest == 4 && seqring_get(&r, 4) == &items[4]);   /* past 2 and 3 */
    seqring_finish(&r, 3);                                       /* again: nothing */
    seqring_finish(&r, 99);                                      /* never numbered */
    EXPECT(r.oldest == 4 && r.next == 6 && seqring_get(&r, 5) == &items[5]);
    /* An entry numbered and left empty (a sentinel) is passed over once it is oldest. */
    uint64_t sentinel = seqring_add(&r);
    seqring_finish(&r, sentinel);
    EXPECT(r.oldest == 4);
    seqring_finish(&r, 5);
    seqring_finish(&r, 4);
    EXPECT(r.oldest == 7 && r.oldest == r.next);
    seqring_free(&r);
}

/* No lost range: numbers handed out are consecutive, and with a pseudo-random finish
 * order every entry is finished exactly once, oldest never passes a live one, and at the
 * end the ring is empty. */
static void test_no_lost_range(void)
{
    struct seqring r;
    seqring_init(&r, 2);
    char live[N * 10] = { 0 };
    uint32_t x = 12345;
    uint64_t finished = 0;
    int ok = 1;
    for (uint64_t i = 0; i < N * 10; i++) {
        ok &= add_live(&r, live) == i;
        x = x * 1103515245 + 12345;
        uint64_t pick = r.oldest + (x >> 8) % (r.next - r.oldest);
        if (live[pick] && (x & 1)) {
            finish_live(&r, live, pick);
            finished++;
        }
        for (uint64_t s = 0; s < r.oldest; s++)
            ok &= !live[s];
        ok &= r.oldest == r.next || live[r.oldest];
    }
    ok &= all_findable(&r, live);
    for (uint64_t s = 0; s < N * 10; s++)
        if (live[s] && seqring_get(&r, s) == &items[s]) {
            finish_live(&r, live, s);
            finished++;
        }
    EXPECT(ok);
    EXPECT(finished == N * 10 && r.oldest == r.next && r.next == N * 10);
    seqring_free(&r);
}

/* Pop everything through backlog_run/backlog_consume, taking at most `step` per run:
 * 1 if the records come out as want[0..n) in order. */
static int drains_in_order(struct backlog *b, const int *want, size_t n, size_t step)
{
    size_t got = 0;
    int ok = 1;
    while (b->len > 0) {
        size_t k;
        const int *run = backlog_run(b, &k);
        ok &= k > 0 && run != NULL;
        if (k > step)
            k = step;
        for (size_t i = 0; i < k && got + i < n; i++)
            ok &= run[i] == want[got + i];
        got += k;
        backlog_consume(b, k);
    }
    return ok && got == n;
}

static void test_backlog(void)
{
    struct backlog b;
    backlog_init(&b, sizeof(int), 4);
    int want[64], n = 0, next = 0;
    size_t k;
    EXPECT(backlog_run(&b, &k) == NULL && k == 0);
    /* Wrap: push 3, consume 2, push 3 more: head is 2, the last records sit at 0 and 1. */
    for (; next < 3; next++)
        backlog_push(&b, &next);
    const int *run = backlog_run(&b, &k);
    EXPECT(k == 3 && run[0] == 0 && run[2] == 2);
    backlog_consume(&b, 2);
    for (; next < 6; next++)
        backlog_push(&b, &next);
    EXPECT(b.cap == 4 && b.head == 2 && b.len == 4);
    run = backlog_run(&b, &k);
    EXPECT(k == 2 && run[0] == 2 && run[1] == 3);      /* the run stops where it wraps */
    /* Grow while wrapped: the order survives. */
    for (; next < 40; next++)
        backlog_push(&b, &next);
    for (int i = 2; i < 40; i++)
        want[n++] = i;
    EXPECT(b.cap == 64 && b.len == 38);
    EXPECT(drains_in_order(&b, want, (size_t)n, 5));
    /* Again across the wrap of the grown ring, with runs of 7 at most. */
    n = 0;
    for (; next < 100; next++) {
        backlog_push(&b, &next);
        want[n++] = next;
        if (n == 50) {
            EXPECT(drains_in_order(&b, want, (size_t)n, 7));
            n = 0;
        }
    }
    EXPECT(b.cap == 64 && drains_in_order(&b, want, (size_t)n, 7));
    backlog_free(&b);

    backlog_init(&b, sizeof(int), 0);                  /* lazily allocated, as the pool does */
    for (int i = 0; i < 3; i++)
        backlog_push(&b, &i);
    EXPECT(b.cap == 256 && drains_in_order(&b, (int[]){ 0, 1, 2 }, 3, 256));
    backlog_free(&b);
}

int main(void)
{
    test_wrap_around();
    test_growth();
    test_finish_out_of_order();
    test_no_lost_range();
    test_backlog();
    return unit_done();
}
