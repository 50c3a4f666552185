/* test_shheap.c - the shared heap's order on ordinary memory, in one process
 *
 * shheap_init() works on any memory; the sharing and the robust lock are the demo's
 * business (tests/test_shared_heap.py). Here: pops come out in (key, id) order, ties broken
 * by id; hands hold what was popped; push and rebuild restore the order; shheap_valid()
 * notices a heap that is out of order, a record twice, or a stale key.
 */
#include "shheap.h"
#include "unit.h"

#include <string.h>

enum { CAP = 200, HANDS = 4 };

static uint64_t volume(const struct shheap_record *r)
{
    return (uint64_t)r->l * r->w * r->h;
}

/* A heap of CAP boxes with few distinct volumes, so that most keys tie. */
static struct shheap *boxes(void)
{
    struct shheap *h = xmalloc(shheap_size(CAP));
    shheap_init(h, CAP, HANDS);
    struct shheap_record *rec = shheap_records(h);
    for (uint32_t i = 0; i < CAP; i++) {
        rec[i].l = (uint16_t)(1 + (i * 7) % 5);
        rec[i].w = (uint16_t)(1 + (i * 3) % 4);
        rec[i].h = 2;
    }
    shheap_rebuild(h, volume);
    return h;
}

/* Pop everything through hand 0 (pushing nothing back): 1 if it came out in (key, id) order
 * and every record exactly once. */
static int pops_in_order(struct shheap *h, uint32_t expect_count)
{
    const struct shheap_record *rec = shheap_records(h);
    int seen[CAP] = { 0 }, ok = 1;
    uint32_t count = 0, id, prev = SHHEAP_NONE;
    while ((id = shheap_pop(h, 0, 0)) != SHHEAP_NONE) {
        ok &= id < CAP && !seen[id]++;
        if (prev != SHHEAP_NONE)
            ok &= volume(&rec[prev]) < volume(&rec[id]) ||
                  (volume(&rec[prev]) == volume(&rec[id]) && prev < id);
        prev = id;
        count++;
        h->hand[0] = SHHEAP_NONE;       /* drop it: the next pop needs the hand */
    }
    return ok && count == expect_count;
}

static void test_order(void)
{
    struct shheap *h = boxes();
    EXPECT(h->n == CAP && shheap_valid(h, volume));
    EXPECT(pops_in_order(h, CAP));
    EXPECT(h->n == 0 && shheap_pop(h, 0, 0) == SHHEAP_NONE);
    free(h);
}

static void test_hands(void)
{
    struct shheap *h = boxes();
    struct shheap_record *rec = shheap_records(h);
    uint32_t first = shheap_pop(h, 1, 0), second = shheap_pop(h, 2, 0);
    EXPECT(h->hand[1] == first && h->hand[2] == second && h->n == CAP - 2);
    EXPECT(volume(&rec[first]) == 2 && volume(&rec[second]) == 2 && first < second);
    EXPECT(shheap_valid(h, volume));        /* two records in hands, the rest in the heap */

    /* The record in hand 1 grows: pushed back, it goes behind every smaller one. */
    rec[first].l = rec[first].w = rec[first].h = 100;
    shheap_push(h, volume, 1);
    EXPECT(h->hand[1] == SHHEAP_NONE && h->n == CAP - 1 && shheap_valid(h, volume));
    shheap_push(h, volume, 1);              /* an empty hand: nothing happens */
    EXPECT(h->n == CAP - 1);

    /* Rebuild leaves the record in hand 2 out, and the order holds. */
    shheap_rebuild(h, volume);
    EXPECT(h->n == CAP - 1 && shheap_valid(h, volume));
    shheap_push(h, volume, 2);
    EXPECT(h->n == CAP && shheap_valid(h, volume));
    EXPECT(pops_in_order(h, CAP));
    free(h);
}

/* shheap_valid() is the demo's proof that a repair worked, so it must catch each fault. */
static void test_valid_catches(void)
{
    struct shheap *h = boxes();
    struct shheap_entry *e = shheap_entries(h);
    struct shheap_entry root = e[0];

    e[0] = e[CAP - 1];                      /* a large key at the root: out of order */
    e[CAP - 1] = root;
    EXPECT(!shheap_valid(h, volume));
    shheap_rebuild(h, volume);
    EXPECT(shheap_valid(h, volume));

    e[CAP - 1] = e[CAP - 2];                /* one record twice, another lost */
    EXPECT(!shheap_valid(h, volume));
    shheap_rebuild(h, volume);

    h->n--;                                 /* a record lost: in neither heap nor hand */
    EXPECT(!shheap_valid(h, volume));
    shheap_rebuild(h, volume);

    shheap_records(h)[e[CAP - 1].id].l = 9; /* a key changed behind the heap's back */
    EXPECT(!shheap_valid(h, volume));
    shheap_rebuild(h, volume);

    h->hand[1] = e[5].id;                   /* in a hand and in the heap at once */
    EXPECT(!shheap_valid(h, volume));
    free(h);
}

int main(int argc, char **argv)
{
    (void)argc;
    prog_init(argv[0]);
    test_order();
    test_hands();
    test_valid_catches();
    return unit_done();
}
