/* queue.c - writer and reader processes passing records through a queue: a pipe with
 *           framing, or a POSIX message queue
 *
 * Usage:    queue [--via pipe|mq] [--writers N] [--readers M] [--records K] [--print]
 * Observe:  N writers each send K records of varying length; M readers take them until each
 *           receives a sentinel (a record that means "no more"), which the parent sends once
 *           every writer has finished - nobody is killed. At the end the parent counts:
 *           every record received exactly once, and each reader saw each writer's records in
 *           the order they were written.
 *           A pipe is a byte stream: it keeps bytes in order but not record boundaries, so
 *           each record travels as a frame (its length, then its bytes). A frame written in
 *           one write() of at most PIPE_BUF bytes is never interleaved with another writer's;
 *           but a frame is read with two read()s, so readers take a lock around them. A
 *           message queue keeps boundaries itself: no framing and no lock.
 * Try:      queue --via mq --writers 4 --readers 3
 *           queue --writers 1 --readers 2 --records 5 --print (who got what)
 *           ls /dev/mqueue while queue --via mq --records 1000000 runs: empty - the name is
 *           unlinked right after mq_open(), so Ctrl-C or kill -9 cannot leave it behind
 *           (mq_open needs no mount; to look, mount it: mount -t mqueue none /dev/mqueue)
 * Python:   docs/seeds.md#seed-000, Queue between a writer and a reader process (the
 *           reader there is stopped with terminate(); ours stops on a sentinel)
 * See also: docs/processes/queue.md, demos/processes/shared_heap.c
 */
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "queue - writer processes send records to reader processes through a pipe (framed)\n"
    "        or a POSIX message queue; readers stop on a sentinel\n"
    "\n"
    "Usage: queue [--via pipe|mq] [--writers N] [--readers M] [--records K] [--print]\n"
    "  --via pipe|mq   the queue: a pipe with length-prefixed frames (default) or a POSIX\n"
    "                  message queue\n"
    "  --writers N     writer processes (default 2, at most 64)\n"
    "  --readers M     reader processes (default 2, at most 64)\n"
    "  --records K     records each writer sends (default 10000)\n"
    "  --print         each reader prints every record it receives\n"
    "  --help          this text\n";

/* [snippet:record] */
/* A record: who wrote it, its number in that writer's sequence, and some text whose length
 * varies from record to record - so the receiver must know where each one ends. */
#define SENTINEL UINT32_MAX         /* writer == SENTINEL: "no more records for you" */
#define TEXT_MAX 200

struct record {
    uint32_t writer;
    uint32_t seq;
    char text[TEXT_MAX];            /* only the first text_len(writer, seq) bytes are sent */
};
/* [/snippet:record] */

#define RECORD_HEAD offsetof(struct record, text)

static size_t text_len(uint32_t w, uint32_t s)
{
    return (s * 7u + w * 13u) % TEXT_MAX;
}

/* Fill r with writer w's record s; return its size on the wire. */
static size_t make_record(struct record *r, uint32_t w, uint32_t s)
{
    r->writer = w;
    r->seq = s;
    size_t n = text_len(w, s);
    for (size_t i = 0; i < n; i++)
        r->text[i] = (char)('a' + (w + s + i) % 26);
    return RECORD_HEAD + n;
}

/* What the processes share: the readers' lock, and the tallies the parent checks. */
struct board {
    pthread_mutex_t read_lock;      /* pipe only: one reader reads a whole frame at a time */
    struct {
        _Alignas(64) long received, out_of_order, corrupt;
    } reader[64];
    atomic_uchar got[];             /* got[w * K + s]: how many times record (w, s) arrived */
};

static long nwriters = 2, nreaders = 2, nrecords = 10000;
static int via_mq, print_records;
static int pipe_fd[2] = { -1, -1 };
static mqd_t mq = (mqd_t)-1;
static struct board *board;
static pid_t readers[64], writers[64];
static volatile sig_atomic_t gone[128];     /* gone[child_index(pid)]: reaped, or being */
static volatile sig_atomic_t interrupted;   /* the SIGINT or SIGTERM that reached the parent */

/* Which child is this pid: readers are 0 .. M-1, writers M .. M+N-1. */
static int child_index(pid_t pid)
{
    for (int i = 0; i < nreaders; i++)
        if (readers[i] == pid)
            return i;
    for (int i = 0; i < nwriters; i++)
        if (writers[i] == pid)
            return (int)nreaders + i;
    die_msg("waitpid returned pid %d, not a child of ours", (int)pid);
}

/* ---- the two queues, behind one pair of functions ---------------------------------- */

/* [snippet:pipe] */
/* Send one frame: a 4-byte length, then the record, in ONE write(). POSIX promises that a
 * write of at most PIPE_BUF bytes to a pipe is atomic - it never interleaves with another
 * writer's - so many writers can share the pipe without a lock. */
static int pipe_send(const struct record *r, size_t len)
{
    unsigned char frame[sizeof(uint32_t) + sizeof *r];
    _Static_assert(sizeof frame <= PIPE_BUF, "a frame must fit in one atomic pipe write");
    uint32_t n = (uint32_t)len;
    memcpy(frame, &n, sizeof n);
    memcpy(frame + sizeof n, r, len);
    ssize_t w = write(pipe_fd[1], frame, sizeof n + len);
    if (w == -1 && errno == EPIPE)
        return -1;                          /* no reader is left */
    if (w == -1)
        die_errno("write (pipe)");
    CHECK((size_t)w == sizeof n + len);     /* atomic: all or nothing */
    return 0;
}

/* Read exactly len bytes; 0 at end of file (every write end closed), else 1. */
static int read_full(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die_errno("read (pipe)");
        if (n == 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

/* A reader died holding the read lock, perhaps mid-frame: the stream is no longer framed,
 * and nothing can tell where the next frame starts. No repair is possible. */
static void framing_lost(void *arg)
{
    (void)arg;
    die_msg("a reader died holding the read lock; the pipe's framing is lost");
}

/* Receive one frame. Reading it takes two read()s - the length, then the body - and
 * another reader must not take bytes in between, so readers hold a lock around the pair. */
static size_t pipe_receive(struct record *r)
{
    shared_mutex_lock(&board->read_lock, framing_lost, NULL);
    uint32_t len;
    int ok = read_full(pipe_fd[0], &len, sizeof len) && len >= RECORD_HEAD &&
             len <= sizeof *r && read_full(pipe_fd[0], r, len);
    shared_mutex_unlock(&board->read_lock);
    if (!ok)
        die_msg("the pipe ended (or carried a bad frame) before this reader's sentinel");
    return len;
}
/* [/snippet:pipe] */

/* [snippet:mq] */
/* A message queue keeps each message whole: one mq_send(), one mq_receive(), no framing,
 * and many readers may receive at once without a lock of ours. */
static int mq_send_record(const struct record *r, size_t len)
{
    /* A full queue makes mq_send() wait for a reader. Wait at most 10 s: if no reader is
     * left to drain it, we must not wait forever. (mq_timedsend() takes an absolute time
     * on the wall clock - the one place here where CLOCK_REALTIME is the right clock.) */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    while (mq_timedsend(mq, (const char *)r, len, 0, &until) == -1) {
        if (errno == ETIMEDOUT || (errno == EINTR && interrupted))
            return -1;
        if (errno != EINTR)
            die_errno("mq_send");
    }
    return 0;
}

static size_t mq_receive_record(struct record *r)
{
    for (;;) {
        ssize_t n = mq_receive(mq, (char *)r, sizeof *r, NULL);
        if (n >= (ssize_t)RECORD_HEAD)
            return (size_t)n;
        if (n == -1 && errno != EINTR)
            die_errno("mq_receive");
        if (n >= 0)
            die_msg("a message of %zd bytes is too short to be a record", n);
    }
}
/* [/snippet:mq] */

/* Send one record; -1 when no reader is left to receive it (errno EPIPE for the pipe,
 * ETIMEDOUT for the message queue). */
static int send_record(const struct record *r, size_t len)
{
    return via_mq ? mq_send_record(r, len) : pipe_send(r, len);
}

static size_t receive_record(struct record *r)
{
    return via_mq ? mq_receive_record(r) : pipe_receive(r);
}

/* ---- the processes ------------------------------------------------------------------ */

static void writer_main(uint32_t w)
{
    struct record r;
    for (uint32_t s = 0; s < (uint32_t)nrecords; s++)
        if (send_record(&r, make_record(&r, w, s)) == -1)
            die_errno(via_mq ? "mq_send" : "write (pipe)");
    _exit(0);
}

/* [snippet:reader] */
static void reader_main(int me)
{
    uint32_t *last = xcalloc((size_t)nwriters, sizeof *last);   /* last seq seen + 1 */
    if (print_records)      /* one write() per line: lines of several readers never mix */
        setvbuf(stdout, NULL, _IOLBF, 0);
    struct record r, want;
    for (;;) {
        size_t len = receive_record(&r);
        if (r.writer == SENTINEL)
            break;                          /* the clean way to stop: told, not killed */
        if (r.writer >= (uint32_t)nwriters || r.seq >= (uint32_t)nrecords ||
            len != make_record(&want, r.writer, r.seq) || memcmp(&r, &want, len) != 0) {
            board->reader[me].corrupt++;
            continue;
        }
        /* Records of one writer come out in the order it wrote them: the seq numbers a
         * reader sees from each writer only grow (gaps are records another reader took). */
        if (r.seq + 1 <= last[r.writer])
            board->reader[me].out_of_order++;
        last[r.writer] = r.seq + 1;
        board->reader[me].received++;
        atomic_fetch_add(&board->got[(size_t)r.writer * (size_t)nrecords + r.seq], 1);
        if (print_records)
            printf("reader %d: writer %u record %u\n", me, r.writer, r.seq);
    }
    free(last);
    fflush(stdout);
    _exit(0);
}
/* [/snippet:reader] */

static void open_queue(void)
{
    if (!via_mq) {
        xpipe(pipe_fd);
        return;
    }
    /* [snippet:mq-open] */
    /* The queue gets a name only so that it can be opened; we unlink it at once. The open
     * descriptor still works - and is inherited by every child we fork - and the queue
     * disappears when the last descriptor closes: Ctrl-C or kill -9 leave nothing behind. */
    char name[64];
    snprintf(name, sizeof name, "/queue.%d", (int)getpid());
    struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = sizeof(struct record) };
    mq = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (mq == (mqd_t)-1)
        die_errno("mq_open");
    if (mq_unlink(name) == -1)
        die_errno("mq_unlink");
    /* [/snippet:mq-open] */
}

/* [snippet:forward] */
/* SIGINT or SIGTERM in the parent. Ctrl-C signals the whole foreground group, children
 * included; but kill -INT PID signals the parent alone, and children that are never told
 * would run on (a writer blocked on a full queue, forever). So pass the signal on to every
 * child not yet reaped: a reaped child's pid may already be another process's. kill() is
 * async-signal-safe; the parent reaps them in main() and then dies of the same signal. */
static void on_stop(int sig)
{
    interrupted = sig;
    for (int i = 0; i < nreaders + nwriters; i++)
        if (!gone[i])
            kill(i < nreaders ? readers[i] : writers[i - nreaders], sig);
}

/* Wait for the next child to end, reap it, return its index. In two steps, because
 * on_stop() may signal any child not marked gone: waitid(WNOWAIT) leaves the child a
 * zombie - its pid cannot be given to another process yet - while we mark it; only then
 * does waitpid() free the pid. */
static int reap_next(int *status)
{
    siginfo_t si;
    while (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == -1)
        if (errno != EINTR)
            die_errno("waitid");
    int i = child_index(si.si_pid);
    gone[i] = 1;
    xwaitpid(si.si_pid, status, 0);
    return i;
}
/* [/snippet:forward] */

static void parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {
        { "via", required_argument, NULL, 'v' },
        { "writers", required_argument, NULL, 'w' },
        { "readers", required_argument, NULL, 'r' },
        { "records", required_argument, NULL, 'k' },
        { "print", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'w': nwriters = parse_long("--writers", optarg, 1, 64); break;
        case 'r': nreaders = parse_long("--readers", optarg, 1, 64); break;
        case 'k': nrecords = parse_long("--records", optarg, 1, 10000000); break;
        case 'p': print_records = 1; break;
        case 'v':
            if (strcmp(optarg, "pipe") && strcmp(optarg, "mq"))
                usage_error("--via: '%s' is neither 'pipe' nor 'mq'", optarg);
            via_mq = !strcmp(optarg, "mq");
            break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

/* Readers first, then writers. Each child closes the pipe end it does not use: a reader
 * must not hold a write end, or the pipe could never reach end-of-file. */
static void start_children(void)
{
    pid_t parent = getpid();
    for (int i = 0; i < nreaders; i++)
        if ((readers[i] = xfork()) == 0) {
            end_with_parent(parent, SIGKILL);
            if (!via_mq)
                close(pipe_fd[1]);
            reader_main(i);
        }
    for (int i = 0; i < nwriters; i++)
        if ((writers[i] = xfork()) == 0) {
            end_with_parent(parent, SIGKILL);
            if (!via_mq)
                close(pipe_fd[0]);
            writer_main((uint32_t)i);
        }
    if (!via_mq)
        close(pipe_fd[0]);          /* the parent only writes: the sentinels */
}

/* SIGINT or SIGTERM: the parent passes it on to the children (on_stop), reaps them all
 * before it goes - nothing is left behind - and then dies of the same signal. No
 * SA_RESTART: a parent blocked sending a sentinel must wake up and stop. (Installed after
 * the forks: the children keep the default action. A signal that comes sooner kills the
 * parent outright, and end_with_parent() takes the children with it.)
 * A signal we were started with ignored (a `&` job of a shell without job control,
 * nohup) stays ignored, by us and by the children that inherited that: the old Unix
 * rule. Catching it anyway would forward it to children that ignore it and wait for
 * them forever. */
static void catch_stops(void)
{
    struct sigaction sa = { .sa_handler = on_stop }, old;
    sigemptyset(&sa.sa_mask);
    const int stops[] = { SIGINT, SIGTERM };
    for (int k = 0; k < 2; k++) {
        if (sigaction(stops[k], NULL, &old) == -1)
            die_errno("sigaction");
        if (old.sa_handler != SIG_IGN && sigaction(stops[k], &sa, NULL) == -1)
            die_errno("sigaction");
    }
}

/* Reap every child, stopping the readers with sentinels once the writers are done.
 * Fills status[i] for child i (readers, then writers); returns 1 if any child failed. */
static int shut_down(int *status)
{
    /* [snippet:shutdown] */
    /* Wait until every writer is done: then every record is in the queue, ahead of
     * anything we send now. A reader that dies meanwhile is noted; if none is left, nobody
     * will ever drain the queue, so the writers are stopped rather than waited for. */
    int failed = 0;
    long writers_left = nwriters, readers_left = nreaders;
    while (writers_left > 0) {
        int st, i = reap_next(&st);
        status[i] = st;
        if (i < nreaders && --readers_left == 0)
            for (int k = 0; k < nwriters; k++)
                if (!gone[nreaders + k])    /* a reaped pid may already be someone else's */
                    kill(writers[k], SIGKILL);
        if (i >= nreaders)
            writers_left--;
        failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    /* Then one sentinel per reader still running: each stops at the first it receives. */
    struct record stop = { .writer = SENTINEL };
    for (long i = 0; i < readers_left && !interrupted; i++)
        if (send_record(&stop, RECORD_HEAD) == -1)
            break;                          /* every reader is gone already */
    while (readers_left-- > 0) {
        int st, i = reap_next(&st);
        status[i] = st;
        failed |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    /* [/snippet:shutdown] */
    return failed;
}

/* What each child did, and the verdict: every record received exactly once, in order,
 * intact. Returns 1 if so. */
static int report(const int *status, size_t total)
{
    for (int i = 0; i < nreaders + nwriters; i++) {
        char how[128];
        int st = status[i], ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (i < nreaders)
            printf("reader %d (pid %d): %ld records, %s\n", i, (int)readers[i],
                   board->reader[i].received,
                   ok ? "stopped on its sentinel" : describe_status(st, how, sizeof how));
        else if (!ok)
            printf("writer %ld (pid %d) %s\n", i - nreaders, (int)writers[i - nreaders],
                   describe_status(st, how, sizeof how));
    }

    long received = 0, out_of_order = 0, corrupt = 0, once = 0, twice = 0, missing = 0;
    for (int i = 0; i < nreaders; i++) {
        received += board->reader[i].received;
        out_of_order += board->reader[i].out_of_order;
        corrupt += board->reader[i].corrupt;
    }
    for (size_t k = 0; k < total; k++) {
        unsigned n = atomic_load(&board->got[k]);
        once += n == 1, twice += n > 1, missing += n == 0;
    }
    printf("received: %ld (expected %zu); exactly once: %ld, duplicated: %ld (expected 0), "
           "missing: %ld (expected 0)\n", received, total, once, twice, missing);
    printf("out of order: %ld (expected 0); corrupt: %ld (expected 0)\n", out_of_order,
           corrupt);
    return once == (long)total && out_of_order == 0 && corrupt == 0;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    parse_flags(argc, argv);

    size_t total = (size_t)nwriters * (size_t)nrecords;
    size_t bsize = sizeof *board + total;
    board = shared_map(bsize);
    shared_mutex_init(&board->read_lock);
    open_queue();
    /* With every reader gone, a write to the pipe raises SIGPIPE; we would rather see
     * EPIPE and say so. */
    signal(SIGPIPE, SIG_IGN);

    printf("queue: %ld writers x %ld records -> %ld readers through a %s\n", nwriters,
           nrecords, nreaders, via_mq ? "POSIX message queue" : "pipe (framed)");
    fflush(stdout);                 /* before fork(), or children inherit the buffer */

    start_children();
    catch_stops();
    int status[128];
    int failed = shut_down(status);
    if (interrupted) {
        fprintf(stderr, "queue: %s; every child reaped\n", strsignal(interrupted));
        die_of_signal(interrupted);
    }
    int ok = report(status, total) && !failed;

    if (via_mq)
        mq_close(mq);
    else
        close(pipe_fd[1]);
    shared_unmap(board, bsize);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
