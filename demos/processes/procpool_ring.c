/* procpool_ring.c - the two rings of procpool_ring.h */
#include "procpool_ring.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>

void seqring_init(struct seqring *r, uint64_t cap)
{
    CHECK(cap > 0 && (cap & (cap - 1)) == 0);
    *r = (struct seqring){ .slot = xcalloc(cap, sizeof *r->slot), .cap = cap };
}

void seqring_free(struct seqring *r)
{
    free(r->slot);
    r->slot = NULL;
}

/* Make room for number `seq`: every live entry has a number in [oldest, seq], and that
 * span must stay shorter than the ring. */
static void seqring_reserve(struct seqring *r, uint64_t seq)
{
    if (seq - r->oldest < r->cap)
        return;
    uint64_t cap = r->cap * 2;
    while (seq - r->oldest >= cap)
        cap *= 2;
    void **slot = xcalloc(cap, sizeof *slot);
    for (uint64_t s = r->oldest; s < seq; s++)
        slot[s & (cap - 1)] = r->slot[s & (r->cap - 1)];
    free(r->slot);
    r->slot = slot, r->cap = cap;
}

uint64_t seqring_add(struct seqring *r)
{
    seqring_reserve(r, r->next);
    return r->next++;
}

void seqring_set(struct seqring *r, uint64_t seq, void *item)
{
    CHECK(seq >= r->oldest && seq < r->next);
    r->slot[seq & (r->cap - 1)] = item;
}

void *seqring_get(const struct seqring *r, uint64_t seq)
{
    if (seq < r->oldest || seq >= r->next)
        return NULL;
    return r->slot[seq & (r->cap - 1)];
}

void seqring_finish(struct seqring *r, uint64_t seq)
{
    if (seq < r->oldest || seq >= r->next)
        return;
    r->slot[seq & (r->cap - 1)] = NULL;
    while (r->oldest < r->next && !r->slot[r->oldest & (r->cap - 1)])
        r->oldest++;
}

void backlog_init(struct backlog *b, size_t size, size_t cap)
{
    *b = (struct backlog){ .size = size, .cap = cap, .buf = cap ? xmalloc(cap * size) : NULL };
}

void backlog_free(struct backlog *b)
{
    free(b->buf);
    b->buf = NULL;
}

void backlog_push(struct backlog *b, const void *rec)
{
    if (b->len == b->cap) {           /* grow the ring, keeping the order */
        size_t cap = b->cap ? 2 * b->cap : 256;
        unsigned char *buf = xmalloc(cap * b->size);
        for (size_t i = 0; i < b->len; i++)
            memcpy(buf + i * b->size, b->buf + (b->head + i) % b->cap * b->size, b->size);
        free(b->buf);
        b->buf = buf, b->cap = cap, b->head = 0;
    }
    memcpy(b->buf + (b->head + b->len++) % b->cap * b->size, rec, b->size);
}

const void *backlog_run(const struct backlog *b, size_t *n)
{
    *n = b->len;
    if (*n > b->cap - b->head)
        *n = b->cap - b->head;        /* the part before the ring wraps */
    return b->len ? b->buf + b->head * b->size : NULL;
}

void backlog_consume(struct backlog *b, size_t n)
{
    CHECK(n <= b->len);
    if (n == 0)
        return;
    b->head = (b->head + n) % b->cap;
    b->len -= n;
}
