/* test_store.c - the broker's queue model, driven directly with a clock we set
 *
 * put/get/ack with exact ids and payloads; FIFO; prefetch and the byte budget; nack and
 * expired leases redeliver at the front with deliveries + 1; only the holder settles; a
 * consumer that goes returns its tasks in order; max-deliveries sends a task to
 * "<q>.dead"; max-queue refuses a whole batch; FINISH is all or none; waiting consumers are
 * woken in order; the hooks a journal needs fire (and a refusing put hook takes nothing);
 * restore/forget for replay; and a run of 200 000 tasks keeps the books (conservation),
 * which also exercises the id table's growth and deletions.
 */
#include "store.h"
#include "unit.h"

#include <string.h>

#define Q(s) (s), strlen(s)

static struct store_item item(const char *s) { return (struct store_item){ s, strlen(s) }; }

static int payload_is(const struct store_task *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->payload, s, t->len) == 0;
}

/* A store with consumers a and (unless NULL) b registered. */
static struct store *fresh(uint32_t max_deliveries, size_t max_queue,
                           const struct store_hooks *h, struct store_consumer *a,
                           struct store_consumer *b)
{
    struct store *st = store_new((struct store_limits){ max_deliveries, max_queue }, h);
    if (a)
        store_consumer_init(st, a, "a", NULL);
    if (b)
        store_consumer_init(st, b, "b", NULL);
    return st;
}

static void test_put_get_ack_fifo(void)
{
    struct store_consumer c;
    struct store *st = fresh(5, 100, NULL, &c, NULL);
    struct store_item it[3] = { item("a"), item("bb"), item("ccc") };
    uint64_t ids[3], more[1];
    EXPECT(store_put(st, Q("q"), it, 3, 0, ids) == STORE_OK);
    EXPECT(ids[0] == 1 && ids[1] == 2 && ids[2] == 3);
    EXPECT(store_put(st, Q("other"), it, 1, 0, more) == STORE_OK && more[0] == 4);
    struct store_task *out[8];
    EXPECT(store_get(st, &c, Q("q"), 2, 1 << 20, 0, 1000, out) == 2);
    EXPECT(out[0]->id == 1 && payload_is(out[0], "a") && out[0]->deliveries == 1);
    EXPECT(out[1]->id == 2 && payload_is(out[1], "bb"));
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.ready == 1 && s.leased == 2 && s.put == 3 && s.consumers == 1);
    uint64_t ack[3] = { 2, 99, 1 };
    EXPECT(store_ack(st, &c, Q("q"), ack, 3) == 2);          /* 99 is unknown */
    EXPECT(store_ack(st, &c, Q("q"), ack, 1) == 0);          /* acked already */
    s = store_stats(st, Q("q"));
    EXPECT(s.ready == 1 && s.leased == 0 && s.acked == 2 && s.unknown == 2);
    EXPECT(store_get(st, &c, Q("q"), 10, 1 << 20, 0, 1000, out) == 1 && out[0]->id == 3);
    EXPECT(store_get(st, &c, Q("q"), 10, 1 << 20, 0, 1000, out) == 0);
    EXPECT(store_stats(st, Q("never")).put == 0);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

/* The byte budget stops a batch early, but one task always goes. */
static void test_budget(void)
{
    struct store_consumer c;
    struct store *st = fresh(5, 100, NULL, &c, NULL);
    struct store_item it[3] = { item("12345"), item("12345"), item("12345") };
    uint64_t ids[3];
    store_put(st, Q("q"), it, 3, 0, ids);
    struct store_task *out[8];
    EXPECT(store_get(st, &c, Q("q"), 8, 3, 0, 1000, out) == 1);
    EXPECT(store_get(st, &c, Q("q"), 8, 10, 0, 1000, out) == 2);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

/* nack: back at the front with deliveries + 1; another consumer cannot settle it. */
static void test_nack_and_holder(void)
{
    struct store_consumer a, b;
    struct store *st = fresh(5, 100, NULL, &a, &b);
    struct store_item it[3] = { item("x"), item("y"), item("z") };
    uint64_t ids[3];
    store_put(st, Q("q"), it, 3, 0, ids);
    struct store_task *out[8];
    EXPECT(store_get(st, &a, Q("q"), 2, 1 << 20, 0, 1000, out) == 2);
    EXPECT(store_ack(st, &b, Q("q"), ids, 2) == 0);            /* b holds nothing */
    EXPECT(store_nack(st, &b, Q("q"), ids, 2, 0) == 0);
    EXPECT(store_ack(st, &a, Q("wrong"), ids, 2) == 0);        /* a's, but of "q" */
    EXPECT(store_nack(st, &a, Q("q"), ids, 2, 5) == 2);
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.ready == 3 && s.leased == 0 && s.redelivered == 2);
    EXPECT(store_get(st, &b, Q("q"), 3, 1 << 20, 5, 1000, out) == 3);
    EXPECT(out[0]->id == 1 && out[0]->deliveries == 2);       /* front, in order */
    EXPECT(out[1]->id == 2 && out[1]->deliveries == 2);
    EXPECT(out[2]->id == 3 && out[2]->deliveries == 1);
    store_consumer_gone(st, &a, 0);
    store_consumer_gone(st, &b, 0);
    EXPECT(store_stats(st, Q("q")).ready == 3 && store_stats(st, Q("q")).consumers == 0);
    store_free(st);
}

/* Leases expire at their deadline, not before; renew moves the deadline. */
static void test_expiry_and_renew(void)
{
    struct store_consumer c;
    struct store *st = fresh(5, 100, NULL, &c, NULL);
    struct store_item it[2] = { item("x"), item("y") };
    uint64_t ids[2];
    store_put(st, Q("q"), it, 2, 0, ids);
    struct store_task *out[8];
    store_get(st, &c, Q("q"), 1, 1 << 20, 100, 50, out);      /* id 1 until 150 */
    store_get(st, &c, Q("q"), 1, 1 << 20, 100, 80, out);      /* id 2 until 180 */
    EXPECT(store_next_deadline(st) == 150);
    EXPECT(store_renew(st, &c, Q("q"), &ids[0], 1, 120, 100) == 1);   /* id 1: 220 */
    EXPECT(store_next_deadline(st) == 180);
    EXPECT(store_expire(st, 179) == 0);
    EXPECT(store_expire(st, 180) == 1);
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.ready == 1 && s.leased == 1 && s.redelivered == 1);
    EXPECT(store_ack(st, &c, Q("q"), &ids[1], 1) == 0);       /* expired: not c's now */
    EXPECT(store_expire(st, 1000) == 1);
    EXPECT(store_next_deadline(st) == UINT64_MAX);
    EXPECT(store_get(st, &c, Q("q"), 9, 1 << 20, 1000, 10, out) == 2);
    EXPECT(out[0]->deliveries == 2 && out[1]->deliveries == 2);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

/* A consumer that goes: its tasks come back in the order it got them, ahead of the rest. */
static void test_consumer_gone(void)
{
    struct store_consumer a, b;
    struct store *st = fresh(5, 100, NULL, &a, &b);
    struct store_item it[5] = { item("1"), item("2"), item("3"), item("4"), item("5") };
    uint64_t ids[5];
    store_put(st, Q("q"), it, 5, 0, ids);
    store_put(st, Q("r"), it, 1, 0, ids);
    struct store_task *out[8];
    store_get(st, &a, Q("q"), 3, 1 << 20, 0, 1000, out);
    store_get(st, &a, Q("r"), 1, 1 << 20, 0, 1000, out);
    store_consumer_gone(st, &a, 0);
    EXPECT(store_stats(st, Q("q")).ready == 5 && store_stats(st, Q("r")).ready == 1);
    EXPECT(store_next_deadline(st) == UINT64_MAX);
    EXPECT(store_get(st, &b, Q("q"), 5, 1 << 20, 0, 1000, out) == 5);
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= out[i]->id == (uint64_t)i + 1 && out[i]->deliveries == (i < 3 ? 2u : 1u);
    EXPECT(ok);
    store_consumer_gone(st, &b, 0);
    store_free(st);
}

static int dead_hook_calls;
static uint64_t dead_hook_id;
static void on_dead(void *ctx, const char *q, size_t qlen, uint64_t id, uint32_t deliveries)
{
    (void)ctx;
    dead_hook_calls++;
    dead_hook_id = id;
    EXPECT(qlen == 1 && q[0] == 'q' && deliveries == 3);     /* the queue it leaves */
}

/* The third delivery that comes back goes to "q.dead", seen by stats and inspect. */
static int seen_states[8], seen_n;
static int record(void *arg, const struct store_task *t, int state,
                  const struct store_consumer *owner)
{
    (void)arg, (void)t;
    EXPECT((state == WIRE_LEASED) == (owner != NULL));
    seen_states[seen_n++] = state;
    return 0;
}

static void test_dead_letter(void)
{
    struct store_hooks h = { .dead = on_dead };
    struct store_consumer c;
    struct store *st = fresh(3, 100, &h, &c, NULL);
    struct store_item it[2] = { item("poison"), item("fine") };
    uint64_t ids[2];
    store_put(st, Q("q"), it, 2, 0, ids);
    struct store_task *out[8];
    for (int k = 1; k <= 3; k++) {
        EXPECT(store_get(st, &c, Q("q"), 1, 1 << 20, 0, 1000, out) == 1);
        EXPECT(out[0]->id == ids[0] && out[0]->deliveries == (uint32_t)k);
        EXPECT(store_nack(st, &c, Q("q"), ids, 1, 0) == 1);
    }
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.ready == 1 && s.dead == 1 && s.dead_lettered == 1 && s.redelivered == 2);
    EXPECT(dead_hook_calls == 1 && dead_hook_id == ids[0]);
    EXPECT(store_stats(st, Q("q.dead")).ready == 1);
    store_get(st, &c, Q("q"), 1, 1 << 20, 0, 1000, out);       /* "fine", leased */
    store_inspect(st, Q("q"), 10, record, NULL);
    EXPECT(seen_n == 2 && seen_states[0] == WIRE_LEASED && seen_states[1] == WIRE_DEAD);
    seen_n = 0;
    store_inspect(st, Q("q"), 1, record, NULL);                /* max 1 */
    EXPECT(seen_n == 1);
    EXPECT(store_get(st, &c, Q("q.dead"), 1, 1 << 20, 0, 1000, out) == 1
           && out[0]->id == ids[0] && out[0]->deliveries == 4);
    size_t qlen;
    int dead;
    EXPECT(memcmp(store_queue_name(out[0], &qlen, &dead), "q", 1) == 0 && qlen == 1 && dead);
    EXPECT(store_nack(st, &c, Q("q.dead"), ids, 1, 0) == 1);   /* dead letters stay */
    EXPECT(store_stats(st, Q("q.dead")).ready == 1 && store_stats(st, Q("q.dead.dead")).put == 0
           && dead_hook_calls == 1);
    EXPECT(store_get(st, &c, Q("q.dead"), 1, 1 << 20, 0, 1000, out) == 1);
    EXPECT(store_ack(st, &c, Q("q.dead"), ids, 1) == 1);
    store_consumer_gone(st, &c, 0);                            /* "fine" comes back */
    EXPECT(dead_hook_calls == 1 && store_stats(st, Q("q")).ready == 1);
    store_free(st);
}

/* max-queue counts ready and leased; a refused batch takes nothing. FINISH likewise. */
static void test_full_and_finish(void)
{
    struct store_consumer c;
    struct store *st = fresh(5, 3, NULL, &c, NULL);
    struct store_item it[4] = { item("a"), item("b"), item("c"), item("d") };
    uint64_t ids[4], rid[2];
    EXPECT(store_put(st, Q("q"), it, 4, 0, ids) == STORE_FULL);
    EXPECT(store_stats(st, Q("q")).ready == 0 && store_stats(st, Q("q")).put == 0);
    EXPECT(store_put(st, Q("q"), it, 3, 0, ids) == STORE_OK);
    struct store_task *out[8];
    store_get(st, &c, Q("q"), 3, 1 << 20, 0, 1000, out);
    EXPECT(store_put(st, Q("q"), it, 1, 0, ids + 3) == STORE_FULL);   /* leased count */
    EXPECT(store_put(st, Q("res"), it, 2, 0, rid) == STORE_OK);
    /* results would make "res" 4 long: nothing acked, nothing put */
    EXPECT(store_finish(st, &c, Q("q"), ids, 1, Q("res"), it, 2, 0, rid) == STORE_FULL);
    EXPECT(store_stats(st, Q("q")).leased == 3 && store_stats(st, Q("res")).ready == 2);
    EXPECT(store_finish(st, &c, Q("q"), ids, 1, Q("res"), it, 1, 0, rid) == STORE_OK);
    EXPECT(rid[0] == 6);
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.leased == 2 && s.acked == 1 && store_stats(st, Q("res")).ready == 3);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

static struct store_consumer *delivered_to[4];
static uint64_t delivered_id[4];
static int deliveries_n;
static void on_deliver(void *ctx, struct store_consumer *c, struct store_task **t, size_t n)
{
    (void)ctx;
    EXPECT(n == 1);
    delivered_to[deliveries_n] = c;
    delivered_id[deliveries_n++] = t[0]->id;
}

static int refuse_puts;
static int on_put(void *ctx, const char *q, size_t qlen, uint64_t first, const struct store_item *it,
                  size_t n)
{
    (void)ctx, (void)q, (void)qlen, (void)first, (void)it, (void)n;
    return refuse_puts ? -1 : 0;
}

/* Waiters get tasks in the order they began to wait; a refused put wakes nobody. */
static void test_waiters_and_hooks(void)
{
    struct store_hooks h = { .deliver = on_deliver, .put = on_put };
    struct store_consumer a, b;
    struct store *st = fresh(5, 100, &h, &a, &b);
    store_wait(st, &a, Q("q"), 1, 1 << 20, 100);
    store_wait(st, &b, Q("q"), 1, 1 << 20, 100);
    struct store_item it[3] = { item("1"), item("2"), item("3") };
    uint64_t ids[3];
    refuse_puts = 1;
    EXPECT(store_put(st, Q("q"), it, 1, 0, ids) == STORE_REFUSED);
    EXPECT(deliveries_n == 0 && store_stats(st, Q("q")).ready == 0);
    refuse_puts = 0;
    EXPECT(store_put(st, Q("q"), it, 3, 7, ids) == STORE_OK && ids[0] == 1);
    EXPECT(deliveries_n == 2 && delivered_to[0] == &a && delivered_id[0] == 1
           && delivered_to[1] == &b && delivered_id[1] == 2);
    EXPECT(store_next_deadline(st) == 107 && a.waiting_on == NULL);
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(s.ready == 1 && s.leased == 2);
    store_wait(st, &a, Q("q"), 1, 1 << 20, 100);
    store_unwait(st, &a);
    store_consumer_gone(st, &b, 10);          /* b's task is ready again: nobody waits */
    EXPECT(deliveries_n == 2 && store_stats(st, Q("q")).ready == 2);
    store_consumer_gone(st, &a, 10);
    store_free(st);
}

/* Replay: restored tasks keep their ids and deliveries, new ids go on above them. */
static void test_restore_forget(void)
{
    struct store_consumer c;
    struct store *st = fresh(5, 100, NULL, NULL, NULL);
    EXPECT(store_restore(st, Q("q"), 7, "seven", 5, 2) == 0);
    EXPECT(store_restore(st, Q("q"), 3, "three", 5, 0) == 0);
    EXPECT(store_restore(st, Q("q"), 7, "again", 5, 0) == -1);
    EXPECT(store_forget(st, 3) == 1 && store_forget(st, 3) == 0);
    struct store_item it = item("new");
    uint64_t id;
    EXPECT(store_put(st, Q("q"), &it, 1, 0, &id) == STORE_OK && id == 8);
    store_consumer_init(st, &c, "c", NULL);
    struct store_task *out[4];
    EXPECT(store_get(st, &c, Q("q"), 4, 1 << 20, 0, 10, out) == 2);
    EXPECT(out[0]->id == 7 && out[0]->deliveries == 3 && payload_is(out[0], "seven"));
    EXPECT(store_forget(st, 7) == 1);                        /* leased: forgotten too */
    EXPECT(store_stats(st, Q("q")).leased == 1 && store_next_deadline(st) == 10);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

/* Many tasks through three consumers with acks, nacks and expiry mixed: every task is
 * acked exactly once in the end and the books balance. */
static void test_conservation(void)
{
    enum { N = 200000 };
    struct store_consumer c[3];
    struct store *st = fresh(1000, N, NULL, &c[0], &c[1]);
    store_consumer_init(st, &c[2], "c", NULL);
    static struct store_item it[1000];
    static uint64_t ids[1000];
    for (int i = 0; i < 1000; i++)
        it[i] = item("payload");
    for (int i = 0; i < N / 1000; i++)
        store_put(st, Q("q"), it, 1000, 0, ids);
    static char acked[N + 1];
    struct store_task *out[64];
    uint64_t now = 0, done = 0, got_ids[64];
    for (int round = 0; done < N && round < 100000; round++) {
        now += 7;
        store_expire(st, now);
        struct store_consumer *k = &c[round % 3];
        size_t n = store_get(st, k, Q("q"), 64, 1 << 20, now, 20, out);
        for (size_t i = 0; i < n; i++)
            got_ids[i] = out[i]->id;
        if (round % 5 == 4)
            continue;                               /* these leases will expire */
        if (round % 7 == 3) {
            store_nack(st, k, Q("q"), got_ids, n, now);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            acked[got_ids[i]]++;
        done += store_ack(st, k, Q("q"), got_ids, n);
    }
    int once = 1;
    for (int i = 1; i <= N; i++)
        once &= acked[i] == 1;
    struct store_stats s = store_stats(st, Q("q"));
    EXPECT(done == N && once);
    EXPECT(s.ready == 0 && s.leased == 0 && s.acked == N && s.put == N && s.dead == 0);
    for (int i = 0; i < 3; i++)
        store_consumer_gone(st, &c[i], now);
    store_free(st);
}

/* What a journal sees: one event per put task, delivery, ack and dead letter, naming the
 * queue, in the order they happen; FINISH is its results' put, then its acks. */
static char events[512];
static void ev(const char *kind, const char *q, size_t qlen, uint64_t id)
{
    size_t n = strlen(events);
    snprintf(events + n, sizeof events - n, "%s %.*s %llu;", kind, (int)qlen, q,
             (unsigned long long)id);
}
static int j_put(void *ctx, const char *q, size_t qlen, uint64_t first,
                 const struct store_item *it, size_t n)
{
    (void)ctx, (void)it;
    for (size_t i = 0; i < n; i++)
        ev("put", q, qlen, first + i);
    return 0;
}
static void j_ack(void *ctx, const char *q, size_t qlen, uint64_t id)
{
    (void)ctx;
    ev("ack", q, qlen, id);
}
static void j_delivered(void *ctx, const char *q, size_t qlen, uint64_t id)
{
    (void)ctx;
    ev("got", q, qlen, id);
}
static void j_dead(void *ctx, const char *q, size_t qlen, uint64_t id, uint32_t deliveries)
{
    (void)ctx, (void)deliveries;
    ev("dead", q, qlen, id);
}

static int walked(void *arg, const char *q, size_t qlen, const struct store_task *t)
{
    (void)arg;
    ev("walk", q, qlen, t->id);
    return 0;
}

static void test_journal_hooks(void)
{
    struct store_hooks h = { .put = j_put, .ack = j_ack, .delivered = j_delivered,
                             .dead = j_dead };
    struct store_consumer c;
    struct store *st = fresh(1, 100, &h, &c, NULL);
    struct store_item it[3] = { item("a"), item("b"), item("c") };
    uint64_t ids[3], rid;
    struct store_task *out[4];
    store_put(st, Q("q"), it, 3, 0, ids);
    store_get(st, &c, Q("q"), 2, 1 << 20, 0, 100, out);
    store_finish(st, &c, Q("q"), ids, 1, Q("r"), it, 1, 0, &rid);
    store_nack(st, &c, Q("q"), &ids[1], 1, 0);                 /* max 1: dead at once */
    EXPECT(strcmp(events, "put q 1;put q 2;put q 3;got q 1;got q 2;put r 4;ack q 1;"
                          "dead q 2;") == 0);
    events[0] = '\0';
    store_get(st, &c, Q("q"), 1, 1 << 20, 0, 100, out);        /* 3 leased, then walk */
    events[0] = '\0';
    store_walk(st, walked, NULL);
    EXPECT(strstr(events, "walk q 3;") && strstr(events, "walk r 4;")
           && strstr(events, "walk q.dead 2;") && strlen(events) == 9 + 9 + 14);
    store_advance_ids(st, 41);
    EXPECT(store_put(st, Q("q"), it, 1, 0, ids) == STORE_OK && ids[0] == 42);
    store_advance_ids(st, 7);                                   /* never backwards */
    EXPECT(store_max_id(st) == 42);
    store_consumer_gone(st, &c, 0);
    store_free(st);
}

int main(void)
{
    test_put_get_ack_fifo();
    test_budget();
    test_nack_and_holder();
    test_expiry_and_renew();
    test_consumer_gone();
    test_dead_letter();
    test_full_and_finish();
    test_waiters_and_hooks();
    test_restore_forget();
    test_journal_hooks();
    test_conservation();
    return unit_done();
}
