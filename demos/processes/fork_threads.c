/* fork_threads.c - fork() in a process whose other thread holds a lock
 *
 * Usage:    fork_threads [--mode all|bare|exec|atfork|spawn|malloc] [--timeout-ms MS]
 *                        [--hold-ms MS] [--forks N]
 * Observe:  fork() copies the whole memory but only the thread that called it. A mutex
 *           that another thread held at that moment is copied locked, and in the child no
 *           thread exists that will ever unlock it: bare, the child blocks on it for good -
 *           the parent gives it --timeout-ms, then kills it ("child stuck on the lock after
 *           N ms, killed"). The fixes, one mode each, and each child takes the lock:
 *           exec - the child calls only async-signal-safe functions, then execve(): a new
 *           program has new, unlocked memory; atfork - pthread_atfork() handlers take the
 *           lock before fork() and release it on both sides after; spawn - posix_spawn()
 *           creates the child and execs in one call. malloc: glibc does that dance for its
 *           own allocator locks, so a child can malloc() while other threads were inside
 *           malloc() - none of --forks children gets stuck.
 * Try:      fork_threads --mode bare --timeout-ms 5000  (no timeout ever frees it)
 *           fork_threads --mode atfork --hold-ms 1000 (fork() now waits for the lock)
 *           Python 3.12 warns about os.fork() with threads; 3.14 no longer forks by
 *           default: the page shows the warning and says why.
 * Python:   docs/seeds.md#seed-000, multiprocessing's start methods fork, spawn, forkserver
 * See also: docs/processes/fork_threads.md
 */
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char usage_text[] =
    "fork_threads - fork() while another thread holds a lock: the stuck child, and the fixes\n"
    "\n"
    "Usage: fork_threads [--mode all|bare|exec|atfork|spawn|malloc] [--timeout-ms MS]\n"
    "                    [--hold-ms MS] [--forks N]\n"
    "  --mode M          which case to run (default all, in that order):\n"
    "                      bare    fork(), the child locks the mutex: stuck for good\n"
    "                      exec    fork(), the child only calls execve(): a fresh mutex\n"
    "                      atfork  pthread_atfork() handlers hand the child a free mutex\n"
    "                      spawn   posix_spawn(): no copy of the parent's locks at all\n"
    "                      malloc  children malloc() while other threads do: glibc copes\n"
    "  --timeout-ms MS   how long a child is given to take the lock and exit before it\n"
    "                    is called stuck and killed (default 1000)\n"
    "  --hold-ms MS      how long the other thread keeps the lock once told to let go\n"
    "                    (default 100): what the atfork prepare handler waits for\n"
    "  --forks N         children forked by --mode malloc (default 200)\n"
    "  --exec-child PID  (internal) the program the exec and spawn children run\n"
    "  --help            this text\n";

static const char *const mode_names[] = { "all", "bare", "exec", "atfork", "spawn", "malloc",
                                          NULL };
enum { ALL, BARE, EXEC, ATFORK, SPAWN, MALLOC };

/* The lock at the centre: a plain default mutex, as a library would keep around a cache. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static long hold_ms = 100;

/* The other thread: it takes the lock, says so, and keeps it until told to let go (a byte
 * on `release`), then for hold_ms more - the rest of its critical section. The handshake
 * makes the bare case certain: fork() happens while the lock is held, every time. */
struct holder {
    pthread_t thread;
    sem_t held;
    int release[2];
};

static void *hold_lock(void *arg)
{
    struct holder *h = arg;
    pthread_mutex_lock(&lock);
    sem_post(&h->held);
    char c;
    while (read(h->release[0], &c, 1) == -1 && errno == EINTR)
        continue;
    sleep_ns(hold_ms * 1000000);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void holder_start(struct holder *h)
{
    if (sem_init(&h->held, 0, 0) == -1)
        die_errno("sem_init");
    xpipe(h->release);
    xpthread_create(&h->thread, NULL, hold_lock, h);
    while (sem_wait(&h->held) == -1)
        if (errno != EINTR)
            die_errno("sem_wait");
}

static void holder_let_go(struct holder *h)
{
    if (write(h->release[1], "x", 1) != 1)
        die_errno("write");
}

static void holder_join(struct holder *h)
{
    xpthread_join(h->thread, NULL);
    close(h->release[0]);
    close(h->release[1]);
    sem_destroy(&h->held);
}

/* Give child `pid` timeout_ms to end; past that, kill it. Waiting on a pidfd with poll()
 * bounds the wait without a signal handler or a polling loop (Linux 5.3; before that, a
 * waitpid(WNOHANG) loop). Returns 1 if the child was stuck and killed, else 0, and its
 * wait status in *status. */
/* [snippet:bounded-wait] */
static int wait_or_kill(pid_t pid, long timeout_ms, int *status)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    int stuck = 0;
    if (fd >= 0) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t end = now_ns() + timeout_ms * 1000000;
        int n;
        do {
            int64_t left = end - now_ns();
            n = poll(&p, 1, left > 0 ? (int)((left + 999999) / 1000000) : 0);
        } while (n == -1 && errno == EINTR);
        if (n == -1)
            die_errno("poll");
        if (n == 0) {                       /* still running: it is stuck */
            stuck = 1;
            if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == -1)
                die_errno("pidfd_send_signal");
        }
        close(fd);
    } else if (errno == ENOSYS) {
        int64_t end = now_ns() + timeout_ms * 1000000;
        while (xwaitpid(pid, status, WNOHANG) == 0) {
            if (now_ns() >= end) {
                stuck = 1;
                kill(pid, SIGKILL);         /* still our unreaped child: the pid is safe */
                break;
            }
            sleep_ns(1000000);
        }
        if (!stuck)
            return 0;
    } else {
        die_errno("pidfd_open");
    }
    xwaitpid(pid, status, 0);
    return stuck;
}
/* [/snippet:bounded-wait] */

/* Say how the child of `mode` ended: the line the tests read. */
static void report(const char *mode, pid_t pid, int stuck, int status, long timeout_ms)
{
    char how[128];
    if (stuck)
        printf("%s: child %d stuck on the lock after %ld ms, killed\n", mode, (int)pid,
               timeout_ms);
    else
        printf("%s: child %d took the lock and %s\n", mode, (int)pid,
               describe_status(status, how, sizeof how));
    fflush(stdout);
}

/* bare: fork while the other thread holds the lock; the child wants it. */
static void case_bare(long timeout_ms)
{
    struct holder h;
    holder_start(&h);
    printf("bare: the other thread holds the lock; fork()\n");
    fflush(stdout);
    pid_t parent = getpid();
    /* [snippet:bare] */
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        /* The child has one thread, a copy of the one that called fork(). The lock was
         * copied locked, its owner is a thread the child does not have: nobody will ever
         * unlock it here. */
        pthread_mutex_lock(&lock);
        pthread_mutex_unlock(&lock);
        _exit(0);
    }
    holder_let_go(&h);            /* in the parent the owner lets go, as it always would */
    /* [/snippet:bare] */
    int status;
    int stuck = wait_or_kill(pid, timeout_ms, &status);
    report("bare", pid, stuck, status, timeout_ms);
    holder_join(&h);
}

/* exec: the child between fork() and execve() calls only async-signal-safe functions -
 * no malloc(), no printf(), no locks - then becomes a new program with fresh memory. */
static void case_exec(long timeout_ms)
{
    /* Everything the child needs is prepared before fork(): building it after would
     * call snprintf() and friends in the child. */
    char parent[32];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    char *args[] = { (char *)prog_name, "--exec-child", parent, NULL };
    static const char failed[] = "fork_threads: execve failed\n";

    struct holder h;
    holder_start(&h);
    printf("exec: the other thread holds the lock; fork(), then execve() in the child\n");
    fflush(stdout);
    /* [snippet:exec] */
    pid_t pid = xfork();
    if (pid == 0) {
        execve("/proc/self/exe", args, environ);
        (void)!write(STDERR_FILENO, failed, sizeof failed - 1);   /* write() is safe */
        _exit(127);
    }
    /* [/snippet:exec] */
    holder_let_go(&h);
    int status;
    int stuck = wait_or_kill(pid, timeout_ms, &status);
    report("exec", pid, stuck, status, timeout_ms);
    holder_join(&h);
}

/* atfork: handlers that make fork() wait until the lock is free, and free it after. */
/* [snippet:atfork] */
static void prepare(void)     { pthread_mutex_lock(&lock); }     /* before fork() */
static void in_parent(void)   { pthread_mutex_unlock(&lock); }   /* after, in the parent */
static void in_child(void)    { pthread_mutex_unlock(&lock); }   /* after, in the child */
/* [/snippet:atfork] */

static void case_atfork(long timeout_ms)
{
    static int registered;
    if (!registered) {            /* handlers stay for the process's life: register once */
        int s = pthread_atfork(prepare, in_parent, in_child);
        if (s != 0)
            die_code("pthread_atfork", s);
        registered = 1;
    }
    struct holder h;
    holder_start(&h);
    printf("atfork: the other thread holds the lock; it is told to let go, and fork() at "
           "once\n");
    fflush(stdout);
    holder_let_go(&h);
    pid_t parent = getpid();
    int64_t t0 = now_ns();
    /* fork() runs prepare() first: it waits for the other thread to leave its critical
     * section, so the lock is copied in a known state - held by the forking thread - and
     * in_child() releases it. */
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        pthread_mutex_lock(&lock);
        pthread_mutex_unlock(&lock);
        _exit(0);
    }
    printf("atfork: fork() returned after %.0f ms: prepare() waited for the lock\n",
           (double)(now_ns() - t0) / 1e6);
    fflush(stdout);
    int status;
    int stuck = wait_or_kill(pid, timeout_ms, &status);
    report("atfork", pid, stuck, status, timeout_ms);
    holder_join(&h);
}

/* spawn: posix_spawn() never hands the parent's memory to code of ours: glibc creates the
 * child with clone(CLONE_VM | CLONE_VFORK) and execs at once. No atfork handler runs. */
static void case_spawn(long timeout_ms)
{
    char parent[32];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    char *args[] = { (char *)prog_name, "--exec-child", parent, NULL };
    struct holder h;
    holder_start(&h);
    printf("spawn: the other thread holds the lock; posix_spawn()\n");
    fflush(stdout);
    /* [snippet:spawn] */
    pid_t pid;
    int s = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ);
    if (s != 0)
        die_code("posix_spawn", s);
    /* [/snippet:spawn] */
    holder_let_go(&h);
    int status;
    int stuck = wait_or_kill(pid, timeout_ms, &status);
    report("spawn", pid, stuck, status, timeout_ms);
    holder_join(&h);
}

/* What the exec and spawn children run: a new program image, whose lock is the static
 * initialiser's - unlocked - whatever the parent's threads were doing. */
static int exec_child(const char *parent)
{
    end_with_parent((pid_t)parse_long("--exec-child", parent, 1, 1L << 30), SIGKILL);
    pthread_mutex_lock(&lock);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Whose malloc() this build has: under AddressSanitizer (make SANITIZE=address) it is
 * ASan's allocator, which - in GCC 12's libasan - does not take its locks around fork(),
 * so there the children can get stuck: the bare case again, in code we did not write. */
#ifdef __SANITIZE_ADDRESS__
static const char allocator[] = "AddressSanitizer's allocator, which takes no locks around "
                                "fork(): some may be stuck";
#else
static const char allocator[] = "expected 0: glibc's fork() takes malloc's locks around the "
                                "fork itself";
#endif

/* malloc: threads busy in malloc()/free() in one arena while the main thread forks. */
static atomic_int stop_churn;    /* atomic: read by the churning threads, set by main */

static void *churn(void *arg)
{
    (void)arg;
    while (!stop_churn) {
        void *p[16];
        for (size_t i = 0; i < 16; i++)
            p[i] = malloc(16 + i * 200);
        for (size_t i = 0; i < 16; i++)
            free(p[i]);
    }
    return NULL;
}

static void case_malloc(long forks, long timeout_ms)
{
    /* One arena for every thread: the child's malloc() needs the very lock the churning
     * threads take all the time (by default each thread tends to get an arena of its own). */
    mallopt(M_ARENA_MAX, 1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        xpthread_create(&t[i], NULL, churn, NULL);
    printf("malloc: 2 threads malloc() and free() in one arena; %ld children fork and "
           "malloc()\n", forks);
    fflush(stdout);
    pid_t parent = getpid();
    long stuck = 0;
    for (long i = 0; i < forks; i++) {
        pid_t pid = xfork();
        if (pid == 0) {
            end_with_parent(parent, SIGKILL);
            void *p = malloc(1000);
            free(p);
            _exit(p != NULL ? 0 : 1);
        }
        int status;
        stuck += wait_or_kill(pid, timeout_ms, &status);
    }
    stop_churn = 1;
    for (int i = 0; i < 2; i++)
        xpthread_join(t[i], NULL);
    printf("malloc: %ld of %ld children stuck (%s)\n", stuck, forks, allocator);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int mode = ALL;
    long timeout_ms = 1000, forks = 200;
    const char *exec_parent = NULL;
    static const struct option opts[] = {
        { "mode", required_argument, NULL, 'm' },
        { "timeout-ms", required_argument, NULL, 't' },
        { "hold-ms", required_argument, NULL, 'H' },
        { "forks", required_argument, NULL, 'f' },
        { "exec-child", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = parse_choice("--mode", optarg, mode_names); break;
        case 't': timeout_ms = parse_long("--timeout-ms", optarg, 1, 3600000); break;
        case 'H': hold_ms = parse_long("--hold-ms", optarg, 0, 60000); break;
        case 'f': forks = parse_long("--forks", optarg, 1, 100000); break;
        case 'x': exec_parent = optarg; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (exec_parent != NULL)
        return exec_child(exec_parent);

    if (mode == ALL || mode == BARE)
        case_bare(timeout_ms);
    if (mode == ALL || mode == EXEC)
        case_exec(timeout_ms);
    if (mode == ALL || mode == ATFORK)
        case_atfork(timeout_ms);
    if (mode == ALL || mode == SPAWN)
        case_spawn(timeout_ms);
    if (mode == ALL || mode == MALLOC)
        case_malloc(forks, timeout_ms);
    return EXIT_SUCCESS;
}
