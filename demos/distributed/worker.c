/* worker.c - take tasks from the queue, square their numbers, hand back the results
 *
 * Usage:    worker [--backend URL] [--key F] [--queue Q] [--results R] [--prefetch N]
 *                  [--lease-ms MS] [--exit-when-idle MS] [--name NAME]
 * Observe:  the worker takes up to N tasks in one GET (prefetch), works through them, and
 *           returns all their results in one FINISH, which acks the tasks and puts the
 *           results in one step. There is no moment between "result sent" and "task acked"
 *           at which a crash could lose one or the other. Kill a worker with kill -9 in the
 *           middle of a run: the broker sees its connection close and hands its tasks to
 *           the other workers; the master still gets every result exactly once.
 *           A payload it cannot read (a poison task) is nacked, not crashed on: after
 *           --max-deliveries tries the broker moves it to "tasks.dead".
 * Try:      worker --prefetch 1 and worker --prefetch 64 under master --tasks 100000 --quiet
 *           (one round trip per task, or one per 64)
 *           producer --queue tasks --name garbage --count 1, then watch this worker's stderr
 * Python:   seeds/000's worker: task.get(timeout=1), then result.put(); between the two a
 *           crash loses the task, and its `except Queue.Empty` names a module it never
 *           imported, so with two workers the one that finds the queue empty dies.
 * See also: docs/distributed/master_worker.md, demos/distributed/master.c
 */
#include "core.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "taskq.h"

static const char usage_text[] =
    "worker - take tasks from a queue, compute n*n, return the results (master's partner)\n"
    "\n"
    "Usage: worker [--backend URL] [--key FILE] [--queue Q] [--results R] [--prefetch N]\n"
    "              [--lease-ms MS] [--exit-when-idle MS] [--name NAME]\n"
    "  --queue Q            where tasks come from (default tasks)\n"
    "  --results R          where results go (default results)\n"
    "  --prefetch N         tasks taken in one request, 1 to 4096 (default 1)\n"
    "  --lease-ms MS        how long the broker waits for our answer before it gives a\n"
    "                       task to someone else (default: the broker's, 30000)\n"
    "  --exit-when-idle MS  exit 0 when no task has come for MS ms (default: run until\n"
    "                       SIGINT or SIGTERM, then finish the tasks in hand and exit 0)\n"
    CLIENT_USAGE;

#define POLL_MS 500              /* one GET's wait: how soon a Ctrl-C is noticed when idle */
#define RESULT_MAX (TASKQ_ID_MAX + WIRE_MAX_NAME + 64)

static struct client cli;
static const char *queue = "tasks", *results_queue = "results";
static long prefetch = 1, lease_ms, idle_ms;

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", required_argument, NULL, 'q' },
        { "results", required_argument, NULL, 'r' },
        { "prefetch", required_argument, NULL, 'p' },
        { "lease-ms", required_argument, NULL, 'l' },
        { "exit-when-idle", required_argument, NULL, 'i' },
        CLIENT_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q': queue = optarg; break;
        case 'r': results_queue = optarg; break;
        case 'p': prefetch = parse_long("--prefetch", optarg, 1, WIRE_MAX_BATCH); break;
        case 'l': lease_ms = parse_long("--lease-ms", optarg, 1, 86400000); break;
        case 'i': idle_ms = parse_long("--exit-when-idle", optarg, 1, 86400000); break;
        default: client_flag(&cli, c, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

/* [snippet:parse] */
/* A task is the text "TASKID N WORK_MS". Bytes from the network are read, never run: a
 * payload that is not exactly that is refused here (the seeds unpickled whatever came,
 * and a pickle can call any function it names). */
static int parse_task(const struct taskq_task *t, uint64_t *id, long *n, long *work_ms)
{
    char text[64], end;
    if (t->len == 0 || t->len >= sizeof text || memchr(t->data, '\0', t->len))
        return -1;
    memcpy(text, t->data, t->len);
    text[t->len] = '\0';
    if (text[0] < '0' || text[0] > '9'
        || sscanf(text, "%" SCNu64 " %ld %ld%c", id, n, work_ms, &end) != 3
        || *n < 0 || *n > 3037000499 || *work_ms < 0 || *work_ms > 60000)
        return -1;
    return 0;
}
/* [/snippet:parse] */

/* [snippet:batch] */
/* Work through one batch: every task we can read is computed and its result kept in
 * results[] (text in out); the rest are poison and are nacked. Then one FINISH acks the
 * good tasks and puts all their results: one round trip for the whole batch. */
static void work_batch(struct taskq *q, const struct taskq_batch *b, char (*out)[RESULT_MAX],
                       struct taskq_item *results, struct taskq_task *done,
                       struct taskq_task *poison)
{
    size_t m = 0, bad = 0;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t id;
        long n, work_ms;
        if (parse_task(&b->tasks[i], &id, &n, &work_ms) == -1) {
            fprintf(stderr, "%s: task %s is not \"TASKID N WORK_MS\" (%.*s), delivery %" PRIu32
                    ": nacked\n", cli.name, b->tasks[i].id, (int)(b->tasks[i].len < 40 ?
                    b->tasks[i].len : 40), (const char *)b->tasks[i].data,
                    b->tasks[i].deliveries);
            poison[bad++] = b->tasks[i];
            continue;
        }
        if (work_ms > 0)
            sleep_ns(work_ms * 1000000);        /* the simulated work */
        int len = snprintf(out[m], RESULT_MAX, "%" PRIu64 " %ld %lld %s", id, n,
                           (long long)n * n, cli.name);
        results[m] = (struct taskq_item){ .data = out[m], .len = (size_t)len };
        done[m++] = b->tasks[i];
    }
    int rc;
    while ((rc = taskq_finish(q, queue, done, m, results_queue, results, m)) == TASKQ_FULL)
        sleep_ns(100 * 1000000);                /* the results queue is full: wait */
    if (rc == -1 || taskq_nack(q, queue, poison, bad) == -1)
        client_lost(q);
}
/* [/snippet:batch] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    client_defaults(&cli);
    parse_flags(argc, argv);
    struct taskq *q = client_open(&cli);
    client_catch_stops();

    struct taskq_batch batch = { 0 };
    char (*out)[RESULT_MAX] = xcalloc((size_t)prefetch, RESULT_MAX);
    struct taskq_item *results = xcalloc((size_t)prefetch, sizeof *results);
    struct taskq_task *done = xcalloc((size_t)prefetch, sizeof *done);
    struct taskq_task *poison = xcalloc((size_t)prefetch, sizeof *poison);
    long tasks = 0;
    int64_t last = now_ns();
    /* Nothing to do is an ordinary answer (n == 0), not an exception: ask again, until
     * told to stop or, with --exit-when-idle, until the queue has been quiet long enough. */
    while (!client_stop) {
        int wait = idle_ms && idle_ms < POLL_MS ? (int)idle_ms : POLL_MS;
        int n = taskq_get(q, queue, (size_t)prefetch, wait, (int)lease_ms, &batch);
        if (n == -1)
            client_lost(q);
        if (n > 0) {
            work_batch(q, &batch, out, results, done, poison);
            tasks += n;
            last = now_ns();
        } else if (idle_ms && now_ns() - last >= idle_ms * 1000000) {
            break;
        }
    }
    fprintf(stderr, "%s: %ld tasks, %s\n", cli.name, tasks,
            client_stop ? "stopped by a signal" : "idle: exiting");
    taskq_batch_free(&batch);
    free(out);
    free(results);
    free(done);
    free(poison);
    taskq_close(q);
    return EXIT_SUCCESS;
}
