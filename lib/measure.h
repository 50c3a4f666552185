/* measure.h - run a command and say what it cost: the harness's outer face
 *
 * measure_run() starts a command, waits for it, and fills a measure_result with what the
 * kernel accounted to it (and to the children it waited for): wall time, user and system
 * CPU time, cores used = (user + sys) / wall, voluntary and involuntary context switches
 * and peak resident memory, all from wait4(). While the command runs it samples
 * /proc/stat, so it can also say how busy each CPU of the whole machine was - the numbers
 * htop draws as bars.
 *
 * A voluntary switch is the task giving up the CPU because it must wait (a read, a lock,
 * a sleep); an involuntary one is the task switched out while it could still run: its
 * time slice ran out while others wanted the CPU, a task that just woke up preempted it,
 * or it called sched_yield().
 */
#ifndef MEASURE_H
#define MEASURE_H

#include <stddef.h>

/* One /proc/stat sample: how busy one CPU was over the interval that ended at t_s. */
struct measure_sample {
    double t_s;           /* seconds since the command started */
    int cpu;              /* CPU number as /proc/stat names it */
    double busy_pct;      /* 0..100 */
};

struct measure_opts {
    int sample_ms;        /* /proc/stat sampling period; 0 samples only at start and end */
    int quiet;            /* 1: the command's stdout and stderr go to /dev/null */
};

struct measure_result {
    int wstatus;          /* as from waitpid(); see describe_status() */
    int exec_errno;       /* non-zero: the command could not be started (errno of execvp) */
    double wall_s, user_s, sys_s, cores_used;
    long vcsw, ivcsw;     /* voluntary and involuntary context switches */
    long maxrss_kib;      /* peak resident set size of the largest process */
    int ncpus;            /* CPUs seen in /proc/stat; 0 when it could not be read */
    int *cpu;             /* [ncpus] their numbers */
    double *busy_pct;     /* [ncpus] how busy each was over the whole run */
    struct measure_sample *samples;   /* every sample, in time order */
    size_t nsamples;
    int stop_signal;      /* SIGINT, SIGQUIT or SIGTERM that reached us while the command
                           * ran (and was passed on to it), else 0: the caller should end
                           * by it too, once it has reported (die_of_signal) */
};

/* Run argv[0] (searched in PATH) with arguments argv, wait for it and fill *r.
 * Returns 0 when the command ran (whatever its exit status) or could not be exec'd
 * (r->exec_errno says why; nothing else is filled in); -1 with errno set when the
 * bookkeeping failed (a failed fork() exits, naming it: spawn_capture.h starts the command).
 * SIGINT, SIGQUIT and SIGTERM that reach us while waiting are passed on to the command,
 * so it stops whether the whole group was signalled (Ctrl-C) or only we were (kill -INT
 * PID), and the caller still reports (r->stop_signal says which); the command dies with
 * us if we are killed outright (PR_SET_PDEATHSIG). Free the result with measure_free(). */
int measure_run(char *const argv[], const struct measure_opts *o, struct measure_result *r);
void measure_free(struct measure_result *r);

#endif
