/* shared_heap.c - 1 refresher + N worker processes share one min-heap in shared memory
 *
 * Usage:    shared_heap [--workers N] [--records N] [--key volume|timestamp] [--seconds S]
 *                       [--ops K] [--refresh-ms MS] [--kill-in-lock K] [--dump PREFIX]
 * Observe:  300 000 records (boxes) live in one shared-memory block with a heap of
 *           (key, id) entries over them, ordered by a key function given as a function
 *           pointer: the box's volume l*w*h, or a timestamp. Workers pop the smallest,
 *           "process" it outside the lock (new measurements, so a new key) and push it
 *           back; the parent refreshes every record now and then. At the end it checks
 *           that every record is still there exactly once and the heap is in order.
 *           With --kill-in-lock a worker dies (SIGKILL) in the middle of a pop, holding
 *           the lock: the next process to lock gets EOWNERDEAD, rebuilds the heap and
 *           carries on; the parent gives the dead worker's record back. Nothing is lost.
 * Try:      shared_heap --kill-in-lock 1000 (the "lock repairs" line, and no record lost)
 *           shared_heap --key timestamp   (the oldest-due record comes out first)
 *           shared_heap --workers 1 and --workers 4: pops per second (the lock is the
 *           bottleneck: more processes do not pop faster)
 * Python:   docs/seeds.md#seed-001, a BaseManager serving a heap with a comparer and a Lock
 * See also: docs/processes/shared_heap.md, shheap.h (the heap), bench/bench_heap.c
 */
#include "core.h"
#include "shared.h"
#include "shheap.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "shared_heap - N worker processes pop and push records on one heap in shared memory,\n"
    "              a refresher replaces its contents, a robust lock survives a dead worker\n"
    "\n"
    "Usage: shared_heap [options]\n"
    "  --workers N       worker processes (default: the CPU count, at most 1000)\n"
    "  --records N       records in the heap (default 300000)\n"
    "  --key K           volume (l*w*h, the default) or timestamp\n"
    "  --seconds S       run this long (default 2)\n"
    "  --ops K           each worker stops after K pop+push pairs (default: no limit)\n"
    "  --refresh-ms MS   the refresher replaces every record's measurements every MS\n"
    "                    milliseconds (default 500; 0: never)\n"
    "  --kill-in-lock K  worker 0 kills itself (SIGKILL) in the middle of its K-th pop,\n"
    "                    while holding the lock\n"
    "  --dump PREFIX     write PREFIX.initial (id tag) and PREFIX.final (pos id tag key)\n"
    "  --help            this text\n";

/* [snippet:keys] */
/* The comparator is a function pointer: the heap calls key(record) and orders by the
 * result. Forked children inherit this pointer with the rest of memory; it would mean
 * nothing in an unrelated program, which is why it is not stored in the shared block. */
static uint64_t key_volume(const struct shheap_record *r)
{
    return (uint64_t)r->l * r->w * r->h;
}

static uint64_t key_timestamp(const struct shheap_record *r)
{
    return r->stamp;
}
/* [/snippet:keys] */

static shheap_key_fn key = key_volume;

/* What only this demo's processes share: a stop flag and per-worker counters, each on
 * its own cache line (MAP_SHARED memory, so the parent sees the children's counts). */
struct worker_slot {
    _Alignas(64) uint64_t ops;          /* pop + process + push rounds completed */
};

struct control {
    atomic_int stop;
    struct worker_slot w[];
};

static volatile sig_atomic_t interrupted;  /* the SIGINT or SIGTERM that arrived, or 0 */

static void on_stop(int sig)
{
    interrupted = sig;                  /* everyone finishes the round and stops */
}

/* xorshift64: each process its own cheap random numbers. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* New measurements for a record: a box of 1..100 on each side, due some time from now.
 * Both keys change, so a pushed-back record lands somewhere new in the heap. */
static void measure_record(struct shheap_record *r, uint64_t *rng)
{
    r->l = (uint16_t)(1 + next_random(rng) % 100);
    r->w = (uint16_t)(1 + next_random(rng) % 100);
    r->h = (uint16_t)(1 + next_random(rng) % 100);
    r->stamp = (uint64_t)now_ns() + next_random(rng) % 1000000;
}

/* Take the heap's lock; say so when the last owner had died holding it and the heap had
 * to be rebuilt (shheap.c does the repair). */
static void lock_heap(struct shheap *h, const char *who)
{
    if (shheap_lock(h, key)) {
        printf("%s: the lock's owner died holding it (EOWNERDEAD): heap rebuilt, "
               "mutex marked consistent\n", who);
        fflush(stdout);
    }
}

/* [snippet:worker] */
static void worker_main(struct shheap *h, struct control *c, uint32_t k, long max_ops,
                        long kill_at)
{
    uint64_t rng = 0x9e3779b97f4a7c15u * (k + 1);
    long pops = 0;
    char me[32];
    snprintf(me, sizeof me, "worker %u", k);
    while (!atomic_load(&c->stop) && !interrupted &&
           (max_ops == 0 || (long)c->w[k].ops < max_ops)) {
        lock_heap(h, me);
        pops++;
        uint32_t id = shheap_pop(h, k, k == 0 && pops == kill_at);
        shheap_unlock(h);
        if (id == SHHEAP_NONE) {          /* every record is in some other worker's hand */
            sleep_ns(100000);
            continue;
        }
        /* The record is in our hand: no other process touches it, so we work on it
         * without the lock - holding the lock only for the heap operations themselves. */
        struct shheap_record *r = &shheap_records(h)[id];
        measure_record(r, &rng);
        r->visits++;
        c->w[k].ops++;
        lock_heap(h, me);
        shheap_push(h, key, k);
        shheap_unlock(h);
    }
    _exit(0);
}
/* [/snippet:worker] */

/* [snippet:refresh] */
/* The refresher (the parent, as in the seed) replaces the measurements of every record
 * that is in the heap - records in a worker's hand are that worker's until it pushes them
 * back - then rebuilds the heap in one O(n) pass. */
static void refresh(struct shheap *h, uint64_t *rng)
{
    struct shheap_entry *e = shheap_entries(h);
    for (uint32_t i = 0; i < h->n; i++) {
        struct shheap_record *r = &shheap_records(h)[e[i].id];
        measure_record(r, rng);
        r->gen++;
    }
    shheap_rebuild(h, key);
}
/* [/snippet:refresh] */

static void dump(const char *prefix, const char *suffix, struct shheap *h, int final)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.%s", prefix, suffix);
    FILE *f = fopen(path, "w");
    if (!f)
        die_errno(path);
    struct shheap_entry *e = shheap_entries(h);
    for (uint32_t i = 0; i < h->n; i++) {
        const struct shheap_record *r = &shheap_records(h)[e[i].id];
        if (final)
            fprintf(f, "%u %u %u %llu\n", i, r->id, r->tag, (unsigned long long)e[i].key);
        else
            fprintf(f, "%u %u\n", r->id, r->tag);
    }
    if (fclose(f) != 0)
        die_errno(path);
}

/* The command line. */
struct run {
    long nworkers, nrec, max_ops, refresh_ms, kill_at;
    double seconds;
    const char *dump_prefix;
};

static struct run parse_flags(int argc, char **argv)
{
    struct run o = { .nworkers = cpu_count(), .nrec = 300000, .refresh_ms = 500,
                     .seconds = 2 };
    static const struct option opts[] = {
        { "workers", required_argument, NULL, 'w' },
        { "records", required_argument, NULL, 'r' },
        { "key", required_argument, NULL, 'k' },
        { "seconds", required_argument, NULL, 's' },
        { "ops", required_argument, NULL, 'o' },
        { "refresh-ms", required_argument, NULL, 'f' },
        { "kill-in-lock", required_argument, NULL, 'x' },
        { "dump", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': o.nworkers = parse_long("--workers", optarg, 1, 1000); break;
        case 'r': o.nrec = parse_long("--records", optarg, 1, 10000000); break;
        case 's': o.seconds = parse_double("--seconds", optarg, 0.001, 3600); break;
        case 'o': o.max_ops = parse_long("--ops", optarg, 1, 1000000000); break;
        case 'f': o.refresh_ms = parse_long("--refresh-ms", optarg, 0, 3600000); break;
        case 'x': o.kill_at = parse_long("--kill-in-lock", optarg, 1, 1000000000); break;
        case 'd': o.dump_prefix = optarg; break;
        case 'k':
            if (!strcmp(optarg, "volume"))
                key = key_volume;
            else if (!strcmp(optarg, "timestamp"))
                key = key_timestamp;
            else
                usage_error("--key: '%s' is neither 'volume' nor 'timestamp'", optarg);
            break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    return o;
}

/* The heap of `nrec` records in a shared-memory object, `size` bytes. */
static struct shheap *map_heap(long nrec, size_t *size_out)
{
    /* [snippet:shm] */
    /* A named POSIX shared-memory object (it appears in /dev/shm while open), sized and
     * mapped. We unlink the name at once: the mapping stays valid for us and for every
     * child forked later, and when the last process unmaps it the memory is freed - so
     * nothing is left behind, however the program ends, even by SIGKILL. */
    char name[64];
    snprintf(name, sizeof name, "/shared_heap.%d", (int)getpid());
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd == -1)
        die_errno("shm_open");
    if (shm_unlink(name) == -1)
        die_errno("shm_unlink");
    size_t size = shheap_size((uint32_t)nrec);
    if (ftruncate(fd, (off_t)size) == -1)
        die_errno("ftruncate");
    struct shheap *h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED)
        die_errno("mmap");
    close(fd);
    /* [/snippet:shm] */
    *size_out = size;
    return h;
}

/* What the parent saw while the workers ran. */
struct tally {
    long died, refreshes, given_back;
    long outside, outside_k;            /* workers killed by someone else, the last one */
    char outside_how[128];
};

/* Run until every worker is gone; returns the seconds it took. */
static double supervise(struct shheap *h, struct control *ctl, const pid_t *pids,
                        const struct run *o, uint64_t *rng, struct tally *t)
{
    long refresh_ms = o->refresh_ms, kill_at = o->kill_at;
    /* [snippet:parent] */
    /* The parent refreshes the heap on schedule and reaps workers as they end. A worker
     * that died may have had a record in its hand: the parent pushes it back. */
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(o->seconds * 1e9);
    int64_t next_refresh = t0 + refresh_ms * 1000000;
    long alive = o->nworkers;
    while (alive > 0) {
        if (now_ns() >= deadline || interrupted)
            atomic_store(&ctl->stop, 1);
        int status;
        pid_t pid;
        while (alive > 0 && (pid = xwaitpid(-1, &status, WNOHANG)) > 0) {
            long k = 0;
            while (pids[k] != pid)
                k++;
            alive--;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                continue;
            char how[128];
            printf("parent: worker %ld (pid %d) %s; giving back the record in its hand\n",
                   k, (int)pid, describe_status(status, how, sizeof how));
            t->died++;
            /* Worker 0 with --kill-in-lock kills itself; any other death came from outside. */
            if (!(k == 0 && kill_at && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
                t->outside++, t->outside_k = k;
                describe_status(status, t->outside_how, sizeof t->outside_how);
            }
            lock_heap(h, "parent");     /* repairs the heap if the worker died holding it */
            t->given_back += h->hand[k] != SHHEAP_NONE;
            shheap_push(h, key, (uint32_t)k);
            shheap_unlock(h);
        }
        if (refresh_ms > 0 && now_ns() >= next_refresh && !atomic_load(&ctl->stop)) {
            lock_heap(h, "parent");
            refresh(h, rng);
            shheap_unlock(h);
            t->refreshes++;
            next_refresh += refresh_ms * 1000000;
        }
        if (alive > 0)
            sleep_ns(2000000);          /* poll again in 2 ms */
    }
    /* [/snippet:parent] */
    return (double)(now_ns() - t0) / 1e9;
}

/* Every worker is gone: check what is left, and say it. Returns 1 if the heap holds every
 * record exactly once, in order, and the visits add up. */
static int report(struct shheap *h, const struct control *ctl, const struct run *o,
                  const struct tally *t, double wall)
{
    long nrec = o->nrec, kill_at = o->kill_at;
    lock_heap(h, "parent");
    uint64_t ops = 0, visits = 0;
    for (long k = 0; k < o->nworkers; k++)
        ops += ctl->w[k].ops;
    for (long i = 0; i < nrec; i++)
        visits += shheap_records(h)[i].visits;
    int valid = shheap_valid(h, key);
    uint32_t held = 0;
    for (long k = 0; k < o->nworkers; k++)
        held += h->hand[k] != SHHEAP_NONE;
    if (o->dump_prefix)
        dump(o->dump_prefix, "final", h, 1);
    printf("pop+push rounds: %llu in %.3f s (%.0f per second)%s\n", (unsigned long long)ops,
           wall, (double)ops / wall, interrupted ? " - interrupted" : "");
    printf("refreshes: %ld\n", t->refreshes);
    printf("records in heap: %u (expected %ld), in hands: %u (expected 0)\n", h->n, nrec, held);
    printf("each record exactly once, heap in order: %s (expected yes)\n", valid ? "yes" : "NO");
    /* A worker counts its visit on the record, then its round: a kill from outside can fall
     * between the two, so each such worker may leave one visit more than rounds. */
    printf("visits counted on records: %llu (expected %llu, the rounds the workers counted",
           (unsigned long long)visits, (unsigned long long)ops);
    if (t->outside > 0)
        printf(", or up to %ld more: a worker killed between counting its visit and its round",
               t->outside);
    printf(")\n");
    /* A worker killed from outside (kill -9 PID) is not a failure of the program: say who
     * died and how, and what the recovery saved, rather than "expected 0". */
    if (t->outside == 0) {
        printf("workers died: %ld (expected %d)\n", t->died, kill_at ? 1 : 0);
        printf("lock repairs: %u (expected %d)\n", h->repairs, kill_at ? 1 : 0);
    } else {
        printf("workers killed from outside: %ld (the last: worker %ld, %s)%s\n", t->outside,
               t->outside_k, t->outside_how,
               kill_at ? "; worker 0 killed itself (--kill-in-lock)" : "");
        printf("lock repairs: %u (one for each worker that died holding the lock)\n",
               h->repairs);
    }
    if (t->died > 0)
        printf("recovered: %ld record%s given back from dead workers' hands, the robust "
               "mutex repaired %u time%s (EOWNERDEAD: heap rebuilt); every record kept: %s\n",
               t->given_back, t->given_back == 1 ? "" : "s", h->repairs,
               h->repairs == 1 ? "" : "s", valid && h->n == (uint32_t)nrec ? "yes" : "NO");
    shheap_unlock(h);
    return valid && h->n == (uint32_t)nrec && visits >= ops &&
           visits - ops <= (uint64_t)t->outside;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct run o = parse_flags(argc, argv);
    size_t size;
    struct shheap *h = map_heap(o.nrec, &size);

    /* Fill the records: a deterministic box and a payload fingerprint ("tag") each. */
    shheap_init(h, (uint32_t)o.nrec, (uint32_t)o.nworkers);
    uint64_t rng = 88172645463325252u;
    for (long i = 0; i < o.nrec; i++) {
        struct shheap_record *r = &shheap_records(h)[i];
        measure_record(r, &rng);
        r->tag = (uint32_t)(next_random(&rng) >> 32);
    }
    shheap_rebuild(h, key);
    if (o.dump_prefix)
        dump(o.dump_prefix, "initial", h, 0);

    size_t csize = sizeof(struct control) + (size_t)o.nworkers * sizeof(struct worker_slot);
    struct control *ctl = shared_map(csize);
    /* Children inherit the handlers through fork(). Ctrl-C signals every process of the
     * group; kill -INT PID the parent alone, which then sets ctl->stop for the workers.
     * Either way all finish their round, and the parent reaps them and checks the heap.
     * (kill -9 of the parent: end_with_parent() below takes the workers with it.) */
    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die_errno("sigaction");

    printf("shared_heap: %ld records, key %s, %ld workers, %g s, refresh every %ld ms\n",
           o.nrec, key == key_volume ? "volume" : "timestamp", o.nworkers, o.seconds,
           o.refresh_ms);
    fflush(stdout);                     /* before fork(), or children inherit the buffer */

    pid_t parent = getpid(), *pids = xcalloc((size_t)o.nworkers, sizeof *pids);
    for (long k = 0; k < o.nworkers; k++) {
        pids[k] = xfork();
        if (pids[k] == 0) {
            end_with_parent(parent, SIGKILL);
            worker_main(h, ctl, (uint32_t)k, o.max_ops, o.kill_at);
        }
    }

    struct tally t = { .outside_k = -1 };
    double wall = supervise(h, ctl, pids, &o, &rng, &t);
    int ok = report(h, ctl, &o, &t, wall);
    munmap(h, size);
    shared_unmap(ctl, csize);
    free(pids);
    if (ok && interrupted)
        die_of_signal(interrupted);     /* checked and cleaned up: now end as told */
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
