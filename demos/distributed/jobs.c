/* jobs.c - seed 002's job scheduler on the task queue: submit jobs, run them on workers,
 *          list and watch their states (queued, running, done, failed, dead-lettered)
 *
 * Usage:    jobs submit [--backend URL] [--key F] [--user U] [--] COMMAND...
 *           jobs work   [--backend URL] [--key F] [--name NAME] [--allow-commands]
 *                       [--lease-ms MS] [--exit-when-idle MS]
 *           jobs list   [--backend URL] [--key F] [--json]
 *           jobs watch  [--backend URL] [--key F] [--interval-ms MS] [--until-idle]
 * Observe:  a job is a line of text on the queue "jobs": an id made by the submitter, the
 *           user, when, and the command. A worker takes one, holds it on a lease it renews
 *           while the job runs, and when it is over acks it and puts a record on "jobs.done"
 *           in one step (taskq_finish): a job is never both queued and done. `jobs list`
 *           needs no scheduler process of its own: the queues are the state. A job on
 *           "jobs" is queued, or running (leased to a worker); "jobs.dead" holds the jobs
 *           the queue gave up on; "jobs.done" is the record of every finished one.
 * Commands: a worker runs only its built-in jobs unless started with --allow-commands:
 *           `square N`, `sleep MS`, `fail` (exit status 1) and `crash [N]` (the WORKER
 *           aborts while the job's attempt is <= N, default 1: the queue sees a worker die
 *           mid-job and hands the job to another). Anything else is refused with "commands
 *           are off on this worker". With --allow-commands it goes to /bin/sh -c: whoever
 *           can submit (anyone with the key) then runs code on every such worker, as anyone
 *           with seed 002's authkey could make the master unpickle code of their choosing.
 * Try:      broker &   (then, in other terminals)
 *           jobs watch
 *           jobs work --name w1      and      jobs work --name w2 --allow-commands
 *           jobs submit square 12;  jobs submit sleep 3000;  jobs submit fail
 *           jobs submit crash       (w1 or w2 dies; restart it; the other one finishes it)
 *           jobs submit -- uname -a (refused by w1, run by w2)
 *           broker --max-deliveries 2, then jobs submit crash 9: dead-lettered
 * Python:   docs/seeds.md#seed-002: a Job class (an id, with "room for status, command,
 *           user"), a master that put pickled jobs on a BaseManager queue and printed the
 *           finished ones, slaves in other terminals that took and ran them. What it got
 *           wrong: no states but "on the queue" and "gone"; a slave that died took its job
 *           with it (no lease, no ack), and no dead-letter queue stops a job that kills
 *           every worker it meets; the payloads were pickles, so anyone with the authkey
 *           could run code on every slave.
 * See also: docs/distributed/jobs.md, taskq.h (the queue interface), worker.c (seed 000's
 *           master and workers on the same queues)
 */
#include "client.h"
#include "core.h"
#include "shared.h"
#include "taskq.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "jobs - a job scheduler on the task queue: submit, work, list, watch\n"
    "\n"
    "Usage: jobs submit [--backend URL] [--key FILE] [--user U] [--] COMMAND...\n"
    "       jobs work   [--backend URL] [--key FILE] [--name NAME] [--allow-commands]\n"
    "                   [--lease-ms MS] [--exit-when-idle MS]\n"
    "       jobs list   [--backend URL] [--key FILE] [--json]\n"
    "       jobs watch  [--backend URL] [--key FILE] [--interval-ms MS] [--until-idle]\n"
    "  --user U            who submits (default $USER, else the uid's name)\n"
    "  --allow-commands    run commands other than the built-ins with /bin/sh -c\n"
    "  --lease-ms MS       how long a job stays ours without a renewal (default 30000);\n"
    "                      the worker renews every MS/3 while the job runs\n"
    "  --exit-when-idle MS exit 0 once no job has come for MS ms\n"
    "  --json              one JSON object per job instead of the table\n"
    "  --interval-ms MS    how often watch asks (default 500)\n"
    "  --until-idle        watch exits 0 once no job is queued or running\n"
    "and, for every subcommand:\n"
    CLIENT_USAGE
    "Built-in jobs: square N, sleep MS, fail (exit status 1), crash [N] (the worker aborts\n"
    "while the attempt is <= N, default 1). The arguments of COMMAND are joined by spaces.\n"
    "Exit status: 0 done, 1 the backend failed or was lost, 2 a bad flag.\n";

#define JOBS_QUEUE "jobs"
#define DONE_QUEUE "jobs.done"       /* nothing consumes it: it is the record */
#define COMMAND_MAX 4000             /* bytes of a job's command line */
#define FIELD_MAX 128                /* bytes of a user or worker name */
#define OUTPUT_MAX 200               /* bytes of a command's first line that we keep */
#define CAPTURE_MAX 4096             /* bytes of a command's output we read before dropping */
#define LIST_MAX 100000              /* entries asked of each queue by list and watch */

/* --- the job and its record, as text -------------------------------------------------------
 *
 * A job:    job1 TAB ID TAB USER TAB SUBMITTED TAB COMMAND
 * A record: done1 TAB ID TAB USER TAB SUBMITTED TAB STATE TAB WORKER TAB STATUS TAB ATTEMPTS
 *           TAB COMMAND TAB OUTPUT
 * SUBMITTED is microseconds since the epoch (the wall clock: a date, not an interval), so
 * `jobs list` can show jobs in the order they were submitted whichever queue they are on.
 * STATE is done or failed; STATUS "exit 0", "signal 9" or "not run". The first field names
 * the format and its version. Text, not a pickle: a worker parses it and runs nothing it
 * was not told to. No field holds a tab or a newline: submit refuses them, and a worker
 * turns them into spaces in the output it records. */

/* Split s at tabs in place into at most max fields; returns how many there were. */
static size_t split_tabs(char *s, char **f, size_t max)
{
    size_t n = 0;
    for (;;) {
        if (n < max)
            f[n] = s;
        n++;
        char *tab = strchr(s, '\t');
        if (!tab)
            return n;
        *tab = '\0';
        s = tab + 1;
    }
}

/* A payload as a NUL-terminated copy (NULL if it holds a NUL byte: not ours). */
static char *payload_copy(const unsigned char *data, size_t len)
{
    if (memchr(data, '\0', len))
        return NULL;
    char *s = xmalloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

static int has_tab_or_newline(const char *s) { return strpbrk(s, "\t\n\r") != NULL; }

/* Make s printable ASCII in place: control bytes and bytes >= 0x80 become '?', tabs ' '. */
static void printable(char *s)
{
    for (; *s; s++)
        if (*s == '\t')
            *s = ' ';
        else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/* A decimal number within [min, max] from all of s; 0, or -1 if it is not one. A job's
 * argument is input from the queue, not a flag: a bad one fails the job, not the worker. */
static int number(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    int starts_right = s[0] == '-' || (s[0] >= '0' && s[0] <= '9');   /* no space, no '+' */
    if (!starts_right || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* --- submit --------------------------------------------------------------------------------- */

/* The submitting user: --user, else $USER, else the name of our uid. */
static const char *default_user(void)
{
    const char *u = getenv("USER");
    if (u && *u)
        return u;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

/* A job id: "j" and 8 hex digits from the kernel's random generator. The client makes it,
 * not the backend, so it stays the same on every queue the job passes through and on
 * either backend; 32 random bits make a clash unlikely for a course's few thousand jobs. */
static void new_job_id(char *id, size_t size)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        die_errno("getrandom");
    snprintf(id, size, "j%08" PRIx32, r);
}

static long long wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The COMMAND words joined by spaces (as ssh does), checked: no tabs or newlines. */
static void join_command(char *cmd, size_t size, int n, char **words)
{
    size_t len = 0;
    cmd[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (has_tab_or_newline(words[i]))
            usage_error("a job's command may not hold a tab or a newline");
        int w = snprintf(cmd + len, size - len, "%s%s", i ? " " : "", words[i]);
        if (w < 0 || (size_t)w >= size - len)
            usage_error("the command is longer than %d bytes", COMMAND_MAX);
        len += (size_t)w;
    }
}

static int submit_main(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_OPTIONS,
        { "user", required_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    struct client c;
    client_defaults(&c);
    const char *user = default_user();
    int opt;
    while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1)
        if (opt == 'u')
            user = optarg;
        else
            client_flag(&c, opt, optarg, usage_text);
    if (optind >= argc)
        usage_error("submit needs a COMMAND (e.g. jobs submit square 7)");
    if (!*user || strlen(user) >= FIELD_MAX || strpbrk(user, " \t\n\r"))
        usage_error("--user: '%s' is not a user name (no spaces, at most %d bytes)", user,
                    FIELD_MAX - 1);
    char cmd[COMMAND_MAX + 1], id[16], job[COMMAND_MAX + 2 * FIELD_MAX];
    join_command(cmd, sizeof cmd, argc - optind, argv + optind);
    if (cmd[strspn(cmd, " ")] == '\0')
        usage_error("submit needs a COMMAND, not only spaces");
    new_job_id(id, sizeof id);
    int len = snprintf(job, sizeof job, "job1\t%s\t%s\t%lld\t%s", id, user, wall_us(), cmd);

    struct taskq *q = client_open(&c);
    struct taskq_item item = { job, (size_t)len };
    int r = taskq_put(q, JOBS_QUEUE, &item, 1);
    if (r == TASKQ_FULL)
        die_msg("the queue '%s' is full (the backend's --max-queue): try again later",
                JOBS_QUEUE);
    if (r == -1)
        client_lost(q);
    taskq_close(q);
    printf("submitted %s\n", id);
    return 0;
}

/* --- work: run one job ---------------------------------------------------------------------- */

struct worker {
    struct taskq *q;
    const char *name;
    int allow_commands;
    int lease_ms;
    unsigned long done, failed;
};

/* How a job ended: what goes into its record. */
struct outcome {
    int ok;                       /* done (1) or failed (0) */
    char status[32];              /* "exit 0", "signal 9", "not run" */
    char output[OUTPUT_MAX];      /* the first line it printed, printable */
};

static void failed(struct outcome *o, const char *status, const char *output)
{
    o->ok = 0;
    snprintf(o->status, sizeof o->status, "%s", status);
    snprintf(o->output, sizeof o->output, "%s", output);
}

/* A built-in that went well: status "exit 0" and its output. */
static void __attribute__((format(printf, 2, 3))) succeeded(struct outcome *o, const char *fmt,
                                                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    o->ok = 1;
    snprintf(o->status, sizeof o->status, "exit 0");
    vsnprintf(o->output, sizeof o->output, fmt, ap);
    va_end(ap);
}

/* What running a job can come to, besides a finished outcome (0). */
enum { RAN = 0, STOPPED = 1, NOT_BUILTIN = 2, LOST = -1 };

/* Renew the lease on t when its time has come (a third of the lease, so two renewals can be
 * late before the queue gives the job to someone else). RAN, or LOST with the backend. */
static int keep_lease(struct worker *w, const struct taskq_task *t, int64_t *next)
{
    if (now_ns() < *next)
        return RAN;
    if (taskq_renew(w->q, JOBS_QUEUE, t, 1, w->lease_ms) == -1)
        return LOST;
    *next = now_ns() + (int64_t)w->lease_ms * 1000000 / 3;
    return RAN;
}

static int64_t first_renewal(const struct worker *w)
{
    return now_ns() + (int64_t)w->lease_ms * 1000000 / 3;
}

/* The built-in `sleep MS`: sleep in pieces, renewing the lease between them, and stop early
 * if we are told to (nanosleep, unlike sleep_ns(), returns at a signal). */
static int builtin_sleep(struct worker *w, const struct taskq_task *t, long ms,
                         struct outcome *o)
{
    int64_t end = now_ns() + (int64_t)ms * 1000000, next = first_renewal(w);
    while (!client_stop && now_ns() < end) {
        int64_t ns = (next < end ? next : end) - now_ns();
        struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
        if (ns > 0)
            nanosleep(&ts, NULL);
        if (keep_lease(w, t, &next) == LOST)
            return LOST;
    }
    if (client_stop)
        return STOPPED;
    succeeded(o, "slept %ld ms", ms);
    return RAN;
}

/* The built-in `crash`: the worker itself dies, as a worker with a bug would, holding the
 * job. Nothing is acked, so the queue delivers the job again (at once on the broker, which
 * sees the connection close; when the lease runs out on Redis). */
static noreturn void crash_now(const struct worker *w, const char *id, uint32_t attempt)
{
    fprintf(stderr, "%s: %s: job %s, attempt %" PRIu32 ": crash: this worker aborts now\n",
            prog_name, w->name, id, attempt);
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);          /* no core file for a crash we asked for */
    abort();
}

/* Run cmd if it is a built-in job: RAN (o says how it went), STOPPED, LOST or NOT_BUILTIN.
 * A command is a built-in when all of it reads as one ("square 7", not "square 7; rm x"),
 * whatever the worker's flags, so `sleep 500` means milliseconds on every worker; with
 * --allow-commands anything else goes to the shell ("sleep 2; echo hi" sleeps seconds). */
static int run_builtin(struct worker *w, const struct taskq_task *t, const char *id,
                       const char *cmd, struct outcome *o)
{
    char word[16];
    int end = 0;
    if (sscanf(cmd, "%15s%n", word, &end) != 1)
        return NOT_BUILTIN;
    const char *arg = cmd + end + strspn(cmd + end, " ");
    long n = 1;
    if (strcmp(word, "square") == 0 && number(arg, -3037000499L, 3037000499L, &n) == 0) {
        succeeded(o, "%ld", n * n);                 /* |n| <= 3037000499: n*n fits */
    } else if (strcmp(word, "sleep") == 0 && number(arg, 0, 86400000, &n) == 0) {
        return builtin_sleep(w, t, n, o);
    } else if (strcmp(word, "fail") == 0 && !*arg) {
        failed(o, "exit 1", "failed on purpose");
    } else if (strcmp(word, "crash") == 0 && (!*arg || number(arg, 0, 1000000, &n) == 0)) {
        if (t->deliveries <= (uint32_t)n)
            crash_now(w, id, t->deliveries);
        succeeded(o, "attempt %" PRIu32 " got past the crash", t->deliveries);
    } else {
        return NOT_BUILTIN;
    }
    return RAN;
}

/* The guard: the worker's child that runs a command. PR_SET_PDEATHSIG reaches one
 * generation only: if we exec'd /bin/sh straight away, a killed worker would take the
 * shell with it but not what the shell started (`sleep 30; echo done` forks sleep). So the
 * child stays our code: it asks to get SIGTERM when the worker dies, starts the shell as
 * the leader of a process group of its own, and when the worker dies (or asks it to stop)
 * it kills the whole group. It also kills what the command left running in its group when
 * the shell ends: a job is over when its command is. It exits the way the shell did. A
 * process that leaves the group on purpose (setsid) escapes it: a real scheduler puts each
 * job in a cgroup (systemd-run --scope) or a PID namespace. */
/* [snippet:guard] */
static noreturn void guard(const char *cmd, pid_t worker, int out_w)
{
    sigset_t wait_for, old;
    sigemptyset(&wait_for);
    sigaddset(&wait_for, SIGTERM);
    sigaddset(&wait_for, SIGINT);
    sigaddset(&wait_for, SIGCHLD);
    sigprocmask(SIG_BLOCK, &wait_for, &old);   /* taken by sigwaitinfo() below */
    end_with_parent(worker, SIGTERM);
    /* Keep nothing of the worker's but the output pipe: not its connection to the queue,
     * which the command must not inherit and which must close when the worker dies. */
    if (dup2(out_w, 3) == -1 || close_range(4, ~0U, 0) == -1)
        die_child_errno("close_range");
    out_w = 3;
    pid_t sh = fork();
    if (sh == -1)
        die_child_errno("fork");
    if (sh == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);  /* a blocked mask would survive exec */
        int null = open("/dev/null", O_RDONLY);
        if (null == -1 || dup2(null, 0) == -1 || dup2(out_w, 1) == -1 || dup2(out_w, 2) == -1)
            die_child_errno("dup2");
        close(out_w);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        die_child_errno("/bin/sh");
    }
    setpgid(sh, sh);                           /* here too: whichever of us runs first */
    close(out_w);
    int status = 0;
    for (;;) {
        int sig = sigwaitinfo(&wait_for, NULL);
        if (sig == SIGCHLD && waitpid(sh, &status, WNOHANG) == sh)
            break;
        if (sig == SIGTERM || sig == SIGINT)
            kill(-sh, SIGKILL);
    }
    kill(-sh, SIGKILL);
    if (WIFSIGNALED(status))
        die_of_signal(WTERMSIG(status));
    _exit(WEXITSTATUS(status));
}
/* [/snippet:guard] */

/* Keep the first line of what the command printed (at most CAPTURE_MAX bytes read into
 * buf, the rest read and dropped so the command never blocks on a full pipe). Returns 0 at
 * end of file, 1 when the pipe is empty for now. */
static int drain(int fd, char *buf, size_t *len)
{
    for (;;) {
        char sink[4096];
        int full = *len + 1 >= CAPTURE_MAX;
        ssize_t got = full ? read(fd, sink, sizeof sink)
                           : read(fd, buf + *len, CAPTURE_MAX - 1 - *len);
        if (got == 0)
            return 0;
        if (got == -1 && (errno == EINTR || errno == EAGAIN))
            return 1;
        if (got == -1)
            die_errno("read");
        if (!full)
            *len += (size_t)got;
    }
}

/* Wait for the guard g to end, collecting output from out_r and renewing the lease. A
 * pidfd (Linux 5.3) tells us when g has ended, in the same poll() as its output. */
static int wait_command(struct worker *w, const struct taskq_task *t, pid_t g, int out_r,
                        char *buf, size_t *len, int *status)
{
    int pidfd = (int)syscall(SYS_pidfd_open, g, 0);
    if (pidfd == -1)
        die_errno("pidfd_open");
    if (fcntl(out_r, F_SETFL, O_NONBLOCK) == -1)
        die_errno("fcntl");
    int64_t next = first_renewal(w);
    int eof = 0, stopping = 0, r = RAN;
    for (;;) {
        struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { eof ? -1 : out_r, POLLIN, 0 } };
        int64_t ms = (next - now_ns()) / 1000000;
        int n = poll(p, 2, ms < 0 ? 0 : (int)ms + 1);
        if (n == -1 && errno != EINTR)
            die_errno("poll");
        if (client_stop && !stopping) {
            stopping = 1;
            kill(g, SIGTERM);                   /* the guard kills the command's group */
        }
        if (!eof && n > 0 && p[1].revents)
            eof = drain(out_r, buf, len) == 0;
        if (n > 0 && p[0].revents)
            break;
        if (r == RAN && keep_lease(w, t, &next) == LOST) {
            r = LOST;                           /* no use finishing what we cannot report */
            kill(g, SIGTERM);
        }
    }
    if (!eof)
        drain(out_r, buf, len);                 /* what was written before it ended */
    buf[*len] = '\0';
    close(pidfd);
    xwaitpid(g, status, 0);
    return r == LOST ? LOST : stopping ? STOPPED : RAN;
}

/* Run cmd with /bin/sh -c through a guard (above), renewing the job's lease while it
 * runs. RAN (o holds its status and first line of output), STOPPED or LOST. */
static int run_command(struct worker *w, const struct taskq_task *t, const char *cmd,
                       struct outcome *o)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) == -1)
        die_errno("pipe2");
    pid_t worker = getpid();
    fflush(NULL);                               /* nothing buffered is written twice */
    pid_t g = xfork();
    if (g == 0) {
        close(out[0]);
        guard(cmd, worker, out[1]);
    }
    close(out[1]);
    char buf[CAPTURE_MAX];
    size_t len = 0;
    int status;
    int r = wait_command(w, t, g, out[0], buf, &len, &status);
    close(out[0]);
    if (r != RAN)
        return r;
    buf[strcspn(buf, "\n")] = '\0';
    printable(buf);
    o->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (WIFEXITED(status))
        snprintf(o->status, sizeof o->status, "exit %d", WEXITSTATUS(status));
    else
        snprintf(o->status, sizeof o->status, "signal %d", WTERMSIG(status));
    size_t keep = strlen(buf) < sizeof o->output ? strlen(buf) : sizeof o->output - 1;
    memcpy(o->output, buf, keep);
    o->output[keep] = '\0';
    return RAN;
}

/* Ack the job and put its record on "jobs.done" in one step (taskq_finish): a crash
 * between two separate calls could leave a job acked with no record, or recorded and
 * then run again. f holds the job's fields. RAN, or LOST. */
/* [snippet:finish] */
static int finish_job(struct worker *w, const struct taskq_task *t, char **f,
                      const struct outcome *o)
{
    char rec[COMMAND_MAX + OUTPUT_MAX + 4 * FIELD_MAX];
    int len = snprintf(rec, sizeof rec, "done1\t%s\t%s\t%s\t%s\t%s\t%s\t%" PRIu32 "\t%s\t%s",
                       f[1], f[2], f[3], o->ok ? "done" : "failed", w->name, o->status,
                       t->deliveries, f[4], o->output);
    CHECK(len > 0 && (size_t)len < sizeof rec);    /* run_job() checked the field sizes */
    struct taskq_item item = { rec, (size_t)len };
    int64_t next = first_renewal(w);
    int r, said = 0;
    /* Nothing takes records off jobs.done, so on a broker with --max-queue it can fill:
     * then we hold the job (renewing its lease) until there is room. */
    while ((r = taskq_finish(w->q, JOBS_QUEUE, t, 1, DONE_QUEUE, &item, 1)) == TASKQ_FULL) {
        if (!said++)
            fprintf(stderr, "%s: %s: '%s' is full; holding job %s until it has room\n",
                    prog_name, w->name, DONE_QUEUE, f[1]);
        sleep_ns(100 * 1000000);
        if (keep_lease(w, t, &next) == LOST)
            return LOST;
    }
    return r == -1 ? LOST : RAN;
}
/* [/snippet:finish] */

/* Take one delivered task: parse the job, run it (built-in, command, or refused), finish
 * it. A task that is not a job is nacked: after max-deliveries the queue dead-letters it.
 * Returns 0, or -1 when the backend is lost. */
static int run_job(struct worker *w, const struct taskq_task *t)
{
    char *s = payload_copy(t->data, t->len), *f[5];
    if (!s || split_tabs(s, f, 5) != 5 || strcmp(f[0], "job1") != 0 || strlen(f[1]) > 32 ||
        strlen(f[2]) >= FIELD_MAX || strlen(f[3]) > 20 || strlen(f[4]) > COMMAND_MAX) {
        fprintf(stderr, "%s: %s: task %s is not a job: nacked\n", prog_name, w->name, t->id);
        free(s);
        return taskq_nack(w->q, JOBS_QUEUE, t, 1);
    }
    printf("%s: job %s (attempt %" PRIu32 "): %s\n", w->name, f[1], t->deliveries, f[4]);
    struct outcome o = { 0 };
    int r = run_builtin(w, t, f[1], f[4], &o);
    if (r == NOT_BUILTIN && w->allow_commands)
        r = run_command(w, t, f[4], &o);
    else if (r == NOT_BUILTIN) {
        /* Seed 002's slave ran whatever the master's queue held; ours does not. */
        failed(&o, "not run", "commands are off on this worker; start it with "
               "--allow-commands");
        r = RAN;
    }
    if (r == RAN)
        r = finish_job(w, t, f, &o);
    if (r == RAN) {
        printf("%s: job %s %s, %s: %s\n", w->name, f[1], o.ok ? "done" : "failed", o.status,
               o.output);
        if (o.ok)
            w->done++;
        else
            w->failed++;
    } else if (r == STOPPED) {
        /* Told to stop: give the job back now rather than when the lease runs out. */
        printf("%s: job %s stopped and handed back\n", w->name, f[1]);
        r = taskq_nack(w->q, JOBS_QUEUE, t, 1) == -1 ? LOST : RAN;
    }
    free(s);
    return r == LOST ? -1 : 0;
}

/* Take jobs one at a time until told to stop, or until none has come for idle_ms (if
 * >= 0). The wait for a job is cut into pieces of at most a second so a stop request is
 * seen soon (the signal handler restarts the backend's blocking calls). 0 or 1. */
static int work_loop(struct worker *w, long idle_ms)
{
    struct taskq_batch b = { 0 };
    int64_t idle_since = now_ns();
    int rc = 0;
    while (!client_stop) {
        int64_t idle = (now_ns() - idle_since) / 1000000;
        long wait = idle_ms < 0 || idle_ms - idle > 1000 ? 1000 : idle_ms - idle;
        int n = taskq_get(w->q, JOBS_QUEUE, 1, wait < 0 ? 0 : (int)wait, w->lease_ms, &b);
        if (n == -1 && client_stop)
            break;
        if (n == -1 || (n == 1 && run_job(w, &b.tasks[0]) == -1)) {
            fprintf(stderr, "%s: %s: %s (a job we held will be delivered again)\n", prog_name,
                    w->name, taskq_error(w->q));
            rc = 1;
            break;
        }
        if (n == 1)
            idle_since = now_ns();
        else if (idle_ms >= 0 && (now_ns() - idle_since) / 1000000 >= idle_ms)
            break;
    }
    taskq_batch_free(&b);
    return rc;
}

static int work_main(int argc, char **argv)
{
    static const struct option opts[] = {
        CLIENT_OPTIONS,
        { "allow-commands", no_argument, NULL, 'a' },
        { "lease-ms", required_argument, NULL, 'l' },
        { "exit-when-idle", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    struct client c;
    client_defaults(&c);
    struct worker w = { .lease_ms = 30000 };
    long idle_ms = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': w.allow_commands = 1; break;
        case 'l': w.lease_ms = (int)parse_long("--lease-ms", optarg, 30, 3600000); break;
        case 'i': idle_ms = parse_long("--exit-when-idle", optarg, 0, 86400000); break;
        default:  client_flag(&c, opt, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    /* The name goes into records and the table: a field without tabs or spaces. */
    if (strlen(c.name) >= FIELD_MAX || strpbrk(c.name, " \t\n\r"))
        usage_error("--name: '%s' is not a worker name (no spaces, at most %d bytes)",
                    c.name, FIELD_MAX - 1);
    w.name = c.name;
    setvbuf(stdout, NULL, _IOLBF, 0);          /* one line per event, also into a pipe */
    client_catch_stops();
    w.q = client_open(&c);
    printf("%s: waiting for jobs (commands %s)\n", w.name, w.allow_commands ? "on" : "off");
    int rc = work_loop(&w, idle_ms);
    taskq_close(w.q);
    printf("%s: %lu done, %lu failed\n", w.name, w.done, w.failed);
    return rc;
}

/* --- list and watch ------------------------------------------------------------------------- */

/* One line of the table: a job where it is now. Strings point into buf or worker. */
struct row {
    char *buf;                   /* the payload, split in place */
    const char *id, *user, *state, *command, *status, *output;
    char worker[128];
    long long submitted;         /* µs since the epoch: the table's order */
    size_t seq;                  /* the order the backend listed it in, for ties */
    uint32_t attempts;
    int record;                  /* from "jobs.done" */
};

struct table {
    struct row *r;
    size_t n, cap;
    size_t queued, running;      /* jobs not yet over: watch --until-idle waits for none */
};

static struct row *table_add(struct table *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        struct row *r = realloc(t->r, t->cap * sizeof *r);
        if (!r)
            die_errno("realloc");
        t->r = r;
    }
    struct row *r = &t->r[t->n];
    *r = (struct row){ .seq = t->n, .id = "?", .user = "?", .command = "", .status = "",
                       .output = "" };
    t->n++;
    return r;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->r[i].buf);
    free(t->r);
    *t = (struct table){ 0 };
}

/* A row for an entry of "jobs" (queued or running) or of "jobs.dead". A payload that is not
 * a job (someone put bytes on our queue) is shown as it is, made printable. */
static void add_job(struct table *t, const struct taskq_entry *e)
{
    struct row *r = table_add(t);
    char *f[5];
    r->attempts = e->deliveries;
    r->state = e->state == TASKQ_READY ? "queued" : e->state == TASKQ_LEASED ? "running"
                                                                            : "dead-lettered";
    snprintf(r->worker, sizeof r->worker, "%s", e->state == TASKQ_LEASED ? e->consumer : "-");
    r->buf = payload_copy(e->data, e->len);
    if (r->buf && split_tabs(r->buf, f, 5) == 5 && strcmp(f[0], "job1") == 0) {
        r->id = f[1], r->user = f[2], r->submitted = atoll(f[3]), r->command = f[4];
    } else if (r->buf) {
        printable(r->buf);
        r->command = r->buf;
    }
}

/* A row for a record on "jobs.done". */
static void add_record(struct table *t, const struct taskq_entry *e)
{
    struct row *r = table_add(t);
    char *f[10];
    snprintf(r->worker, sizeof r->worker, "-");
    r->state = "?";
    r->record = 1;
    r->buf = payload_copy(e->data, e->len);
    if (!r->buf || split_tabs(r->buf, f, 10) != 10 || strcmp(f[0], "done1") != 0) {
        if (r->buf)
            printable(r->buf), r->command = r->buf;
        return;
    }
    r->id = f[1], r->user = f[2], r->submitted = atoll(f[3]), r->state = f[4];
    snprintf(r->worker, sizeof r->worker, "%s", f[5]);
    r->status = f[6], r->attempts = (uint32_t)strtoul(f[7], NULL, 10);
    r->command = f[8], r->output = f[9];
}

static int by_id(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->record - y->record;
}

static int by_submission(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->submitted != y->submitted)
        return x->submitted < y->submitted ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The two queues are read one after the other, not in one snapshot: a job a worker
 * finishes in between is seen running on "jobs" and again done on "jobs.done" (read
 * second, so a job is never missed). Its record wins: drop the job's rows from "jobs" when
 * it has one. A job can have two records, if its lease ran out while it ran and another
 * worker ran it again (at least once): both stay. Then count what is not over yet. */
static void table_settle(struct table *t)
{
    qsort(t->r, t->n, sizeof *t->r, by_id);
    size_t kept = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct row *r = &t->r[i];
        int superseded = !r->record && strcmp(r->id, "?") != 0 && i + 1 < t->n &&
                         t->r[i + 1].record && strcmp(t->r[i + 1].id, r->id) == 0;
        if (superseded) {
            free(r->buf);
            continue;
        }
        t->queued += strcmp(r->state, "queued") == 0;
        t->running += strcmp(r->state, "running") == 0;
        t->r[kept++] = *r;
    }
    t->n = kept;
    qsort(t->r, t->n, sizeof *t->r, by_submission);
}

/* Read every job's state from the queues into t: "jobs" (with its dead letters), then
 * "jobs.done". Nothing is taken: taskq_inspect() only looks. 0, or -1 (taskq_error). */
static int table_read(struct taskq *q, struct table *t)
{
    struct taskq_entries es = { 0 };
    int r = taskq_inspect(q, JOBS_QUEUE, LIST_MAX, &es);
    for (size_t i = 0; r == 0 && i < es.n; i++)
        add_job(t, &es.e[i]);
    if (r == 0)
        r = taskq_inspect(q, DONE_QUEUE, LIST_MAX, &es);
    for (size_t i = 0; r == 0 && i < es.n; i++)
        if (es.e[i].state != TASKQ_DEAD)
            add_record(t, &es.e[i]);
    taskq_entries_free(&es);
    table_settle(t);
    return r;
}

/* The COMMAND/RESULT column: the command, and for a finished job how it ended. */
static void result_text(const struct row *r, char *buf, size_t size)
{
    if (!*r->status)
        snprintf(buf, size, "%s", r->command);
    else
        snprintf(buf, size, "%s => %s%s%s", r->command, r->status, *r->output ? ": " : "",
                 r->output);
}

/* The table, columns as wide as their widest cell, and a line of totals. */
static void table_print(FILE *out, const struct table *t)
{
    int wid = 2, wuser = 4, wstate = 5, wworker = 6;
    for (size_t i = 0; i < t->n; i++) {
        const struct row *r = &t->r[i];
        int a = (int)strlen(r->id), b = (int)strlen(r->user), c = (int)strlen(r->state),
            d = (int)strlen(r->worker);
        wid = a > wid ? a : wid, wuser = b > wuser ? b : wuser;
        wstate = c > wstate ? c : wstate, wworker = d > wworker ? d : wworker;
    }
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %8s  %s\n", wid, "ID", wuser, "USER", wstate, "STATE",
            wworker, "WORKER", "ATTEMPTS", "COMMAND/RESULT");
    size_t done = 0, failed = 0, dead = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct row *r = &t->r[i];
        char what[COMMAND_MAX + OUTPUT_MAX + 64];
        result_text(r, what, sizeof what);
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %8" PRIu32 "  %s\n", wid, r->id, wuser, r->user,
                wstate, r->state, wworker, r->worker, r->attempts, what);
        done += strcmp(r->state, "done") == 0;
        failed += strcmp(r->state, "failed") == 0;
        dead += strcmp(r->state, "dead-lettered") == 0;
    }
    fprintf(out, "%zu jobs: %zu queued, %zu running, %zu done, %zu failed, %zu dead-lettered\n",
            t->n, t->queued, t->running, done, failed, dead);
}

/* s as a JSON string (the fields are printable text, made so by the worker, but a user's
 * command may hold quotes, backslashes or UTF-8). */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    fputc('"', out);
}

/* One JSON object per line, for scripts (and tests) that should not parse the table. */
static void table_json(FILE *out, const struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct row *r = &t->r[i];
        const char *keys[] = { "id", "user", "state", "worker", "command", "status", "output" };
        const char *vals[] = { r->id, r->user, r->state, r->worker, r->command, r->status,
                               r->output };
        fputc('{', out);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            fprintf(out, "\"%s\": ", keys[k]);
            json_string(out, vals[k]);
            fputs(", ", out);
        }
        fprintf(out, "\"attempts\": %" PRIu32 ", \"submitted_us\": %lld}\n", r->attempts,
                r->submitted);
    }
}

/* The options list and watch share: the client's, and their own (--json, --interval-ms,
 * --until-idle), which the other takes no part of. */
struct view {
    struct client c;
    int json, until_idle;
    long interval_ms;
};

static void view_flags(int argc, char **argv, struct view *v, int watch)
{
    static const struct option list_opts[] = {
        CLIENT_OPTIONS,
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    static const struct option watch_opts[] = {
        CLIENT_OPTIONS,
        { "interval-ms", required_argument, NULL, 'I' },
        { "until-idle", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    *v = (struct view){ .interval_ms = 500 };
    client_defaults(&v->c);
    int opt;
    while ((opt = getopt_long(argc, argv, "", watch ? watch_opts : list_opts, NULL)) != -1) {
        switch (opt) {
        case 'j': v->json = 1; break;
        case 'I': v->interval_ms = parse_long("--interval-ms", optarg, 10, 3600000); break;
        case 'U': v->until_idle = 1; break;
        default:  client_flag(&v->c, opt, optarg, usage_text);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

static int list_main(int argc, char **argv)
{
    struct view v;
    view_flags(argc, argv, &v, 0);
    struct taskq *q = client_open(&v.c);
    struct table t = { 0 };
    if (table_read(q, &t) == -1)
        client_lost(q);
    if (v.json)
        table_json(stdout, &t);
    else
        table_print(stdout, &t);
    table_free(&t);
    taskq_close(q);
    return 0;
}

/* Ask for the table every --interval-ms and print it when it differs from the last one;
 * on a terminal, clear the screen first so it reads as a live view (into a pipe or a file
 * each change is appended instead). Seed 002's master printed each finished job once;
 * here every state change shows, from any terminal, while the scheduler runs. */
static int watch_main(int argc, char **argv)
{
    struct view v;
    view_flags(argc, argv, &v, 1);
    struct taskq *q = client_open(&v.c);
    int tty = isatty(STDOUT_FILENO);
    char *last = NULL;
    for (;;) {
        struct table t = { 0 };
        if (table_read(q, &t) == -1)
            client_lost(q);
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (!m)
            die_errno("open_memstream");
        table_print(m, &t);
        fclose(m);
        if (!last || strcmp(last, text) != 0) {
            printf("%s%s", tty ? "\033[H\033[2J" : last ? "\n" : "", text);
            fflush(stdout);
        }
        free(last);
        last = text;
        int idle = t.queued == 0 && t.running == 0;
        table_free(&t);
        if (v.until_idle && idle)
            break;
        sleep_ns(v.interval_ms * 1000000);
    }
    free(last);
    taskq_close(q);
    return 0;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* "+": stop at the first word that is not a flag, the subcommand. */
    int opt;
    while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1)
        if (opt == 'h')
            usage_exit(usage_text);
        else
            usage_try_help();
    if (optind >= argc)
        usage_error("say what to do: submit, work, list or watch");
    static const char *const commands[] = { "submit", "work", "list", "watch", NULL };
    int which = parse_choice("command", argv[optind], commands);
    /* Each subcommand parses its own flags: argv from the subcommand's name on. */
    argc -= optind, argv += optind;
    static char name[32];                  /* "jobs submit: unrecognized option ..." */
    snprintf(name, sizeof name, "%s %s", prog_name, commands[which]);
    argv[0] = name;
    optind = 0;                            /* 0, not 1: glibc starts afresh, "+" forgotten */
    switch (which) {
    case 0:  return submit_main(argc, argv);
    case 1:  return work_main(argc, argv);
    case 2:  return list_main(argc, argv);
    default: return watch_main(argc, argv);
    }
}
