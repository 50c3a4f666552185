/* measure.c - run a command, account for it, sample the CPUs (contract in measure.h) */
#include "core.h"
#include "measure.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Cumulative tick counters for every CPU, as one read of /proc/stat gives them. */
struct cpu_ticks {
    int n;
    int cpu[1024];
    unsigned long long busy[1024], total[1024];
};

/* Read the per-CPU lines of /proc/stat ("cpu3 user nice system idle iowait irq softirq
 * steal ..."). Busy is what ran on the CPU: user, nice, system, irq and softirq. Idle and
 * iowait are the CPU waiting. Steal, time the hypervisor gave to another guest, counts in
 * the total but not as busy: it is not work of ours. Returns 0, or -1 if unreadable. */
static int read_ticks(struct cpu_ticks *t)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[512];
    t->n = 0;
    while (fgets(line, sizeof line, f) && t->n < 1024) {
        int id;
        unsigned long long v[8] = { 0 };
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
            continue;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
            continue;
        t->cpu[t->n] = id;
        t->busy[t->n] = v[0] + v[1] + v[2] + v[5] + v[6];
        t->total[t->n] = t->busy[t->n] + v[3] + v[4] + v[7];
        t->n++;
    }
    fclose(f);
    return t->n > 0 ? 0 : -1;
}

/* Percentage busy of CPU index i between two reads; 0 when no tick passed. */
static double busy_between(const struct cpu_ticks *a, const struct cpu_ticks *b, int i)
{
    unsigned long long dt = b->total[i] - a->total[i];
    return dt ? 100.0 * (double)(b->busy[i] - a->busy[i]) / (double)dt : 0.0;
}

/* Append one sample per CPU for the interval a..b, ending at t_s. */
static int add_samples(struct measure_result *r, size_t *cap, const struct cpu_ticks *a,
                       const struct cpu_ticks *b, double t_s)
{
    if (a->n != b->n)               /* a CPU went on- or offline: skip this interval */
        return 0;
    if (r->nsamples + (size_t)b->n > *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        while (ncap < r->nsamples + (size_t)b->n)
            ncap *= 2;
        void *p = realloc(r->samples, ncap * sizeof *r->samples);
        if (!p)
            return -1;
        r->samples = p;
        *cap = ncap;
    }
    for (int i = 0; i < b->n; i++)
        r->samples[r->nsamples++] = (struct measure_sample){ t_s, b->cpu[i], busy_between(a, b, i) };
    return 0;
}

/* The command being measured, for forward_stop(): its pidfd, or its pid on kernels before
 * 5.3 that have no pidfds; and the stop signal that reached us while it ran. */
static volatile sig_atomic_t fwd_pid, fwd_pidfd = -1, fwd_sig;

/* SIGINT, SIGQUIT or SIGTERM while the command runs: pass it on, and note it so that the
 * caller ends the same way once it has reported. Ctrl-C reaches the command anyway (it
 * signals the whole foreground group), but kill -INT aimed at us alone would not. A pidfd
 * names this one process even after it has been reaped and its pid reused; the bare pid
 * of the fallback has that (tiny) risk between wait4() and fwd_pid = 0. */
static void forward_stop(int sig)
{
    int saved = errno;
    fwd_sig = sig;
    if (fwd_pidfd >= 0)
        syscall(SYS_pidfd_send_signal, (int)fwd_pidfd, sig, NULL, 0);
    else if (fwd_pid > 0)
        kill(fwd_pid, sig);
    errno = saved;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int measure_run(char *const argv[], const struct measure_opts *o, struct measure_result *r)
{
    memset(r, 0, sizeof *r);
    struct cpu_ticks *start = malloc(sizeof *start), *prev = malloc(sizeof *prev),
                     *cur = malloc(sizeof *cur);
    int ret = -1, saved;
    size_t cap = 0;
    int have_stat;
    if (!start || !prev || !cur)
        goto out;
    have_stat = read_ticks(start) == 0;
    *prev = *start;

    /* The child reports a failed exec through this close-on-exec pipe: a successful exec
     * closes it with nothing written, so the parent's read sees end-of-file. */
    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) == -1)
        goto out;

    /* Stop signals are passed on to the command (forward_stop). They stay blocked until
     * fwd_pid and fwd_pidfd name the child, so none arrives while there is nobody to
     * forward it to: a blocked signal waits, pending, and is handled at the unblock. */
    struct sigaction fwd = { .sa_handler = forward_stop }, old_int, old_quit, old_term;
    sigemptyset(&fwd.sa_mask);
    sigset_t stops, old_mask;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGQUIT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, &old_mask);
    fwd_pid = 0, fwd_pidfd = -1, fwd_sig = 0;
    sigaction(SIGINT, &fwd, &old_int);
    sigaction(SIGQUIT, &fwd, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);

    int64_t t0 = now_ns();
    pid_t parent = getpid(), pid = fork();
    if (pid == -1) {
        saved = errno;
        close(errpipe[0]);
        close(errpipe[1]);
        errno = saved;
        goto restore;
    }
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);   /* kill -9 of us must not leave it running */
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        if (o->quiet) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
            }
        }
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(errpipe[1], &e, sizeof e);
        _exit(127);
    }
    close(errpipe[1]);

    /* Wait for the child, waking every sample_ms to read /proc/stat. A pidfd becomes
     * readable the moment the child exits, so the wait adds no latency to wall time.
     * Kernels before 5.3 lack pidfd_open: there we poll with wait4(WNOHANG). */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    fwd_pid = pid, fwd_pidfd = pidfd;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    int period = o->sample_ms > 0 ? o->sample_ms : -1;
    struct rusage ru;
    int status;
    for (;;) {
        pid_t w;
        if (pidfd >= 0) {
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            int n = poll(&p, 1, period);
            if (n == -1 && errno != EINTR) {
                saved = errno;
                kill(pid, SIGKILL);
                wait4(pid, &status, 0, &ru);
                errno = saved;
                fwd_pidfd = -1;
                close(pidfd);
                close(errpipe[0]);
                goto restore;
            }
            w = n > 0 ? wait4(pid, &status, 0, &ru) : 0;
        } else {
            w = wait4(pid, &status, period > 0 ? WNOHANG : 0, &ru);
            if (w == 0)
                sleep_ns((int64_t)period * 1000000);
        }
        if (w == pid)
            break;
        if (w == -1 && errno != EINTR)
            goto restore;
        if (have_stat && period > 0 && read_ticks(cur) == 0) {
            if (add_samples(r, &cap, prev, cur, (double)(now_ns() - t0) / 1e9) == -1)
                goto restore;
            struct cpu_ticks *t = prev;
            prev = cur;
            cur = t;
        }
    }
    int64_t t1 = now_ns();
    fwd_pid = 0, fwd_pidfd = -1;
    if (pidfd >= 0)
        close(pidfd);

    int e = 0;
    if (read(errpipe[0], &e, sizeof e) == (ssize_t)sizeof e)
        r->exec_errno = e;
    close(errpipe[0]);

    r->wstatus = status;
    r->wall_s = (double)(t1 - t0) / 1e9;
    r->user_s = tv_s(ru.ru_utime);
    r->sys_s = tv_s(ru.ru_stime);
    r->cores_used = r->wall_s > 0 ? (r->user_s + r->sys_s) / r->wall_s : 0;
    r->vcsw = ru.ru_nvcsw;
    r->ivcsw = ru.ru_nivcsw;
    r->maxrss_kib = ru.ru_maxrss;

    if (have_stat && read_ticks(cur) == 0 && cur->n == start->n) {
        if (period > 0 && add_samples(r, &cap, prev, cur, r->wall_s) == -1)
            goto restore;
        r->cpu = malloc((size_t)cur->n * sizeof *r->cpu);
        r->busy_pct = malloc((size_t)cur->n * sizeof *r->busy_pct);
        if (!r->cpu || !r->busy_pct)
            goto restore;
        r->ncpus = cur->n;
        for (int i = 0; i < cur->n; i++) {
            r->cpu[i] = cur->cpu[i];
            r->busy_pct[i] = busy_between(start, cur, i);
        }
    }
    ret = 0;

restore:
    saved = errno;
    fwd_pid = 0, fwd_pidfd = -1;
    r->stop_signal = fwd_sig;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    errno = saved;
out:
    saved = errno;
    free(start);
    free(prev);
    free(cur);
    if (ret != 0)
        measure_free(r);
    errno = saved;
    return ret;
}

void measure_free(struct measure_result *r)
{
    free(r->cpu);
    free(r->busy_pct);
    free(r->samples);
    r->cpu = NULL;
    r->busy_pct = NULL;
    r->samples = NULL;
    r->ncpus = 0;
    r->nsamples = 0;
}
