/* store.c - the broker's queues as pure bookkeeping (the contract is in store.h)
 *
 * Four structures, each chosen so that one task costs O(1) (the heap: O(log leased)):
 *   ids     an open-addressing table id -> task (linear probing, deletion by shifting the
 *           entries after it back, so no tombstones pile up under a steady stream of acks)
 *   queues  a chained hash table name -> queue
 *   lists   intrusive doubly linked lists: a queue's ready tasks, its leased tasks, each
 *           consumer's leases, each queue's waiting consumers
 *   heap    a binary min-heap of leased tasks by deadline, each task knowing its index, so
 *           an ack or a renew moves or removes it in O(log n) and expiry looks at the top
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"

struct store_queue {
    struct store_queue *hnext;        /* next in its hash bucket */
    struct store_link ready, leased, waiters;
    size_t n_ready, n_leased;
    uint64_t put, acked, redelivered, dead_lettered;
    struct store_queue *dead;         /* "<name>.dead", made when first needed */
    struct store_queue *dead_of;      /* for "<q>.dead": q (dead letters do not die again) */
    size_t len;
    char name[];                      /* len bytes and a NUL */
};

struct store {
    struct store_limits lim;
    struct store_hooks hooks;
    uint64_t next_id;
    struct store_task **ids;          /* the id table: NULL is an empty slot */
    size_t ids_cap, ids_n;
    struct store_queue **buckets;
    size_t buckets_n, queues_n;
    struct store_task **heap;         /* leased tasks by deadline */
    size_t heap_n, heap_cap;
    struct store_task *scratch[WIRE_MAX_BATCH];   /* a waiter's delivery */
    uint64_t unknown;
    uint32_t consumers;
};

#define TASK_OF(link, field) \
    ((struct store_task *)((char *)(link) - offsetof(struct store_task, field)))
#define CONSUMER_OF(link) \
    ((struct store_consumer *)((char *)(link) - offsetof(struct store_consumer, wait)))

/* ---- lists ---------------------------------------------------------------------------- */

static void list_init(struct store_link *l) { l->prev = l->next = l; }
static int list_empty(const struct store_link *l) { return l->next == l; }

static void list_insert_after(struct store_link *at, struct store_link *e)
{
    e->prev = at;
    e->next = at->next;
    at->next->prev = e;
    at->next = e;
}

static void list_push_back(struct store_link *l, struct store_link *e)
{
    list_insert_after(l->prev, e);
}

static void list_remove(struct store_link *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    list_init(e);
}

/* ---- the id table --------------------------------------------------------------------- */

/* Ids come in order, so a multiplicative hash (Knuth's) spreads them over the table. */
static size_t id_slot(uint64_t id, size_t cap)
{
    return (size_t)((id * 0x9E3779B97F4A7C15u) >> 20) & (cap - 1);
}

static void ids_insert_raw(struct store_task **tab, size_t cap, struct store_task *t)
{
    size_t i = id_slot(t->id, cap);
    while (tab[i])
        i = (i + 1) & (cap - 1);
    tab[i] = t;
}

static void ids_insert(struct store *st, struct store_task *t)
{
    if (2 * (st->ids_n + 1) > st->ids_cap) {          /* keep the table at most half full */
        size_t cap = st->ids_cap ? 2 * st->ids_cap : 1024;
        struct store_task **tab = xcalloc(cap, sizeof *tab);
        for (size_t i = 0; i < st->ids_cap; i++)
            if (st->ids[i])
                ids_insert_raw(tab, cap, st->ids[i]);
        free(st->ids);
        st->ids = tab;
        st->ids_cap = cap;
    }
    ids_insert_raw(st->ids, st->ids_cap, t);
    st->ids_n++;
}

static size_t ids_find_slot(const struct store *st, uint64_t id)
{
    if (!st->ids_cap)
        return SIZE_MAX;
    for (size_t i = id_slot(id, st->ids_cap);; i = (i + 1) & (st->ids_cap - 1)) {
        if (!st->ids[i])
            return SIZE_MAX;
        if (st->ids[i]->id == id)
            return i;
    }
}

static struct store_task *ids_find(const struct store *st, uint64_t id)
{
    size_t i = ids_find_slot(st, id);
    return i == SIZE_MAX ? NULL : st->ids[i];
}

/* Remove the entry in slot i, then move back every entry of the run after it that would
 * no longer be found (its home slot is not cyclically in (i, j]). */
static void ids_remove_slot(struct store *st, size_t i)
{
    size_t mask = st->ids_cap - 1;
    st->ids[i] = NULL;
    st->ids_n--;
    for (size_t j = (i + 1) & mask; st->ids[j]; j = (j + 1) & mask) {
        size_t home = id_slot(st->ids[j]->id, st->ids_cap);
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            st->ids[i] = st->ids[j];
            st->ids[j] = NULL;
            i = j;
        }
    }
}

/* ---- the lease heap ------------------------------------------------------------------- */

static void heap_set(struct store *st, size_t i, struct store_task *t)
{
    st->heap[i] = t;
    t->heap_at = i;
}

static void heap_up(struct store *st, size_t i)
{
    struct store_task *t = st->heap[i];
    while (i > 0 && st->heap[(i - 1) / 2]->deadline > t->deadline) {
        heap_set(st, i, st->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(st, i, t);
}

static void heap_down(struct store *st, size_t i)
{
    struct store_task *t = st->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= st->heap_n)
            break;
        if (c + 1 < st->heap_n && st->heap[c + 1]->deadline < st->heap[c]->deadline)
            c++;
        if (st->heap[c]->deadline >= t->deadline)
            break;
        heap_set(st, i, st->heap[c]);
        i = c;
    }
    heap_set(st, i, t);
}

static void heap_push(struct store *st, struct store_task *t)
{
    if (st->heap_n == st->heap_cap) {
        size_t cap = st->heap_cap ? 2 * st->heap_cap : 256;
        struct store_task **h = xmalloc(cap * sizeof *h);
        if (st->heap_n)
            memcpy(h, st->heap, st->heap_n * sizeof *h);
        free(st->heap);
        st->heap = h;
        st->heap_cap = cap;
    }
    heap_set(st, st->heap_n++, t);
    heap_up(st, st->heap_n - 1);
}

static void heap_remove(struct store *st, struct store_task *t)
{
    size_t i = t->heap_at;
    struct store_task *last = st->heap[--st->heap_n];
    if (i == st->heap_n)
        return;
    heap_set(st, i, last);
    heap_up(st, i);
    heap_down(st, last->heap_at);
}

/* ---- queues --------------------------------------------------------------------------- */

static size_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;               /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return (size_t)h;
}

static void queues_grow(struct store *st)
{
    size_t n = st->buckets_n ? 2 * st->buckets_n : 16;
    struct store_queue **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < st->buckets_n; i++) {
        for (struct store_queue *q = st->buckets[i], *next; q; q = next) {
            next = q->hnext;
            size_t k = name_hash(q->name, q->len) & (n - 1);
            q->hnext = b[k];
            b[k] = q;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->buckets_n = n;
}

static struct store_queue *queue_find(const struct store *st, const char *name, size_t len)
{
    if (!st->buckets_n)
        return NULL;
    struct store_queue *q = st->buckets[name_hash(name, len) & (st->buckets_n - 1)];
    while (q && !(q->len == len && memcmp(q->name, name, len) == 0))
        q = q->hnext;
    return q;
}

/* The queue of that name, made on first use. */
static struct store_queue *queue_get(struct store *st, const char *name, size_t len)
{
    struct store_queue *q = queue_find(st, name, len);
    if (q)
        return q;
    if (st->queues_n + 1 > st->buckets_n)
        queues_grow(st);
    q = xcalloc(1, sizeof *q + len + 1);
    memcpy(q->name, name, len);
    q->len = len;
    list_init(&q->ready);
    list_init(&q->leased);
    list_init(&q->waiters);
    size_t k = name_hash(name, len) & (st->buckets_n - 1);
    q->hnext = st->buckets[k];
    st->buckets[k] = q;
    st->queues_n++;
    return q;
}

static struct store_queue *dead_queue(struct store *st, struct store_queue *q)
{
    if (!q->dead) {
        size_t n = q->len + sizeof WIRE_DEAD_SUFFIX - 1;
        char *name = xmalloc(n + 1);
        memcpy(name, q->name, q->len);
        memcpy(name + q->len, WIRE_DEAD_SUFFIX, sizeof WIRE_DEAD_SUFFIX);
        q->dead = queue_get(st, name, n);
        q->dead->dead_of = q;
        free(name);
    }
    return q->dead;
}

/* ---- the store ------------------------------------------------------------------------ */

struct store *store_new(struct store_limits lim, const struct store_hooks *hooks)
{
    CHECK(lim.max_deliveries >= 1 && lim.max_queue >= 1);
    struct store *st = xcalloc(1, sizeof *st);
    st->lim = lim;
    if (hooks)
        st->hooks = *hooks;
    st->next_id = 1;
    return st;
}

void store_free(struct store *st)
{
    for (size_t i = 0; i < st->ids_cap; i++)
        free(st->ids[i]);
    for (size_t i = 0; i < st->buckets_n; i++) {
        for (struct store_queue *q = st->buckets[i], *next; q; q = next) {
            next = q->hnext;
            free(q);
        }
    }
    free(st->ids);
    free(st->buckets);
    free(st->heap);
    free(st);
}

void store_consumer_init(struct store *st, struct store_consumer *c, const char *name,
                         void *data)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->data = data;
    list_init(&c->leases);
    list_init(&c->wait);
    st->consumers++;
}

/* A new task (not yet in any list), found by its id from now on. */
static struct store_task *task_new(struct store *st, struct store_queue *q, uint64_t id,
                                   const void *data, size_t len, uint32_t deliveries)
{
    struct store_task *t = xmalloc(sizeof *t + len);
    t->id = id;
    t->q = q;
    t->owner = NULL;
    t->deadline = 0;
    t->heap_at = 0;
    t->deliveries = deliveries;
    t->state = WIRE_READY;
    t->len = len;
    if (len)
        memcpy(t->payload, data, len);
    list_init(&t->qlink);
    list_init(&t->clink);
    ids_insert(st, t);
    return t;
}

static void task_free(struct store *st, struct store_task *t)
{
    size_t i = ids_find_slot(st, t->id);
    CHECK(i != SIZE_MAX);
    ids_remove_slot(st, i);
    list_remove(&t->qlink);
    free(t);
}

/* Take a leased task off its consumer, its queue's leased list and the heap. */
static void unlease(struct store *st, struct store_task *t)
{
    list_remove(&t->clink);
    list_remove(&t->qlink);
    heap_remove(st, t);
    t->owner = NULL;
    t->q->n_leased--;
    t->state = WIRE_READY;
}

static void lease(struct store *st, struct store_task *t, struct store_consumer *c,
                  uint64_t deadline)
{
    struct store_queue *q = t->q;
    list_remove(&t->qlink);
    q->n_ready--;
    list_push_back(&q->leased, &t->qlink);
    q->n_leased++;
    list_push_back(&c->leases, &t->clink);
    t->owner = c;
    t->state = WIRE_LEASED;
    t->deliveries++;
    t->deadline = deadline;
    heap_push(st, t);
    if (st->hooks.delivered)
        st->hooks.delivered(st->hooks.ctx, q->name, q->len, t->id);
}

/* Hand ready tasks of q to its waiters, oldest waiter first, while both last. */
static void wake_waiters(struct store *st, struct store_queue *q, uint64_t now)
{
    while (!list_empty(&q->waiters) && q->n_ready > 0) {
        struct store_consumer *c = CONSUMER_OF(q->waiters.next);
        store_unwait(st, c);
        size_t n = store_get(st, c, q->name, q->len, c->want_max, c->want_bytes, now,
                             c->want_lease_ms, st->scratch);
        if (st->hooks.deliver)
            st->hooks.deliver(st->hooks.ctx, c, st->scratch, n);
    }
}

/* [snippet:give_back] */
/* A leased task comes back (nack, expired lease, gone consumer): to the front of its
 * queue, or to the dead queue once it has had its deliveries (a task of a dead queue just
 * goes back to its front: a chain "q.dead.dead..." would only hide it further). `front` is where it goes:
 * after that link, so that tasks returned together keep their order. Returns the link it
 * was inserted after, for the next one. */
static struct store_link *give_back(struct store *st, struct store_task *t,
                                    struct store_link *front)
{
    struct store_queue *q = t->q;
    unlease(st, t);
    if (t->deliveries >= st->lim.max_deliveries && !q->dead_of) {
        struct store_queue *d = dead_queue(st, q);
        t->q = d;
        list_push_back(&d->ready, &t->qlink);
        d->n_ready++;
        q->dead_lettered++;
        if (st->hooks.dead)
            st->hooks.dead(st->hooks.ctx, q->name, q->len, t->id, t->deliveries);
        return front;
    }
    if (!front)
        front = &q->ready;
    list_insert_after(front, &t->qlink);
    q->n_ready++;
    q->redelivered++;
    return &t->qlink;
}
/* [/snippet:give_back] */

/* Wake the waiters of q and of its dead queue after tasks came back. */
static void after_return(struct store *st, struct store_queue *q, uint64_t now)
{
    wake_waiters(st, q, now);
    if (q->dead)
        wake_waiters(st, q->dead, now);
}

void store_consumer_gone(struct store *st, struct store_consumer *c, uint64_t now)
{
    store_unwait(st, c);
    /* Each queue's returned tasks go to its front in the order c got them: walk c's
     * leases from the oldest, inserting each after the one returned before it (per queue
     * the "after" link is found again as its previous returned task, or the front). */
    while (!list_empty(&c->leases)) {
        struct store_task *t = TASK_OF(c->leases.next, clink);
        struct store_queue *q = t->q;
        struct store_link *after = NULL;
        /* the tasks of c from the same queue, in order, go back as one run */
        for (struct store_link *l = c->leases.next, *next; l != &c->leases; l = next) {
            next = l->next;
            struct store_task *u = TASK_OF(l, clink);
            if (u->q == q)
                after = give_back(st, u, after);
        }
        after_return(st, q, now);
    }
    st->consumers--;
}

static size_t queue_length(const struct store_queue *q) { return q->n_ready + q->n_leased; }

/* Check, call the put hook, then take: the part store_put and store_finish share. */
static int put_into(struct store *st, struct store_queue *q, const struct store_item *items,
                    size_t n, uint64_t *ids)
{
    if (queue_length(q) + n > st->lim.max_queue)
        return STORE_FULL;
    if (st->hooks.put &&
        st->hooks.put(st->hooks.ctx, q->name, q->len, st->next_id, items, n) == -1)
        return STORE_REFUSED;
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = task_new(st, q, st->next_id++, items[i].data, items[i].len, 0);
        list_push_back(&q->ready, &t->qlink);
        q->n_ready++;
        ids[i] = t->id;
    }
    q->put += n;
    return STORE_OK;
}

int store_put(struct store *st, const char *queue, size_t qlen,
              const struct store_item *items, size_t n, uint64_t now, uint64_t *ids)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    int rc = put_into(st, q, items, n, ids);
    if (rc == STORE_OK)
        wake_waiters(st, q, now);
    return rc;
}

size_t store_get(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 uint32_t max, size_t budget, uint64_t now, uint32_t lease_ms,
                 struct store_task **out)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    size_t n = 0, bytes = 0;
    while (n < max && n < WIRE_MAX_BATCH && q->n_ready > 0) {
        struct store_task *t = TASK_OF(q->ready.next, qlink);
        if (n > 0 && bytes + t->len > budget)
            break;
        bytes += t->len;
        lease(st, t, c, now + lease_ms);
        out[n++] = t;
    }
    return n;
}

void store_wait(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                uint32_t max, size_t budget, uint32_t lease_ms)
{
    store_unwait(st, c);
    struct store_queue *q = queue_get(st, queue, qlen);
    c->waiting_on = q;
    c->want_max = max;
    c->want_bytes = budget;
    c->want_lease_ms = lease_ms;
    list_push_back(&q->waiters, &c->wait);
}

void store_unwait(struct store *st, struct store_consumer *c)
{
    (void)st;
    if (c->waiting_on) {
        list_remove(&c->wait);
        c->waiting_on = NULL;
    }
}

/* The task with this id if c holds it as a task of q; else NULL, counted. */
static struct store_task *held(struct store *st, struct store_consumer *c,
                               const struct store_queue *q, uint64_t id)
{
    struct store_task *t = ids_find(st, id);
    if (t && t->state == WIRE_LEASED && t->owner == c && t->q == q)
        return t;
    st->unknown++;
    return NULL;
}

static void ack_one(struct store *st, struct store_task *t)
{
    uint64_t id = t->id;
    struct store_queue *q = t->q;
    q->acked++;
    unlease(st, t);
    task_free(st, t);
    if (st->hooks.ack)
        st->hooks.ack(st->hooks.ctx, q->name, q->len, id);
}

size_t store_ack(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 const uint64_t *ids, size_t n)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = held(st, c, q, ids[i]);
        if (t) {
            ack_one(st, t);
            known++;
        }
    }
    return known;
}

size_t store_nack(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                  const uint64_t *ids, size_t n, uint64_t now)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    size_t known = 0;
    struct store_link *after = NULL;
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = held(st, c, q, ids[i]);
        if (t) {
            after = give_back(st, t, after);
            known++;
        }
    }
    after_return(st, q, now);
    return known;
}

size_t store_renew(struct store *st, struct store_consumer *c, const char *queue,
                   size_t qlen, const uint64_t *ids, size_t n, uint64_t now,
                   uint32_t lease_ms)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    size_t known = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = held(st, c, q, ids[i]);
        if (t) {
            t->deadline = now + lease_ms;
            heap_up(st, t->heap_at);
            heap_down(st, t->heap_at);
            known++;
        }
    }
    return known;
}

int store_finish(struct store *st, struct store_consumer *c, const char *queue, size_t qlen,
                 const uint64_t *ids, size_t n, const char *to, size_t tolen,
                 const struct store_item *items, size_t m, uint64_t now, uint64_t *ids_out)
{
    struct store_queue *q = queue_get(st, queue, qlen);
    struct store_queue *dest = queue_get(st, to, tolen);
    /* The results first: if they cannot be taken, the tasks stay leased and unacked, and
     * the worker may retry. (Room the acks would free is not counted: check, then act.) */
    int rc = put_into(st, dest, items, m, ids_out);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = held(st, c, q, ids[i]);
        if (t)
            ack_one(st, t);
    }
    wake_waiters(st, dest, now);
    return STORE_OK;
}

size_t store_expire(struct store *st, uint64_t now)
{
    size_t n = 0;
    while (st->heap_n > 0 && st->heap[0]->deadline <= now) {
        struct store_task *t = st->heap[0];
        struct store_queue *q = t->q;
        give_back(st, t, NULL);
        n++;
        after_return(st, q, now);
    }
    return n;
}

uint64_t store_next_deadline(const struct store *st)
{
    return st->heap_n ? st->heap[0]->deadline : UINT64_MAX;
}

static void add_counts(struct store_stats *s, const struct store_queue *q)
{
    s->ready += q->n_ready;
    s->leased += q->n_leased;
    s->put += q->put;
    s->acked += q->acked;
    s->redelivered += q->redelivered;
    s->dead_lettered += q->dead_lettered;
}

struct store_stats store_stats(struct store *st, const char *queue, size_t qlen)
{
    struct store_stats s = { .consumers = st->consumers, .unknown = st->unknown };
    struct store_queue *q = queue_find(st, queue, qlen);
    if (q) {
        add_counts(&s, q);
        if (q->dead)
            s.dead = queue_length(q->dead);
    }
    return s;
}

struct store_stats store_totals(const struct store *st)
{
    struct store_stats s = { .consumers = st->consumers, .unknown = st->unknown };
    for (size_t i = 0; i < st->buckets_n; i++)
        for (const struct store_queue *q = st->buckets[i]; q; q = q->hnext)
            add_counts(&s, q);
    return s;
}

size_t store_queue_count(const struct store *st) { return st->queues_n; }

/* Visit a list of tasks (linked by qlink) with one state; 0 when the walk should stop. */
static int visit_list(const struct store_link *l, int state, uint32_t *left,
                      store_visit_fn fn, void *arg)
{
    for (const struct store_link *e = l->next; e != l; e = e->next) {
        if (*left == 0)
            return 0;
        const struct store_task *t = TASK_OF(e, qlink);
        (*left)--;
        if (fn(arg, t, state, t->owner))
            return 0;
    }
    return 1;
}

void store_inspect(struct store *st, const char *queue, size_t qlen, uint32_t max,
                   store_visit_fn fn, void *arg)
{
    struct store_queue *q = queue_find(st, queue, qlen);
    uint32_t left = max;
    if (!q || !visit_list(&q->ready, WIRE_READY, &left, fn, arg)
        || !visit_list(&q->leased, WIRE_LEASED, &left, fn, arg) || !q->dead)
        return;
    if (visit_list(&q->dead->ready, WIRE_DEAD, &left, fn, arg))
        visit_list(&q->dead->leased, WIRE_DEAD, &left, fn, arg);
}

int store_restore(struct store *st, const char *queue, size_t qlen, uint64_t id,
                  const void *payload, size_t len, uint32_t deliveries)
{
    if (id == 0 || ids_find(st, id))
        return -1;
    struct store_queue *q = queue_get(st, queue, qlen);
    struct store_task *t = task_new(st, q, id, payload, len, deliveries);
    list_push_back(&q->ready, &t->qlink);
    q->n_ready++;
    if (id >= st->next_id)
        st->next_id = id + 1;
    return 0;
}

int store_forget(struct store *st, uint64_t id)
{
    struct store_task *t = ids_find(st, id);
    if (!t)
        return 0;
    if (t->state == WIRE_LEASED)
        unlease(st, t);
    else
        t->q->n_ready--;
    task_free(st, t);
    return 1;
}

void store_advance_ids(struct store *st, uint64_t max_id)
{
    if (max_id >= st->next_id)
        st->next_id = max_id + 1;
}

uint64_t store_max_id(const struct store *st) { return st->next_id - 1; }

/* fn for each task of one list (linked by qlink); nonzero when fn asked to stop. */
static int walk_list(const struct store_queue *q, const struct store_link *l,
                     store_walk_fn fn, void *arg)
{
    for (const struct store_link *e = l->next; e != l; e = e->next)
        if (fn(arg, q->name, q->len, TASK_OF(e, qlink)))
            return 1;
    return 0;
}

void store_walk(const struct store *st, store_walk_fn fn, void *arg)
{
    for (size_t i = 0; i < st->buckets_n; i++)
        for (const struct store_queue *q = st->buckets[i]; q; q = q->hnext)
            if (walk_list(q, &q->leased, fn, arg) || walk_list(q, &q->ready, fn, arg))
                return;
}

const char *store_queue_name(const struct store_task *t, size_t *len, int *dead)
{
    const struct store_queue *q = t->q->dead_of ? t->q->dead_of : t->q;
    *len = q->len;
    *dead = t->q->dead_of != NULL;
    return q->name;
}
