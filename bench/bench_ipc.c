/* bench_ipc.c - what a message costs between two processes or two threads: pipe,
 *                 socketpair, TCP over loopback, shared memory with futex wake-ups, and
 *                 POSIX message queues
 *
 * Two tasks, A and B, joined by one channel each way. Two measurements per run:
 *   latency    A sends a 64-byte message, B sends it back: ns per round trip (lat_pipe
 *              style). Each one includes two wake-ups of a sleeping task, so placement
 *              (--placement) matters as much as the transport.
 *   bandwidth  A streams 64 KiB blocks to B, B acknowledges the last one: MiB/s.
 *              Every byte is copied twice (into the kernel and out, or into the shared
 *              ring and out), which is what a receiver that keeps the data pays.
 * Every message carries its sequence number and B checks it: nothing lost, nothing twice.
 *
 * shm-futex is the channel processes build for themselves: a ring of four 64 KiB slots in
 * shared memory, with a futex wake-up per message. mqueue is POSIX mq_send/mq_receive;
 * where the system caps messages below 64 KiB (fs.mqueue.msgsize_max, 8 KiB by default
 * for unprivileged users) a block goes as several messages.
 */
#include "core.h"
#include "futex.h"
#include "harness.h"
#include "shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SMALL 64                              /* latency message, bytes */
#define BLOCK (64 * 1024)                     /* bandwidth block, bytes */
#define SLOTS 4                               /* shm-futex ring slots per direction */
#define PARTNER_TIMEOUT_NS (10 * 1000000000LL)   /* a partner silent this long has died */

static long rounds_flag = 0;                  /* --rounds; 0: 500 quick, 5000 full */
static long blocks_flag = 0;                  /* --blocks; 0: 256 quick (16 MiB), 2048 full */

enum transport { PIPE, SOCKETPAIR, TCP, SHM, MQUEUE, NTRANSPORTS };
static const char *const transport_names[NTRANSPORTS] = { "pipe", "socketpair", "tcp",
                                                          "shm-futex", "mqueue" };

/* One direction of shm-futex: a ring the sender fills at head and the receiver empties at
 * tail; each counter is a futex word the other side sleeps on. */
struct ring {
    _Alignas(64) atomic_uint head;
    _Alignas(64) atomic_uint tail;
    _Alignas(64) size_t len[SLOTS];
    char data[SLOTS][BLOCK];
};

/* Both directions, both ends. dir 0 carries A -> B, dir 1 B -> A. */
struct channel {
    int transport;
    int rfd[2], wfd[2];          /* per side (0 = A, 1 = B): fds it reads and writes */
    struct ring *ring;           /* [2], shared memory */
    mqd_t mq[2];
    long msg_max;                /* mqueue: largest message the queue takes */
    long rounds, warm, blocks;
};

/* ---- sending and receiving, one function per direction of the protocol --------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1 && errno == EINTR)
            continue;
        if (w == -1 && (errno == EPIPE || errno == ECONNRESET))
            return -1;                   /* the reader is gone */
        if (w == -1)
            die_errno("write");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno != ECONNRESET)
            die_errno("read");
        if (r <= 0)
            return -1;                   /* end of file: the partner is gone */
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* [snippet:shm-ring] */
static int ring_send(struct ring *r, const char *p, size_t n)
{
    unsigned head = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned tail;
    /* Full: sleep until the receiver moves tail on. */
    while (head - (tail = atomic_load_explicit(&r->tail, memory_order_acquire)) == SLOTS)
        if (futex_wait_change(&r->tail, tail, PARTNER_TIMEOUT_NS) == tail)
            return -1;
    memcpy(r->data[head % SLOTS], p, n);
    r->len[head % SLOTS] = n;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    futex_wake(&r->head, 1);
    return 0;
}

static int ring_recv(struct ring *r, char *p, size_t n)
{
    unsigned tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* Empty: sleep until the sender moves head on. */
    while (atomic_load_explicit(&r->head, memory_order_acquire) == tail)
        if (futex_wait_change(&r->head, tail, PARTNER_TIMEOUT_NS) == tail)
            return -1;
    CHECK(r->len[tail % SLOTS] == n);
    memcpy(p, r->data[tail % SLOTS], n);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    futex_wake(&r->tail, 1);
    return 0;
}
/* [/snippet:shm-ring] */

/* The give-up point for a blocking mq call: mq_timed*() want a date on CLOCK_REALTIME.
 * Only a deadline for a dead partner, never a measurement (those use now_ns()). */
static struct timespec mq_deadline(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PARTNER_TIMEOUT_NS / 1000000000;
    return until;
}

static int mq_send_all(mqd_t q, long msg_max, const char *p, size_t n)
{
    struct timespec until = mq_deadline();   /* a full queue nobody empties: partner gone */
    for (size_t off = 0; off < n;) {
        size_t part = n - off < (size_t)msg_max ? n - off : (size_t)msg_max;
        if (mq_timedsend(q, p + off, part, 0, &until) == 0)
            off += part;
        else if (errno == ETIMEDOUT)
            return -1;
        else if (errno != EINTR)
            die_errno("mq_timedsend");
    }
    return 0;
}

static int mq_recv_all(mqd_t q, long msg_max, char *p, size_t n)
{
    struct timespec until = mq_deadline();
    for (size_t got = 0; got < n;) {
        char *dst = p + got;
        char scratch[BLOCK];
        /* The receive buffer must hold a whole message, even one longer than expected. */
        int direct = n - got >= (size_t)msg_max;
        ssize_t r = mq_timedreceive(q, direct ? dst : scratch,
                                    (size_t)(direct ? msg_max : (long)sizeof scratch), NULL,
                                    &until);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == ETIMEDOUT)
            return -1;
        if (r == -1)
            die_errno("mq_timedreceive");
        CHECK((size_t)r <= n - got);
        if (!direct)
            memcpy(dst, scratch, (size_t)r);
        got += (size_t)r;
    }
    return 0;
}

/* Send n bytes from side `me` (0 = A, 1 = B) to the other side, or receive them. */
static int chan_send(struct channel *c, int me, const char *p, size_t n)
{
    switch (c->transport) {
    case SHM: return ring_send(&c->ring[me], p, n);
    case MQUEUE: return mq_send_all(c->mq[me], c->msg_max, p, n);
    default: return write_all(c->wfd[me], p, n);
    }
}

static int chan_recv(struct channel *c, int me, char *p, size_t n)
{
    switch (c->transport) {
    case SHM: return ring_recv(&c->ring[!me], p, n);
    case MQUEUE: return mq_recv_all(c->mq[!me], c->msg_max, p, n);
    default: return read_all(c->rfd[me], p, n);
    }
}

/* ---- setting up and tearing down each transport --------------------------------------- */

static void tcp_pair(int fds[2])
{
    int lis = socket(AF_INET, SOCK_STREAM, 0);
    if (lis == -1)
        die_errno("socket");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    if (bind(lis, (struct sockaddr *)&addr, sizeof addr) != 0)
        die_errno("bind");
    if (listen(lis, 1) != 0)
        die_errno("listen");
    if (getsockname(lis, (struct sockaddr *)&addr, &len) != 0)
        die_errno("getsockname");
    if ((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        die_errno("socket");
    if (connect(fds[0], (struct sockaddr *)&addr, sizeof addr) != 0)
        die_errno("connect");
    if ((fds[1] = accept(lis, NULL, NULL)) == -1)
        die_errno("accept");
    close(lis);
    int one = 1;                          /* small messages go now, not after 40 ms */
    for (int i = 0; i < 2; i++)
        if (setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            die_errno("setsockopt TCP_NODELAY");
}

/* Open a queue and unlink its name at once: nothing is left behind, whatever happens. */
static mqd_t mq_open_anon(long maxmsg, long msgsize)
{
    static unsigned seq;
    char name[64];
    snprintf(name, sizeof name, "/ccourse-ipc-%ld-%u", (long)getpid(), seq++);
    struct mq_attr attr = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q != (mqd_t)-1)
        mq_unlink(name);
    return q;
}

/* Returns 0, or 1 when this system has no usable message queues (said why). */
static int chan_open(struct channel *c)
{
    switch (c->transport) {
    case PIPE: {
        int ab[2], ba[2];
        xpipe(ab);
        xpipe(ba);
        c->wfd[0] = ab[1], c->rfd[1] = ab[0], c->wfd[1] = ba[1], c->rfd[0] = ba[0];
        break;
    }
    case SOCKETPAIR:
    case TCP: {
        int sv[2];
        if (c->transport == TCP)
            tcp_pair(sv);
        else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die_errno("socketpair");
        c->rfd[0] = c->wfd[0] = sv[0];
        c->rfd[1] = c->wfd[1] = sv[1];
        break;
    }
    case SHM:
        c->ring = shared_map(2 * sizeof *c->ring);
        break;
    case MQUEUE: {
        /* 64 KiB messages where allowed; else the system's cap (EINVAL), fewer queued. */
        static const long sizes[] = { BLOCK, 8192 };
        for (size_t i = 0; i < 2; i++) {
            c->msg_max = sizes[i];
            c->mq[0] = mq_open_anon(4, c->msg_max);
            c->mq[1] = c->mq[0] == (mqd_t)-1 ? (mqd_t)-1 : mq_open_anon(4, c->msg_max);
            if (c->mq[1] != (mqd_t)-1)
                return 0;
            if (c->mq[0] != (mqd_t)-1)
                mq_close(c->mq[0]);
        }
        fprintf(stderr, "ipc: mq_open: %s - mqueue points skipped\n", strerror(errno));
        return 1;
    }
    }
    return 0;
}

/* Close side `me`'s ends (all of them for threads, which share one fd table). */
static void chan_close_side(struct channel *c, int me)
{
    if (c->transport == PIPE) {
        close(c->rfd[me]);
        close(c->wfd[me]);
    } else if (c->transport == SOCKETPAIR || c->transport == TCP)
        close(c->rfd[me]);
}

static void chan_free(struct channel *c)
{
    if (c->transport == SHM)
        shared_unmap(c->ring, 2 * sizeof *c->ring);
    else if (c->transport == MQUEUE) {
        mq_close(c->mq[0]);
        mq_close(c->mq[1]);
    }
}

/* ---- the two tasks -------------------------------------------------------------------- */

static char *fill(size_t n)
{
    char *p = xmalloc(n);
    memset(p, 'x', n);
    return p;
}

/* [snippet:protocol] */
/* B: echo every small message, then take the blocks and acknowledge the last. Each
 * message's first bytes are its sequence number, checked here. */
static int task_b(void *arg)
{
    struct channel *c = arg;
    char *buf = fill(BLOCK);
    long seq;
    int bad = 0;
    for (long i = 0; i < c->warm + c->rounds && !bad; i++) {
        bad = chan_recv(c, 1, buf, SMALL) != 0;
        memcpy(&seq, buf, sizeof seq);
        CHECK(bad || seq == i);
        bad = bad || chan_send(c, 1, buf, SMALL) != 0;
    }
    for (long i = 0; i < c->blocks && !bad; i++) {
        bad = chan_recv(c, 1, buf, BLOCK) != 0;
        memcpy(&seq, buf, sizeof seq);
        CHECK(bad || seq == i);
    }
    bad = bad || chan_send(c, 1, buf, SMALL) != 0;
    free(buf);
    if (bad)
        fprintf(stderr, "ipc: task B: task A stopped answering\n");
    return bad;
}

/* A: the round trips (timed after the warm-up), then the stream of blocks (timed until
 * B's acknowledgement arrives). */
static int task_a(struct channel *c, double *latency_ns, double *mib_s)
{
    char *buf = fill(BLOCK);
    int bad = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < c->warm + c->rounds && !bad; i++) {
        if (i == c->warm)
            t0 = now_ns();
        memcpy(buf, &i, sizeof i);
        bad = chan_send(c, 0, buf, SMALL) != 0 || chan_recv(c, 0, buf, SMALL) != 0;
    }
    *latency_ns = (double)(now_ns() - t0) / (double)c->rounds;
    t0 = now_ns();
    for (long i = 0; i < c->blocks && !bad; i++) {
        memcpy(buf, &i, sizeof i);
        bad = chan_send(c, 0, buf, BLOCK) != 0;
    }
    bad = bad || chan_recv(c, 0, buf, SMALL) != 0;
    *mib_s = (double)c->blocks * BLOCK / (1024.0 * 1024.0) / ((double)(now_ns() - t0) / 1e9);
    free(buf);
    return bad;
}
/* [/snippet:protocol] */

/* ---- the harness's side --------------------------------------------------------------- */

static int flag(const char *name, const char *value)
{
    if (!strcmp(name, "--rounds"))
        rounds_flag = parse_long(name, value, 1, 100000000);
    else if (!strcmp(name, "--blocks"))
        blocks_flag = parse_long(name, value, 1, 10000000);
    else
        return 0;
    return 1;
}

/* A point's kind: its transport and its task kind (BENCH_PROCESS or BENCH_THREAD). */
#define IPC_KIND(transport, task_kind) ((transport) * 2 + (task_kind))
#define IPC_TRANSPORT(kind) ((kind) / 2)
#define IPC_TASK_KIND(kind) ((kind) % 2)

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const int order[] = { BENCH_SAME_CPU, BENCH_SPLIT, BENCH_UNPINNED };
    static const char *const kinds[] = { [BENCH_PROCESS] = "processes",
                                         [BENCH_THREAD] = "threads" };
    size_t n = 0;
    for (int t = 0; t < NTRANSPORTS; t++)
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 3 && n < max; i++) {
                if (!bench_placement_wanted(o, order[i]))
                    continue;
                char base[64];
                snprintf(base, sizeof base, "%s-%s", transport_names[t], kinds[k]);
                pts[n++] = bench_placed_point(base, IPC_KIND(t, k), order[i], 0);
            }
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    struct channel c = { .transport = IPC_TRANSPORT(p->kind) };
    int kind = IPC_TASK_KIND(p->kind), placement = p->placement;
    c.rounds = rounds_flag ? rounds_flag : o->full ? 5000 : 500;
    c.warm = c.rounds / 10 > 0 ? c.rounds / 10 : 1;
    c.blocks = blocks_flag ? blocks_flag : o->full ? 2048 : 256;
    if (chan_open(&c) != 0)
        return 1;

    int pin = bench_pin(placement, 0);
    if (pin != 0)
        die_code("sched_setaffinity", pin);
    struct bench_partner partner;
    bench_partner_start(&partner, kind, placement, task_b, &c);
    if (kind == BENCH_PROCESS)
        chan_close_side(&c, 1);          /* B's ends are B's: its death is our EOF */
    int bad = task_a(&c, &values[0], &values[1]);
    if (kind == BENCH_PROCESS)
        chan_close_side(&c, 0);          /* and A's ends: B sees EOF if it still reads */
    int partner_bad = bench_partner_wait(&partner);
    if (kind == BENCH_THREAD) {
        chan_close_side(&c, 0);
        chan_close_side(&c, 1);
    }
    chan_free(&c);
    if (bad)
        fprintf(stderr, "ipc: %s: task B stopped answering\n", p->variant);
    return bad || partner_bad ? -1 : 0;
}

static const struct bench_def def = {
    .name = "ipc",
    .x_name = "none",                     /* one point per series: no x */
    .x_unit = "none",
    .usage =
        "ipc (bench) - latency (64-byte round trips) and bandwidth (64 KiB blocks) between\n"
        "              two processes or two threads over pipe, socketpair, TCP loopback,\n"
        "              shared memory with futex wake-ups and POSIX message queues\n"
        "\n"
        "Usage: bench_ipc [--rounds N] [--blocks N] [--placement LIST] [common flags]\n"
        "  --rounds N       round trips per run (default 500 quick, 5000 full)\n"
        "  --blocks N       64 KiB blocks streamed per run (default 256 quick, 2048 full)\n"
        "\n"
        "Series: TRANSPORT-processes and TRANSPORT-threads, per placement.\n",
    .metrics = { { "latency", "ns" }, { "bandwidth", "MiB/s" } },
    .default_repeats_full = 7,
    .default_warmup = 1,
    .flag = flag,
    .plan = plan,
    .run = run,
    .uses_placement = 1,
    .ignore_sigpipe = 1,                  /* a partner that died: EPIPE, not death */
};

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &def);
}
