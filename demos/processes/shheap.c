/* shheap.c - the shared min-heap and its robust lock (contracts and the idea in shheap.h) */
#include "shheap.h"
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

size_t shheap_size(uint32_t cap)
{
    return sizeof(struct shheap) + (size_t)cap * sizeof(struct shheap_record) +
           (size_t)cap * sizeof(struct shheap_entry);
}

struct shheap_record *shheap_records(struct shheap *h)
{
    return (struct shheap_record *)(h + 1);
}

struct shheap_entry *shheap_entries(struct shheap *h)
{
    return (struct shheap_entry *)(shheap_records(h) + h->cap);
}

void shheap_init(struct shheap *h, uint32_t cap, uint32_t nhands)
{
    CHECK(nhands <= SHHEAP_MAX_HANDS);
    memset(h, 0, shheap_size(cap));
    h->cap = cap;
    h->nhands = nhands;
    for (uint32_t k = 0; k < SHHEAP_MAX_HANDS; k++)
        h->hand[k] = SHHEAP_NONE;
    for (uint32_t i = 0; i < cap; i++)
        shheap_records(h)[i].id = i;

    shared_mutex_init(&h->lock);    /* process-shared and robust: lib/shared.h */
}

/* (key, id) order: the key first, the id breaks ties. */
static inline int less(const struct shheap_entry *a, const struct shheap_entry *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

/* Move entry i up towards the root until its parent is not larger ("hole" method: the
 * moving entry is kept aside and written once at the end). */
static void sift_up(struct shheap_entry *e, uint32_t i)
{
    struct shheap_entry moving = e[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!less(&moving, &e[parent]))
            break;
        e[i] = e[parent];
        i = parent;
    }
    e[i] = moving;
}

/* Move entry i down until neither child is smaller. */
static void sift_down(struct shheap_entry *e, uint32_t n, uint32_t i)
{
    struct shheap_entry moving = e[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && less(&e[child + 1], &e[child]))
            child++;
        if (!less(&e[child], &moving))
            break;
        e[i] = e[child];
        i = child;
    }
    e[i] = moving;
}

/* [snippet:rebuild] */
void shheap_rebuild(struct shheap *h, shheap_key_fn key)
{
    /* The truth is "every record is in the heap or in one hand". Mark the records in
     * hands, put every other record into the array, then heapify bottom-up - O(n). */
    struct shheap_record *rec = shheap_records(h);
    struct shheap_entry *e = shheap_entries(h);
    unsigned char *in_hand = xcalloc(h->cap, 1);
    for (uint32_t k = 0; k < h->nhands; k++)
        if (h->hand[k] != SHHEAP_NONE && h->hand[k] < h->cap)
            in_hand[h->hand[k]] = 1;
    uint32_t n = 0;
    for (uint32_t id = 0; id < h->cap; id++)
        if (!in_hand[id])
            e[n++] = (struct shheap_entry){ .key = key(&rec[id]), .id = id };
    free(in_hand);
    h->n = n;
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(e, n, i);
}
/* [/snippet:rebuild] */

/* [snippet:lock] */
struct repair {
    struct shheap *h;
    shheap_key_fn key;
};

/* The lock's last owner died inside a heap operation: the array may be half-sifted, an
 * entry doubled or missing. Rebuild it from the records and hands. */
static void repair_heap(void *arg)
{
    struct repair *r = arg;
    shheap_rebuild(r->h, r->key);
    r->h->repairs++;
}

int shheap_lock(struct shheap *h, shheap_key_fn key)
{
    struct repair r = { h, key };
    return shared_mutex_lock(&h->lock, repair_heap, &r);   /* lib/shared.c */
}
/* [/snippet:lock] */

void shheap_unlock(struct shheap *h)
{
    shared_mutex_unlock(&h->lock);
}

/* [snippet:pop] */
uint32_t shheap_pop(struct shheap *h, uint32_t k, int crash_midway)
{
    struct shheap_entry *e = shheap_entries(h);
    if (h->n == 0)
        return SHHEAP_NONE;
    uint32_t id = e[0].id;
    h->hand[k] = id;            /* first into the hand: from here on it is ours */
    e[0] = e[--h->n];           /* the last entry fills the root's place ... */
    if (crash_midway)
        raise(SIGKILL);         /* (fault injection: die with the heap out of order) */
    sift_down(e, h->n, 0);      /* ... and sinks to where it belongs */
    return id;
}
/* [/snippet:pop] */

void shheap_push(struct shheap *h, shheap_key_fn key, uint32_t k)
{
    uint32_t id = h->hand[k];
    if (id == SHHEAP_NONE)
        return;
    struct shheap_entry *e = shheap_entries(h);
    CHECK(h->n < h->cap);
    e[h->n] = (struct shheap_entry){ .key = key(&shheap_records(h)[id]), .id = id };
    h->hand[k] = SHHEAP_NONE;   /* out of the hand only once it is in the array */
    sift_up(e, h->n++);
}

int shheap_valid(struct shheap *h, shheap_key_fn key)
{
    struct shheap_record *rec = shheap_records(h);
    struct shheap_entry *e = shheap_entries(h);
    unsigned *seen = xcalloc(h->cap, sizeof *seen);
    int ok = h->n <= h->cap;
    for (uint32_t i = 0; ok && i < h->n; i++) {
        ok = e[i].id < h->cap && e[i].key == key(&rec[e[i].id]);
        if (ok)
            seen[e[i].id]++;
        if (ok && i > 0)
            ok = !less(&e[i], &e[(i - 1) / 2]);
    }
    for (uint32_t k = 0; ok && k < h->nhands; k++)
        if (h->hand[k] != SHHEAP_NONE) {
            ok = h->hand[k] < h->cap;
            if (ok)
                seen[h->hand[k]]++;
        }
    for (uint32_t id = 0; ok && id < h->cap; id++)
        ok = seen[id] == 1;
    free(seen);
    return ok;
}
