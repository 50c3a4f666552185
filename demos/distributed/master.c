/* master.c - put N tasks on the queue, collect their results, count each task once
 *
 * Usage:    master [--backend URL] [--key F] [--tasks N] [--work-ms MS] [--queue Q]
 *                  [--results R] [--seed S] [--quiet]
 * Observe:  start a broker and one or more workers (any order, any machine that has the
 *           key), then the master. It puts N tasks "TASKID N WORK_MS" with random n in
 *           1..10000 (from --seed, so the expected sum of squares is known before any
 *           worker runs), prints each result as it arrives and, at the end,
 *           "done: N results, D duplicates ignored, sum of squares S (expected S)".
 *           Delivery is at least once: a task whose worker vanished, or whose lease ran
 *           out while the worker was slow, runs again, and its result can come twice. The
 *           master counts each task id once (an array indexed by task id), so the sum is
 *           exact whatever happened to the workers.
 * Try:      master --tasks 100000 --quiet with 1, 2 and 4 workers, at --prefetch 1 and 64
 *           master --tasks 1000 --work-ms 5 with 4 workers, and kill -9 two of them
 *           master with no broker running (exit 1: "connect: Connection refused")
 * Python:   seeds/000's task_master.py: a BaseManager serving a task and a result queue;
 *           nothing acks a task, so one taken by a worker that dies is lost, and the master's
 *           result.get(timeout=10) then ends the run in an exception.
 * See also: docs/distributed/master_worker.md, demos/distributed/worker.c
 */
#include "core.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "taskq.h"

static const char usage_text[] =
    "master - put N squaring tasks on a queue and collect each result exactly once\n"
    "\n"
    "Usage: master [--backend URL] [--key FILE] [--tasks N] [--work-ms MS] [--queue Q]\n"
    "              [--results R] [--seed S] [--quiet]\n"
    "  --tasks N      tasks to put, 1 to 10000000 (default 10)\n"
    "  --work-ms MS   simulated work per task, for the workers (default 0)\n"
    "  --queue Q      where tasks go (default tasks)\n"
    "  --results R    where results come from (default results)\n"
    "  --seed S       seed of the random numbers (default 1)\n"
    "  --quiet        print only the summary line\n"
    CLIENT_USAGE;

#define PUT_BATCH 1000           /* tasks in one PUT: 1000 puts for 10^6 tasks, not 10^6 */
#define COLLECT_MAX 256          /* results taken in one GET */
#define WAIT_MS 1000

static struct client cli;
static const char *queue = "tasks", *results_queue = "results";
static long ntasks = 10, work_ms, quiet;
static unsigned long long seed = 1;

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tasks", required_argument, NULL, 't' },
        { "work-ms", required_argument, NULL, 'w' },
        { "queue", required_argument, NULL, 'q' },
        { "results", required_argument, NULL, 'r' },
        { "seed", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'Q' },
        CLIENT_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': ntasks = parse_long("--tasks", optarg, 1, 10000000); break;
        case 'w': work_ms = parse_long("--work-ms", optarg, 0, 60000); break;
        case 'q': queue = optarg; break;
        case 'r': results_queue = optarg; break;
        case 's': seed = (unsigned long long)parse_long("--seed", optarg, 0, LONG_MAX); break;
        case 'Q': quiet = 1; break;
        default: client_flag(&cli, c, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

/* splitmix64: a tiny generator whose sequence depends only on the seed, so the same
 * --seed gives the same numbers (and the same expected sum) on every machine. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Put the next tasks, at most *batch of them, in one request. Returns 0, or TASKQ_FULL
 * when the queue had no room for them all (the broker took none: a batch is all or
 * nothing); then the next try is half the size, since a batch bigger than the room left
 * would never fit, and each success doubles it again up to PUT_BATCH. */
static int put_batch(struct taskq *q, const uint16_t *number, long *next, size_t *batch)
{
    static char text[PUT_BATCH][48];
    struct taskq_item items[PUT_BATCH];
    size_t n = 0;
    for (long id = *next; id < ntasks && n < *batch; id++, n++) {
        int len = snprintf(text[n], sizeof text[n], "%ld %u %ld", id, number[id], work_ms);
        items[n] = (struct taskq_item){ .data = text[n], .len = (size_t)len };
    }
    int rc = taskq_put(q, queue, items, n);
    if (rc == -1)
        client_lost(q);
    if (rc == 0) {
        *next += (long)n;
        *batch = *batch * 2 < PUT_BATCH ? *batch * 2 : PUT_BATCH;
    } else if (rc == TASKQ_FULL && *batch > 1)
        *batch /= 2;
    return rc;
}

/* What the results tell us, and what the master knows to check them against. */
struct tally {
    const uint16_t *number;      /* number[id]: the n we sent as task id */
    unsigned char *seen;         /* seen[id]: its result has been counted */
    long results, duplicates, foreign;
    uint64_t sum;                /* of the squares reported, each task once */
};

/* [snippet:count] */
/* Count one result "TASKID N SQUARE NAME". A second result for the same task id is a
 * redelivery's (at least once), counted as a duplicate and otherwise ignored. A result
 * that names a task we did not put (another run's, on the same queue) is foreign. */
static void count_result(struct tally *t, const struct taskq_task *r)
{
    char text[TASKQ_ID_MAX + WIRE_MAX_NAME + 64], who[WIRE_MAX_NAME + 1];
    unsigned long long id, n, square;
    size_t len = r->len < sizeof text - 1 ? r->len : sizeof text - 1;
    memcpy(text, r->data, len);
    text[len] = '\0';
    if (sscanf(text, "%llu %llu %llu %200s", &id, &n, &square, who) != 4
        || id >= (unsigned long long)ntasks || n != t->number[id]) {
        fprintf(stderr, "master: ignored a result for a task we did not put: %.60s\n", text);
        t->foreign++;
        return;
    }
    if (t->seen[id]) {
        t->duplicates++;
        return;
    }
    t->seen[id] = 1;
    t->results++;
    t->sum += square;            /* the worker's answer: a wrong one shows in the sum */
    if (!quiet)
        printf("task %llu: %llu * %llu = %llu (by %s)\n", id, n, n, square, who);
}
/* [/snippet:count] */

/* [snippet:collect] */
/* Put every task and collect until each has a result. Puts go out a batch at a time
 * between collections, so results print while tasks are still going out and a queue at
 * --max-queue (TASKQ_FULL) only slows the master down. */
static void run(struct taskq *q, struct tally *t)
{
    struct taskq_batch batch = { 0 };
    long next = 0;
    size_t per_put = PUT_BATCH;
    int said_full = 0, said_waiting = 0;
    while (t->results < ntasks) {
        int full = next < ntasks && put_batch(q, t->number, &next, &per_put) == TASKQ_FULL;
        if (full && !said_full++)
            fprintf(stderr, "master: queue %s is full; putting the rest as workers take "
                    "tasks\n", queue);
        int wait = next < ntasks ? (full ? 100 : 0) : WAIT_MS;
        int n = taskq_get(q, results_queue, COLLECT_MAX, wait, 0, &batch);
        if (n == -1)
            client_lost(q);
        for (int i = 0; i < n; i++)
            count_result(t, &batch.tasks[i]);
        if (n > 0 && taskq_ack(q, results_queue, batch.tasks, (size_t)n) == -1)
            client_lost(q);
        if (n == 0 && next == ntasks && !said_waiting++)
            fprintf(stderr, "master: %ld of %ld results so far; waiting for workers "
                    "(start some: worker --backend %s)\n", t->results, ntasks, cli.backend);
        fflush(stdout);
    }
    taskq_batch_free(&batch);
}
/* [/snippet:collect] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    client_defaults(&cli);
    parse_flags(argc, argv);

    /* The numbers, and the answer we expect, are fixed before anything is sent. */
    uint16_t *number = xcalloc((size_t)ntasks, sizeof *number);
    uint64_t state = seed, expected = 0;
    for (long id = 0; id < ntasks; id++) {
        number[id] = (uint16_t)(1 + next_random(&state) % 10000);
        expected += (uint64_t)number[id] * number[id];
    }
    struct tally t = { .number = number, .seen = xcalloc((size_t)ntasks, 1) };

    struct taskq *q = client_open(&cli);
    run(q, &t);
    taskq_close(q);

    printf("done: %ld results, %ld duplicates ignored, sum of squares %" PRIu64
           " (expected %" PRIu64 ")\n", t.results, t.duplicates, t.sum, expected);
    free(number);
    free(t.seen);
    return t.sum == expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
