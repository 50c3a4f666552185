/* producer.c - put N items on a queue, as many producers as you like, from anywhere
 *
 * Usage:    producer [--backend URL] [--key F] [--queue Q] [--count N] [--name P]
 *                    [--size BYTES]
 * Observe:  the items are "P:0", "P:1", ... (padded with '.' to BYTES if --size is given),
 *           put in batches; then "put N items". Start several producers with different
 *           names and some consumers (consumer.c): every item is consumed exactly once,
 *           whoever produced it. A queue at the broker's --max-queue answers FULL: the
 *           producer says so once, waits a little and tries again - the queue's memory
 *           stays bounded, and nothing is dropped.
 * Try:      producer --name a --count 5 & producer --name b --count 5; consumer --exit-when-idle
 *           broker --max-queue 100, then producer --count 1000 and watch it wait for a consumer
 * Python:   seeds/003's producer.py: task.put(r) of random integers in an endless loop; a
 *           queue.Queue() on the server has no bound, so a producer faster than its
 *           consumers grows the server's memory until something gives.
 * See also: docs/distributed/producer_consumer.md, demos/distributed/consumer.c
 */
#include "core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "taskq.h"

static const char usage_text[] =
    "producer - put N items \"NAME:I\" on a queue; waits when the queue is full\n"
    "\n"
    "Usage: producer [--backend URL] [--key FILE] [--queue Q] [--count N] [--name P]\n"
    "                [--size BYTES]\n"
    "  --queue Q       where items go (default items)\n"
    "  --count N       items to put, 1 to 100000000 (default 10)\n"
    "  --size BYTES    pad each item with '.' to BYTES (at most 65536)\n"
    CLIENT_USAGE;

#define PUT_BATCH 256
#define FULL_WAIT_MS 50

static struct client cli;
static const char *queue = "items";
static long count = 10, size;

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "queue", required_argument, NULL, 'q' },
        { "count", required_argument, NULL, 'c' },
        { "size", required_argument, NULL, 's' },
        CLIENT_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q': queue = optarg; break;
        case 'c': count = parse_long("--count", optarg, 1, 100000000); break;
        case 's': size = parse_long("--size", optarg, 1, 65536); break;
        default: client_flag(&cli, c, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

/* [snippet:put] */
/* Put items [first, first + n) as one batch. Returns 0, or TASKQ_FULL when the queue had
 * no room for all of them (the broker then took none: a batch is all or nothing). */
static int put_batch(struct taskq *q, long first, size_t n, char *mem, size_t stride)
{
    struct taskq_item items[PUT_BATCH];
    for (size_t i = 0; i < n; i++) {
        char *text = mem + i * stride;
        int len = snprintf(text, stride, "%s:%ld", cli.name, first + (long)i);
        if ((size_t)len < (size_t)size) {        /* --size: pad, so the bytes are known */
            memset(text + len, '.', (size_t)size - (size_t)len);
            len = (int)size;
        }
        items[i] = (struct taskq_item){ .data = text, .len = (size_t)len };
    }
    int rc = taskq_put(q, queue, items, n);
    if (rc == -1)
        client_lost(q);
    return rc;
}
/* [/snippet:put] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    client_defaults(&cli);
    parse_flags(argc, argv);
    struct taskq *q = client_open(&cli);

    /* Room for one batch: each item's text, name + ':' + number, or --size bytes. */
    size_t stride = strlen(cli.name) + 24 + (size_t)size;
    char *mem = xmalloc(PUT_BATCH * stride);
    size_t most = PUT_BATCH;
    while (most > 1 && most * (stride + 4) > WIRE_MAX_FRAME / 2)
        most /= 2;                               /* big items: fewer a frame */
    /* A full queue (the broker's --max-queue) answers FULL: wait for consumers, and try
     * smaller batches, since a batch bigger than the room left would never fit. */
    size_t per_put = most;
    int said_full = 0;
    for (long i = 0; i < count;) {
        size_t n = count - i < (long)per_put ? (size_t)(count - i) : per_put;
        if (put_batch(q, i, n, mem, stride) == 0) {
            i += (long)n;
            per_put = per_put * 2 < most ? per_put * 2 : most;
            continue;
        }
        if (!said_full++)
            fprintf(stderr, "%s: queue %s is full; waiting for consumers\n", cli.name, queue);
        per_put = per_put > 1 ? per_put / 2 : 1;
        sleep_ns(FULL_WAIT_MS * 1000000);
    }
    printf("put %ld items\n", count);
    free(mem);
    taskq_close(q);
    return EXIT_SUCCESS;
}
