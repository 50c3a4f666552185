/* race.c - threads deposit and withdraw on one shared balance, with and without a lock
 *
 * Usage:    race [--lock none|mutex|spin|atomic] [--threads N] [--rounds N] [--window W]
 *                [--interleave] [--trials T] [--pin on|off]
 * Observe:  every round, thread i deposits n and then withdraws n (n = 5 for thread 0,
 *           8 for thread 1, 5 + 3i in general), so the balance must end at 0. With
 *           --lock none it usually does not: "balance = balance + n" is three machine
 *           steps - load the balance into a register, add n, store the register back -
 *           and when two threads load the same old value, the second store wipes out the
 *           first thread's change. That is a lost update. The program also keeps a tally
 *           of changes beside the balance (+1 per change, updated the same way), so it can
 *           say how many changes were lost, not only how far the balance drifted (two
 *           lost changes can cancel out in the balance; they never cancel in the tally).
 *           mutex, spin and atomic always end at exactly 0 with nothing lost; compare
 *           their time per round.
 *           Each thread is pinned to a CPU of its own (when there are two or more), so
 *           the threads really run at the same moment and the race shows on nearly every
 *           run; --pin off leaves the placement to the scheduler, which may put both
 *           threads on one CPU, where they take turns and the race mostly hides.
 * Try:      race --lock none --trials 20     (how often does the balance drift?)
 *           race --lock none --trials 20 --pin off   (the same, placed by the scheduler)
 *           race --lock none --window 200    (dawdle between load and store: more losses)
 *           race --lock none --interleave --rounds 10   (a forced schedule: the loss is certain)
 *           taskset -c 0 build/bin/race --lock none   (one CPU: the threads take turns)
 * Python:   docs/seeds.md#seed-000, the bank balance, change_it(n) with and without a Lock;
 *           the same experiment in Python is bench/peers/race.py
 * See also: docs/threads/race.md, counters.h (the account and its locks), bench/bench_locks.c
 */
#include "core.h"
#include "counters.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "race - threads deposit and withdraw on one shared balance, with and without a lock\n"
    "\n"
    "Usage: race [--lock none|mutex|spin|atomic] [--threads N] [--rounds N] [--window W]\n"
    "            [--interleave] [--trials T] [--pin on|off]\n"
    "  --lock none     no protection: updates get lost, the balance drifts (default)\n"
    "  --lock mutex    each change under a pthread mutex (sleeps while it waits)\n"
    "  --lock spin     each change under a pthread spinlock (burns CPU while it waits)\n"
    "  --lock atomic   each change is one atomic add instruction, no lock at all\n"
    "  --threads N     how many threads (default 2, at most 64); thread i uses n = 5 + 3i\n"
    "  --rounds N      deposit-then-withdraw rounds per thread (default 100000)\n"
    "  --window W      busy-wait W steps between reading and writing the balance, to\n"
    "                  widen the gap another thread can fall into (default 0)\n"
    "  --interleave    (with --lock none) force the worst schedule: in every change all\n"
    "                  threads read first, then all write, so losses are certain and\n"
    "                  their number is known in advance; slow, use few rounds\n"
    "  --trials T      run the whole experiment T times and count how often it drifts\n"
    "                  (default 1, at most 10000)\n"
    "  --pin on        pin thread i to the i-th CPU we may use, so the threads run at the\n"
    "                  same moment on different CPUs (default; with one CPU it cannot,\n"
    "                  says so and runs unpinned)\n"
    "  --pin off       let the scheduler place the threads\n"
    "  --help          this text\n"
    "\n"
    "Prints the final balance and the expected 0, the number of lost updates and the\n"
    "time per round. Exits 0 whatever the balance: a drift is the lesson, not an error.\n";

/* The shared account and the five ways to change it (lock or none) are the chapter's model,
 * counters.c beside this file: a balance, and a tally that every change adds 1 to. The
 * tally is updated exactly like the balance (read, add, write), so a change that is lost
 * is missing from it too - but a tally only ever goes up, so nothing can hide a loss.
 * race offers the first four (counters.h's order); bench/bench_locks.c times all five. */
static const char *const lock_names[] = { "none", "mutex", "spin", "atomic", NULL };
static struct counters acct;
static pthread_barrier_t start_line;         /* every worker and main wait here, then go */
static atomic_long on_cpu;                   /* workers past the start line and running */
/* When each worker began and finished its rounds. The time of a run is from the first
 * start to the last finish, read by the workers themselves: the main thread may not even
 * be on a CPU when they begin. */
static int64_t began[64], finished[64];

static enum counter_lock lock = COUNTER_NONE;
static long nthreads = 2, rounds = 100000, window = 0;
static int interleave;
static int pin_cpu[64];                      /* thread i's CPU, or -1: not pinned */

/* Thread i's amount: 5 and 8 for the seed's two threads, then 11, 14, ... */
static long amount_of(long i)
{
    return 5 + 3 * i;
}

/* --interleave: a turnstile that lets exactly one thread take exactly one step at a time,
 * in an order fixed in advance. It is built from a mutex and a condition variable, so
 * the schedule is forced without sleeps and the steps are properly ordered (ThreadSanitizer
 * sees no race in this mode: the losses come from the schedule alone). */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static long turn;                            /* the number of the step allowed to run now */

static void wait_turn(long step)
{
    pthread_mutex_lock(&turn_lock);
    while (turn != step)
        pthread_cond_wait(&turn_changed, &turn_lock);
    pthread_mutex_unlock(&turn_lock);
}

static void end_turn(void)
{
    pthread_mutex_lock(&turn_lock);
    turn++;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&turn_lock);
}

/* One change in the forced schedule. Steps base .. base+N-1: every thread reads, in
 * thread order. Steps base+N .. base+2N-1: every thread writes, in the order `slot`
 * gives. All read the same old value, so only the last write survives: N-1 of the N
 * changes are lost, every time. */
/* [snippet:interleave] */
static void change_interleaved(long i, long amount, long base, long write_slot)
{
    volatile struct account *a = &acct.shared;
    wait_turn(base + i);                       /* everyone reads the same old values... */
    long balance = a->balance, updates = a->updates;
    end_turn();
    wait_turn(base + nthreads + write_slot);   /* ...then everyone writes, one by one */
    a->balance = balance + amount;
    a->updates = updates + 1;
    end_turn();
}
/* [/snippet:interleave] */

/* A worker: wait at the start line so all threads really run at once (started one by
 * one, the first could finish its rounds before the last exists), then do the rounds.
 * The barrier wakes the sleeping threads, but waking takes time, and on a busy machine a
 * woken thread may wait for a CPU; so each thread then spins until every other one is
 * running too. Only then do the rounds overlap, and only overlapping rounds can race. */
/* [snippet:worker] */
static void *worker(void *arg)
{
    long i = (long)(intptr_t)arg, n = amount_of(i);
    /* Pinned to a CPU of its own, a thread cannot be moved onto its partner's CPU, where
     * the two would take turns instead of racing. */
    if (pin_cpu[i] >= 0) {
        int s = pin_to_cpu(pin_cpu[i]);
        if (s != 0)
            fprintf(stderr, "%s: thread %ld: cannot pin to CPU %d (%s); runs unpinned\n",
                    prog_name, i, pin_cpu[i], strerror(s));
    }
    pthread_barrier_wait(&start_line);
    atomic_fetch_add(&on_cpu, 1);
    while (atomic_load(&on_cpu) < nthreads)
        ;                                      /* spin: all of us are on a CPU now */
    began[i] = now_ns();
    for (long r = 0; r < rounds; r++) {
        if (interleave) {
            long base = r * 4 * nthreads;
            /* Deposits are written in thread order, so the last thread's survives;
             * withdrawals in reverse order, so thread 0's survives. */
            change_interleaved(i, +n, base, i);
            change_interleaved(i, -n, base + 2 * nthreads, nthreads - 1 - i);
        } else {
            counters_change(&acct, NULL, +n);  /* the seed's change_it(n): deposit... */
            counters_change(&acct, NULL, -n);  /* ...and take it back out */
        }
    }
    finished[i] = now_ns();
    return NULL;
}
/* [/snippet:worker] */

/* One experiment from a zero balance; fills the final balance and tally, returns ns. */
static int64_t run_once(long *balance, long *updates)
{
    counters_init(&acct, lock, window, 1);
    turn = 0;
    atomic_store(&on_cpu, 0);

    pthread_t *tids = xcalloc((size_t)nthreads, sizeof *tids);
    int s = pthread_barrier_init(&start_line, NULL, (unsigned)nthreads + 1);
    if (s != 0)
        die_code("pthread_barrier_init", s);
    for (long i = 0; i < nthreads; i++)
        xpthread_create(&tids[i], NULL, worker, (void *)(intptr_t)i);
    pthread_barrier_wait(&start_line);       /* main is the last to arrive: go */
    for (long i = 0; i < nthreads; i++)
        xpthread_join(tids[i], NULL);
    int64_t first = began[0], last = finished[0];
    for (long i = 1; i < nthreads; i++) {
        first = began[i] < first ? began[i] : first;
        last = finished[i] > last ? finished[i] : last;
    }
    int64_t ns = last - first;
    pthread_barrier_destroy(&start_line);
    free(tids);

    struct account total = counters_total(&acct, NULL, 0);
    counters_destroy(&acct);
    *balance = total.balance;
    *updates = total.updates;
    return ns;
}

/* The flags set the globals above; --trials and --pin come back through the pointers. */
static void parse_flags(int argc, char **argv, long *trials, int *pin)
{
    static const struct option opts[] = {
        { "lock", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "rounds", required_argument, NULL, 'r' },
        { "window", required_argument, NULL, 'w' },
        { "interleave", no_argument, NULL, 'i' },
        { "trials", required_argument, NULL, 'T' },
        { "pin", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l': lock = (enum counter_lock)parse_choice("--lock", optarg, lock_names); break;
        case 't': nthreads = parse_long("--threads", optarg, 1, 64); break;
        case 'r': rounds = parse_long("--rounds", optarg, 1, 1000000000); break;
        case 'w': window = parse_long("--window", optarg, 0, 1000000); break;
        case 'i': interleave = 1; break;
        case 'T': *trials = parse_long("--trials", optarg, 1, 10000); break;
        case 'p': *pin = parse_choice("--pin", optarg,
                                  (const char *const[]){ "off", "on", NULL });
                  break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (interleave && lock != COUNTER_NONE)
        usage_error("--interleave forces a schedule on unprotected updates: use --lock none");
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    long trials = 1;
    int pin = 1;
    parse_flags(argc, argv, &trials, &pin);

    printf("race: %ld thread%s x %ld rounds, lock %s%s", nthreads, nthreads == 1 ? "" : "s",
           rounds, lock_names[lock], interleave ? ", forced interleaving" : "");
    if (window)
        printf(", window %ld", window);
    printf("\n  each round, thread i deposits n and withdraws n; n =");
    for (long i = 0; i < nthreads && i < 4; i++)
        printf("%s %ld", i ? "," : "", amount_of(i));
    printf("%s\n", nthreads > 4 ? ", ..." : "");

    /* One CPU each when we can; with fewer CPUs than threads they share round-robin. */
    int ncpus = cpu_count();
    for (long i = 0; i < nthreads; i++)
        pin_cpu[i] = pin && ncpus >= 2 ? cpu_id((int)i) : -1;
    if (pin && ncpus < 2)
        printf("  cannot pin the threads to separate CPUs: only 1 CPU is available; they run\n"
               "  unpinned and take turns on it\n");
    else if (pin) {
        printf("  pinned: thread i on CPU");
        for (long i = 0; i < nthreads && i < 4; i++)
            printf("%s %d", i ? "," : "", pin_cpu[i]);
        printf("%s%s (--pin off: the scheduler places them)\n", nthreads > 4 ? ", ..." : "",
               nthreads > ncpus ? ", sharing CPUs round-robin" : "");
    } else
        printf("  threads not pinned: the scheduler places them\n");

    long expected_updates = 2 * nthreads * rounds;
    long drifted = 0, lossy = 0;
    for (long t = 0; t < trials; t++) {
        long balance, updates;
        int64_t ns = run_once(&balance, &updates);
        if (balance != 0)
            drifted++;
        if (updates != expected_updates)   /* losses can cancel in the balance, never here */
            lossy++;
        if (trials > 1)
            printf("trial %ld: ", t + 1);
        printf("balance = %ld (expected 0)%s", balance, trials > 1 ? ", " : "\n");
        printf("lost updates = %ld of %ld\n", expected_updates - updates, expected_updates);
        if (trials == 1)
            printf("time per round: %.1f ns (%.3f s in all)\n", (double)ns / (double)rounds,
                   (double)ns / 1e9);
    }
    if (interleave)      /* the forced schedule's outcome, worked out in advance */
        printf("forced schedule predicts: balance = %ld, lost updates = %ld\n",
               rounds * (amount_of(nthreads - 1) - amount_of(0)), rounds * 2 * (nthreads - 1));
    printf("drifted in %ld of %ld trial%s; updates lost in %ld\n", drifted, trials,
           trials == 1 ? "" : "s", lossy);
    return EXIT_SUCCESS;
}
