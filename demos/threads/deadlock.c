/* deadlock.c - two threads, two locks taken in opposite orders: a hang, detected; then the fix
 *
 * Usage:    deadlock [--order opposite|global|both] [--detect timeout|watchdog]
 *                    [--timeout-ms MS] [--rounds N] [--unforced]
 * Observe:  thread 1 moves money from account A to B and thread 2 from B to A; a transfer
 *           locks both accounts. In "opposite" order each thread locks its *source* first:
 *           thread 1 holds A and waits for B while thread 2 holds B and waits for A -
 *           each waits for the other forever. The program sees it instead of hanging: the
 *           second lock is taken with a time limit (pthread_mutex_timedlock), and a thread
 *           that waited longer than --timeout-ms reports the cycle and backs off. In
 *           "global" order both threads lock A before B whichever way the money goes: no
 *           cycle can form, and every transfer completes with the total conserved.
 *           With --detect watchdog the threads lock without a limit and really hang; the
 *           main thread notices that no transfer has completed for --timeout-ms, reports
 *           who holds and wants what, and ends the process - a thread stuck in
 *           pthread_mutex_lock() cannot be rescued.
 * Exit:     0 when every phase completed; 3 when a deadlock was detected (so the default
 *           run, whose first phase deadlocks on purpose, exits 3); 2 for bad flags.
 * Try:      deadlock --order opposite --unforced --rounds 1000000   (luck decides: run it
 *           a few times; a program that hangs "sometimes" is the usual symptom)
 *           deadlock --detect watchdog
 * Python:   docs/seeds.md#seed-000, threading.Lock - with several locks, threads
 *           can end up waiting for each other's locks forever
 * See also: docs/threads/deadlock.md
 */
#include "core.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "deadlock - two locks taken in opposite orders hang; the program detects it, then\n"
    "           shows a global lock order completing\n"
    "\n"
    "Usage: deadlock [--order opposite|global|both] [--detect timeout|watchdog]\n"
    "                [--timeout-ms MS] [--rounds N] [--unforced]\n"
    "  --order opposite  each thread locks the account it takes money from first\n"
    "  --order global    both threads lock account A before account B (the fix)\n"
    "  --order both      opposite, then global (default)\n"
    "  --detect timeout  take the second lock with a time limit; back off on timeout\n"
    "                    (default)\n"
    "  --detect watchdog lock without a limit; the main thread ends the process when no\n"
    "                    transfer completes for the timeout\n"
    "  --timeout-ms MS   how long a wait counts as a deadlock (default 500)\n"
    "  --rounds N        transfers per thread (default 100000)\n"
    "  --unforced        do not force both threads to hold their first lock at the same\n"
    "                    time in the first round: whether it hangs is left to luck\n"
    "  --help            this text\n"
    "\n"
    "Exit status: 0 if every phase completed, 3 if a deadlock was detected.\n";

enum { EXIT_DEADLOCK = 3 };

struct account {
    const char *name;
    pthread_mutex_t lock;
    long balance;
};

static struct account accounts[2] = {
    { "A", PTHREAD_MUTEX_INITIALIZER, 0 },
    { "B", PTHREAD_MUTEX_INITIALIZER, 0 },
};
enum { START_BALANCE = 1000 };

struct mover {
    int id;                        /* 1 or 2 */
    struct account *from, *to;
    atomic_long done;              /* transfers completed: the watchdog reads it */
    _Atomic(struct account *) holds, wants;      /* for the watchdog's report */
};

static struct mover movers[2];
static int global_order, use_watchdog, forced = 1;
static long rounds = 100000, timeout_ms = 500;
static atomic_int deadlocked;      /* set by the first thread that detects the cycle */
static pthread_barrier_t both_hold_one;

/* Lock m, waiting at most timeout_ms. 0 when locked, ETIMEDOUT when the wait ran out.
 * pthread_mutex_timedlock takes an absolute deadline on CLOCK_REALTIME, the wall clock.
 * (glibc's pthread_mutex_clocklock accepts CLOCK_MONOTONIC, immune to the clock being
 * set, but ThreadSanitizer does not know that call and would misread every lock.) */
static int lock_with_timeout(pthread_mutex_t *m)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    int s = pthread_mutex_timedlock(m, &deadline);
    if (s != 0 && s != ETIMEDOUT)
        die_code("pthread_mutex_timedlock", s);
    return s;
}

/* [snippet:transfer] */
/* Move 1 from `from` to `to` with both accounts locked. Which is locked first is the
 * whole story: in opposite order the first lock is the source, so the two threads take
 * A and B in opposite orders; in global order it is always A, then B. */
static int transfer(struct mover *m, long round)
{
    struct account *first = m->from, *second = m->to;
    if (global_order && first > second) {      /* A sits before B in memory: lock A first */
        first = m->to;
        second = m->from;
    }
    pthread_mutex_lock(&first->lock);
    atomic_store(&m->holds, first);
    if (!global_order && forced && round == 0)
        pthread_barrier_wait(&both_hold_one);  /* make the unlucky timing certain */
    atomic_store(&m->wants, second);
    if (use_watchdog)
        pthread_mutex_lock(&second->lock);     /* may never return */
    else if (lock_with_timeout(&second->lock) == ETIMEDOUT) {
        printf("thread %d: holds %s, waited %ld ms for %s: deadlock detected, backing off\n",
               m->id, first->name, timeout_ms, second->name);
        atomic_store(&deadlocked, 1);
        atomic_store(&m->holds, NULL);
        pthread_mutex_unlock(&first->lock);    /* give back what we hold: the other may go */
        return -1;
    }
    atomic_store(&m->wants, NULL);
    m->from->balance -= 1;
    m->to->balance += 1;
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
    atomic_store(&m->holds, NULL);
    return 0;
}
/* [/snippet:transfer] */

static void *mover_main(void *arg)
{
    struct mover *m = arg;
    for (long r = 0; r < rounds && !atomic_load(&deadlocked); r++) {
        if (transfer(m, r) != 0)
            break;
        atomic_fetch_add(&m->done, 1);
    }
    return NULL;
}

/* The watchdog: the main thread looks every 10 ms at how many transfers have completed.
 * When that number has not moved for timeout_ms and the movers are not finished, they
 * are stuck. */
/* [snippet:watchdog] */
static void watch(void)
{
    long last = -1;
    int64_t last_change = now_ns();
    for (;;) {
        sleep_ns(10 * 1000000);
        long done = atomic_load(&movers[0].done) + atomic_load(&movers[1].done);
        if (done == 2 * rounds)
            return;                            /* finished: nothing to watch any more */
        if (done != last) {
            last = done;
            last_change = now_ns();
        } else if (now_ns() - last_change >= timeout_ms * 1000000) {
            printf("watchdog: no transfer completed in %ld ms: deadlock\n", timeout_ms);
            for (int i = 0; i < 2; i++) {
                struct account *h = atomic_load(&movers[i].holds);
                struct account *w = atomic_load(&movers[i].wants);
                printf("watchdog: thread %d holds %s and waits for %s\n", movers[i].id,
                       h ? h->name : "nothing", w ? w->name : "nothing");
            }
            printf("watchdog: ending the process (exit status %d)\n", EXIT_DEADLOCK);
            fflush(stdout);
            _exit(EXIT_DEADLOCK);              /* blocked threads cannot be unblocked */
        }
    }
}
/* [/snippet:watchdog] */

/* One phase: both movers run `rounds` transfers in the given order. Returns 1 when it
 * completed, 0 when a deadlock was detected. */
static int run_phase(int global)
{
    global_order = global;
    atomic_store(&deadlocked, 0);
    for (int i = 0; i < 2; i++) {
        accounts[i].balance = START_BALANCE;
        movers[i].id = i + 1;
        movers[i].from = &accounts[i];         /* thread 1: A -> B, thread 2: B -> A */
        movers[i].to = &accounts[1 - i];
        atomic_store(&movers[i].done, 0);
        atomic_store(&movers[i].holds, NULL);
        atomic_store(&movers[i].wants, NULL);
    }
    printf("%s order: thread 1 moves A -> B, thread 2 moves B -> A, %ld times each; "
           "each locks %s\n", global ? "global" : "opposite", rounds,
           global ? "A, then B" : "its source first");
    fflush(stdout);

    int s = pthread_barrier_init(&both_hold_one, NULL, 2);
    if (s != 0)
        die_code("pthread_barrier_init", s);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        xpthread_create(&t[i], NULL, mover_main, &movers[i]);
    if (use_watchdog)
        watch();                               /* returns only if the movers finish */
    for (int i = 0; i < 2; i++)
        xpthread_join(t[i], NULL);
    pthread_barrier_destroy(&both_hold_one);

    long done = atomic_load(&movers[0].done) + atomic_load(&movers[1].done);
    long total = accounts[0].balance + accounts[1].balance;
    printf("%s order: %s; %ld of %ld transfers done; A = %ld, B = %ld, total = %ld "
           "(expected %d)\n", global ? "global" : "opposite",
           atomic_load(&deadlocked) ? "DEADLOCK detected" : "completed", done, 2 * rounds,
           accounts[0].balance, accounts[1].balance, total, 2 * START_BALANCE);
    return !atomic_load(&deadlocked);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int phases = 3;                /* bit 0: opposite, bit 1: global */
    static const char *const order_names[] = { "opposite", "global", "both", NULL };  /* 1, 2, 3 */
    static const struct option opts[] = {
        { "order", required_argument, NULL, 'o' },
        { "detect", required_argument, NULL, 'd' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "rounds", required_argument, NULL, 'r' },
        { "unforced", no_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'o': phases = 1 + parse_choice("--order", optarg, order_names); break;
        case 'd':
            if (!strcmp(optarg, "timeout") || !strcmp(optarg, "watchdog"))
                use_watchdog = optarg[0] == 'w';
            else
                usage_error("--detect: '%s' is neither 'timeout' nor 'watchdog'", optarg);
            break;
        case 't': timeout_ms = parse_long("--timeout-ms", optarg, 1, 600000); break;
        case 'r': rounds = parse_long("--rounds", optarg, 1, 1000000000); break;
        case 'u': forced = 0; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    int completed_all = 1;
    if (phases & 1)
        completed_all &= run_phase(0);
    if (phases & 2)
        completed_all &= run_phase(1);
    printf("exit status %d: %s\n", completed_all ? 0 : EXIT_DEADLOCK,
           completed_all ? "every phase completed" : "a deadlock was detected");
    return completed_all ? EXIT_SUCCESS : EXIT_DEADLOCK;
}
