/* cow.c - copy-on-write: what fork() really copies, and what a child's writes cost
 *
 * Usage:    cow [--mib N] [--touch P] [--region small|huge|dontfork] [--hold S]
 * Observe:  the parent touches N MiB, forks, and the child writes a fraction P of the pages.
 *           fork() takes longer the more memory is mapped (it copies page tables, not
 *           pages); the child takes one minor page fault per page it writes, no more and no
 *           fewer - "child minor faults" sits at the page count - and its second write to
 *           the same pages faults nothing. --region dontfork hides the region from the
 *           child (MADV_DONTFORK): fork gets cheap; --region huge asks for 2 MiB pages
 *           (transparent huge pages), which make fork cheaper too. posix_spawn and vfork
 *           start /bin/true without copying any page table: their cost does not grow with N.
 * Try:      cow --mib 1024 --touch 0; cow --mib 1024 --touch 1; cow --touch 1 --region huge;
 *           cow --mib 64 --hold 30, and read /proc/CHILD/smaps_rollup meanwhile
 *           (Private_Dirty is what the child has copied, Shared_Dirty what it still shares).
 * Python:   multiprocessing's "fork" start method; gc.freeze() exists because the collector's
 *           writes to object headers defeat copy-on-write in forked workers
 * See also: docs/processes/cow.md, demos/processes/cow_model.h, bench/bench_cow.c
 */
#include "core.h"
#include "cow_model.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "cow - fork a process holding N MiB; the child writes a fraction of its pages: fork time,\n"
    "      the child's page faults and write time; posix_spawn and vfork for comparison\n"
    "\n"
    "Usage: cow [--mib N] [--touch P] [--region small|huge|dontfork] [--hold S]\n"
    "  --mib N      memory the parent maps and touches before fork, in MiB (default 256;\n"
    "               at most half the RAM: the child's copy must fit beside it)\n"
    "  --touch P    fraction of its pages the child writes, 0 .. 1 (default 0.5; 0 with\n"
    "               --region dontfork, where the child has no region to write)\n"
    "  --region R   small: 4 KiB pages (MADV_NOHUGEPAGE, the default); huge: ask for\n"
    "               transparent huge pages (MADV_HUGEPAGE); dontfork: MADV_DONTFORK, the\n"
    "               child gets no copy of the region\n"
    "  --hold S     the child waits S seconds after writing, so its memory can be read in\n"
    "               /proc/PID/smaps_rollup (default 0)\n"
    "  --help       this text\n";

struct run {
    long mib;
    double touch;
    enum cow_kind kind;
    double hold_s;
};

static struct run parse_flags(int argc, char **argv)
{
    struct run o = { .mib = 256, .touch = 0.5, .kind = COW_SMALL };
    int touch_given = 0;
    static const struct option opts[] = {
        { "mib", required_argument, NULL, 'm' },
        { "touch", required_argument, NULL, 't' },
        { "region", required_argument, NULL, 'r' },
        { "hold", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.mib = parse_long("--mib", optarg, 1, cow_max_mib()); break;
        case 't': o.touch = parse_double("--touch", optarg, 0, 1); touch_given = 1; break;
        case 'r': o.kind = (enum cow_kind)parse_choice("--region", optarg, cow_kind_names); break;
        case 'H': o.hold_s = parse_double("--hold", optarg, 0, 3600); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (o.kind == COW_DONTFORK) {
        /* The child has no region at all: a write there would be a SIGSEGV, not a fault
         * the kernel can resolve. */
        if (touch_given && o.touch > 0)
            usage_error("--touch must be 0 with --region dontfork: the child has no copy "
                        "of the region to write");
        o.touch = 0;
    }
    return o;
}

/* The fastest of 5 start-and-reaps of /bin/true, in microseconds: the least noisy figure
 * one short run can give (bench_cow takes medians of many). */
static double start_us(enum cow_start how)
{
    int64_t best = INT64_MAX;
    for (int i = 0; i < 5; i++) {
        int64_t ns = cow_start_and_reap(how, NULL);
        best = ns < best ? ns : best;
    }
    return (double)best / 1e3;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct run o = parse_flags(argc, argv);
    char thp[32];
    cow_thp_mode(thp, sizeof thp);

    struct cow_region r;
    cow_region_map(&r, (size_t)o.mib << 20, o.kind);
    printf("cow: %ld MiB region (%zu pages of %zu KiB), --region %s; THP setting: %s\n",
           o.mib, r.pages, r.page_size / 1024, cow_kind_names[o.kind], thp);
    long huge = cow_huge_bytes(&r);
    if (o.kind == COW_HUGE)
        printf("  huge pages map %ld of %ld MiB of the region%s\n", huge < 0 ? 0 : huge >> 20,
               o.mib, huge > 0 ? "" : strcmp(thp, "never") == 0 || strcmp(thp, "absent") == 0
               ? " (THP is off here: 4 KiB pages only)" : " (none were free: 4 KiB pages)");
    fflush(stdout);                      /* before fork(), or the child inherits the buffer */

    struct cow_fork f;
    if (cow_fork(&r, o.touch, (int64_t)(o.hold_s * 1e9), &f) != 0)
        return EXIT_FAILURE;
    const struct cow_child *c = &f.child;
    printf("fork(): %.0f µs for %ld MiB mapped\n", (double)f.fork_ns / 1e3, o.mib);
    if (!c->mapped) {
        printf("the region is not mapped in the child (MADV_DONTFORK): fork had no page "
               "table of it to copy\n");
    } else {
        printf("child wrote %ld of %zu pages (touch %.2f) in %.1f ms", c->touched, r.pages,
               o.touch, (double)c->write_ns / 1e6);
        if (c->touched > 0)
            printf(": %.2f µs per page", (double)c->write_ns / 1e3 / (double)c->touched);
        printf("\n");
        printf("child minor faults: %ld (expected %ld: one per page written, and a few for "
               "the child's own stack)\n", c->faults, c->touched);
        printf("child major faults: %ld (expected 0: nothing comes from disk)\n",
               c->major_faults);
        if (c->touched > 0)
            printf("child wrote them again: %ld faults in %.2f ms (expected about 0 faults: "
                   "the copies are its own now)\n", c->rewrite_faults,
                   (double)c->rewrite_ns / 1e6);
    }
    if (o.hold_s > 0) {
        printf("child %ld holds its copy for %g s: grep -E 'Rss|Pss|Shared|Private' "
               "/proc/%ld/smaps_rollup\n", (long)f.pid, o.hold_s, (long)f.pid);
        fflush(stdout);
    }
    if (cow_reap(f.pid) != 0)
        return EXIT_FAILURE;

    /* fork() then exec() copies every page table only to throw the copy away; vfork and
     * posix_spawn skip the copy. */
    printf("start and reap /bin/true with %ld MiB mapped (fastest of 5):\n", o.mib);
    for (enum cow_start how = COW_FORK_EXEC; how <= COW_POSIX_SPAWN; how++)
        printf("  %-12s %8.0f µs\n", cow_start_names[how], start_us(how));
    cow_region_unmap(&r);
    return EXIT_SUCCESS;
}
