/* false_sharing_model.h - N threads, each incrementing a counter of its own: the counters
 *                         packed side by side, or padded 64 or 128 bytes apart
 *
 * The model of the false_sharing demo (demos/threads/false_sharing.c) and of
 * bench/bench_false_sharing.c, kept once so the bench measures exactly what the lesson shows.
 *
 * No counter is shared: each thread writes only its own, so there is no race and no lock.
 * But caches do not hold bytes, they hold lines of 64 bytes, and a CPU must own a line
 * exclusively to write into it. Eight packed uint64_t counters sit in one line: every
 * increment by one thread takes the line away from the CPU of the others, and the line
 * travels between CPUs at every store ("false sharing": shared line, unshared data).
 * Padded to 64 bytes each counter has a line of its own. Some Intel CPUs fetch lines in
 * pairs (the adjacent-line prefetcher), so 128 bytes is the distance that also keeps a
 * neighbour's line out of the way. On one CPU the effect vanishes: the threads take turns
 * on that CPU and its one cache.
 *
 * Each increment is an atomic load and an atomic store, both relaxed: every increment is a
 * real store to memory (not a register the compiler keeps), yet no locked instruction is
 * involved - a plain `mov` on x86 - and the program has no data race (ThreadSanitizer
 * stays quiet). A thread is the only writer of its counter, so no increment is lost.
 *
 * Threads: fs_run() starts and joins its threads itself; call it from one thread.
 * See also: false_sharing.c (the demo), bench/bench_false_sharing.c,
 *           docs/threads/false_sharing.md
 */
#ifndef FALSE_SHARING_MODEL_H
#define FALSE_SHARING_MODEL_H

#include <stdint.h>

/* Where the counters sit; the order of false_sharing's --layout names. */
enum fs_layout { FS_PACKED, FS_PAD64, FS_PAD128, FS_NLAYOUTS };
extern const char *const fs_layout_names[];   /* "packed", "pad64", "pad128", then NULL */
extern const int fs_layout_stride[];           /* bytes from one counter to the next */

/* Where the threads run; the order of false_sharing's --placement names. */
enum fs_place { FS_UNPINNED, FS_SAME_CPU, FS_SPREAD };
extern const char *const fs_place_names[];    /* "unpinned", "same-cpu", "spread", NULL */

struct fs_config {
    long threads;            /* at least 1 */
    enum fs_layout layout;
    enum fs_place place;     /* same-cpu: all on the first CPU we may use; spread: thread i
                              * on the i-th (wrapping round past the last) */
    long count;              /* increments per thread; 0: run for `seconds` instead */
    double seconds;
};

struct fs_result {
    uint64_t total;          /* increments of all threads: the counters added up */
    uint64_t counted;        /* the same, as the threads counted them in registers */
    uint64_t slowest, fastest;   /* the fewest and the most increments of one thread */
    double wall_s;           /* from the first thread's start to the last one's finish */
    double cpu_ns_per_inc;   /* CPU time of all threads over their increments: what one
                              * increment costs while its thread runs, whatever else the
                              * machine does (time spent waiting for a CPU is not in it) */
};

/* Run c->threads threads, released together by a barrier, each incrementing its own
 * counter c->count times or until c->seconds have passed; fill *r. Exits naming the call
 * on failure (a CPU that cannot be pinned to included). */
void fs_run(const struct fs_config *c, struct fs_result *r);

#endif
