/* test_taskq_redis.c - the Redis backends of taskq.h against a real redis-server
 *
 * Usage: unit_taskq_redis redis://127.0.0.1:PORT          (Streams)
 *        unit_taskq_redis redis-lists://127.0.0.1:PORT    (the lists pattern)
 *        unit_taskq_redis block URL    (for the kill test: waits on an empty queue until
 *                                       the caller kills Redis; exit 3 if the get returned -1)
 * tests/test_redis.py starts the redis-server and runs this. Every case uses queues of its
 * own, so the cases do not see each other's tasks. Waiting for a lease to run out is done
 * by polling taskq_get with a short wait (bounded by a deadline), never by sleeping.
 */
#include "taskq.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static const char *url;
static int streams;                     /* 1: redis://, 0: redis-lists:// */
static char qname[64];

/* A fresh queue name for each case. */
static const char *fresh(const char *what)
{
    static int n;
    snprintf(qname, sizeof qname, "t%d-%d-%s", (int)getpid(), ++n, what);
    return qname;
}

static struct taskq *open_as(const char *name, int max_deliveries)
{
    char err[256];
    struct taskq_opts o = { .url = url, .name = name, .max_deliveries = max_deliveries };
    struct taskq *q = taskq_open(&o, err, sizeof err);
    if (!q)
        fprintf(stderr, "taskq_open(%s): %s\n", url, err);
    return q;
}

static int put_strs(struct taskq *q, const char *queue, const char *const *s, size_t n)
{
    struct taskq_item items[16];
    for (size_t i = 0; i < n; i++)
        items[i] = (struct taskq_item){ s[i], strlen(s[i]) };
    return taskq_put(q, queue, items, n);
}

static int is(const struct taskq_task *t, const char *s)
{
    return t->len == strlen(s) && memcmp(t->data, s, t->len) == 0;
}

/* Get until something comes (a lease running out elsewhere), at most ~20 s. */
static int get_eventually(struct taskq *q, const char *queue, int lease_ms,
                          struct taskq_batch *b)
{
    for (int i = 0; i < 400; i++) {
        int n = taskq_get(q, queue, 10, 50, lease_ms, b);
        if (n != 0)
            return n;
    }
    return 0;
}

static void test_put_get_ack(void)
{
    struct taskq *q = open_as("a", 0);
    const char *queue = fresh("basic");
    const char *in[] = { "one", "two", "three" };
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(q, queue, in, 3) == 0);
    EXPECT(put_strs(q, queue, (const char *[]){ "four" }, 1) == 0);
    EXPECT(taskq_get(q, queue, 2, 0, 0, &b) == 2);        /* FIFO, max respected */
    EXPECT(is(&b.tasks[0], "one") && is(&b.tasks[1], "two"));
    EXPECT(b.tasks[0].deliveries == 1 && b.tasks[1].deliveries == 1);
    EXPECT(taskq_ack(q, queue, b.tasks, 2) == 0);
    EXPECT(taskq_get(q, queue, 10, 1000, 0, &b) == 2);
    EXPECT(is(&b.tasks[0], "three") && is(&b.tasks[1], "four"));
    struct taskq_stats st;
    EXPECT(taskq_stats(q, queue, &st) == 0);
    EXPECT(st.ready == 0 && st.leased == 2 && st.dead == 0);
    EXPECT(!streams || st.put == 4);
    EXPECT(taskq_ack(q, queue, b.tasks, 2) == 0);
    EXPECT(taskq_stats(q, queue, &st) == 0);
    EXPECT(st.ready == 0 && st.leased == 0);
    EXPECT(taskq_get(q, queue, 10, 100, 0, &b) == 0);     /* nothing: 0, not an error */
    EXPECT(taskq_get(q, queue, 10, 0, 0, &b) == 0);
    /* bytes, not strings: a NUL and a CRLF travel intact */
    struct taskq_item bin = { "a\0b\r\nc", 6 };
    EXPECT(taskq_put(q, queue, &bin, 1) == 0);
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1);
    EXPECT(b.tasks[0].len == 6 && memcmp(b.tasks[0].data, "a\0b\r\nc", 6) == 0);
    EXPECT(taskq_ack(q, queue, b.tasks, 1) == 0);
    taskq_batch_free(&b);
    taskq_close(q);
}

static void test_finish(void)
{
    struct taskq *q = open_as("f", 0);
    char results[64];
    const char *queue = fresh("fin");
    snprintf(results, sizeof results, "%s.results", queue);
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(q, queue, (const char *[]){ "7" }, 1) == 0);
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1);
    struct taskq_item r[2] = { { "49", 2 }, { "by f", 4 } };
    EXPECT(taskq_finish(q, queue, b.tasks, 1, results, r, 2) == 0);
    struct taskq_stats st;
    EXPECT(taskq_stats(q, queue, &st) == 0 && st.ready == 0 && st.leased == 0);
    EXPECT(taskq_get(q, results, 10, 0, 0, &b) == 2);
    EXPECT(is(&b.tasks[0], "49") && is(&b.tasks[1], "by f"));
    EXPECT(taskq_ack(q, results, b.tasks, 2) == 0);
    taskq_batch_free(&b);
    taskq_close(q);
}

/* Streams only: bound queue at n entries (the key taskq:QUEUE.max), as an operator would. */
static void set_max(const char *queue, int n)
{
    int port = atoi(strrchr(url, ':') + 1);
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *rep = c && !c->err ? redisCommand(c, "SET taskq:%s.max %d", queue, n) : NULL;
    EXPECT(rep && rep->type == REDIS_REPLY_STATUS);
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
}

/* Streams only: a bound set in Redis refuses a put, and a finish, as a whole. */
static void test_bound(void)
{
    struct taskq *q = open_as("bound", 0);
    const char *queue = fresh("bound");
    char results[64];
    snprintf(results, sizeof results, "%s.r", queue);
    set_max(results, 2);
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(q, results, (const char *[]){ "r1", "r2", "r3" }, 3) == TASKQ_FULL);
    EXPECT(put_strs(q, results, (const char *[]){ "r1" }, 1) == 0);
    EXPECT(put_strs(q, queue, (const char *[]){ "t" }, 1) == 0);
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1);
    struct taskq_item two[2] = { { "x", 1 }, { "y", 1 } };
    EXPECT(taskq_finish(q, queue, b.tasks, 1, results, two, 2) == TASKQ_FULL);
    struct taskq_stats st;
    EXPECT(taskq_stats(q, queue, &st) == 0 && st.leased == 1);     /* not acked */
    EXPECT(taskq_stats(q, results, &st) == 0 && st.ready == 1);    /* nothing put */
    EXPECT(taskq_finish(q, queue, b.tasks, 1, results, two, 1) == 0);
    EXPECT(taskq_stats(q, queue, &st) == 0 && st.leased == 0 && st.ready == 0);
    EXPECT(taskq_stats(q, results, &st) == 0 && st.ready == 2);
    taskq_batch_free(&b);
    taskq_close(q);
}

static void test_nack(void)
{
    struct taskq *q = open_as("n", 0);
    const char *queue = fresh("nack");
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(q, queue, (const char *[]){ "p", "q" }, 2) == 0);
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1 && is(&b.tasks[0], "p"));
    char id[TASKQ_ID_MAX];
    snprintf(id, sizeof id, "%s", b.tasks[0].id);
    EXPECT(taskq_nack(q, queue, b.tasks, 1) == 0);
    /* the nacked task comes back first, counted (Streams) */
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1 && is(&b.tasks[0], "p"));
    EXPECT(strcmp(b.tasks[0].id, id) == 0);
    EXPECT(b.tasks[0].deliveries == (streams ? 2u : 1u));
    EXPECT(taskq_ack(q, queue, b.tasks, 1) == 0);
    EXPECT(taskq_get(q, queue, 5, 0, 0, &b) == 1 && is(&b.tasks[0], "q"));
    EXPECT(taskq_ack(q, queue, b.tasks, 1) == 0);
    taskq_batch_free(&b);
    taskq_close(q);
}

/* Streams only: a task nacked max-deliveries times goes to the dead stream, once. */
static void test_poison(void)
{
    struct taskq *a = open_as("pa", 2), *bq = open_as("pb", 2);
    const char *queue = fresh("poison");
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(a, queue, (const char *[]){ "bad", "good" }, 2) == 0);
    EXPECT(taskq_get(a, queue, 1, 0, 0, &b) == 1 && is(&b.tasks[0], "bad"));
    EXPECT(taskq_nack(a, queue, b.tasks, 1) == 0);
    EXPECT(taskq_get(bq, queue, 1, 0, 0, &b) == 1 && is(&b.tasks[0], "bad"));
    EXPECT(b.tasks[0].deliveries == 2);
    EXPECT(taskq_nack(bq, queue, b.tasks, 1) == 0);
    EXPECT(taskq_get(a, queue, 5, 0, 0, &b) == 1 && is(&b.tasks[0], "good"));
    EXPECT(taskq_ack(a, queue, b.tasks, 1) == 0);
    EXPECT(taskq_get(a, queue, 5, 0, 0, &b) == 0);
    struct taskq_stats st;
    EXPECT(taskq_stats(a, queue, &st) == 0);
    EXPECT(st.dead == 1 && st.ready == 0 && st.leased == 0);
    struct taskq_entries es = { 0 };
    EXPECT(taskq_inspect(a, queue, 10, &es) == 0 && es.n == 1);
    EXPECT(es.n == 1 && es.e[0].state == TASKQ_DEAD && es.e[0].deliveries == 3);
    EXPECT(es.n == 1 && es.e[0].len == 3 && memcmp(es.e[0].data, "bad", 3) == 0);
    /* the dead stream is a queue like any other: it can be read and emptied */
    char dead[80];
    snprintf(dead, sizeof dead, "%s.dead", queue);
    EXPECT(taskq_get(a, dead, 5, 0, 0, &b) == 1 && is(&b.tasks[0], "bad"));
    taskq_entries_free(&es);
    taskq_batch_free(&b);
    taskq_close(a);
    taskq_close(bq);
}

/* A holder that stops answering loses its task when the lease runs out: another consumer
 * gets it again (deliveries + 1 on Streams), and the old holder can no longer renew it. */
static void test_lease_expiry(void)
{
    struct taskq *a = open_as("la", 0), *bq = open_as("lb", 0);
    const char *queue = fresh("lease");
    struct taskq_batch b = { 0 }, c = { 0 };
    EXPECT(put_strs(a, queue, (const char *[]){ "job" }, 1) == 0);
    EXPECT(taskq_get(a, queue, 1, 0, 100, &b) == 1 && is(&b.tasks[0], "job"));
    EXPECT(get_eventually(bq, queue, 100, &c) == 1 && is(&c.tasks[0], "job"));
    EXPECT(c.tasks[0].deliveries == (streams ? 2u : 1u));
    EXPECT(!streams || strcmp(b.tasks[0].id, c.tasks[0].id) == 0);
    struct taskq_entries es = { 0 };
    if (streams) {                     /* renew by the old holder does not take it back */
        EXPECT(taskq_renew(a, queue, b.tasks, 1, 100) == 0);
        EXPECT(taskq_inspect(a, queue, 10, &es) == 0 && es.n == 1);
        EXPECT(es.n == 1 && es.e[0].state == TASKQ_LEASED &&
               strcmp(es.e[0].consumer, "lb") == 0);
    }
    EXPECT(taskq_ack(bq, queue, c.tasks, 1) == 0);
    struct taskq_stats st;
    EXPECT(taskq_stats(a, queue, &st) == 0 && st.ready == 0 && st.leased == 0);
    taskq_entries_free(&es);
    taskq_batch_free(&b);
    taskq_batch_free(&c);
    taskq_close(a);
    taskq_close(bq);
}

static void test_inspect(void)
{
    struct taskq *q = open_as("insp", 0);
    const char *queue = fresh("insp");
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(q, queue, (const char *[]){ "i1", "i2", "i3" }, 3) == 0);
    EXPECT(taskq_get(q, queue, 1, 0, 0, &b) == 1 && is(&b.tasks[0], "i1"));
    struct taskq_entries es = { 0 };
    EXPECT(taskq_inspect(q, queue, 10, &es) == 0 && es.n == 3);
    const char *want[] = { "i1", "i2", "i3" };
    for (size_t i = 0; i < es.n && i < 3; i++) {
        EXPECT(es.e[i].len == 2 && memcmp(es.e[i].data, want[i], 2) == 0);
        EXPECT(es.e[i].state == (i == 0 ? TASKQ_LEASED : TASKQ_READY));
        EXPECT(strcmp(es.e[i].consumer, i == 0 ? "insp" : "") == 0);
    }
    EXPECT(taskq_inspect(q, queue, 2, &es) == 0 && es.n == 2);
    struct taskq_stats st;
    EXPECT(taskq_stats(q, queue, &st) == 0 && st.ready == 2 && st.leased == 1);
    EXPECT(st.consumers >= 1);
    taskq_entries_free(&es);
    taskq_batch_free(&b);
    taskq_close(q);
}

/* The entries in the queue, as inspect shows them, as "i1:L i2:R ..." (L leased, R ready). */
static const char *shown(struct taskq *q, const char *queue)
{
    static char buf[256];
    struct taskq_entries es = { 0 };
    size_t len = 0;
    buf[0] = '\0';
    EXPECT(taskq_inspect(q, queue, 100, &es) == 0);
    for (size_t i = 0; i < es.n && len < sizeof buf - 32; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s:%c", i ? " " : "",
                                (int)es.e[i].len, es.e[i].data,
                                es.e[i].state == TASKQ_LEASED ? 'L' :
                                es.e[i].state == TASKQ_READY ? 'R' : 'D');
    taskq_entries_free(&es);
    return buf;
}

/* Acks out of order: b acks tasks newer than those a still holds, then a acks its second
 * before its first. An acked entry must be gone at once from stats, inspect and the bound,
 * whichever order the acks came in (the in-order ones leave by trimming the stream's old
 * end, which cannot reach past an entry still held). */
static void test_ack_order(void)
{
    struct taskq *a = open_as("oa", 0), *bq = open_as("ob", 0);
    const char *queue = fresh("order");
    struct taskq_batch ba = { 0 }, bb = { 0 };
    struct taskq_stats st;
    EXPECT(put_strs(a, queue, (const char *[]){ "o1", "o2", "o3", "o4", "o5", "o6" }, 6) == 0);
    EXPECT(taskq_get(a, queue, 2, 0, 60000, &ba) == 2 && is(&ba.tasks[0], "o1"));
    EXPECT(taskq_get(bq, queue, 2, 0, 60000, &bb) == 2 && is(&bb.tasks[0], "o3"));
    EXPECT(taskq_ack(bq, queue, bb.tasks, 2) == 0);
    EXPECT(taskq_stats(a, queue, &st) == 0 && st.ready == 2 && st.leased == 2);
    EXPECT(strcmp(shown(a, queue), "o1:L o2:L o5:R o6:R") == 0);
    set_max(queue, 5);                   /* 4 in the queue: room for exactly one more */
    EXPECT(put_strs(a, queue, (const char *[]){ "o7", "o8" }, 2) == TASKQ_FULL);
    EXPECT(put_strs(a, queue, (const char *[]){ "o7" }, 1) == 0);
    EXPECT(taskq_ack(a, queue, &ba.tasks[1], 1) == 0);
    EXPECT(taskq_stats(a, queue, &st) == 0 && st.ready == 3 && st.leased == 1);
    EXPECT(strcmp(shown(a, queue), "o1:L o5:R o6:R o7:R") == 0);
    EXPECT(taskq_ack(a, queue, ba.tasks, 1) == 0);
    EXPECT(taskq_stats(a, queue, &st) == 0 && st.ready == 3 && st.leased == 0);
    EXPECT(strcmp(shown(a, queue), "o5:R o6:R o7:R") == 0);
    EXPECT(taskq_ack(a, queue, ba.tasks, 2) == 0);     /* again: nothing changes */
    EXPECT(taskq_get(bq, queue, 10, 0, 60000, &bb) == 3 && is(&bb.tasks[0], "o5"));
    EXPECT(taskq_ack(bq, queue, bb.tasks, 3) == 0);
    EXPECT(taskq_stats(a, queue, &st) == 0 && st.ready == 0 && st.leased == 0);
    EXPECT(strcmp(shown(a, queue), "") == 0);
    taskq_batch_free(&ba);
    taskq_batch_free(&bb);
    taskq_close(a);
    taskq_close(bq);
}

/* Lists only: a consumer that closes gives its tasks back at the next reaper run. */
static void test_close_returns(void)
{
    struct taskq *a = open_as("ca", 0), *bq = open_as("cb", 0);
    const char *queue = fresh("close");
    struct taskq_batch b = { 0 };
    EXPECT(put_strs(a, queue, (const char *[]){ "held" }, 1) == 0);
    EXPECT(taskq_get(a, queue, 1, 0, 60000, &b) == 1);
    taskq_close(a);
    EXPECT(taskq_get(bq, queue, 1, 0, 60000, &b) == 1 && is(&b.tasks[0], "held"));
    EXPECT(taskq_ack(bq, queue, b.tasks, 1) == 0);
    taskq_batch_free(&b);
    taskq_close(bq);
}

static void test_errors(void)
{
    char err[256];
    struct taskq_opts o = { .url = "redis://127.0.0.1:1", .name = "x" };
    EXPECT(taskq_open(&o, err, sizeof err) == NULL);
    EXPECT(strstr(err, "redis 127.0.0.1:1") != NULL);
}

/* Wait on an empty queue for ten minutes; the caller kills Redis meanwhile. */
static int block(void)
{
    struct taskq *q = open_as("blocker", 0);
    if (!q)
        return 2;
    struct taskq_batch b = { 0 };
    printf("waiting\n");
    fflush(stdout);
    int n = taskq_get(q, "blocked", 1, 600000, 0, &b);
    fprintf(stderr, "get returned %d: %s\n", n, n == -1 ? taskq_error(q) : "");
    taskq_batch_free(&b);
    taskq_close(q);
    return n == -1 ? 3 : 1;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    if (argc == 3 && strcmp(argv[1], "block") == 0) {
        url = argv[2];
        return block();
    }
    if (argc != 2)
        die_msg("usage: unit_taskq_redis [block] redis://HOST:PORT | redis-lists://...");
    url = argv[1];
    streams = strncmp(url, "redis://", 8) == 0;
    test_put_get_ack();
    test_finish();
    test_nack();
    test_lease_expiry();
    test_inspect();
    test_errors();
    if (streams) {
        test_bound();
        test_poison();
        test_ack_order();
    } else {
        test_close_returns();
    }
    return unit_done();
}
