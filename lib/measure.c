/* measure.c - run a command, account for it, sample the CPUs (contract in measure.h) */
#include "core.h"
#include "measure.h"
#include "spawn_capture.h"

#include <errno.h>
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

/* The dispositions and mask that forwarding replaced, to restore after the run and in
 * the child before it execs. */
struct stop_forwarding {
    struct sigaction old_int, old_quit, old_term;
    sigset_t old_mask;
};

/* Stop signals are passed on to the command (forward_stop). They stay blocked until
 * fwd_pid and fwd_pidfd name the child, so none arrives while there is nobody to forward
 * it to: a blocked signal waits, pending, and is handled at the unblock. */
static void forward_stops_begin(struct stop_forwarding *sf)
{
    struct sigaction fwd = { .sa_handler = forward_stop };
    sigemptyset(&fwd.sa_mask);
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGQUIT);
    sigaddset(&stops, SIGTERM);
    sigprocmask(SIG_BLOCK, &stops, &sf->old_mask);
    fwd_pid = 0, fwd_pidfd = -1, fwd_sig = 0;
    sigaction(SIGINT, &fwd, &sf->old_int);
    sigaction(SIGQUIT, &fwd, &sf->old_quit);
    sigaction(SIGTERM, &fwd, &sf->old_term);
}

/* Put back what forward_stops_begin() replaced (in the parent after the run, and in the
 * child before exec: the command gets the dispositions and mask we were started with). */
static void forward_stops_end(void *arg)
{
    struct stop_forwarding *sf = arg;
    fwd_pid = 0, fwd_pidfd = -1;
    sigaction(SIGINT, &sf->old_int, NULL);
    sigaction(SIGQUIT, &sf->old_quit, NULL);
    sigaction(SIGTERM, &sf->old_term, NULL);
    sigprocmask(SIG_SETMASK, &sf->old_mask, NULL);
}

/* What the sample loop keeps between /proc/stat reads. */
struct sampler {
    struct cpu_ticks *start, *prev, *cur;
    int have_stat;         /* /proc/stat could be read at the start */
    int period;            /* ms between samples, or -1 for none */
    size_t cap;            /* room in r->samples */
    int64_t t0;            /* when the command started */
};

/* Wait for the child, waking every sample period to read /proc/stat. A pidfd becomes
 * readable the moment the child exits, so the wait adds no latency to wall time. Kernels
 * before 5.3 lack pidfd_open: there we poll with wait4(WNOHANG). Returns 0 with *status
 * and *ru filled in, or -1 with errno (the child has been killed and reaped). */
static int wait_sampling(pid_t pid, int pidfd, struct sampler *sm, struct measure_result *r,
                         int *status, struct rusage *ru)
{
    for (;;) {
        pid_t w;
        if (pidfd >= 0) {
            struct pollfd p = { .fd = pidfd, .events = POLLIN };
            int n = poll(&p, 1, sm->period);
            if (n == -1 && errno != EINTR) {
                int saved = errno;
                kill(pid, SIGKILL);
                wait4(pid, status, 0, ru);
                errno = saved;
                return -1;
            }
            w = n > 0 ? wait4(pid, status, 0, ru) : 0;
        } else {
            w = wait4(pid, status, sm->period > 0 ? WNOHANG : 0, ru);
            if (w == 0)
                sleep_ns((int64_t)sm->period * 1000000);
        }
        if (w == pid)
            return 0;
        if (w == -1 && errno != EINTR)
            return -1;
        if (sm->have_stat && sm->period > 0 && read_ticks(sm->cur) == 0) {
            double t_s = (double)(now_ns() - sm->t0) / 1e9;
            if (add_samples(r, &sm->cap, sm->prev, sm->cur, t_s) == -1)
                return -1;
            struct cpu_ticks *t = sm->prev;
            sm->prev = sm->cur;
            sm->cur = t;
        }
    }
}

/* Fill *r from the child's wait status and rusage, and the per-CPU busy shares from the
 * last /proc/stat read. Returns 0, or -1 with errno when out of memory. */
static int fill_result(struct measure_result *r, int status, const struct rusage *ru,
                       double wall_s, struct sampler *sm)
{
    r->wstatus = status;
    r->wall_s = wall_s;
    r->user_s = tv_s(ru->ru_utime);
    r->sys_s = tv_s(ru->ru_stime);
    r->cores_used = r->wall_s > 0 ? (r->user_s + r->sys_s) / r->wall_s : 0;
    r->vcsw = ru->ru_nvcsw;
    r->ivcsw = ru->ru_nivcsw;
    r->maxrss_kib = ru->ru_maxrss;
    if (!sm->have_stat || read_ticks(sm->cur) != 0 || sm->cur->n != sm->start->n)
        return 0;
    if (sm->period > 0 && add_samples(r, &sm->cap, sm->prev, sm->cur, r->wall_s) == -1)
        return -1;
    r->cpu = malloc((size_t)sm->cur->n * sizeof *r->cpu);
    r->busy_pct = malloc((size_t)sm->cur->n * sizeof *r->busy_pct);
    if (!r->cpu || !r->busy_pct)
        return -1;
    r->ncpus = sm->cur->n;
    for (int i = 0; i < sm->cur->n; i++) {
        r->cpu[i] = sm->cur->cpu[i];
        r->busy_pct[i] = busy_between(sm->start, sm->cur, i);
    }
    return 0;
}

/* Start the command, wait for it while sampling, fill *r. 0, or -1 with errno. */
static int run_sampled(char *const argv[], const struct measure_opts *o, struct sampler *sm,
                       struct measure_result *r)
{
    struct stop_forwarding sf;
    forward_stops_begin(&sf);
    struct spawn_opts so = { .child_setup = forward_stops_end, .arg = &sf,
                             .out = o->quiet ? SPAWN_NULL : SPAWN_INHERIT,
                             .err = o->quiet ? SPAWN_NULL : SPAWN_INHERIT };
    struct spawn child;
    sm->t0 = now_ns();
    if (spawn_start(&child, argv, &so) == SPAWN_MISSING) {
        r->exec_errno = errno;
        forward_stops_end(&sf);
        return 0;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, child.pid, 0);
    fwd_pid = child.pid, fwd_pidfd = pidfd;
    sigprocmask(SIG_SETMASK, &sf.old_mask, NULL);
    struct rusage ru;
    int status, ret = wait_sampling(child.pid, pidfd, sm, r, &status, &ru);
    int64_t t1 = now_ns();
    fwd_pid = 0, fwd_pidfd = -1;
    if (pidfd >= 0)
        close(pidfd);
    if (ret == 0)
        ret = fill_result(r, status, &ru, (double)(t1 - sm->t0) / 1e9, sm);
    int saved = errno;
    r->stop_signal = fwd_sig;
    forward_stops_end(&sf);
    errno = saved;
    return ret;
}

int measure_run(char *const argv[], const struct measure_opts *o, struct measure_result *r)
{
    memset(r, 0, sizeof *r);
    struct sampler sm = { .start = malloc(sizeof *sm.start), .prev = malloc(sizeof *sm.prev),
                          .cur = malloc(sizeof *sm.cur),
                          .period = o->sample_ms > 0 ? o->sample_ms : -1 };
    int ret = -1;
    if (sm.start && sm.prev && sm.cur) {
        sm.have_stat = read_ticks(sm.start) == 0;
        *sm.prev = *sm.start;
        ret = run_sampled(argv, o, &sm, r);
    }
    int saved = errno;
    free(sm.start);
    free(sm.prev);
    free(sm.cur);
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
