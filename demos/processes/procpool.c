/* procpool.c - the process pool of procpool.h: two shared pipes, two robust locks, a slot
 * per worker in shared memory, and a parent that watches its workers through pidfds.
 *
 * Record numbers (seq) are the thread that ties it together. The parent numbers every
 * record it writes into the task pipe (tasks, sentinels, probes) 0, 1, 2, ... and, being
 * the only writer, writes them in that order; the workers read them under the take lock,
 * so they also come out in that order. Under the same lock the shared `next_seq` says
 * which number the next reader should see. A worker writes the numbers it took into its
 * slot before it releases the lock, so at every moment each unfinished task is in exactly
 * one place: the parent's backlog, the pipe, a worker's slot - or in the hands of a worker
 * that died between read() and writing its slot, which the next reader detects because
 * the number it reads is not next_seq.
 *
 * The ring transport keeps the numbers but needs neither locks nor the gap check: each
 * worker has its own task ring and result ring (shmring.h), and a record counts as taken
 * the moment the worker stores the ring's new head, after it has copied the record and
 * before it runs it. So a worker's tasks are, by position in its task ring: [consumed,
 * head) taken and not answered (failed if it dies), [head, sent) not taken (given to
 * another worker if it dies). The parent keeps sent - consumed <= RING_CAP, so those cells
 * still hold their records when it needs to read them, and the worker's result ring,
 * which holds one result per task, can never be full.
 */
#include "procpool.h"
#include "procpool_ring.h"
#include "shmring.h"
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { REC_TASK = 1, REC_SENTINEL, REC_PROBE };    /* what a task-pipe record is */
enum { RES_DONE = 1, RES_ERROR, RES_LOST };        /* what a result-pipe record is */
enum { SLOT_IDLE, SLOT_TAKING, SLOT_RUNNING };     /* what a worker is doing */
enum { MAX_BATCH = 64 };
/* Ring transport: records per ring (8 KiB of tasks and 16 KiB of results per worker); how
 * many times a side looks at its ring(s) before it sleeps, when there is a CPU to spare for
 * it (p->spins; with no spare CPU a spinner only delays the side it waits for); how many
 * times a side then gives its CPU away (sched_yield) before it sleeps - if the side it
 * waits for shares that CPU it runs and fills the ring, if not the call returns at once,
 * and either way the futex pair of a sleep is saved while records keep coming; how long
 * a side sleeps at most - the parent wakes that often to look for dead workers, a worker
 * to check on its parent. */
enum { RING_CAP = 256, RING_SPINS = 200, RING_YIELDS = 20 };
#define PARENT_NAP_NS 10000000        /* 10 ms */
#define WORKER_NAP_NS 100000000       /* 100 ms */
#define DEATH_LOOK_NS 1000000         /* busy parent: poll the pidfds once a millisecond */

/* Both record sizes divide PIPE_BUF (4096), and no write is longer than PIPE_BUF, so every
 * write() lands whole and alone in the pipe even with many writers: no reader ever sees
 * half a record. */
struct task_rec {
    uint64_t seq;
    procpool_fn fn;
    int64_t arg;
    uint32_t kind, pad;
};
struct result_rec {
    uint64_t seq, seq_end;        /* RES_LOST: the lost range [seq, seq_end) */
    int64_t value, start_ns, end_ns;
    int32_t error, worker, pid;
    uint32_t kind;
    uint64_t pad;
};
_Static_assert(sizeof(struct task_rec) == 32, "task records are 32 bytes");
_Static_assert(sizeof(struct result_rec) == 64, "result records are 64 bytes");
_Static_assert(MAX_BATCH * sizeof(struct result_rec) <= PIPE_BUF, "a batch is one write");

/* One worker's slot: the records it holds are the consecutive numbers [lo, hi). Only that
 * worker writes it; the parent reads it at any time (procpool_busy, procpool_worker_of), not
 * only after the worker has died, so every field is atomic. `state` holds SLOT_* in its low
 * two bits and a count of changes above them. The worker writes lo and hi, then publishes
 * them with a release store of state; the parent loads state (acquire), lo and hi, then
 * state again, and trusts lo/hi only if state did not change in between (a seqlock). */
struct slot {
    _Alignas(64) _Atomic uint32_t state;
    _Atomic uint64_t lo, hi;
};

/* Both locks are process-shared and robust (lib/shared.h): if a worker dies holding one,
 * the next locker gets it. Nothing needs repair then: the pipes move whole records, and
 * the take lock's next_seq is checked by every reader anyway (the gap check), so both are
 * taken with shared_mutex_lock(m, NULL, NULL): no repair function. */
struct shared {                   /* MAP_SHARED: the parent and every worker see this */
    pthread_mutex_t take_lock;    /* guards reading the task pipe, and next_seq */
    pthread_mutex_t put_lock;     /* guards writing the result pipe */
    uint64_t next_seq;
    struct doorbell bell;         /* ring transport: the parent sleeps on it, */
    _Atomic uint64_t awaited;     /* waiting for task number awaited - 1 (0: any result) */
    struct slot slots[];
};

struct procpool_task {
    struct procpool *pool;
    uint64_t seq;
    int detached;                 /* freed by the pool when it finishes */
    struct procpool_result r;
};

struct worker {
    pid_t pid;                    /* 0: none (stopping, or reaped) */
    int pidfd;                    /* readable once the process has ended */
};

/* Ring transport: worker w's two rings and its doorbell (in shared memory), and the
 * parent's own counts of that worker's task-ring positions (task ring tail == sent,
 * result ring head == consumed: the parent is the only one to move them). */
struct wring {
    struct doorbell *bell;        /* the worker sleeps on it when its task ring is empty */
    struct shmring *tasks, *results;
    uint64_t sent, consumed;
};

struct procpool {
    int n, batch;
    long max_tasks;
    FILE *log;
    int closed, stopping, terminated;
    int task_r, task_w, result_r, result_w;   /* task_w is -1 once closed for EOF */
    struct shared *sh;
    size_t sh_size;
    struct worker *w;
    /* Unfinished tasks by number (struct procpool_task *), in [tasks.oldest, tasks.next). */
    struct seqring tasks;
    size_t pending;
    /* Records numbered but not yet written into the task pipe (the pipe was full). */
    struct backlog backlog;
    int lost_wstatus;             /* how the last worker caught taking a record died */
    struct procpool_stats stats;
    /* Ring transport (ring != 0): the rings and their mapping; the next worker to try
     * first; when the parent last polled the pidfds. The pipes are not made then. */
    int ring, next_try, spins;
    struct wring *wr;
    void *ring_map;
    size_t ring_map_size;
    int64_t last_look;
};

/* ---- the slots -------------------------------------------------------------------- */

/* The worker's side: a new state, numbered by the worker's own count of changes. Every
 * store is a release and every load in slot_read() an acquire: a reader that sees a lo or
 * hi stored after this state also sees this state (no fences: ThreadSanitizer has none). */
static void slot_set(struct slot *s, uint32_t *changes, unsigned state)
{
    atomic_store_explicit(&s->state, ++*changes << 2 | state, memory_order_release);
}

static void slot_range(struct slot *s, uint64_t lo, uint64_t hi)
{
    atomic_store_explicit(&s->lo, lo, memory_order_release);
    atomic_store_explicit(&s->hi, hi, memory_order_release);
}

/* The parent's side: a consistent snapshot of state (SLOT_*) and [lo, hi). The worker may
 * change the slot while we read it; then read again (it never stays mid-change for long). */
static unsigned slot_read(const struct slot *s, uint64_t *lo, uint64_t *hi)
{
    for (;;) {
        uint32_t before = atomic_load_explicit(&s->state, memory_order_acquire);
        *lo = atomic_load_explicit(&s->lo, memory_order_acquire);
        *hi = atomic_load_explicit(&s->hi, memory_order_acquire);
        if (atomic_load_explicit(&s->state, memory_order_acquire) == before)
            return before & 3;
    }
}

/* ---- the worker ------------------------------------------------------------------- */

/* Read between 1 and `max` whole records; 0 at end of file. A pipe read returns at most
 * what is there, and the pipe only ever holds whole records, but finish a short one anyway. */
static size_t read_records(int fd, void *buf, size_t size, size_t max)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, (char *)buf + got, max * size - got);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            die_child_errno("read");
        got += (size_t)r;
        if (r == 0 || got % size == 0)
            return got / size;
    }
}

static void write_all(int fd, const void *buf, size_t len)
{
    while (len > 0) {
        ssize_t r = write(fd, buf, len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            die_child_errno("write");
        buf = (const char *)buf + r;
        len -= (size_t)r;
    }
}

static void put_results(struct procpool *p, const struct result_rec *out, size_t n)
{
    shared_mutex_lock(&p->sh->put_lock, NULL, NULL);
    write_all(p->result_w, out, n * sizeof *out);
    shared_mutex_unlock(&p->sh->put_lock);
}

/* [snippet:worker] */
static noreturn void worker_main(struct procpool *p, int w, pid_t parent)
{
    /* If the parent dies, so do we: nobody would read our results or reap us. */
    end_with_parent(parent, SIGKILL);
    struct slot *me = &p->sh->slots[w];
    struct task_rec in[MAX_BATCH];
    struct result_rec out[MAX_BATCH];
    long completed = 0;
    uint32_t changes = 0;                    /* numbers our slot's states (see slot_read) */
    pid_t self = getpid();                   /* a system call: ask once, not per task */
    for (;;) {
        size_t want = (size_t)p->batch;
        if (p->max_tasks > 0 && (long)want > p->max_tasks - completed)
            want = (size_t)(p->max_tasks - completed);

        shared_mutex_lock(&p->sh->take_lock, NULL, NULL);   /* Python: self._rlock */
        slot_set(me, &changes, SLOT_TAKING);
        size_t got = read_records(p->task_r, in, sizeof *in, want);
        if (got == 0) {                                  /* EOF: the pool is closing, */
            slot_set(me, &changes, SLOT_IDLE);           /* or the parent is gone */
            shared_mutex_unlock(&p->sh->take_lock);
            _exit(0);
        }
        uint64_t hi = in[got - 1].seq + 1;
        slot_range(me, in[0].seq, hi);                   /* the slot first ... */
        if (in[0].seq != p->sh->next_seq) {              /* ... then the gap check */
            struct result_rec lost = { .seq = p->sh->next_seq, .seq_end = in[0].seq,
                                       .kind = RES_LOST, .worker = w, .pid = self };
            put_results(p, &lost, 1);
        }
        p->sh->next_seq = hi;
        slot_set(me, &changes, SLOT_RUNNING);            /* publishes lo and hi */
        shared_mutex_unlock(&p->sh->take_lock);

        size_t nout = 0;
        int stop = 0;
        int64_t t = now_ns();                            /* one clock read per task */
        for (size_t i = 0; i < got; i++) {
            if (in[i].kind == REC_SENTINEL)              /* Python: task is None */
                stop = 1;
            if (in[i].kind != REC_TASK)
                continue;
            struct result_rec *r = &out[nout++];
            *r = (struct result_rec){ .seq = in[i].seq, .worker = w, .pid = self };
            r->start_ns = t;
            r->error = in[i].fn(in[i].arg, &r->value);   /* run it */
            r->end_ns = t = now_ns();
            r->kind = r->error ? RES_ERROR : RES_DONE;
            completed++;
        }
        if (nout > 0)
            put_results(p, out, nout);                   /* Python: self._wlock */
        slot_set(me, &changes, SLOT_IDLE);
        slot_range(me, 0, 0);
        if (stop || (p->max_tasks > 0 && completed >= p->max_tasks))
            _exit(0);                                    /* retired, or told to leave */
    }
}
/* [/snippet:worker] */

/* A short pause inside a spin loop: tells the CPU we are waiting (x86's PAUSE), which
 * spares the other hyper-thread and the memory bus. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Ring transport: wait until worker `me`'s task ring has records; returns how many. Look
 * a few times first (a busy parent refills within microseconds): spinning if there is a
 * CPU to spare, then yielding ours. Then announce the sleep, look once more, and sleep on
 * the doorbell - bounded, to check now and then that the parent is still there
 * (PR_SET_PDEATHSIG should have killed us already; this is the belt to its braces). */
static uint64_t wait_for_tasks(struct wring *me, pid_t parent, int max_spins)
{
    for (int spins = 0;; spins++) {
        uint64_t n = shmring_ready(me->tasks);
        if (n > 0)
            return n;
        if (spins < max_spins) {
            spin_pause();
            continue;
        }
        if (spins < max_spins + RING_YIELDS) {
            sched_yield();                /* bounded: then we sleep (RING_YIELDS above) */
            continue;
        }
        unsigned seq = doorbell_arm(me->bell);
        if ((n = shmring_ready_sc(me->tasks)) > 0) {  /* the parent was quicker */
            doorbell_disarm(me->bell);
            return n;
        }
        doorbell_wait(me->bell, seq, WORKER_NAP_NS);
        if (getppid() != parent)
            _exit(0);
        spins = 0;
    }
}

/* Ring transport: the parent sleeps; is what a worker just did worth a FUTEX_WAKE? Yes if
 * the parent waits for any result, or for one of these; or if our task ring runs low
 * (we have used up what we knew of, or just went below a quarter), since only the parent
 * can refill it. Not for other results: the parent reads them all when it wakes, so a
 * run of one-by-one tasks costs a wake-up per ring-full, not one per task. */
static int worth_waking(struct procpool *p, const struct task_rec *in, uint64_t got,
                        uint64_t ready)
{
    uint64_t awaited = atomic_load_explicit(&p->sh->awaited, memory_order_relaxed);
    if (awaited == 0 || ready == 0 || (ready <= RING_CAP / 4 && ready + got > RING_CAP / 4))
        return 1;
    for (uint64_t i = 0; i < got; i++)
        if (in[i].seq + 1 == awaited)
            return 1;
    return 0;
}

/* [snippet:ring_worker] */
/* The worker with the ring transport: the same loop, with no lock and no system call
 * while there are tasks. Taking a record is one store (the ring's head), made after the
 * records are copied out and before the first of them runs. */
static noreturn void worker_ring_main(struct procpool *p, int w, pid_t parent)
{
    end_with_parent(parent, SIGKILL);
    struct wring *me = &p->wr[w];
    struct task_rec in[MAX_BATCH];
    long completed = 0;
    pid_t self = getpid();
    uint64_t ready = 0;           /* records we know are there: look at the tail only when */
    int64_t t = 0;                /* these run out (it is the line the parent writes) */
    for (;;) {
        if (ready == 0) {
            ready = wait_for_tasks(me, parent, p->spins);
            t = now_ns();         /* else the last task's end is the next one's start */
        }
        uint64_t got = ready;
        uint64_t want = (uint64_t)p->batch;
        if (p->max_tasks > 0 && (long)want > p->max_tasks - completed)
            want = (uint64_t)(p->max_tasks - completed);
        if (got > want)
            got = want;
        uint64_t at = shmring_head(me->tasks);
        for (uint64_t i = 0; i < got; i++)
            memcpy(&in[i], shmring_cell(me->tasks, at + i), sizeof in[i]);
        shmring_consume(me->tasks, got);                 /* taken: ours to answer for */
        ready -= got;

        uint64_t out_at = atomic_load_explicit(&me->results->tail, memory_order_relaxed);
        uint64_t nout = 0;
        int stop = 0;
        for (uint64_t i = 0; i < got; i++) {
            if (in[i].kind == REC_SENTINEL)
                stop = 1;
            if (in[i].kind != REC_TASK)
                continue;
            struct result_rec *r = shmring_cell(me->results, out_at + nout++);
            *r = (struct result_rec){ .seq = in[i].seq, .worker = w, .pid = self };
            r->start_ns = t;
            r->error = in[i].fn(in[i].arg, &r->value);   /* run it */
            r->end_ns = t = now_ns();
            r->kind = r->error ? RES_ERROR : RES_DONE;
            completed++;
        }
        if (nout > 0) {
            shmring_publish(me->results, nout);          /* the results, in one store */
            if (doorbell_asleep(&p->sh->bell) && worth_waking(p, in, got, ready))
                doorbell_wake(&p->sh->bell);             /* the one system call */
        }
        if (stop || (p->max_tasks > 0 && completed >= p->max_tasks))
            _exit(0);
    }
}
/* [/snippet:ring_worker] */

/* ---- the parent: starting and reaping workers -------------------------------------- */

static void pool_log(struct procpool *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pool_log(struct procpool *p, const char *fmt, ...)
{
    if (!p->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("pool: ", p->log);
    vfprintf(p->log, fmt, ap);
    va_end(ap);
    fflush(p->log);
}

static void start_worker(struct procpool *p, int w)
{
    atomic_store(&p->sh->slots[w].state, SLOT_IDLE);
    slot_range(&p->sh->slots[w], 0, 0);
    if (p->ring) {                       /* fresh, empty rings for the new worker */
        struct wring *r = &p->wr[w];
        shmring_init(r->tasks, RING_CAP, sizeof(struct task_rec));
        shmring_init(r->results, RING_CAP, sizeof(struct result_rec));
        atomic_store(&r->bell->sleeping, 0);
        r->sent = r->consumed = 0;
    }
    pid_t parent = getpid();
    fflush(NULL);                        /* the child must not inherit unwritten output */
    pid_t pid = xfork();
    if (pid == 0) {
        for (int i = 0; i < p->n; i++)
            if (p->w[i].pid > 0)
                close(p->w[i].pidfd);
        if (p->ring)
            worker_ring_main(p, w, parent);
        /* Keep only the worker's ends: with the task pipe's write end closed here, the
         * worker sees end-of-file once the parent closes its own. */
        if (p->task_w >= 0)
            close(p->task_w);
        close(p->result_r);
        worker_main(p, w, parent);
    }
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd == -1)
        die_errno("pidfd_open");
    p->w[w] = (struct worker){ .pid = pid, .pidfd = fd };
    p->stats.started++;
}

static void finish(struct procpool *p, uint64_t seq, const struct procpool_result *r)
{
    struct procpool_task *t = seqring_get(&p->tasks, seq);
    if (!t || t->seq != seq)             /* a sentinel or probe, or finished already */
        return;
    seqring_finish(&p->tasks, seq);
    t->r = *r;
    p->pending--;
    if (t->detached)
        free(t);
}

static void handle_result(struct procpool *p, const struct result_rec *rec)
{
    if (rec->kind == RES_LOST) {
        struct procpool_result r = { .state = PROCPOOL_CRASHED, .wstatus = p->lost_wstatus,
                                     .worker = -1 };
        for (uint64_t s = rec->seq; s < rec->seq_end; s++) {
            struct procpool_task *t = seqring_get(&p->tasks, s);
            if (t && t->seq == s) {
                p->stats.lost++;
                pool_log(p, "task #%llu was taken by a worker that died before recording it: "
                         "reported lost by worker %d\n", (unsigned long long)s, rec->worker);
            }
            finish(p, s, &r);
        }
        return;
    }
    if (!seqring_get(&p->tasks, rec->seq))
        p->stats.twice++;                /* never: checked by the tests */
    struct procpool_result r = {
        .state = rec->kind == RES_DONE ? PROCPOOL_DONE : PROCPOOL_ERROR,
        .value = rec->value, .error = rec->error, .worker = rec->worker, .pid = rec->pid,
        .start_ns = rec->start_ns, .end_ns = rec->end_ns,
    };
    finish(p, rec->seq, &r);
}

/* ---- the parent: the ring transport ----------------------------------------------- */

/* The live worker with the fewest tasks given and not answered, and room for one more;
 * -1 if none. The search starts one further each time, so that ties are spread. */
static int ring_pick(struct procpool *p)
{
    int best = -1;
    uint64_t least = RING_CAP;
    /* w wraps by a compare, not by `% p->n`: a division costs more than the rest of the
     * loop, and this runs for every task submitted. */
    for (int k = 0, w = p->next_try; k < p->n; k++, w = w + 1 == p->n ? 0 : w + 1) {
        uint64_t load = p->wr[w].sent - p->wr[w].consumed;
        if (p->w[w].pid > 0 && load < least) {
            best = w, least = load;
            if (load == 0)
                break;
        }
    }
    p->next_try = p->next_try + 1 == p->n ? 0 : p->next_try + 1;
    return best;
}

/* Put one record into worker w's task ring (ring_pick() found room) and ring its bell,
 * which costs a system call only if the worker said it sleeps. */
static void ring_send(struct procpool *p, int w, const struct task_rec *rec)
{
    struct wring *r = &p->wr[w];
    CHECK(r->sent - r->consumed < RING_CAP);
    memcpy(shmring_cell(r->tasks, r->sent), rec, sizeof *rec);
    r->sent++;
    shmring_publish(r->tasks, 1);
    doorbell_ring(r->bell);
}

/* Move records from the backlog's head into worker w's task ring: as many as it has room
 * for, but no more than a fair share of the backlog (so that the other workers get some),
 * published with one store and one look at the doorbell. */
static void ring_send_run(struct procpool *p, int w)
{
    struct wring *r = &p->wr[w];
    size_t share = p->backlog.len / (size_t)p->n + 1, n;
    uint64_t room = RING_CAP - (r->sent - r->consumed), moved = 0;
    while (moved < room && moved < share && p->backlog.len > 0) {
        const struct task_rec *run = backlog_run(&p->backlog, &n);
        memcpy(shmring_cell(r->tasks, r->sent), run, sizeof *run);
        r->sent++, moved++;
        backlog_consume(&p->backlog, 1);
    }
    shmring_publish(r->tasks, moved);
    doorbell_ring(r->bell);
}

/* Read every result waiting in every worker's result ring; returns how many. */
static uint64_t drain_rings(struct procpool *p)
{
    uint64_t total = 0;
    for (int w = 0; w < p->n; w++) {
        struct wring *r = &p->wr[w];
        uint64_t n = shmring_ready(r->results);
        for (uint64_t i = 0; i < n; i++) {
            struct result_rec rec;
            memcpy(&rec, shmring_cell(r->results, r->consumed + i), sizeof rec);
            handle_result(p, &rec);
        }
        shmring_consume(r->results, n);
        r->consumed += n;
        total += n;
    }
    return total;
}

/* Anything in any result ring? With seq_cst loads: the parent's re-check after it armed
 * its doorbell (see shmring.h). */
static int rings_ready_sc(struct procpool *p)
{
    for (int w = 0; w < p->n; w++)
        if (shmring_ready_sc(p->wr[w].results) > 0)
            return 1;
    return 0;
}

/* Worker w has died and is reaped, its results read: fail the tasks it had taken, hand
 * the ones it had not taken to the backlog (they go to another worker, keeping their
 * numbers), and say how many it had taken. */
static uint64_t ring_account_dead(struct procpool *p, int w, int status, pid_t pid)
{
    struct wring *r = &p->wr[w];
    uint64_t taken = atomic_load_explicit(&r->tasks->head, memory_order_acquire), failed = 0;
    struct procpool_result res = { .state = PROCPOOL_CRASHED, .wstatus = status,
                                   .worker = w, .pid = pid };
    for (uint64_t pos = r->consumed; pos < taken; pos++) {
        const struct task_rec *rec = shmring_cell(r->tasks, pos);
        if (rec->kind == REC_TASK)
            finish(p, rec->seq, &res), failed++;
    }
    for (uint64_t pos = taken; pos < r->sent; pos++) {
        const struct task_rec *rec = shmring_cell(r->tasks, pos);
        if (rec->kind == REC_TASK)
            backlog_push(&p->backlog, rec);
    }
    r->sent = r->consumed = 0;          /* nothing of it is in flight any more */
    return failed;
}

/* Read every result waiting in the pipe, without blocking. */
static void drain_results(struct procpool *p)
{
    if (p->ring) {
        drain_rings(p);
        return;
    }
    struct result_rec buf[PIPE_BUF / sizeof(struct result_rec)];
    for (;;) {
        ssize_t r = read(p->result_r, buf, sizeof buf);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;
        if (r == -1)
            die_errno("read");
        if (r == 0)
            return;
        CHECK(r % (ssize_t)sizeof *buf == 0);
        for (ssize_t i = 0; i < r / (ssize_t)sizeof *buf; i++)
            handle_result(p, &buf[i]);
    }
}

static void enqueue(struct procpool *p, uint32_t kind, procpool_fn fn, int64_t arg,
                    struct procpool_task *t);

/* [snippet:reap] */
/* Worker w has ended (its pidfd said so). Reap it; fail what it held; replace it. */
static void reap_worker(struct procpool *p, int w)
{
    int status;
    xwaitpid(p->w[w].pid, &status, 0);
    close(p->w[w].pidfd);
    pid_t pid = p->w[w].pid;
    p->w[w].pid = 0;
    drain_results(p);                 /* whatever it managed to put counts as done */

    uint64_t lo, hi;
    unsigned state = slot_read(&p->sh->slots[w], &lo, &hi);
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char how[128];
    describe_status(status, how, sizeof how);
    if (p->ring) {
        uint64_t failed = ring_account_dead(p, w, status, pid);
        if (failed > 0)
            pool_log(p, "worker %d (pid %d) %s while running %llu task(s)\n", w, (int)pid,
                     how, (unsigned long long)failed);
        else if (!clean)
            pool_log(p, "worker %d (pid %d) %s while idle\n", w, (int)pid, how);
    } else if (state == SLOT_RUNNING || (state == SLOT_TAKING && hi > lo)) {
        struct procpool_result r = { .state = PROCPOOL_CRASHED, .wstatus = status,
                                     .worker = w, .pid = pid };
        for (uint64_t seq = lo; seq < hi; seq++)
            finish(p, seq, &r);
        pool_log(p, "worker %d (pid %d) %s while running task record #%llu\n", w, (int)pid,
                 how, (unsigned long long)lo);
    } else if (state == SLOT_TAKING) {
        /* It died holding the take lock, perhaps right after read(): send a probe record
         * so that some worker reads past the spot and the gap check can speak. */
        p->lost_wstatus = status;
        enqueue(p, REC_PROBE, NULL, 0, NULL);
        if (!clean)
            pool_log(p, "worker %d (pid %d) %s while taking a task\n", w, (int)pid, how);
    } else if (!clean) {
        pool_log(p, "worker %d (pid %d) %s while idle\n", w, (int)pid, how);
    }
    if (clean && !p->stopping)
        p->stats.retired++;
    if (!clean)
        p->stats.crashed++;
    if (p->stopping || p->terminated)
        return;
    start_worker(p, w);               /* Python: _repopulate_pool() */
    pool_log(p, "worker %d (pid %d) %s; started pid %d in its place\n", w, (int)pid,
             clean ? "retired" : "replaced", (int)p->w[w].pid);
}
/* [/snippet:reap] */

/* ---- the parent: the task backlog and the event loop ------------------------------- */

/* Write as much of the backlog as the task pipe takes now (it is non-blocking), at most
 * PIPE_BUF bytes per write so that each write is whole. */
static void flush_backlog(struct procpool *p)
{
    while (p->ring && p->backlog.len > 0) {     /* the ring transport: a worker with room */
        int w = ring_pick(p);
        if (w < 0)
            return;
        ring_send_run(p, w);
    }
    while (p->backlog.len > 0 && p->task_w >= 0) {
        size_t n;
        const void *run = backlog_run(&p->backlog, &n);   /* up to where the ring wraps */
        if (n > PIPE_BUF / sizeof(struct task_rec))
            n = PIPE_BUF / sizeof(struct task_rec);
        ssize_t r = write(p->task_w, run, n * sizeof(struct task_rec));
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EAGAIN)
            return;                   /* full: poll() tells us when there is room */
        if (r == -1)
            die_errno("write");
        CHECK((size_t)r == n * sizeof(struct task_rec));
        backlog_consume(&p->backlog, n);
    }
}

/* Number a record and send it; a task's handle t is filed under its number first, since
 * sending may read results (drain_rings) and so move the ring's oldest number on.
 * Ring transport: a ring counts as full until the parent has read the results of its
 * tasks, and a caller submitting many tasks before its first get() would otherwise see
 * every ring full after a few hundred, queue the rest in the backlog (growing memory it
 * must then fault in) and leave the workers idle until that get(). So when no ring has
 * room, or older records still wait in the backlog (order is kept), read the results
 * that are there - a few loads, no system call - and move the backlog on first. */
static void enqueue(struct procpool *p, uint32_t kind, procpool_fn fn, int64_t arg,
                    struct procpool_task *t)
{
    uint64_t seq = seqring_add(&p->tasks);
    if (t)
        seqring_set(&p->tasks, t->seq = seq, t);
    struct task_rec rec = { .seq = seq, .fn = fn, .arg = arg, .kind = kind };
    int w = -1;
    if (p->ring && (p->backlog.len > 0 || (w = ring_pick(p)) < 0)) {
        drain_rings(p);                   /* the results that are there make room */
        flush_backlog(p);
        if (p->backlog.len == 0)
            w = ring_pick(p);
    }
    if (w >= 0)
        ring_send(p, w, &rec);            /* straight into a worker's ring */
    else
        backlog_push(&p->backlog, &rec);
    if (kind != REC_TASK)
        seqring_finish(&p->tasks, seq);   /* nothing waits on a sentinel or probe */
}

/* Ring transport: which workers have ended? One poll() over the pidfds, not waiting. */
static void look_for_deaths(struct procpool *p)
{
    struct pollfd fds[p->n];
    int map[p->n], nfds = 0;
    for (int i = 0; i < p->n; i++)
        if (p->w[i].pid > 0) {
            map[nfds] = i;
            fds[nfds++] = (struct pollfd){ .fd = p->w[i].pidfd, .events = POLLIN };
        }
    p->last_look = now_ns();
    int r = poll(fds, (nfds_t)nfds, 0);
    if (r == -1 && errno != EINTR)
        die_errno("poll");
    for (int i = 0; i < nfds && r > 0; i++)
        if (fds[i].revents)
            reap_worker(p, map[i]);
}

/* [snippet:ring_pump] */
/* The ring transport's pump: take the results that are there; if there are none, look a
 * few times (spinning if there is a CPU to spare, then yielding ours), then sleep on the
 * parent's doorbell - waiting for task number awaited - 1, or for any result when awaited
 * is 0 - until a worker rings it or at most PARENT_NAP_NS (a dead worker never rings:
 * the pidfds are polled after every sleep, and once a millisecond while results keep
 * coming). */
static void pump_ring(struct procpool *p, double timeout_s, uint64_t awaited)
{
    flush_backlog(p);
    uint64_t got = drain_rings(p);
    int64_t now = now_ns(), deadline = timeout_s < 0 ? INT64_MAX
                                     : now + (int64_t)(timeout_s * 1e9);
    for (int spins = 0; got == 0 && spins < p->spins && now_ns() < deadline; spins++) {
        spin_pause();
        got = drain_rings(p);
    }
    for (int yields = 0; got == 0 && yields < RING_YIELDS && now_ns() < deadline; yields++) {
        sched_yield();                 /* a worker on our CPU may be about to answer */
        got = drain_rings(p);
    }
    if (got == 0 && (now = now_ns()) < deadline) {
        atomic_store_explicit(&p->sh->awaited, awaited, memory_order_relaxed);
        unsigned seq = doorbell_arm(&p->sh->bell);     /* publishes awaited too */
        if (rings_ready_sc(p)) {
            doorbell_disarm(&p->sh->bell);
        } else {
            int64_t nap = deadline - now < PARENT_NAP_NS ? deadline - now : PARENT_NAP_NS;
            doorbell_wait(&p->sh->bell, seq, nap);
        }
        got = drain_rings(p);
    }
    if (got == 0 || now_ns() - p->last_look >= DEATH_LOOK_NS)
        look_for_deaths(p);
    flush_backlog(p);                  /* results made room; dead workers left tasks */
}
/* [/snippet:ring_pump] */

/* One round of the parent's work, waiting up to timeout_s, for task t if not NULL. */
static void pump(struct procpool *p, double timeout_s, const struct procpool_task *t)
{
    if (p->ring) {
        pump_ring(p, timeout_s, t ? t->seq + 1 : 0);
        return;
    }
    struct pollfd fds[2 + p->n];
    int map[2 + p->n], nfds = 0;
    map[0] = map[1] = -1;
    flush_backlog(p);
    size_t before = p->pending;
    drain_results(p);                 /* results already there: take them, and then */
    if (p->pending < before)          /* only look (not wait) for deaths and room */
        timeout_s = 0;
    fds[nfds++] = (struct pollfd){ .fd = p->result_r, .events = POLLIN };
    if (p->backlog.len > 0 && p->task_w >= 0)
        fds[nfds++] = (struct pollfd){ .fd = p->task_w, .events = POLLOUT };
    for (int i = 0; i < p->n; i++)
        if (p->w[i].pid > 0) {
            map[nfds] = i;
            fds[nfds++] = (struct pollfd){ .fd = p->w[i].pidfd, .events = POLLIN };
        }
    int ms = timeout_s < 0 ? -1 : (int)(timeout_s * 1000 + 0.999);
    int r = poll(fds, (nfds_t)nfds, ms);
    if (r == -1 && errno != EINTR)
        die_errno("poll");
    if (r <= 0)
        return;
    if (fds[0].revents)
        drain_results(p);
    for (int i = 1; i < nfds; i++) {
        if (fds[i].fd == p->task_w && fds[i].revents)
            flush_backlog(p);
        else if (fds[i].revents && fds[i].fd != p->task_w)
            reap_worker(p, map[i]);
    }
}

void procpool_pump(struct procpool *p, double timeout_s)
{
    pump(p, timeout_s, NULL);
}

/* ---- the API ---------------------------------------------------------------------- */

struct procpool *procpool_create(const struct procpool_opts *o)
{
    struct procpool *p = xcalloc(1, sizeof *p);
    p->n = o->workers > 0 ? o->workers : cpu_count();
    p->batch = o->batch > 0 ? (o->batch < MAX_BATCH ? o->batch : MAX_BATCH) : 1;
    p->max_tasks = o->max_tasks_per_child;
    p->log = o->log;
    seqring_init(&p->tasks, 1024);
    backlog_init(&p->backlog, sizeof(struct task_rec), 0);
    p->w = xcalloc((size_t)p->n, sizeof *p->w);

    p->sh_size = sizeof *p->sh + (size_t)p->n * sizeof(struct slot);
    p->sh = shared_map(p->sh_size);
    shared_mutex_init(&p->sh->take_lock);
    shared_mutex_init(&p->sh->put_lock);
    p->sh->next_seq = 0;

    if (o->transport == PROCPOOL_RING) {
        /* One mapping, made before any fork so every worker shares it: per worker a
         * doorbell, a task ring and a result ring, each on its own cache lines. */
        size_t tb = shmring_bytes(RING_CAP, sizeof(struct task_rec));
        size_t rb = shmring_bytes(RING_CAP, sizeof(struct result_rec));
        size_t per = sizeof(struct doorbell) + tb + rb;
        p->ring = 1;
        p->spins = cpu_count() > p->n ? RING_SPINS : 0;
        p->ring_map_size = (size_t)p->n * per;
        p->ring_map = shared_map(p->ring_map_size);
        p->wr = xcalloc((size_t)p->n, sizeof *p->wr);
        for (int i = 0; i < p->n; i++) {
            char *base = (char *)p->ring_map + (size_t)i * per;
            p->wr[i].bell = (struct doorbell *)base;
            p->wr[i].tasks = (struct shmring *)(base + sizeof(struct doorbell));
            p->wr[i].results = (struct shmring *)(base + sizeof(struct doorbell) + tb);
        }
        p->task_r = p->task_w = p->result_r = p->result_w = -1;
        for (int i = 0; i < p->n; i++)
            start_worker(p, i);
        return p;
    }

    /* O_CLOEXEC: a program the caller runs later must not inherit the pool's pipes. The
     * parent's ends are non-blocking: it never waits on a full or empty pipe, only in poll(). */
    int t[2], r[2];
    if (pipe2(t, O_CLOEXEC) == -1 || pipe2(r, O_CLOEXEC) == -1)
        die_errno("pipe2");
    p->task_r = t[0], p->task_w = t[1], p->result_r = r[0], p->result_w = r[1];
    if (fcntl(p->task_w, F_SETFL, O_NONBLOCK) == -1 ||
        fcntl(p->result_r, F_SETFL, O_NONBLOCK) == -1)
        die_errno("fcntl");
    for (int i = 0; i < p->n; i++)
        start_worker(p, i);
    return p;
}

static void submit_into(struct procpool *p, struct procpool_task *t, procpool_fn fn,
                        int64_t arg)
{
    if (p->closed || p->terminated)
        die_msg("procpool_submit: the pool is closed");
    *t = (struct procpool_task){ .pool = p, .seq = p->tasks.next,
                                 .r = { .state = PROCPOOL_PENDING, .worker = -1 } };
    p->pending++;
    enqueue(p, REC_TASK, fn, arg, t);
    if (p->backlog.len % (PIPE_BUF / sizeof(struct task_rec)) == 0)
        flush_backlog(p);                 /* each full write's worth: send it on its way */
}

struct procpool_task *procpool_submit(struct procpool *p, procpool_fn fn, int64_t arg)
{
    struct procpool_task *t = xmalloc(sizeof *t);
    submit_into(p, t, fn, arg);
    if (!p->ring)                 /* a ring takes it at once if it has room; else pump() */
        flush_backlog(p);         /* sends it when results have made some */
    return t;
}

int procpool_get(struct procpool_task *t, double timeout_s, struct procpool_result *r)
{
    int64_t deadline = 0;
    if (timeout_s >= 0 && t->r.state == PROCPOOL_PENDING)
        deadline = now_ns() + (int64_t)(timeout_s * 1e9);
    while (t->r.state == PROCPOOL_PENDING) {
        double left = timeout_s < 0 ? -1 : (double)(deadline - now_ns()) / 1e9;
        if (timeout_s >= 0 && left <= 0) {
            pump(t->pool, 0, t);              /* one last look at what has arrived */
            if (t->r.state == PROCPOOL_PENDING)
                return ETIMEDOUT;
            break;
        }
        pump(t->pool, left, t);
    }
    if (r)
        *r = t->r;
    return 0;
}

void procpool_task_free(struct procpool_task *t)
{
    if (t && t->r.state == PROCPOOL_PENDING)
        t->detached = 1;
    else
        free(t);
}

size_t procpool_map(struct procpool *p, procpool_fn fn, const int64_t *args, size_t n,
                    struct procpool_result *results)
{
    /* Keep at most `window` tasks submitted and not yet collected: the workers start on
     * the first ones while we submit the rest, and memory stays bounded however long the
     * input. Results are collected in input order, whatever order they end in. */
    size_t window = (size_t)p->n * (size_t)p->batch * 64, failed = 0, got = 0;
    struct procpool_task *ts = xcalloc(window, sizeof *ts);
    for (size_t i = 0; i < n || got < n;) {
        if (i < n && i - got < window) {
            submit_into(p, &ts[i % window], fn, args[i]);
            i++;
            continue;
        }
        procpool_get(&ts[got % window], -1, &results[got]);
        failed += results[got].state != PROCPOOL_DONE;
        got++;
    }
    free(ts);
    return failed;
}

void procpool_close(struct procpool *p)
{
    p->closed = 1;
}

void procpool_join(struct procpool *p)
{
    if (!p->closed && !p->terminated)
        die_msg("procpool_join: close or terminate the pool first");
    while (p->pending > 0)               /* every task finishes, one way or another */
        procpool_pump(p, -1);
    p->stopping = 1;                     /* from here on, dead workers are not replaced */
    for (int i = 0; i < p->n; i++) {
        if (p->ring && p->w[i].pid > 0) {    /* one sentinel into each worker's own ring */
            uint64_t seq = seqring_add(&p->tasks);
            seqring_finish(&p->tasks, seq);
            ring_send(p, i, &(struct task_rec){ .seq = seq, .kind = REC_SENTINEL });
        } else if (!p->ring) {
            enqueue(p, REC_SENTINEL, NULL, 0, NULL);
        }
    }
    flush_backlog(p);
    while (p->backlog.len > 0 && p->task_w >= 0 && !p->terminated)
        procpool_pump(p, -1);
    if (p->task_w >= 0) {                /* and end-of-file, for whoever missed a sentinel */
        close(p->task_w);
        p->task_w = -1;
    }
    for (;;) {
        int alive = 0;
        for (int i = 0; i < p->n; i++)
            alive += p->w[i].pid > 0;
        if (!alive)
            break;
        procpool_pump(p, -1);
    }
}

void procpool_terminate(struct procpool *p)
{
    p->terminated = p->closed = 1;
    for (int i = 0; i < p->n; i++)
        if (p->w[i].pid > 0 && kill(p->w[i].pid, SIGKILL) == -1)
            die_errno("kill");
    for (int i = 0; i < p->n; i++)
        if (p->w[i].pid > 0) {
            int status;
            xwaitpid(p->w[i].pid, &status, 0);
            close(p->w[i].pidfd);
            p->w[i].pid = 0;
        }
    drain_results(p);                     /* results put before the kill still count */
    struct procpool_result r = { .state = PROCPOOL_TERMINATED, .worker = -1 };
    for (uint64_t s = p->tasks.oldest; s < p->tasks.next; s++)
        finish(p, s, &r);
    backlog_consume(&p->backlog, p->backlog.len);
}

void procpool_free(struct procpool *p)
{
    if (!p)
        return;
    int alive = 0;
    for (int i = 0; i < p->n; i++)
        alive += p->w[i].pid > 0;
    if (alive)
        procpool_terminate(p);
    if (p->task_w >= 0)
        close(p->task_w);
    if (!p->ring) {
        close(p->task_r);
        close(p->result_r);
        close(p->result_w);
    } else {
        shared_unmap(p->ring_map, p->ring_map_size);
        free(p->wr);
    }
    shared_unmap(p->sh, p->sh_size);
    backlog_free(&p->backlog);
    seqring_free(&p->tasks);
    free(p->w);
    free(p);
}

int procpool_size(const struct procpool *p)
{
    return p->n;
}

pid_t procpool_worker_pid(const struct procpool *p, int w)
{
    return w >= 0 && w < p->n ? p->w[w].pid : 0;
}

/* Ring transport: worker w's task-ring positions [*lo, *hi): taken and not answered. The
 * result ring's tail first: it never passes the head, so the range read is never upside
 * down. */
static void ring_running(const struct procpool *p, int w, uint64_t *lo, uint64_t *hi)
{
    *lo = atomic_load_explicit(&p->wr[w].results->tail, memory_order_acquire);
    *hi = atomic_load_explicit(&p->wr[w].tasks->head, memory_order_acquire);
}

int procpool_busy(const struct procpool *p)
{
    int busy = 0;
    uint64_t lo, hi;
    for (int i = 0; i < p->n && p->ring; i++) {
        ring_running(p, i, &lo, &hi);
        busy += p->w[i].pid > 0 && lo < hi;
    }
    for (int i = 0; i < p->n && !p->ring; i++)
        busy += p->w[i].pid > 0 && slot_read(&p->sh->slots[i], &lo, &hi) == SLOT_RUNNING;
    return busy;
}

int procpool_worker_of(const struct procpool_task *t)
{
    const struct procpool *p = t->pool;
    uint64_t lo, hi;
    for (int i = 0; i < p->n && p->ring; i++) {
        ring_running(p, i, &lo, &hi);
        for (uint64_t pos = lo; p->w[i].pid > 0 && pos < hi; pos++)
            if (((const struct task_rec *)shmring_cell(p->wr[i].tasks, pos))->seq == t->seq)
                return i;
    }
    for (int i = 0; i < p->n && !p->ring; i++) {
        if (p->w[i].pid > 0 && slot_read(&p->sh->slots[i], &lo, &hi) == SLOT_RUNNING &&
            t->seq >= lo && t->seq < hi)
            return i;
    }
    return -1;
}

struct procpool_stats procpool_stats(const struct procpool *p)
{
    return p->stats;
}

void procpool_kill_worker(struct procpool *p, int w, int sig)
{
    pid_t pid = p->w[w].pid;
    if (pid <= 0)
        return;
    if (kill(pid, sig) == -1)
        die_errno("kill");
    while (p->w[w].pid == pid)           /* until reap_worker() has dealt with it */
        procpool_pump(p, -1);
}
