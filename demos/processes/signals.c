/* signals.c - signal handlers: what they may do, how signals coalesce, and how a program
 *             takes them into its main loop
 *
 * Usage:    signals [--mode all|handler|unsafe|selfpipe|signalfd|sigchld|restart]
 *                   [--signals N] [--children N] [--ms MS] [--no-wait]
 * Observe:  handler: a handler installed with sigaction() runs with the signals of its
 *           sa_mask blocked, so another handler waits for it to end; a standard signal
 *           sent N times while blocked is delivered once (pending is a bit, not a count),
 *           a real-time one N times, in order.
 *           unsafe: a child whose SIGUSR1 handler calls malloc() and fprintf() - which are
 *           not async-signal-safe - while its main loop calls them too, under a stream of
 *           SIGUSR1. The parent watches for --ms and reports the outcome: finished (luck),
 *           deadlocked (the handler waits for a lock - stdio's or malloc's - held by the
 *           call it interrupted; the child's stack is shown), or crashed.
 *           selfpipe, signalfd: a sender child sends N signals, each once the last was
 *           taken; a poll() loop receives them through a pipe the handler writes a byte
 *           to (the self-pipe trick), or from a signalfd, which hands over each signal's
 *           siginfo (who sent it, the value it carries): N sent, N delivered.
 *           sigchld: N children exit at once; their SIGCHLDs coalesce into one handler
 *           run. A handler that reaps one child per signal leaves N - 1 zombies; one that
 *           loops waitpid(-1, WNOHANG) until nothing is left reaps all N.
 *           restart: a signal interrupts a child blocked in read(): without SA_RESTART
 *           read() fails with EINTR and the program must retry; with it the kernel
 *           restarts read() and the program never notices.
 * Exit:     0 when every mode showed its expected outcome (for unsafe, any of the three);
 *           1 otherwise; 2 for bad flags.
 * Try:      signals --mode selfpipe --no-wait   (the sender does not wait: fewer arrive)
 *           signals --mode unsafe   (several times: the outcome changes from run to run)
 *           strace -f -e trace=rt_sigaction,rt_sigreturn,read build/bin/signals --mode restart
 * Python:   signal.signal() runs Python handlers in the main thread between bytecodes
 *           (the C handler only sets a flag), and signal.set_wakeup_fd() is the self-pipe
 *           trick; PEP 475 made Python retry calls interrupted by EINTR for you
 * See also: docs/processes/signals.md, signal-safety(7), signal(7), demos/processes/spawn.c
 */
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "signals - signal handlers with sigaction, async-signal safety, the self-pipe trick,\n"
    "          signalfd, reaping SIGCHLD, SA_RESTART and EINTR\n"
    "\n"
    "Usage: signals [--mode M] [--signals N] [--children N] [--ms MS] [--no-wait]\n"
    "  --mode M       all (default), or one of:\n"
    "                 handler   sa_mask, and standard vs real-time signals while blocked\n"
    "                 unsafe    malloc/printf in a handler: finished, deadlocked or crashed\n"
    "                 selfpipe  the handler writes a byte to a pipe a poll() loop reads\n"
    "                 signalfd  block the signal, read its siginfo from a file descriptor\n"
    "                 sigchld   N children exit at once: reap them all from one SIGCHLD\n"
    "                 restart   a blocked read() and a signal, without and with SA_RESTART\n"
    "  --signals N    signals sent in handler, selfpipe and signalfd (default 1000)\n"
    "  --children N   children in sigchld (default 20, at most 1000)\n"
    "  --ms MS        how long unsafe sends signals before judging (default 1000)\n"
    "  --no-wait      selfpipe, signalfd: the sender does not wait for each signal to be\n"
    "                 taken, so signals pending at once coalesce (fewer arrive)\n"
    "  --help         this text\n"
    "\n"
    "Exit status: 0 if every mode showed its expected outcome, 1 if not.\n";

static long nsignals = 1000, nchildren = 20, watch_ms = 1000;
static int no_wait;
static int unexpected;          /* set when a mode did not show what it should */

/* Print "what: got (expected want)" and remember a mismatch. */
static void expect(const char *what, long got, long want)
{
    printf("  %s: %ld (expected %ld)\n", what, got, want);
    if (got != want)
        unexpected = 1;
}

/* [snippet:install] */
/* Install `fn` for `sig` with sigaction(), never signal(): its semantics differ between
 * systems, and only sigaction() says which signals to block while the handler runs
 * (sa_mask; the handled signal itself is always blocked unless SA_NODEFER) and how
 * interrupted system calls behave (SA_RESTART). */
static void install(int sig, void (*fn)(int), int flags, const sigset_t *mask)
{
    struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) == -1)
        die_errno("sigaction");
}
/* [/snippet:install] */

/* The same for a three-argument handler that reads the signal's siginfo (SA_SIGINFO). */
static void install_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa = { .sa_sigaction = fn, .sa_flags = flags | SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) == -1)
        die_errno("sigaction");
}

/* Block (how = SIG_BLOCK) or unblock (SIG_UNBLOCK) one signal for this thread. */
static void mask_one(int how, int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    if (sigprocmask(how, &set, NULL) == -1)
        die_errno("sigprocmask");
}

/* Put `sig` back as it was at start: default action, unblocked. */
static void restore(int sig)
{
    install(sig, SIG_DFL, 0, NULL);
    mask_one(SIG_UNBLOCK, sig);
}

/* The state letter of process `pid` from /proc/PID/stat (R running, S sleeping in the
 * kernel, Z zombie, ...), or 0 when it cannot be read. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');        /* the name in parentheses may hold spaces */
    return (p && p[1] == ' ') ? p[2] : 0;
}

/* A hang guard for the waits below, which end when a state is reached, not after a time:
 * if it is not reached within this long, something is broken and we say so. */
enum { GUARD_MS = 30000 };

static void guard(int64_t start, const char *waiting_for)
{
    if (now_ns() - start > (int64_t)GUARD_MS * 1000000)
        die_msg("gave up after %d ms waiting for %s", GUARD_MS, waiting_for);
    sleep_ns(1000000);                  /* polling interval, not synchronisation */
}

/* ---- handler: sa_mask, and what happens to signals sent while blocked ---------------- */

/* [snippet:handler-data] */
/* What a handler may touch: C lets it read and change a lock-free atomic (as here: ++ on
 * an _Atomic object is one atomic step) and only *assign* a volatile sig_atomic_t. Other
 * static objects the letter of C forbids even to read; in practice a handler reads values
 * set before it was installed and never changed while it can run (the self-pipe's
 * descriptor below). So the handlers count in atomics and note what happened in a log of
 * atomic chars, which main prints afterwards (printf() itself is not async-signal-safe:
 * see unsafe below). */
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_CHAR_LOCK_FREE == 2,
               "a handler may use only lock-free atomics");
static atomic_char order_log[8];
static atomic_long order_len, usr1_runs, rt_runs, rt_out_of_order;

static void note(char c)
{
    long i = order_len++;
    if (i < (long)sizeof order_log)
        order_log[i] = c;
}
/* [/snippet:handler-data] */

/* [snippet:mask-handlers] */
/* SIGUSR1's handler raises SIGUSR2 in the middle of its work. raise() is on the
 * async-signal-safe list; whether SIGUSR2's handler runs at once, inside this one, or
 * waits until this one returns depends on SIGUSR1's sa_mask. */
static void on_usr1_nesting(int sig)
{
    (void)sig;
    note('(');                          /* SIGUSR1's handler begins */
    raise(SIGUSR2);
    note(')');                          /* ... and ends */
}

static void on_usr2(int sig)
{
    (void)sig;
    note('2');                          /* SIGUSR2's handler ran */
}
/* [/snippet:mask-handlers] */

static void on_usr1_count(int sig)
{
    (void)sig;
    usr1_runs++;
}

/* A real-time signal carries a value (sigqueue); each arrives in the order sent. */
static void on_rt(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    if (si->si_value.sival_int != rt_runs + 1)
        rt_out_of_order = 1;
    rt_runs++;
}

static void nesting(int mask_usr2, const char *want)
{
    sigset_t mask;
    sigemptyset(&mask);
    if (mask_usr2)
        sigaddset(&mask, SIGUSR2);
    install(SIGUSR1, on_usr1_nesting, 0, &mask);
    install(SIGUSR2, on_usr2, 0, NULL);
    order_len = 0;
    raise(SIGUSR1);                     /* both handlers have run when raise() returns */
    char got[sizeof order_log + 1] = "";
    for (long i = 0; i < order_len && i < (long)sizeof order_log; i++)
        got[i] = order_log[i];
    printf("  sa_mask %-10s: %s (expected %s)  [ ( SIGUSR1's handler begins, "
           "2 SIGUSR2's runs, ) SIGUSR1's ends ]\n", mask_usr2 ? "{SIGUSR2}" : "empty",
           got, want);
    if (strcmp(got, want) != 0)
        unexpected = 1;
    restore(SIGUSR1);
    restore(SIGUSR2);
}

static void mode_handler(void)
{
    printf("handler: SIGUSR1's handler raises SIGUSR2 midway\n");
    nesting(0, "(2)");
    nesting(1, "()2");

    /* A signal sent to ourselves while unblocked is delivered before kill() returns:
     * one handler run per kill(). */
    install(SIGUSR1, on_usr1_count, 0, NULL);
    usr1_runs = 0;
    for (long i = 0; i < nsignals; i++)
        kill(getpid(), SIGUSR1);
    printf("handler: %ld x SIGUSR1 to ourselves, unblocked: each is handled at once\n",
           nsignals);
    expect("handler runs", usr1_runs, nsignals);

    /* [snippet:coalesce] */
    /* Blocked, a standard signal stays pending - and "pending" is one bit per signal, not
     * a count: the second and later kill() find the bit set and change nothing. */
    mask_one(SIG_BLOCK, SIGUSR1);
    usr1_runs = 0;
    for (long i = 0; i < nsignals; i++)
        kill(getpid(), SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("handler: %ld x SIGUSR1 while blocked; pending: %s; then unblocked\n", nsignals,
           sigismember(&pending, SIGUSR1) ? "yes" : "no");
    mask_one(SIG_UNBLOCK, SIGUSR1);     /* the pending one is delivered here, once */
    expect("handler runs", usr1_runs, 1);

    /* Real-time signals (SIGRTMIN..SIGRTMAX) queue instead, each with its value, up to a
     * per-user limit (RLIMIT_SIGPENDING); sigqueue() says EAGAIN when it is reached. */
    install_info(SIGRTMIN, on_rt, 0);
    mask_one(SIG_BLOCK, SIGRTMIN);
    long queued = 0;
    rt_runs = rt_out_of_order = 0;
    while (queued < nsignals) {
        union sigval v = { .sival_int = (int)(queued + 1) };
        if (sigqueue(getpid(), SIGRTMIN, v) == -1) {
            if (errno == EAGAIN)
                break;                  /* the queue is full */
            die_errno("sigqueue");
        }
        queued++;
    }
    mask_one(SIG_UNBLOCK, SIGRTMIN);    /* every queued one is delivered here */
    /* [/snippet:coalesce] */
    printf("handler: %ld x SIGRTMIN while blocked (%ld queued%s), each with its number; "
           "then unblocked\n", nsignals, queued,
           queued < nsignals ? ": RLIMIT_SIGPENDING reached" : "");
    expect("handler runs", rt_runs, queued);
    printf("  values in the order sent: %s (expected yes)\n", rt_out_of_order ? "no" : "yes");
    if (rt_out_of_order)
        unexpected = 1;
    restore(SIGUSR1);
    restore(SIGRTMIN);
}

/* ---- unsafe: malloc and printf in a handler ------------------------------------------ */

/* Shared with the child, so the parent can watch its progress. */
struct unsafe_watch {
    atomic_long rounds;                 /* main-loop rounds done */
    atomic_long handled;                /* handler runs completed */
    atomic_int stop;                    /* the parent asks the child to finish */
};
static struct unsafe_watch *watch;
static FILE *devnull;

/* [snippet:unsafe-handler] */
/* WRONG ON PURPOSE. malloc() and fprintf() are not async-signal-safe: the handler may
 * have interrupted the main loop in the middle of one of them. Both hold a lock while
 * they change their lists or buffers; if the handler asks for that lock, it waits for
 * code that cannot go on until the handler returns - a deadlock with a single thread.
 * (stdio's lock lets its owner take it again, but not in the instant its owner is being
 * set or cleared.) Where no lock is taken, the handler changes what the interrupted call
 * is halfway through changing: corruption, found later (if ever) by malloc's checks. */
static void on_usr1_unsafe(int sig)
{
    char *p = malloc(3000);             /* above the per-thread cache's sizes: the arena */
    if (p) {
        fprintf(devnull, "handler: signal %d\n", sig);
        free(p);
    }
    atomic_fetch_add(&watch->handled, 1);
}
/* [/snippet:unsafe-handler] */

/* SIGQUIT in the deadlocked child prints its stack and ends it. backtrace() is not on the
 * safe list either (its first call loads libgcc, which mallocs); the child called it once
 * at start, so here it only walks the stack, in a process about to end anyway. */
static void on_quit_dump(int sig)
{
    (void)sig;
    static const char head[] = "  the child's stack (innermost first):\n";
    void *frames[24];
    int n = backtrace(frames, 24);
    ssize_t r = write(STDOUT_FILENO, head, sizeof head - 1);
    (void)r;
    backtrace_symbols_fd(frames, n, STDOUT_FILENO);
    _exit(3);
}

static void *no_work(void *arg)
{
    return arg;
}

static noreturn void unsafe_child(void)
{
    /* glibc's malloc skips its locks while a process has only ever had one thread; any
     * real program with a thread (or a library that starts one) takes them, and so do we. */
    pthread_t t;
    xpthread_create(&t, NULL, no_work, NULL);
    xpthread_join(t, NULL);
    devnull = fopen("/dev/null", "w");
    if (!devnull)
        die_child_errno("fopen /dev/null");
    void *warm[1];
    backtrace(warm, 1);                 /* load what backtrace() needs now (see above) */
    install(SIGQUIT, on_quit_dump, 0, NULL);
    install(SIGUSR1, on_usr1_unsafe, 0, NULL);
    /* [snippet:unsafe-loop] */
    /* The main loop does what the handler does: malloc, print, free. */
    for (long i = 0; !atomic_load(&watch->stop); i++) {
        char *p = malloc(2000 + (size_t)(i % 4) * 1000);
        fprintf(devnull, "main loop: round %ld\n", i);
        free(p);
        atomic_fetch_add(&watch->rounds, 1);
    }
    /* [/snippet:unsafe-loop] */
    _exit(0);
}

/* Wait until the child has ended (its status in *status) or shows that it is stuck: it
 * sleeps in the kernel (state S: nothing in its loop blocks, so it waits on a lock) with
 * no progress since the last look. Gives up after `limit_ms` ("stuck": still running but
 * not getting anywhere, e.g. spinning on a lock, or starved on a loaded machine).
 * Returns 'x' (exited), 'd' (deadlocked) or 's' (stuck). */
static char judge(pid_t pid, int *status, int64_t limit_ms)
{
    int64_t start = now_ns();
    long last = -1;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == -1)
            die_errno("waitpid");
        if (r == pid)
            return 'x';
        long rounds = atomic_load(&watch->rounds) + atomic_load(&watch->handled);
        if (proc_state(pid) == 'S' && rounds == last)
            return 'd';
        last = rounds;
        if (now_ns() - start > limit_ms * 1000000)
            return 's';
        sleep_ns(20 * 1000000);         /* look again in a while, not synchronisation */
    }
}

static void mode_unsafe(void)
{
    watch = shared_map(sizeof *watch);
    printf("unsafe: a child mallocs and prints in a loop; its SIGUSR1 handler mallocs and "
           "prints too;\n        we send it SIGUSR1 as fast as we can for %ld ms\n",
           watch_ms);
    fflush(stdout);
    pid_t parent = getpid(), pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        unsafe_child();
    }
    /* Signal only once the handler is installed: before, SIGUSR1 would simply kill it. */
    int64_t start = now_ns();
    int status = 0, ended = 0;
    while (atomic_load(&watch->rounds) == 0 && !ended) {
        ended = waitpid(pid, &status, WNOHANG) == pid;
        if (!ended)
            guard(start, "the unsafe child to start");
    }
    start = now_ns();
    long sent = 0;
    while (!ended && now_ns() - start < watch_ms * 1000000) {
        for (int k = 0; k < 100; k++, sent++)
            kill(pid, SIGUSR1);
        ended = waitpid(pid, &status, WNOHANG) == pid;
    }
    atomic_store(&watch->stop, 1);
    char verdict = ended ? 'x' : judge(pid, &status, 5000);
    long rounds = atomic_load(&watch->rounds), handled = atomic_load(&watch->handled);
    char how[128];
    printf("unsafe: %ld signals sent, %ld handler runs completed, %ld main-loop rounds\n",
           sent, handled, rounds);
    if (verdict == 'x' && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("unsafe: outcome: finished - the child survived every signal and stopped "
               "when asked. Luck, not safety: run it again\n");
    } else if (verdict == 'x') {
        printf("unsafe: outcome: crashed - the child %s: malloc found its own lists "
               "corrupted, or followed them into nowhere\n",
               describe_status(status, how, sizeof how));
    } else {
        if (verdict == 'd')
            printf("unsafe: outcome: deadlocked - the child sleeps (state S) and makes no "
                   "progress: its handler waits\n        for a lock (stdio's or malloc's) "
                   "held by the call it interrupted; its stack says which\n");
        else
            printf("unsafe: outcome: deadlocked (stuck) - asked to stop, the child has not in "
                   "5 s, and it is not\n        asleep: it spins on a lock (or gets no "
                   "CPU at all)\n");
        fflush(stdout);
        /* Ask it for its stack; if even that hangs, SIGKILL after a while. */
        kill(pid, SIGQUIT);
        int64_t asked = now_ns();
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (now_ns() - asked > 2000 * 1000000LL) {
                printf("  (no stack: the child did not answer SIGQUIT)\n");
                kill(pid, SIGKILL);
                xwaitpid(pid, &status, 0);
                break;
            }
            sleep_ns(1000000);
        }
    }
    shared_unmap(watch, sizeof *watch);
}

/* ---- selfpipe and signalfd: a signal as an event in a poll() loop ------------------- */

/* The sender child: n signals to `target`, each carrying its number (sigqueue), and -
 * unless --no-wait - each only after the receiver has acknowledged the one before on
 * `ack`. Standard signals coalesce while pending, so only then do all n arrive. */
static noreturn void sender(pid_t target, int ack)
{
    for (long k = 1; k <= nsignals; k++) {
        union sigval v = { .sival_int = (int)k };
        if (sigqueue(target, SIGUSR1, v) == -1)
            die_child_errno("sigqueue");
        char c;
        if (!no_wait && read(ack, &c, 1) != 1)
            _exit(1);                   /* the receiver has gone */
    }
    _exit(0);
}

static int selfpipe[2] = { -1, -1 };

/* [snippet:selfpipe-handler] */
/* The self-pipe trick: the handler does one async-signal-safe thing - write a byte to a
 * non-blocking pipe - and the main loop, which poll()s the pipe's read end among its
 * other descriptors, does the real work outside the handler. A full pipe (EAGAIN) loses
 * nothing: a byte already waiting says "a signal came" just as well. write() may change
 * errno, which the interrupted code may be about to read: save and restore it. */
static void on_usr1_selfpipe(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(selfpipe[1], &b, 1);
    (void)r;
    errno = saved;
}
/* [/snippet:selfpipe-handler] */

struct tally {
    int ack;                            /* where to acknowledge each signal; -1: nowhere */
    long got;                           /* signals taken */
    long last_value;                    /* the last sigqueue value seen (signalfd) */
    int in_order;                       /* each value was the last one + 1 */
    int rising;                         /* each value was above the last one */
    pid_t from;                         /* who sent the first (signalfd) */
};

/* Take everything waiting on `fd` (the self-pipe or the signalfd; both non-blocking),
 * acknowledging each signal on t->ack unless that is -1 (or the sender has gone). */
static void take(int use_signalfd, int fd, struct tally *t)
{
    for (;;) {
        long n;
        if (use_signalfd) {
            /* [snippet:signalfd-read] */
            /* Each read returns whole signalfd_siginfo records: the signal, who sent it
             * (ssi_pid), and the value sigqueue() attached (ssi_int). */
            struct signalfd_siginfo si[16];
            ssize_t r = read(fd, si, sizeof si);
            if (r == -1 && errno == EAGAIN)
                return;                 /* nothing pending */
            if (r == -1)
                die_errno("read signalfd");
            n = r / (ssize_t)sizeof si[0];
            for (long i = 0; i < n; i++) {
                if (t->got + i == 0)
                    t->from = (pid_t)si[i].ssi_pid;
                if (si[i].ssi_int != t->last_value + 1)
                    t->in_order = 0;
                if (si[i].ssi_int <= t->last_value)
                    t->rising = 0;
                t->last_value = si[i].ssi_int;
            }
            /* [/snippet:signalfd-read] */
        } else {
            unsigned char b[256];
            ssize_t r = read(fd, b, sizeof b);
            if (r == -1 && errno == EAGAIN)
                return;
            if (r == -1)
                die_errno("read self-pipe");
            n = r;                      /* a byte per handler run */
        }
        t->got += n;
        for (long i = 0; i < n && t->ack != -1; i++) {
            if (write(t->ack, "k", 1) == 1)
                continue;
            if (errno != EPIPE)
                die_errno("write ack");
            t->ack = -1;                /* the sender has gone: the loop sees it next */
        }
    }
}

static void mode_receive(int use_signalfd)
{
    const char *name = use_signalfd ? "signalfd" : "selfpipe";
    int fd;
    if (use_signalfd) {
        /* [snippet:signalfd-setup] */
        /* Block the signal, so it stays pending instead of running a handler or killing
         * us, and let a signalfd report it: readable while one is pending. Block it before
         * any sender can send it (here: before the fork). */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
            die_errno("sigprocmask");
        fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd == -1)
            die_errno("signalfd");
        /* [/snippet:signalfd-setup] */
    } else {
        if (pipe2(selfpipe, O_NONBLOCK | O_CLOEXEC) == -1)
            die_errno("pipe2");
        /* SA_RESTART, so that calls which can be restarted are; poll() never is. */
        install(SIGUSR1, on_usr1_selfpipe, SA_RESTART, NULL);
        fd = selfpipe[0];
    }
    /* ack: the receiver's go-ahead to the sender; life: readable (EOF) once the sender
     * has gone, however it went, so the loop never waits for a sender that is dead. */
    int ack[2], life[2];
    install(SIGPIPE, SIG_IGN, 0, NULL);     /* a dead sender: EPIPE, not death by SIGPIPE */
    xpipe(ack);
    xpipe(life);
    printf("%s: a child sends %ld x SIGUSR1, each with its number%s\n", name, nsignals,
           no_wait ? ", without waiting" : ", each once the last one was taken");
    fflush(stdout);
    pid_t parent = getpid(), pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        close(ack[1]);
        close(life[0]);
        sender(parent, ack[0]);
    }
    close(ack[0]);
    close(life[1]);
    struct tally t = { .ack = no_wait ? -1 : ack[1], .in_order = 1, .rising = 1 };
    long eintr = 0;
    struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = life[0], .events = POLLIN } };
    /* [snippet:poll-loop] */
    while (t.got < nsignals) {
        if (poll(p, 2, -1) == -1) {
            if (errno != EINTR)
                die_errno("poll");
            eintr++;                    /* the handler ran while we slept in poll() */
            continue;
        }
        if (p[0].revents & POLLIN)
            take(use_signalfd, fd, &t);
        if (p[1].revents)
            break;                      /* the sender has gone */
    }
    /* What the sender sent before it went is pending (signalfd) or already in the pipe
     * (the handler runs before poll() returns to us): take it. */
    t.ack = -1;
    take(use_signalfd, fd, &t);
    /* [/snippet:poll-loop] */
    int status;
    char how[128];
    xwaitpid(pid, &status, 0);
    printf("%s: the sender %s\n", name, describe_status(status, how, sizeof how));
    if (no_wait) {
        printf("  signals delivered: %ld of %ld sent (signals pending at once coalesced)\n",
               t.got, nsignals);
        if (t.got < 1 || t.got > nsignals)
            unexpected = 1;
    } else {
        expect("signals delivered", t.got, nsignals);
    }
    if (use_signalfd && !no_wait) {
        printf("  the first came from pid %d (expected %d, the sender); values in order: %s "
               "(expected yes)\n", (int)t.from, (int)pid, t.in_order ? "yes" : "no");
        if (t.from != pid || !t.in_order)
            unexpected = 1;
    } else if (use_signalfd) {
        /* A signal sent while one is pending is dropped with its value: gaps. */
        printf("  the first came from pid %d (expected %d, the sender); values rising: %s "
               "(expected yes);\n  the last value seen: %ld; a signal sent while one was "
               "pending was dropped, value and all\n", (int)t.from, (int)pid,
               t.rising ? "yes" : "no", t.last_value);
        if (t.from != pid || !t.rising)
            unexpected = 1;
    } else {
        printf("  poll() was interrupted (EINTR) %ld times: it is never restarted, "
               "SA_RESTART or not\n", eintr);
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        unexpected = 1;
    close(ack[1]);
    close(life[0]);
    close(fd);
    if (!use_signalfd)
        close(selfpipe[1]);
    restore(SIGUSR1);
    restore(SIGPIPE);
}

/* ---- sigchld: many children exit at once; reap them all ------------------------------ */

static atomic_long chld_runs, chld_reaped;     /* lock-free atomics: see handler-data */

/* [snippet:sigchld-handlers] */
/* Wrong: one waitpid() per SIGCHLD. Children that exit while a SIGCHLD is already
 * pending add nothing to it, so this reaps one of them and leaves the rest as zombies. */
static void on_chld_once(int sig)
{
    (void)sig;
    int saved = errno;
    if (waitpid(-1, NULL, WNOHANG) > 0)
        chld_reaped++;
    chld_runs++;
    errno = saved;
}

/* Right: a SIGCHLD means "at least one child changed state". Reap until waitpid() says
 * none is left (0: children still running; -1 ECHILD: no children at all). */
static void on_chld_loop(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        chld_reaped++;
    chld_runs++;
    errno = saved;
}
/* [/snippet:sigchld-handlers] */

/* Start nchildren children that each wait for the starting gun - the end of a pipe - and
 * exit on it, all at the same moment. SIGCHLD is blocked meanwhile; the old mask is left
 * in *old. Fills pids[]. */
static void start_children(pid_t *pids, sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, old) == -1)
        die_errno("sigprocmask");
    int gun[2];
    xpipe(gun);
    fflush(stdout);
    pid_t parent = getpid();
    for (long i = 0; i < nchildren; i++) {
        pids[i] = xfork();
        if (pids[i] == 0) {
            end_with_parent(parent, SIGKILL);
            close(gun[1]);
            char c;
            ssize_t r = read(gun[0], &c, 1);    /* 0: end of file, the gun */
            _exit(r == 0 ? 0 : 1);
        }
    }
    close(gun[0]);
    close(gun[1]);                      /* fire: every child's read() returns 0 */
}

/* Hold: wait until every child has exited without reaping any (WNOWAIT), so that all
 * their SIGCHLDs have been sent while blocked - coalesced into one pending signal. */
static void wait_all_exited(const pid_t *pids)
{
    for (long i = 0; i < nchildren; i++) {
        siginfo_t info;
        while (waitid(P_PID, (id_t)pids[i], &info, WEXITED | WNOWAIT) == -1)
            if (errno != EINTR)
                die_errno("waitid");
    }
}

/* Reap whatever children are left (zombies the handler missed); returns how many. */
static long reap_rest(void)
{
    long n = 0;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        n++;
    return n;
}

/* One held round: `handler` installed, nchildren children exit while SIGCHLD is blocked,
 * then it is unblocked; the handler should reap `want` of them. */
static void held_round(void (*handler)(int), const char *how, long want, pid_t *pids)
{
    sigset_t old;
    install(SIGCHLD, handler, SA_RESTART | SA_NOCLDSTOP, NULL);
    chld_runs = chld_reaped = 0;
    start_children(pids, &old);
    wait_all_exited(pids);
    sigprocmask(SIG_SETMASK, &old, NULL);   /* the one pending SIGCHLD runs the handler */
    printf("  %s:\n", how);
    expect("  handler runs", chld_runs, 1);
    expect("  children reaped by the handler", chld_reaped, want);
    expect("  zombies left, reaped here", reap_rest(), nchildren - want);
}

static void mode_sigchld(void)
{
    pid_t *pids = xcalloc((size_t)nchildren, sizeof *pids);
    sigset_t old;

    printf("sigchld: %ld children exit at once while SIGCHLD is blocked; then unblocked\n",
           nchildren);
    held_round(on_chld_once, "one waitpid() per signal", 1, pids);
    held_round(on_chld_loop, "waitpid(-1, WNOHANG) until none is left", nchildren, pids);

    /* Live: no hold; how many SIGCHLDs coalesce depends on timing, the count reaped not. */
    printf("sigchld: again, live: the children exit at once and we wait with sigsuspend()\n");
    chld_runs = chld_reaped = 0;
    start_children(pids, &old);
    /* sigsuspend() unblocks SIGCHLD and sleeps in one step, so a SIGCHLD cannot slip in
     * between the check and the sleep (the race the self-pipe trick also closes). */
    while (chld_reaped < nchildren)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
    expect("  children reaped", chld_reaped, nchildren);
    printf("  handler runs: %ld for %ld exits (between 1 and %ld: signals coalesced while "
           "one was pending)\n", atomic_load(&chld_runs), nchildren, nchildren);
    if (chld_runs < 1 || chld_runs > nchildren)
        unexpected = 1;
    restore(SIGCHLD);
    free(pids);
}

/* ---- restart: SA_RESTART and EINTR --------------------------------------------------- */

struct restart_watch {
    atomic_int handled;                 /* the child's handler has run */
    atomic_int eintr;                   /* the child's read() failed with EINTR */
};
static struct restart_watch *rw;

static void on_usr1_noted(int sig)
{
    (void)sig;
    atomic_fetch_add(&rw->handled, 1);
}

static noreturn void restart_child(int flags, int ready, int data)
{
    install(SIGUSR1, on_usr1_noted, flags, NULL);
    if (write(ready, "r", 1) != 1)
        die_child_errno("write");
    /* [snippet:restart-read] */
    /* A read() from an empty pipe sleeps; the parent sends SIGUSR1 while it does. */
    char buf[64];
    ssize_t n = read(data, buf, sizeof buf);
    if (n == -1 && errno == EINTR) {
        /* Without SA_RESTART: the handler ran and read() gave up. The caller must try
         * again (every blocking call in a program with handlers needs this loop). */
        atomic_store(&rw->eintr, 1);
        printf("  read() returned -1, errno EINTR (%s); the handler ran %d time; "
               "read again:\n", strerror(EINTR), atomic_load(&rw->handled));
        do
            n = read(data, buf, sizeof buf);
        while (n == -1 && errno == EINTR);
    }
    if (n == -1)
        die_child_errno("read");
    printf("  read() returned %zd bytes, '%.*s'; the handler ran %d time\n", n, (int)n, buf,
           atomic_load(&rw->handled));
    /* [/snippet:restart-read] */
    fflush(stdout);
    _exit(0);
}

static void restart_phase(int flags)
{
    int ready[2], data[2];
    xpipe(ready);
    xpipe(data);
    atomic_store(&rw->handled, 0);
    atomic_store(&rw->eintr, 0);
    printf("restart: a child blocks in read() on an empty pipe; we send it SIGUSR1, then "
           "data; %s\n", flags & SA_RESTART ? "with SA_RESTART" : "without SA_RESTART");
    fflush(stdout);
    pid_t parent = getpid(), pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        close(ready[0]);
        close(data[1]);
        restart_child(flags, ready[1], data[0]);
    }
    close(ready[1]);
    close(data[0]);
    char c;
    if (read(ready[0], &c, 1) != 1)
        die_msg("the restart child ended before it was ready");
    /* Signal it only once it sleeps in read(): state S. (Nothing between its "ready" and
     * its read() sleeps; sent earlier, the signal would be handled before read() began.) */
    int64_t start = now_ns();
    while (proc_state(pid) != 'S')
        guard(start, "the child to sleep in read()");
    kill(pid, SIGUSR1);
    /* Send the data only after the handler ran: data already in the pipe would let
     * read() return it instead of EINTR. */
    start = now_ns();
    while (atomic_load(&rw->handled) == 0)
        guard(start, "the child's handler to run");
    if (write(data[1], "hello", 5) != 5)
        die_errno("write");
    int status;
    char how[128];
    xwaitpid(pid, &status, 0);
    int want = !(flags & SA_RESTART);
    printf("  EINTR seen: %s (expected %s); the child %s\n", rw->eintr ? "yes" : "no",
           want ? "yes" : "no", describe_status(status, how, sizeof how));
    if (atomic_load(&rw->eintr) != want || !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        unexpected = 1;
    close(ready[0]);
    close(data[1]);
}

static void mode_restart(void)
{
    rw = shared_map(sizeof *rw);
    restart_phase(0);
    restart_phase(SA_RESTART);
    shared_unmap(rw, sizeof *rw);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    static const char *const modes[] = { "all", "handler", "unsafe", "selfpipe", "signalfd",
                                         "sigchld", "restart", NULL };
    int mode = 0;
    static const struct option opts[] = {
        { "mode", required_argument, NULL, 'm' },
        { "signals", required_argument, NULL, 's' },
        { "children", required_argument, NULL, 'c' },
        { "ms", required_argument, NULL, 't' },
        { "no-wait", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = parse_choice("--mode", optarg, modes); break;
        case 's': nsignals = parse_long("--signals", optarg, 1, 1000000000); break;
        case 'c': nchildren = parse_long("--children", optarg, 1, 1000); break;
        case 't': watch_ms = parse_long("--ms", optarg, 1, 600000); break;
        case 'n': no_wait = 1; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    /* Line-buffered even into a pipe: our children write to the same stdout (the unsafe
     * child's stack with write(2)), and each of our lines must be out before theirs. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (mode == 0 || mode == 1)
        mode_handler();
    if (mode == 0 || mode == 2)
        mode_unsafe();
    if (mode == 0 || mode == 3)
        mode_receive(0);
    if (mode == 0 || mode == 4)
        mode_receive(1);
    if (mode == 0 || mode == 5)
        mode_sigchld();
    if (mode == 0 || mode == 6)
        mode_restart();
    if (unexpected)
        printf("signals: an outcome above was not the expected one\n");
    return unexpected ? EXIT_FAILURE : EXIT_SUCCESS;
}
