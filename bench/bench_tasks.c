/* bench_tasks.c - a distributed task queue on one machine: this chapter's broker, Redis
 *                  Streams, Redis lists and seed 000's BaseManager design in Python
 *
 * One source, three benches (bench/CMakeLists.txt builds it three times with TASKS_BENCH):
 *   tasks          tasks/s against the number of workers (1, 2, 4, 8; quick mode 1, 2, 4),
 *                  each backend at prefetch 1 and prefetch 64 (a worker takes up to that
 *                  many tasks per request and returns their results and acks in one step).
 *                  The run: a fresh backend, W `worker` processes connected to it, then
 *                  `master --quiet --tasks N`; tasks/s = N / (time from starting the master
 *                  to its "done:" line), so the master's own connecting and putting count,
 *                  as they do for a user. The Python design has no prefetch: one series,
 *                  bench/peers/taskq_manager.py, timed from its first put to its last result.
 *   tasks_latency  one task end to end, p50 and p99 in microseconds: put one task, wait for
 *                  its result, repeat (this bench is the client, through taskq.h), one
 *                  worker at prefetch 1. What a lone request waits for when nothing queues.
 *   tasks_journal  the broker's tasks/s at prefetch 64 with 2 workers, without a journal
 *                  and with --journal at --fsync never, batch and always: what durability
 *                  costs. The journal lives under /var/tmp, usually a disk (/tmp may be
 *                  tmpfs, where fsync costs nothing).
 * Every run starts its own backend on a free loopback port in a temporary folder (the
 * broker with a fresh key, redis-server with --save '' --appendonly no) and stops it and
 * the workers by pid; each child gets a signal when the bench dies (end_with_parent), so
 * a killed bench leaves no process behind (and its folder, which it could not remove, is
 * removed by the next run). The programs' stderr goes to a log in that folder,
 * shown when a run fails. The master checks its results (sum of squares against the
 * expected); a wrong sum fails the run. Missing redis-server, a build without a Redis
 * backend, or no python3: those series say "skipped".
 */
#include "core.h"
#include "harness.h"
#include "server_target.h"
#include "spawn_capture.h"
#include "auth.h"
#include "taskq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THROUGHPUT 0        /* TASKS_BENCH: which of the three benches this build is */
#define LATENCY 1
#define JOURNAL 2
#ifndef TASKS_BENCH
#define TASKS_BENCH THROUGHPUT
#endif

#define MAX_WORKERS 8
#define JOURNAL_WORKERS 2
#define WAIT_NS (10 * 1000000000LL)        /* a backend or a result silent this long: failed */
/* The URL scheme of the Redis lists backend (BLMOVE into a processing list). */
#define REDIS_LISTS_SCHEME "redis-lists"

enum kind { BROKER, REDIS_STREAMS, REDIS_LISTS, PYTHON };

/* One series: everything run() needs to know about a variant, so nothing re-reads the
 * variant's name. */
struct series {
    const char *variant;
    enum kind kind;
    int prefetch;              /* the workers' --prefetch (0: Python, no such thing) */
    const char *fsync;         /* the broker's --fsync with a journal; NULL: no journal */
};

static const struct series series[] = {
#if TASKS_BENCH == THROUGHPUT
    { "broker-p1", BROKER, 1, NULL },          { "broker-p64", BROKER, 64, NULL },
    { "redis-streams-p1", REDIS_STREAMS, 1, NULL },
    { "redis-streams-p64", REDIS_STREAMS, 64, NULL },
    { "redis-lists-p1", REDIS_LISTS, 1, NULL }, { "redis-lists-p64", REDIS_LISTS, 64, NULL },
    { "python-manager", PYTHON, 0, NULL },
#elif TASKS_BENCH == LATENCY
    { "broker", BROKER, 1, NULL },             { "redis-streams", REDIS_STREAMS, 1, NULL },
    { "redis-lists", REDIS_LISTS, 1, NULL },   { "python-manager", PYTHON, 0, NULL },
#else
    { "no-journal", BROKER, 64, NULL },        { "fsync-never", BROKER, 64, "never" },
    { "fsync-batch", BROKER, 64, "batch" },    { "fsync-always", BROKER, 64, "always" },
#endif
};
#define NSERIES (sizeof series / sizeof series[0])

static long tasks_flag = 0;                  /* --tasks: N per run; 0: by mode */

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--tasks"))
        return 0;
    tasks_flag = parse_long(name, value, 1, 10000000);
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const long steps[] = { 1, 2, 4, 8 };
    size_t n = 0, nsteps = o->full ? 4 : 3;
    for (size_t s = 0; s < NSERIES; s++) {
        if (TASKS_BENCH == LATENCY && n < max)
            pts[n++] = (struct bench_point){ .variant = series[s].variant, .x = 1,
                                             .kind = (int)s };
        else if (TASKS_BENCH == JOURNAL && n < max)
            pts[n++] = (struct bench_point){ .variant = series[s].variant,
                                             .x = JOURNAL_WORKERS, .kind = (int)s };
        for (size_t i = 0; TASKS_BENCH == THROUGHPUT && i < nsteps && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = series[s].variant,
                                             .x = (double)steps[i], .kind = (int)s };
    }
    return n;
}

/* Tasks per run: the --tasks flag, else 100 000 in full mode and 5 000 in quick mode (the
 * latency bench: round trips, 2 000 and 300); the Python design is much slower, so it
 * gets a fifth of them. */
static long tasks_per_run(const struct bench_opts *o, enum kind kind)
{
    long n = tasks_flag ? tasks_flag
           : TASKS_BENCH == LATENCY ? (o->full ? 2000 : 300) : (o->full ? 100000 : 5000);
    return kind == PYTHON && !tasks_flag ? (n / 5 > 0 ? n / 5 : 1) : n;
}

/* ---- one run's world: a folder, a backend, workers ---------------------------------- */

struct world {
    char dir[64];                    /* the temporary folder: key, journal, log */
    char log[PATH_MAX];              /* every child's stderr, appended */
    char key[PATH_MAX];
    char url[128];
    struct target backend;           /* the broker or redis-server (pid, port) */
    struct target workers[MAX_WORKERS];
    int nworkers;
    struct taskq *q;                 /* this bench's own client of the backend */
};

/* In a child before exec: its stderr appended to the world's log (arg). */
static void stderr_to_log(void *arg)
{
    int fd = open(arg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
        die_child_errno(arg);
}

/* After a failure: the last lines the children wrote, so the bench's log says why. */
static void show_log(const struct world *w)
{
    char buf[2048];
    int fd = open(w->log, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    ssize_t n = pread(fd, buf, sizeof buf - 1, end > (off_t)sizeof buf - 1
                                                   ? end - (off_t)sizeof buf + 1 : 0);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        fprintf(stderr, "tasks: the programs' last words (%s):\n%s", w->log, buf);
    }
}

/* Start `program` (built beside this bench) or, with path NULL, argv[0] from PATH, its
 * stderr into the log. Returns 0, or SPAWN_MISSING (errno set). */
static int start_child(struct world *w, char *const argv[], int out, int death_signal,
                       struct spawn *s)
{
    char path[PATH_MAX];
    struct spawn_opts so = { .file = argv[0], .death_signal = death_signal, .out = out,
                             .child_setup = stderr_to_log, .arg = w->log };
    if (strchr(argv[0], '/') == NULL && strcmp(argv[0], "redis-server"))
        so.file = sibling_program(argv[0], path, sizeof path);
    return spawn_start(s, argv, &so);
}

/* Read the broker's "listening on ADDR:PORT" line from fd; the port, or -1 after
 * WAIT_NS or end of file. */
static int read_listening_port(int fd)
{
    char buf[512];
    size_t len = 0;
    int64_t deadline = now_ns() + WAIT_NS;
    while (len < sizeof buf - 1 && now_ns() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            return -1;
        buf[len += (size_t)r] = '\0';
        char *line = strstr(buf, "listening on "), *colon;
        if (line && strchr(line, '\n') && (colon = strrchr(line, ':')) != NULL)
            return atoi(colon + 1);
    }
    return -1;
}

/* The broker, with a fresh key (and a journal when the series has an fsync mode). */
static int start_broker(struct world *w, const struct series *s)
{
    char err[256], journal[PATH_MAX];
    auth_init();
    if (auth_make_key(w->key, err, sizeof err) == -1) {
        fprintf(stderr, "tasks: %s\n", err);
        return -1;
    }
    snprintf(journal, sizeof journal, "%s/journal", w->dir);
    /* Without a journal the list ends at the NULL after the key. */
    char *argv[] = { "broker", "--listen", "127.0.0.1:0", "--key", w->key,
                     s->fsync ? "--journal" : NULL, journal, "--fsync", (char *)s->fsync,
                     NULL };
    struct spawn sp;
    if (start_child(w, argv, SPAWN_PIPE, SIGTERM, &sp) == SPAWN_MISSING) {
        fprintf(stderr, "tasks: cannot run broker: %s\n", strerror(errno));
        return -1;
    }
    w->backend.pid = sp.pid;
    w->backend.port = read_listening_port(sp.out_fd);
    close(sp.out_fd);                 /* it prints nothing else on stdout */
    if (w->backend.port <= 0) {
        /* Exit 2 is a refused flag: a broker built without the journal refuses --journal. */
        int status = 0;
        kill(sp.pid, SIGKILL);
        xwaitpid(sp.pid, &status, 0);
        w->backend.pid = 0;
        int refused = s->fsync && WIFEXITED(status) && WEXITSTATUS(status) == 2;
        fprintf(stderr, "tasks: the broker did not say where it listens%s\n",
                refused ? ": it refused --journal, so the journal series are skipped" : "");
        return refused ? 1 : -1;
    }
    snprintf(w->url, sizeof w->url, "tcp://127.0.0.1:%d", w->backend.port);
    return 0;
}

/* redis-server on a free loopback port, nothing saved, its log in the world's log. */
static int start_redis(struct world *w, const struct series *s)
{
    char port[16];
    w->backend.port = free_port();
    snprintf(port, sizeof port, "%d", w->backend.port);
    char *argv[] = { "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", w->dir, "--logfile", w->log,
                     "--loglevel", "warning", NULL };
    struct spawn sp;
    if (start_child(w, argv, SPAWN_NULL, SIGTERM, &sp) == SPAWN_MISSING) {
        fprintf(stderr, "tasks: redis-server: %s - the Redis series are skipped\n",
                strerror(errno));
        return 1;
    }
    w->backend.pid = sp.pid;
    for (int64_t deadline = now_ns() + WAIT_NS; !can_connect(w->backend.port); ) {
        int gone = waitpid(sp.pid, NULL, WNOHANG) == sp.pid;
        if (gone || now_ns() > deadline) {
            if (!gone) {
                kill(sp.pid, SIGKILL);
                xwaitpid(sp.pid, NULL, 0);
            }
            w->backend.pid = 0;           /* reaped: nothing left to stop */
            fprintf(stderr, "tasks: redis-server did not start listening\n");
            return -1;
        }
        sleep_ns(10000000);
    }
    snprintf(w->url, sizeof w->url, "%s://127.0.0.1:%d",
             s->kind == REDIS_LISTS ? REDIS_LISTS_SCHEME : "redis", w->backend.port);
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* Stop the workers and the backend by pid (SIGTERM, SIGKILL after 5 s) and remove the
 * folder, showing the programs' log first if the run `failed` or one of them did not end
 * cleanly. Returns 0, or -1 in the second case (said on stderr). */
static int world_close(struct world *w, int failed)
{
    int bad = 0;
    if (w->q)
        taskq_close(w->q);
    /* All at once: each worker notices the signal at the end of its current wait. */
    for (int i = 0; i < w->nworkers; i++)
        kill(w->workers[i].pid, SIGTERM);
    for (int i = 0; i < w->nworkers; i++)
        if (target_stop(&w->workers[i]) != 0) {
            fprintf(stderr, "tasks: worker %d did not stop cleanly on SIGTERM\n", i);
            bad = 1;
        }
    if (w->backend.pid > 0 && target_stop(&w->backend) != 0) {
        fprintf(stderr, "tasks: the backend did not stop cleanly on SIGTERM\n");
        bad = 1;
    }
    if (bad || failed)
        show_log(w);
    nftw(w->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    return bad ? -1 : 0;
}

/* A bench killed by a signal cannot remove its folder; the next run does: every
 * /var/tmp/bench-tasks-PID-* whose PID is no longer running. */
static void remove_stale_folders(void)
{
    DIR *d = opendir("/var/tmp");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        int pid;
        if (sscanf(e->d_name, "bench-tasks-%d-", &pid) != 1 || pid <= 0 ||
            (kill(pid, 0) == 0 || errno != ESRCH))
            continue;
        snprintf(path, sizeof path, "/var/tmp/%s", e->d_name);
        nftw(path, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    }
    if (d)
        closedir(d);
}

/* A folder, the series' backend, and this bench's own connection to it. Returns 0; 1 when
 * the series cannot run here (said on stderr: skip); -1 on failure. Either way the world
 * is closed with world_close(). */
static int world_open(struct world *w, const struct series *s)
{
    memset(w, 0, sizeof *w);
    remove_stale_folders();
    snprintf(w->dir, sizeof w->dir, "/var/tmp/bench-tasks-%d-XXXXXX", (int)getpid());
    if (!mkdtemp(w->dir))
        die_errno("mkdtemp");
    snprintf(w->log, sizeof w->log, "%s/programs.log", w->dir);
    snprintf(w->key, sizeof w->key, "%s/taskq.key", w->dir);
    int r = s->kind == BROKER ? start_broker(w, s) : start_redis(w, s);
    if (r != 0)
        return r;
    char err[256];
    struct taskq_opts qo = { .url = w->url, .key_file = w->key, .name = "bench" };
    w->q = taskq_open(&qo, err, sizeof err);
    if (!w->q) {
        int missing = strstr(err, "no backend") != NULL;
        fprintf(stderr, "tasks: %s%s\n", err, missing ? " - this series is skipped" : "");
        return missing ? 1 : -1;
    }
    return 0;
}

/* W workers at the series' prefetch, named bench-w0.. Returns 0 or -1. */
static int start_workers(struct world *w, const struct series *s, int n)
{
    char prefetch[16], name[32];
    snprintf(prefetch, sizeof prefetch, "%d", s->prefetch);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "bench-w%d", i);
        char *argv[] = { "worker", "--backend", w->url, "--key", w->key,
                         "--prefetch", prefetch, "--name", name, NULL };
        struct spawn sp;
        if (start_child(w, argv, SPAWN_NULL, SIGKILL, &sp) == SPAWN_MISSING) {
            fprintf(stderr, "tasks: cannot run worker: %s\n", strerror(errno));
            return -1;
        }
        w->workers[w->nworkers++] = (struct target){ .pid = sp.pid };
    }
    return 0;
}

/* How many TCP connections to the backend on 127.0.0.1:port are open now: /proc/net/tcp's
 * established sockets (state 01) whose *remote* port is `port`, the clients' ends. The same
 * count for every backend, whatever its own statistics say (Redis Streams counts a
 * consumer only once it has read something). Not the server's ends: the server's end of
 * a readiness probe the bench has already closed stays established until the server gets
 * round to closing it, and on a busy machine that is later than the count is taken. */
static int connections_to(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        die_errno("/proc/net/tcp");
    char line[256];
    unsigned rport, state;
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, " %*u: %*x:%*x %*x:%x %x", &rport, &state) == 2 &&
            (int)rport == port && state == 1)
            n++;
    fclose(f);
    return n;
}

/* Start n workers, then wait until the backend holds n more connections than before (each
 * worker connected), so the master's clock does not include the workers' start. Returns
 * 0, or -1 after WAIT_NS (said on stderr). */
static int start_workers_connected(struct world *w, const struct series *s, int n)
{
    int before = connections_to(w->backend.port);
    if (start_workers(w, s, n) == -1)
        return -1;
    for (int64_t deadline = now_ns() + WAIT_NS; connections_to(w->backend.port) < before + n; ) {
        if (now_ns() > deadline) {
            fprintf(stderr, "tasks: %d of %d workers connected after 10 s\n",
                    connections_to(w->backend.port) - before, n);
            return -1;
        }
        sleep_ns(1000000);               /* polling a count, 1 ms apart */
    }
    return 0;
}

/* Wait (up to `limit` ns) for a complete line starting with "done: " from fd into buf.
 * Returns 1 when it came, 0 at end of file or the limit. */
static int read_done_line(int fd, char *buf, size_t size, int64_t limit)
{
    size_t len = 0;
    int64_t deadline = now_ns() + limit;
    buf[0] = '\0';
    while (now_ns() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (len + 1 >= size)             /* keep the tail: the done line comes last */
            memmove(buf, buf + len / 2, len - len / 2 + 1), len -= len / 2;
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r <= 0)
            return 0;
        buf[len += (size_t)r] = '\0';
        char *done = strstr(buf, "done: ");
        if (done && strchr(done, '\n'))
            return 1;
    }
    return 0;
}

/* `master --quiet --tasks n` against the world's backend: *seconds from starting it to its
 * "done:" line. Returns 0, or -1 when it failed or its sums differ (said on stderr). */
static int run_master(struct world *w, long n, double *seconds)
{
    char tasks[24], out[4096];
    snprintf(tasks, sizeof tasks, "%ld", n);
    char *argv[] = { "master", "--backend", w->url, "--key", w->key, "--tasks", tasks,
                     "--quiet", NULL };
    struct spawn sp;
    int64_t t0 = now_ns();
    if (start_child(w, argv, SPAWN_PIPE, SIGKILL, &sp) == SPAWN_MISSING) {
        fprintf(stderr, "tasks: cannot run master: %s\n", strerror(errno));
        return -1;
    }
    /* A generous limit (a hang guard): 60 s plus 1 ms a task. */
    int got = read_done_line(sp.out_fd, out, sizeof out, WAIT_NS * 6 + n * 1000000LL);
    *seconds = (double)(now_ns() - t0) / 1e9;
    if (!got)
        kill(sp.pid, SIGKILL);
    int status;
    char rest[256], how[128];
    spawn_finish(&sp, rest, sizeof rest, &status);
    unsigned long long results = 0, dups, sum = 0, expected = 1;
    const char *done = strstr(out, "done: ");
    if (done && sscanf(done, "done: %llu results, %llu duplicates ignored, sum of squares "
                       "%llu (expected %llu)", &results, &dups, &sum, &expected) != 4)
        results = 0;
    if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || results != (unsigned long long)n
        || sum != expected) {
        fprintf(stderr, "tasks: master %s; its last line: %s\n",
                describe_status(status, how, sizeof how), done ? done : "(no done: line)");
        return -1;
    }
    return 0;
}

/* One task at a time through the world's backend, this bench as the client: put it, wait
 * for its result, n times after 20 untimed ones; p50 and p99 of put-to-result in us.
 * Returns 0 or -1 (said on stderr). */
static int run_latency(struct world *w, long n, double *p50, double *p99)
{
    enum { WARM = 20 };
    double *lat = xcalloc((size_t)n, sizeof *lat);
    struct taskq_batch b = { 0 };
    const char *bad = NULL;
    for (long i = -WARM; i < n && !bad; i++) {
        char payload[64];                  /* "TASKID N WORK_MS", as the master writes */
        long id = i + WARM;
        int idlen = snprintf(payload, sizeof payload, "%ld", id);
        snprintf(payload + idlen, sizeof payload - (size_t)idlen, " %ld 0", 1 + id * 7919 % 10000);
        struct taskq_item item = { payload, strlen(payload) };
        int64_t t0 = now_ns();
        int got = taskq_put(w->q, "tasks", &item, 1) != 0 ? -1
                : taskq_get(w->q, "results", 1, (int)(WAIT_NS / 1000000), 0, &b);
        if (i >= 0)
            lat[i] = (double)(now_ns() - t0) / 1e3;
        if (got == -1)
            bad = taskq_error(w->q);
        else if (got == 0)
            bad = "no result within 10 s";
        else if (b.tasks[0].len <= (size_t)idlen || memcmp(b.tasks[0].data, payload, (size_t)idlen)
                 || b.tasks[0].data[idlen] != ' ')
            bad = "a result for another task";
        else if (taskq_ack(w->q, "results", b.tasks, 1) != 0)
            bad = taskq_error(w->q);
    }
    if (bad)
        fprintf(stderr, "tasks: latency: %s\n", bad);
    else {
        *p50 = median(lat, (int)n);        /* sorts lat */
        *p99 = lat[n * 99 / 100 < n ? n * 99 / 100 : n - 1];
    }
    taskq_batch_free(&b);
    free(lat);
    return bad ? -1 : 0;
}

/* The value after "KEY " on a line of text, or -1 when there is none. */
static double value_of(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line)
        if (!strncmp(line, key, klen) && line[klen] == ' ')
            return atof(line + klen + 1);
    return -1;
}

/* bench/peers/taskq_manager.py: tasks/s (values[0]), or p50 and p99 (values[0..1]) in
 * latency mode. Returns 0, 1 (Python or the peer missing: skip) or -1. */
static int run_python(const struct bench_opts *o, long n, int workers, double *values)
{
    char tasks[24], nworkers[16];
    snprintf(tasks, sizeof tasks, "%ld", n);
    snprintf(nworkers, sizeof nworkers, "%d", workers);
    const char *mode = TASKS_BENCH == LATENCY ? "latency" : "throughput";
    const char *args[] = { "--mode", mode, "--tasks", tasks, "--workers", nworkers, NULL };
    if (TASKS_BENCH != LATENCY)
        return bench_peer_value(o, args, "tasks_per_s", &values[0]);
    if (bench_peer_missing(o))
        return 1;
    /* Two values from one run: bench_peer_value() reads one, so read the output here. */
    char *argv[] = { (char *)o->python, (char *)o->peer, "--mode", "latency", "--tasks", tasks,
                     "--workers", nworkers, NULL };
    static char out[1 << 14];
    struct spawn_opts so = { .err = SPAWN_PIPE };
    int status;
    char how[128];
    if (spawn_capture(argv, &so, out, sizeof out, &status) == SPAWN_MISSING) {
        fprintf(stderr, "cannot run %s (%s) - its Python points are skipped\n", o->python,
                strerror(errno));
        return 1;
    }
    values[0] = value_of(out, "p50_us");
    values[1] = value_of(out, "p99_us");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || values[0] < 0 || values[1] < 0) {
        fprintf(stderr, "%s %s: %s; it said:\n%s", o->python, o->peer,
                describe_status(status, how, sizeof how), out);
        return -1;
    }
    return 0;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    const struct series *s = &series[p->kind];
    int workers = (int)p->x;
    long n = tasks_per_run(o, s->kind);
    if (s->kind == PYTHON)
        return run_python(o, n, workers, values);

    struct world w;
    double seconds = 0;
    int r = world_open(&w, s);
    if (r == 0)
        r = start_workers_connected(&w, s, workers);
    if (r == 0 && TASKS_BENCH == LATENCY)
        r = run_latency(&w, n, &values[0], &values[1]);
    else if (r == 0)
        r = run_master(&w, n, &seconds);
    if (world_close(&w, r < 0) != 0 && r == 0)
        r = -1;
    if (r == 0 && TASKS_BENCH != LATENCY)
        values[0] = (double)n / seconds;
    return r;
}

static const struct bench_def def = {
#if TASKS_BENCH == LATENCY
    .name = "tasks_latency",
    .x_name = "workers",
    .x_unit = "workers",
    .usage =
        "tasks_latency (bench) - one task end to end (put, a worker squares it, the result\n"
        "                        back), p50 and p99: the broker, Redis Streams, Redis lists\n"
        "                        and seed 000's BaseManager design in Python\n"
        "\n"
        "Usage: bench_tasks_latency [--tasks N] [--peers DIR] [--python PATH] [common flags]\n"
        "  --tasks N   round trips per run (default 300, full mode 2000)\n",
    .metrics = { { "p50_us", "us" }, { "p99_us", "us" } },
#elif TASKS_BENCH == JOURNAL
    .name = "tasks_journal",
    .x_name = "workers",
    .x_unit = "workers",
    .usage =
        "tasks_journal (bench) - the broker's tasks/s (2 workers, prefetch 64) without a\n"
        "                        journal and with --journal at --fsync never, batch, always\n"
        "\n"
        "Usage: bench_tasks_journal [--tasks N] [common flags]\n"
        "  --tasks N   tasks per run (default 5000, full mode 100000)\n",
    .metrics = { { "tasks_per_s", "tasks/s" } },
#else
    .name = "tasks",
    .x_name = "workers",
    .x_unit = "workers",
    .usage =
        "tasks (bench) - tasks/s against workers (1, 2, 4; full mode 8 too), prefetch 1 and\n"
        "                64: the broker, Redis Streams, Redis lists, and seed 000's\n"
        "                BaseManager design in Python\n"
        "\n"
        "Usage: bench_tasks [--tasks N] [--peers DIR] [--python PATH] [common flags]\n"
        "  --tasks N   tasks per run (default 5000, full mode 100000; Python a fifth)\n",
    .metrics = { { "tasks_per_s", "tasks/s" } },
#endif
#if TASKS_BENCH != JOURNAL
    .peer = "taskq_manager.py",
#endif
#if TASKS_BENCH == THROUGHPUT
    .default_repeats_quick = 1,             /* 21 points: keep quick mode short */
#else
    .default_repeats_quick = 3,
#endif
    .default_repeats_full = 3,
    .ignore_sigpipe = 1,                    /* a backend that vanished: EPIPE, not death */
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
