/* bounded_buffer.c - producers and consumers on a ring of K slots: a mutex and two
 *                    condition variables, the `if` that breaks it, and semaphores
 *
 * Usage:    bounded_buffer [--producers P] [--consumers C] [--items N] [--capacity K]
 *                          [--wake signal|broadcast] [--wrong if] [--semaphores] [--spsc]
 *                          [--rounds R]
 * Observe:  P producers each put N numbered items into a ring of K slots; C consumers take
 *           them until the ring is closed and empty. A producer waits on not_full while the
 *           ring is full, a consumer on not_empty while it is empty - in a `while` loop. At
 *           the end every item must have been taken exactly once: the program marks each
 *           item's number in a bitmap and counts duplicates, missing items and takes of
 *           nothing, and exits 1 if any is not 0.
 *           "woken ... and waited again" counts the wakeups that found the condition false
 *           again (another thread got there first): the `while` absorbed every one of them.
 *           --wrong if checks the condition once: a consumer woken for an item that another
 *           consumer took first takes from an empty ring - a stale slot, so an item comes out
 *           twice, and the count goes below 0, so later items are lost. Rounds repeat until
 *           one breaks (at most R), and the program exits 1 naming it.
 *           --semaphores counts free and filled slots with two semaphores instead: sem_wait()
 *           takes a token in the same step as it wakes, so there is nothing to re-check.
 * Try:      bounded_buffer --consumers 8 --capacity 1 --wake broadcast   (many re-waits)
 *           bounded_buffer --wrong if --producers 1 --consumers 4 --capacity 1
 *           bounded_buffer --wrong if --consumers 4 --capacity 1 --wake broadcast
 *           bounded_buffer --wrong if --producers 1 --consumers 1   (can one pair break it?)
 *           bounded_buffer --semaphores --producers 4 --consumers 4
 *           bounded_buffer --spsc --producers 1 --consumers 1  (no lock at all)
 * Python:   queue.Queue(maxsize=K) is this ring: a lock and two Conditions, not_full and
 *           not_empty, waited on in while loops (Lib/queue.py)
 * See also: docs/threads/bounded_buffer.md, ring_buffer.h (the three rings),
 *           bench/bench_buffer.c, demos/processes/queue.c (the same between processes)
 */
#include "core.h"
#include "ring_buffer.h"

#include <getopt.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "bounded_buffer - producer and consumer threads on a ring of K slots: a mutex and two\n"
    "                 condition variables (not_full, not_empty), or POSIX semaphores\n"
    "\n"
    "Usage: bounded_buffer [--producers P] [--consumers C] [--items N] [--capacity K]\n"
    "                      [--wake signal|broadcast] [--wrong if] [--semaphores] [--spsc]\n"
    "                      [--rounds R]\n"
    "  --producers P   producer threads (default 2, at most 64)\n"
    "  --consumers C   consumer threads (default 2, at most 64)\n"
    "  --items N       items each producer puts (default 100000; P x N at most 64000000)\n"
    "  --capacity K    slots in the ring (default 4, at most 1000000)\n"
    "  --wake signal   after a put or a take, wake one waiter (default)\n"
    "  --wake broadcast  wake every waiter\n"
    "  --wrong if      wait with `if` instead of `while`: the stolen-wakeup bug\n"
    "  --semaphores    the same ring with POSIX semaphores (free and filled slots) + a mutex\n"
    "  --spsc          a lock-free ring (C11 atomics) for exactly 1 producer and 1 consumer\n"
    "  --rounds R      run up to R rounds, stopping at the first that loses or repeats an\n"
    "                  item (default 1; 1000 with --wrong if)\n"
    "  --help          this text\n"
    "\n"
    "Prints what was consumed against what was produced. Exits 0 when every item was\n"
    "consumed exactly once in every round, 1 when a round broke that.\n";

enum ring_kind { KIND_CONDVAR, KIND_SEMAPHORES, KIND_SPSC };

static long nproducers = 2, nconsumers = 2, nitems = 100000, capacity = 4, rounds = 1;
static enum ring_kind kind = KIND_CONDVAR;
static enum ring_wait wait_rule = RING_WAIT_WHILE;
static enum ring_wake wake_rule = RING_WAKE_SIGNAL;

static struct cv_ring cv;
static struct sem_ring sem;
static struct spsc_ring spsc;

/* The consumers' record of what they took: bit i of seen is item i. A second take of an
 * item finds its bit set already and counts as a duplicate. */
static _Atomic uint64_t *seen;

struct consumer {
    _Alignas(64) long taken;     /* items this consumer took */
    long duplicates;             /* ...that someone had taken already */
    long nothing;                /* takes of RING_NOTHING: a slot no producer ever filled */
};
static struct consumer consumers[64];

/* Item i of producer p is the number p * N + i: every item is different, so a bitmap of
 * P x N bits says which came out. */
/* [snippet:producer] */
static void *producer(void *arg)
{
    uint64_t first = (uint64_t)(intptr_t)arg * (uint64_t)nitems;
    for (uint64_t i = first; i < first + (uint64_t)nitems; i++) {
        switch (kind) {
        case KIND_CONDVAR:    cv_ring_put(&cv, i); break;
        case KIND_SEMAPHORES: sem_ring_put(&sem, i); break;
        case KIND_SPSC:       spsc_ring_put(&spsc, i); break;
        }
    }
    return NULL;
}
/* [/snippet:producer] */

/* [snippet:consumer] */
static void *consumer(void *arg)
{
    struct consumer *me = arg;
    uint64_t item;
    for (;;) {
        int got = kind == KIND_CONDVAR    ? cv_ring_get(&cv, &item)
                : kind == KIND_SEMAPHORES ? sem_ring_get(&sem, &item)
                                          : spsc_ring_get(&spsc, &item);
        if (!got)
            break;                              /* closed and empty: all done */
        me->taken++;
        if (item == RING_NOTHING) {
            me->nothing++;
            continue;
        }
        uint64_t bit = (uint64_t)1 << (item % 64);
        if (atomic_fetch_or(&seen[item / 64], bit) & bit)
            me->duplicates++;                   /* its bit was set: taken before */
    }
    return NULL;
}
/* [/snippet:consumer] */

struct outcome {
    long taken, duplicates, nothing, missing;
    long rewaits, empty_takes, full_puts;
    int64_t ns;
};

/* One round: fresh ring, consumers started first (so they are there, waiting, when the
 * first item arrives), then producers; close the ring once every producer is done. */
static struct outcome run_round(long total)
{
    size_t words = (size_t)(total + 63) / 64;
    seen = xcalloc(words, sizeof *seen);
    memset(consumers, 0, sizeof consumers);
    switch (kind) {
    case KIND_CONDVAR:    cv_ring_init(&cv, capacity, wait_rule, wake_rule); break;
    case KIND_SEMAPHORES: sem_ring_init(&sem, capacity); break;
    case KIND_SPSC:       spsc_ring_init(&spsc, capacity); break;
    }

    pthread_t ctid[64], ptid[64];
    int64_t t0 = now_ns();
    for (long i = 0; i < nconsumers; i++)
        xpthread_create(&ctid[i], NULL, consumer, &consumers[i]);
    for (long i = 0; i < nproducers; i++)
        xpthread_create(&ptid[i], NULL, producer, (void *)(intptr_t)i);
    for (long i = 0; i < nproducers; i++)
        xpthread_join(ptid[i], NULL);
    switch (kind) {
    case KIND_CONDVAR:    cv_ring_close(&cv); break;
    case KIND_SEMAPHORES: sem_ring_close(&sem); break;
    case KIND_SPSC:       spsc_ring_close(&spsc); break;
    }
    for (long i = 0; i < nconsumers; i++)
        xpthread_join(ctid[i], NULL);

    struct outcome o = { .ns = now_ns() - t0 };
    for (long i = 0; i < nconsumers; i++) {
        o.taken += consumers[i].taken;
        o.duplicates += consumers[i].duplicates;
        o.nothing += consumers[i].nothing;
    }
    long once = 0;
    for (size_t w = 0; w < words; w++)
        once += __builtin_popcountll(atomic_load(&seen[w]));
    o.missing = total - once;
    switch (kind) {
    case KIND_CONDVAR:
        o.rewaits = cv.rewaits, o.empty_takes = cv.empty_takes, o.full_puts = cv.full_puts;
        cv_ring_destroy(&cv);
        break;
    case KIND_SEMAPHORES: sem_ring_destroy(&sem); break;
    case KIND_SPSC:       spsc_ring_destroy(&spsc); break;
    }
    free(seen);
    return o;
}

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "producers", required_argument, NULL, 'p' },
        { "consumers", required_argument, NULL, 'c' },
        { "items", required_argument, NULL, 'n' },
        { "capacity", required_argument, NULL, 'k' },
        { "wake", required_argument, NULL, 'w' },
        { "wrong", required_argument, NULL, 'W' },
        { "semaphores", no_argument, NULL, 's' },
        { "spsc", no_argument, NULL, 'S' },
        { "rounds", required_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c, wake_given = 0, rounds_given = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': nproducers = parse_long("--producers", optarg, 1, 64); break;
        case 'c': nconsumers = parse_long("--consumers", optarg, 1, 64); break;
        case 'n': nitems = parse_long("--items", optarg, 1, 64000000); break;
        case 'k': capacity = parse_long("--capacity", optarg, 1, 1000000); break;
        case 'w':
            wake_rule = (enum ring_wake)parse_choice("--wake", optarg,
                                       (const char *const[]){ "signal", "broadcast", NULL });
            wake_given = 1;
            break;
        case 'W':
            parse_choice("--wrong", optarg, (const char *const[]){ "if", NULL });
            wait_rule = RING_WAIT_IF;
            break;
        case 's': kind = KIND_SEMAPHORES; break;
        case 'S': kind = KIND_SPSC; break;
        case 'r': rounds = parse_long("--rounds", optarg, 1, 100000); rounds_given = 1; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (nproducers * nitems > 64000000)
        usage_error("--producers x --items is %ld items; at most 64000000", nproducers * nitems);
    if (kind != KIND_CONDVAR && (wait_rule == RING_WAIT_IF || wake_given))
        usage_error("--wrong and --wake are about condition variables: not with %s",
                    kind == KIND_SPSC ? "--spsc" : "--semaphores");
    if (kind == KIND_SPSC && (nproducers != 1 || nconsumers != 1))
        usage_error("--spsc is a ring for one producer and one consumer: use "
                    "--producers 1 --consumers 1");
    /* A broken round may take many tries on a quiet machine: keep going until one shows. */
    if (wait_rule == RING_WAIT_IF && !rounds_given)
        rounds = 1000;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    parse_flags(argc, argv);
    long total = nproducers * nitems;

    printf("bounded_buffer: %ld producer%s x %ld items -> %ld consumer%s through a ring of "
           "%ld slot%s\n", nproducers, nproducers == 1 ? "" : "s", nitems, nconsumers,
           nconsumers == 1 ? "" : "s", capacity, capacity == 1 ? "" : "s");
    if (kind == KIND_CONDVAR)
        printf("  a mutex and condition variables not_full, not_empty; waits in %s; "
               "wakeups: %s\n", wait_rule == RING_WAIT_IF ? "an `if` (wrong)" : "a `while` loop",
               wake_rule == RING_WAKE_BROADCAST ? "broadcast (all waiters)" : "signal (one waiter)");
    else if (kind == KIND_SEMAPHORES)
        printf("  semaphores free_slots (starts at %ld) and filled (starts at 0), and a mutex\n",
               capacity);
    else
        printf("  lock-free: the producer alone moves tail, the consumer alone moves head\n");

    long broken = 0, r;
    struct outcome o = { 0 };
    for (r = 1; r <= rounds; r++) {
        o = run_round(total);
        broken = o.taken != total || o.duplicates || o.nothing || o.missing;
        if (broken || r == rounds)
            break;
    }
    if (rounds > 1)
        printf("round %ld of at most %ld%s:\n", r, rounds,
               broken ? " (the first that broke)" : "");
    printf("consumed %ld (expected %ld): duplicated %ld, missing %ld, nothing %ld "
           "(expected 0 each)\n", o.taken, total, o.duplicates, o.missing, o.nothing);
    if (kind == KIND_CONDVAR) {
        printf("took from an empty ring %ld, put into a full ring %ld (expected 0 each)\n",
               o.empty_takes, o.full_puts);
        if (wait_rule == RING_WAIT_WHILE)
            printf("woken to find the ring still empty or full, and waited again: %ld time%s\n",
                   o.rewaits, o.rewaits == 1 ? "" : "s");
    }
    printf("time: %.3f s, %.0f items/s\n", (double)o.ns / 1e9, (double)total * 1e9 / (double)o.ns);
    if (broken) {
        printf("conservation FAILED in round %ld: %s\n", r,
               wait_rule == RING_WAIT_IF
                   ? "a thread woke, did not check again, and acted on a ring that had changed"
                   : "a bug in the ring");
        return EXIT_FAILURE;
    }
    printf("conservation holds: every item consumed exactly once%s\n",
           rounds > 1 ? " in every round" : "");
    return EXIT_SUCCESS;
}
