/* switching_model.h - K tasks doing CPU-bound or IO-bound jobs, as threads or as processes
 *
 * The seed's homework analogy made measurable: K tasks share the machine's cores for a
 * fixed time; each repeats one kind of job until the deadline. A CPU-bound job is a fixed
 * amount of arithmetic (SWITCHING_CPU_STEPS xorshift steps); an IO-bound job is a 1 ms
 * sleep, standing in for waiting on a disk or the network. Used by demos/threads/switching
 * (which prints a table) and bench/switching (which charts it).
 *
 * What to expect: CPU-bound throughput grows with K only up to the number of cores - past
 * it the tasks take turns and the scheduler's preemptions (involuntary switches) pile up.
 * IO-bound throughput keeps growing with K, since a sleeping task needs no core, until the
 * cores are busy handling the wake-ups; each job costs one voluntary switch.
 *
 * See also: switching.c (the demo), bench/bench_switching.c, docs/threads/switching.md
 */
#ifndef SWITCHING_MODEL_H
#define SWITCHING_MODEL_H

enum switching_kind { SWITCHING_CPU, SWITCHING_IO };

#define SWITCHING_CPU_STEPS 200000L      /* arithmetic steps in one CPU-bound job */
#define SWITCHING_IO_SLEEP_NS 1000000L   /* the wait in one IO-bound job: 1 ms */

struct switching_result {
    long jobs;               /* jobs completed by all tasks together */
    double wall_s;           /* from the start signal until the last task ended */
    long vcsw, ivcsw;        /* voluntary and involuntary context switches of the tasks */
};

/* Run k tasks of `kind` for `seconds`: threads of this process, or (processes != 0)
 * child processes, all released together. Each task counts its jobs and its own context
 * switches (getrusage RUSAGE_THREAD or RUSAGE_SELF) and the totals land in *r. Every
 * thread is joined and every child reaped before it returns. Returns 0, or -1 after
 * naming on stderr a child that did not exit normally. Failed system calls exit through
 * die_errno()/die_code(). */
int switching_run(long k, enum switching_kind kind, int processes, double seconds,
                  struct switching_result *r);

#endif
