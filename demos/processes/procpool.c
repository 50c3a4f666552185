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
 */
#include "procpool.h"
#include "procpool_ring.h"
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
    pid_t parent = getpid();
    fflush(NULL);                        /* the child must not inherit unwritten output */
    pid_t pid = xfork();
    if (pid == 0) {
        /* Keep only the worker's ends: with the task pipe's write end closed here, the
         * worker sees end-of-file once the parent closes its own. */
        if (p->task_w >= 0)
            close(p->task_w);
        close(p->result_r);
        for (int i = 0; i < p->n; i++)
            if (p->w[i].pid > 0)
                close(p->w[i].pidfd);
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
    struct procpool_result r = {
        .state = rec->kind == RES_DONE ? PROCPOOL_DONE : PROCPOOL_ERROR,
        .value = rec->value, .error = rec->error, .worker = rec->worker, .pid = rec->pid,
        .start_ns = rec->start_ns, .end_ns = rec->end_ns,
    };
    finish(p, rec->seq, &r);
}

/* Read every result waiting in the pipe, without blocking. */
static void drain_results(struct procpool *p)
{
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

static void enqueue(struct procpool *p, uint32_t kind, procpool_fn fn, int64_t arg);

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
    if (state == SLOT_RUNNING || (state == SLOT_TAKING && hi > lo)) {
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
        enqueue(p, REC_PROBE, NULL, 0);
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

static void enqueue(struct procpool *p, uint32_t kind, procpool_fn fn, int64_t arg)
{
    uint64_t seq = seqring_add(&p->tasks);
    backlog_push(&p->backlog, &(struct task_rec){ .seq = seq, .fn = fn, .arg = arg,
                                                  .kind = kind });
    if (kind != REC_TASK)
        seqring_finish(&p->tasks, seq);   /* nothing waits on a sentinel or probe */
}

void procpool_pump(struct procpool *p, double timeout_s)
{
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
    enqueue(p, REC_TASK, fn, arg);
    seqring_set(&p->tasks, t->seq, t);
    p->pending++;
    if (p->backlog.len % (PIPE_BUF / sizeof(struct task_rec)) == 0)
        flush_backlog(p);                 /* each full write's worth: send it on its way */
}

struct procpool_task *procpool_submit(struct procpool *p, procpool_fn fn, int64_t arg)
{
    struct procpool_task *t = xmalloc(sizeof *t);
    submit_into(p, t, fn, arg);
    flush_backlog(p);
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
            procpool_pump(t->pool, 0);        /* one last look at what has arrived */
            if (t->r.state == PROCPOOL_PENDING)
                return ETIMEDOUT;
            break;
        }
        procpool_pump(t->pool, left);
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
    for (int i = 0; i < p->n; i++)
        enqueue(p, REC_SENTINEL, NULL, 0);
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
    close(p->task_r);
    close(p->result_r);
    close(p->result_w);
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

int procpool_busy(const struct procpool *p)
{
    int busy = 0;
    uint64_t lo, hi;
    for (int i = 0; i < p->n; i++)
        busy += p->w[i].pid > 0 && slot_read(&p->sh->slots[i], &lo, &hi) == SLOT_RUNNING;
    return busy;
}

int procpool_worker_of(const struct procpool_task *t)
{
    const struct procpool *p = t->pool;
    uint64_t lo, hi;
    for (int i = 0; i < p->n; i++) {
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
