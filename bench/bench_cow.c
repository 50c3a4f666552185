/* bench_cow.c - copy-on-write measured: fork's cost against the memory mapped, and a
 *               child's write cost against the fraction of pages it writes
 *
 * Two benches from this one file, on the cow demo's model (demos/processes/cow_model.c):
 *
 * cow (bench_cow): x is the memory the parent has mapped and touched, in MiB. Each series
 *   starts one child and reaps it, n times a run; start_reap is the time from the start to
 *   the reap, call the time the starting call took to return in the parent (fork() alone;
 *   for vfork and posix_spawn the call returns once the child has exec'd), in µs:
 *     fork+exit            4 KiB pages; the child _exit()s at once: fork copies a page-table
 *                          entry per page, exit frees them - both grow with x
 *     fork+exit/thp        the region on transparent huge pages: one entry per 2 MiB
 *     fork+exit/dontfork   the region under MADV_DONTFORK: the child gets none of it
 *     fork+exec            the child execs /bin/true: the copied tables are thrown away
 *     vfork+exec           no copy: the child borrows the parent's memory until exec
 *     posix_spawn          glibc's clone(CLONE_VM | CLONE_VFORK): no copy either
 *   Why posix_spawn exists: fork+exec grows with x, posix_spawn and vfork do not.
 *
 * cow_write (bench_cow_write): x is the percentage of the region's pages the child writes,
 *   one byte each, spread evenly; one fork per run. Metrics: write_ms, the child's time to
 *   write them the first time (a minor fault and a 4 KiB copy each); rewrite_ms, the same
 *   pages a second time (its own now: no fault); faults, its minor faults during the first
 *   pass (expected: the pages written). Series: small (4 KiB pages) and thp (huge pages,
 *   skipped where THP gives none).
 */
#include "core.h"
#include "cow_model.h"
#include "harness.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#ifndef COW_WRITE
#define COW_WRITE 0                      /* 1: the cow_write bench */
#endif

#define MAX_SIZES 16
static long sizes_flag[MAX_SIZES];       /* --mib: region sizes (cow) or the one size (write) */
static size_t nsizes;

#if !COW_WRITE
/* cow's series: a start method on a region advised one way. */
enum { S_FORK, S_FORK_THP, S_FORK_DONTFORK, S_FORK_EXEC, S_VFORK_EXEC, S_POSIX_SPAWN, S_N };
static const char *const series[S_N] = { "fork+exit", "fork+exit/thp", "fork+exit/dontfork",
                                         "fork+exec", "vfork+exec", "posix_spawn" };
static const enum cow_kind series_region[S_N] = { COW_SMALL, COW_HUGE, COW_DONTFORK,
                                                  COW_SMALL, COW_SMALL, COW_SMALL };
static const enum cow_start series_start[S_N] = { COW_FORK_EXIT, COW_FORK_EXIT, COW_FORK_EXIT,
                                                  COW_FORK_EXEC, COW_VFORK_EXEC,
                                                  COW_POSIX_SPAWN };
#else
/* cow_write's series: the region's advice. */
static const char *const write_series[] = { "small", "thp" };
#endif

static int flag(const char *name, const char *value)
{
    if (strcmp(name, "--mib"))
        return 0;
    nsizes = parse_long_list(name, value, 1, cow_max_mib(), sizes_flag,
                             COW_WRITE ? 1 : MAX_SIZES);
    return 1;
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    size_t n = 0;
#if COW_WRITE
    (void)o;
    static const long pct[] = { 0, 10, 25, 50, 75, 100 };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof pct / sizeof *pct && n < max; i++)
            pts[n++] = (struct bench_point){ .variant = write_series[k], .x = (double)pct[i],
                                             .kind = k == 0 ? COW_SMALL : COW_HUGE };
#else
    /* Sizes outer, the series on 4 KiB pages together: the region is mapped and touched
     * once for them, then once for each other advice. */
    static const long quick[] = { 16, 64, 256, 512 }, full[] = { 16, 64, 256, 1024 };
    const long *mib = nsizes ? sizes_flag : o->full ? full : quick;
    size_t nm = nsizes ? nsizes : 4;
    static const int order[S_N] = { S_FORK, S_FORK_EXEC, S_VFORK_EXEC, S_POSIX_SPAWN,
                                    S_FORK_THP, S_FORK_DONTFORK };
    for (size_t i = 0; i < nm; i++)
        for (int k = 0; k < S_N && n < max; k++)
            pts[n++] = (struct bench_point){ .variant = series[order[k]], .x = (double)mib[i],
                                             .kind = order[k] };
#endif
    return n;
}

/* The region, kept from one point to the next while its size and advice stay the same. */
static struct cow_region region;

static void region_for(size_t bytes, enum cow_kind kind)
{
    if (region.map && region.bytes == bytes && region.kind == kind)
        return;
    cow_region_unmap(&region);
    cow_region_map(&region, bytes, kind);
}

/* THP asked for but not given (THP off, or no free 2 MiB pages): skip, do not mislabel. */
static int no_huge_pages(const char *variant)
{
    if (region.kind != COW_HUGE || cow_huge_bytes(&region) > 0)
        return 0;
    char thp[32];
    fprintf(stderr, "cow: no huge pages in the region (THP setting: %s) - %s skipped\n",
            cow_thp_mode(thp, sizeof thp), variant);
    return 1;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
#if COW_WRITE
    size_t mib = nsizes ? (size_t)sizes_flag[0] : o->full ? 512 : 128;
    region_for(mib << 20, (enum cow_kind)p->kind);
    if (no_huge_pages(p->variant))
        return 1;
    struct cow_fork f;
    if (cow_fork(&region, p->x / 100.0, 0, &f) != 0 || cow_reap(f.pid) != 0)
        return -1;
    values[0] = (double)f.child.write_ns / 1e6;
    values[1] = (double)f.child.rewrite_ns / 1e6;
    values[2] = (double)f.child.faults;
    return 0;
#else
    int s = p->kind;
    size_t mib = (size_t)p->x;
    if (series_start[s] != COW_FORK_EXIT && access(COW_TRUE_PATH, X_OK) != 0) {
        fprintf(stderr, "cow: %s: %s - %s skipped\n", COW_TRUE_PATH, strerror(errno),
                p->variant);
        return 1;
    }
    region_for(mib << 20, series_region[s]);
    if (no_huge_pages(p->variant))
        return 1;
    /* About 2 GiB of mapping forked per run, 3 to 50 starts: tens of ms at every size. */
    long n = 2048 / (long)mib;
    n = n < 3 ? 3 : n > 50 ? 50 : n;
    if (o->full)
        n *= 2;
    int64_t total = 0, calls = 0;
    for (long i = 0; i < n; i++) {
        int64_t call;
        total += cow_start_and_reap(series_start[s], &call);
        calls += call;
    }
    values[0] = (double)total / (double)n / 1e3;
    values[1] = (double)calls / (double)n / 1e3;
    return 0;
#endif
}

static const struct bench_def def = {
#if COW_WRITE
    .name = "cow_write",
    .x_name = "touched",
    .x_unit = "%",
    .usage =
        "cow_write (bench) - a forked child's time to write a fraction of the pages it\n"
        "                    shares with its parent (minor fault and copy per page), and to\n"
        "                    write them again; 4 KiB pages and transparent huge pages\n"
        "\n"
        "Usage: bench_cow_write [--mib N] [common flags]\n"
        "  --mib N    the parent's region, in MiB (default 128 quick, 512 full)\n",
    .metrics = { { "write_ms", "ms" }, { "rewrite_ms", "ms" }, { "faults", "faults" } },
#else
    .name = "cow",
    .x_name = "mapped",
    .x_unit = "MiB",
    .usage =
        "cow (bench) - the time to start and reap a child against the memory the parent\n"
        "              has mapped: fork (4 KiB pages, huge pages, MADV_DONTFORK), fork+exec,\n"
        "              vfork+exec, posix_spawn\n"
        "\n"
        "Usage: bench_cow [--mib LIST] [common flags]\n"
        "  --mib LIST  the parent's region sizes, in MiB (default 16,64,256,512 quick;\n"
        "              16,64,256,1024 full)\n",
    .metrics = { { "start_reap", "us" }, { "call", "us" } },
#endif
    .default_repeats_quick = 3,
    .default_repeats_full = 5,
    .default_warmup = 1,
    .flag = flag,
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    int rc = bench_main(argc, argv, &def);
    cow_region_unmap(&region);
    return rc;
}
