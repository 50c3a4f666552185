/* placement.h - where the two tasks of a bench run, and the second task (the partner)
 *
 * Placement changes the answer of a switch, IPC or server bench several-fold (a wake-up on
 * another CPU costs far more than a switch on the same one), so a bench that takes
 * --placement plans one series per placement, a point made by
 * bench_placed_point("pipe-processes", kind, p, x) (harness.h), the variant
 * "pipe-processes/same-cpu" with its placement p as a field.
 *   BENCH_SAME_CPU  both tasks pinned to the first CPU this process may use: every
 *                   hand-off is a context switch on that CPU
 *   BENCH_SPLIT     task 0 on the first CPU, task 1 on the second: every hand-off is a
 *                   wake-up across CPUs (needs 2 CPUs; planned only where there are)
 *   BENCH_UNPINNED  the scheduler decides, as it does for ordinary programs
 * The harness gives each point's run the process's affinity as it found it at start
 * (bench_placement_init()), so a run that pins itself never leaks its pinning into the
 * next point.
 */
#ifndef PLACEMENT_H
#define PLACEMENT_H

#include <pthread.h>
#include <sys/types.h>

struct bench_opts;

enum { BENCH_UNPINNED = 0, BENCH_SAME_CPU = 1, BENCH_SPLIT = 2, BENCH_NPLACEMENTS = 3 };

/* Remember the affinity the program started with (bench_main() calls it first). */
void bench_placement_init(void);

/* "unpinned", "same-cpu" or "split". */
const char *bench_placement_name(int placement);

/* Parse "same-cpu,split" (or "all") into a bit set of placements, or usage_error(). */
unsigned bench_parse_placements(const char *list);

/* 1 if the placement was asked for (--placement, default all) and is possible here. */
int bench_placement_wanted(const struct bench_opts *o, int placement);

/* Pin the calling thread as task `task` (0 or 1) of a pair placed as `placement`; for
 * BENCH_UNPINNED restore the affinity the program started with. Returns 0 or an errno. */
int bench_pin(int placement, int task);

/* The second task of a pair, its partner: fn(arg) in a forked child (BENCH_PROCESS; the
 * child exits 0 if fn returned 0, else 1, and dies with the bench) or in a thread
 * (BENCH_THREAD), pinned as task 1 of `placement`. Memory both tasks use must come from
 * shared_map() (shared.h) when it is a process. */
enum { BENCH_PROCESS = 0, BENCH_THREAD = 1 };
struct bench_partner {
    int kind;
    pid_t pid;
    pthread_t thread;
    int placement;
    int (*fn)(void *);
    void *arg;
    int ret;
};
void bench_partner_start(struct bench_partner *partner, int kind, int placement,
                         int (*fn)(void *), void *arg);

/* Wait for the partner to finish. Returns its fn's value (0: fine), or -1 when the child
 * was killed or exited non-zero (said on stderr). */
int bench_partner_wait(struct bench_partner *partner);

#endif
