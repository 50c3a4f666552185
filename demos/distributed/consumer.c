/* consumer.c - take items from a queue, print them, ack them; an empty queue is no error
 *
 * Usage:    consumer [--backend URL] [--key F] [--queue Q] [--wait-ms MS] [--max N]
 *                    [--exit-when-idle] [--name NAME]
 * Observe:  "NAME got P:I" for each item, then an ack, so the broker forgets it. A get
 *           that finds nothing within --wait-ms is an ordinary answer: the consumer prints
 *           "nothing within MS ms" and asks again (or, with --exit-when-idle, ends with
 *           exit 0). There is no "is it empty?" followed by "get one": asking both in one
 *           request leaves no gap in which another consumer can take the last item.
 * Try:      two consumers in two terminals, then producer --count 20: who got what?
 *           consumer --max 3 (takes three items, acks them, exits)
 *           kill -9 a consumer holding items (--wait-ms 60000 and a slow terminal): the
 *           broker gives its unacked items to the other consumer
 * Python:   seeds/003's Consumer.py: `if not pq.empty(): n = pq.get(timeout=1)`; with two
 *           consumers both can see one item, one takes it, and the other's get raises
 *           queue.Empty, which nothing catches: that consumer dies.
 * See also: docs/distributed/producer_consumer.md, demos/distributed/producer.c
 */
#include "core.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "taskq.h"

static const char usage_text[] =
    "consumer - take items from a queue and print them; nothing to take is no error\n"
    "\n"
    "Usage: consumer [--backend URL] [--key FILE] [--queue Q] [--wait-ms MS] [--max N]\n"
    "                [--exit-when-idle] [--name NAME]\n"
    "  --queue Q          where items come from (default items)\n"
    "  --wait-ms MS       how long one get waits for an item (default 1000)\n"
    "  --max N            stop after N items\n"
    "  --exit-when-idle   exit 0 when a get finds nothing (default: ask again, until\n"
    "                     SIGINT or SIGTERM)\n"
    CLIENT_USAGE;

#define GET_MAX 32               /* items taken (and acked) in one request */

static struct client cli;
static const char *queue = "items";
static long wait_ms = 1000, max_items, exit_when_idle;

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", required_argument, NULL, 'q' },
        { "wait-ms", required_argument, NULL, 'w' },
        { "max", required_argument, NULL, 'm' },
        { "exit-when-idle", no_argument, NULL, 'i' },
        CLIENT_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q': queue = optarg; break;
        case 'w': wait_ms = parse_long("--wait-ms", optarg, 0, 3600000); break;
        case 'm': max_items = parse_long("--max", optarg, 1, LONG_MAX); break;
        case 'i': exit_when_idle = 1; break;
        default: client_flag(&cli, c, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    client_defaults(&cli);
    parse_flags(argc, argv);
    struct taskq *q = client_open(&cli);
    client_catch_stops();

    struct taskq_batch batch = { 0 };
    long consumed = 0;
    /* [snippet:loop] */
    while (!client_stop && (max_items == 0 || consumed < max_items)) {
        /* Never take more than --max still allows: an item taken is leased to us. */
        size_t want = GET_MAX;
        if (max_items && (size_t)(max_items - consumed) < want)
            want = (size_t)(max_items - consumed);
        int n = taskq_get(q, queue, want, (int)wait_ms, 0, &batch);
        if (n == -1)
            client_lost(q);
        if (n == 0) {                   /* an answer like any other: nothing came */
            printf("nothing within %ld ms\n", wait_ms);
            fflush(stdout);
            if (exit_when_idle)
                break;
            continue;
        }
        for (int i = 0; i < n; i++)
            printf("%s got %.*s\n", cli.name, (int)batch.tasks[i].len,
                   (const char *)batch.tasks[i].data);
        fflush(stdout);                 /* printed before acked: at least once */
        if (taskq_ack(q, queue, batch.tasks, (size_t)n) == -1)
            client_lost(q);
        consumed += n;
    }
    /* [/snippet:loop] */
    printf("consumed %ld items\n", consumed);
    taskq_batch_free(&batch);
    taskq_close(q);
    return EXIT_SUCCESS;
}
