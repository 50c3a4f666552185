/* cow_model.h - what fork() copies and what it leaves shared: a region the parent has
 *               touched, a fork, a child that writes a fraction of its pages
 *
 * The model of the cow demo (demos/processes/cow.c) and of the cow benches
 * (bench/bench_cow.c), kept once so the bench measures exactly what the lesson shows.
 *
 * fork() does not copy a process's memory. It copies the page tables that map it and marks
 * every private page read-only in both processes; the first write to a page, by either
 * process, takes a page fault (a minor fault: no disk involved) in which the kernel copies
 * that one page and maps the copy writable. So:
 *   - fork() itself costs time in proportion to the memory mapped (page-table entries to
 *     copy), not to the memory's contents;
 *   - a child that writes k pages takes k minor faults and k page copies - no more, since a
 *     page already copied is the child's own - which getrusage() counts (ru_minflt);
 *   - a region marked MADV_DONTFORK is not given to the child at all (nothing to copy, and
 *     the child must not touch it: it is not mapped there);
 *   - transparent huge pages (MADV_HUGEPAGE) map 2 MiB with one entry, so fork has less to
 *     copy; a child's write to a shared huge page splits it and copies 4 KiB pages.
 * posix_spawn() and vfork() start a program without copying the page tables at all: the
 * child borrows the parent's memory until it calls exec.
 *
 * Processes: cow_fork() forks one child, which writes and reports back over a pipe; the
 * child dies with the parent (PR_SET_PDEATHSIG), so a killed parent leaves no child.
 * See also: cow.c (the demo), bench/bench_cow.c, docs/processes/cow.md
 */
#ifndef COW_MODEL_H
#define COW_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How the region is advised (madvise) before the parent touches it; the order of cow's
 * --region names. */
enum cow_kind { COW_SMALL, COW_HUGE, COW_DONTFORK };
extern const char *const cow_kind_names[];   /* "small", "huge", "dontfork", then NULL */

/* A private anonymous region of `bytes`, aligned to 2 MiB so huge pages can map it. */
struct cow_region {
    char *base;
    size_t bytes, pages;     /* its size, and in base pages (page_size each) */
    size_t page_size;        /* the base page: 4 KiB on x86-64 */
    enum cow_kind kind;
    void *map;               /* what mmap() returned (base rounded up within it) */
    size_t map_bytes;
};

/* Map `bytes` (a multiple of the page size) starting on a 2 MiB boundary, advise it as
 * `kind` says (COW_SMALL and COW_DONTFORK ask for 4 KiB pages with MADV_NOHUGEPAGE, so a
 * THP "always" setting cannot change what is measured), then write every page once, so all
 * are present before any fork. Exits naming the call on failure; a kernel without THP is
 * not a failure (see cow_huge_bytes()). */
void cow_region_map(struct cow_region *r, size_t bytes, enum cow_kind kind);

/* The largest region, in MiB, that a parent and a child writing all of it can hold at once
 * in this machine's RAM: half of it (at least 1). Flags are checked against it, so a typo
 * cannot send the machine into the OOM killer. */
long cow_max_mib(void);
void cow_region_unmap(struct cow_region *r);

/* How many bytes of the region this process maps with huge pages (AnonHugePages in
 * /proc/self/smaps), or -1 if that cannot be read. */
long cow_huge_bytes(const struct cow_region *r);

/* The system's THP setting, the bracketed word of
 * /sys/kernel/mm/transparent_hugepage/enabled ("always", "madvise", "never"), or "absent". */
const char *cow_thp_mode(char *buf, size_t size);

/* What the child measured and sent back. */
struct cow_child {
    long touched;            /* pages it wrote */
    long faults;             /* its minor faults while writing them (ru_minflt) */
    long major_faults;       /* its major faults meanwhile (expected 0: nothing is on disk) */
    int64_t write_ns;        /* its time to write them */
    long rewrite_faults;     /* the same pages written a second time: they are its own now */
    int64_t rewrite_ns;
    int mapped;              /* 1: the region is mapped in the child (0 after MADV_DONTFORK) */
};

/* One fork: what the parent timed and what the child reported. */
struct cow_fork {
    pid_t pid;
    int64_t fork_ns;         /* fork() in the parent: from the call until it returned */
    struct cow_child child;
};

/* Fork. The child writes one byte into round(touch * pages) pages of the region, spread
 * evenly, twice (a second pass over the same pages, then its own), counting its minor
 * faults around each pass; sends the counts over a pipe; then waits `hold_ns` (so its
 * memory can be read in /proc/PID/smaps_rollup) and _exits. A DONTFORK region is not
 * written (touch must be 0). Returns 0 with *out filled once the child has reported (it may
 * still be holding: reap it with cow_reap()), or -1 when the child died first (reaped, said
 * on stderr). */
int cow_fork(const struct cow_region *r, double touch, int64_t hold_ns, struct cow_fork *out);

/* Wait for the child of cow_fork(). Returns 0 when it exited 0, else -1 (said on stderr). */
int cow_reap(pid_t pid);

/* Ways to start a child, for the comparison with fork: */
enum cow_start { COW_FORK_EXIT,      /* fork(); the child _exit(0)s at once */
                 COW_FORK_EXEC,      /* fork(); the child execs /bin/true */
                 COW_VFORK_EXEC,     /* vfork(); the child execs /bin/true */
                 COW_POSIX_SPAWN };  /* posix_spawn("/bin/true") */
extern const char *const cow_start_names[];  /* "fork+exit", ..., "posix_spawn", NULL */
#define COW_TRUE_PATH "/bin/true"

/* Start one child `how`, wait for it; returns the nanoseconds from the start to the reap,
 * and in *call_ns (if not NULL) those the starting call took to return in the parent.
 * Exits naming the call on failure, or when the child did not exit 0. */
int64_t cow_start_and_reap(enum cow_start how, int64_t *call_ns);

#endif
