/* false_sharing.c - threads that share no data can still share a cache line, and pay for it
 *
 * Usage:    false_sharing [--threads N] [--layout all|packed|pad64|pad128]
 *                         [--placement spread|same-cpu|unpinned] [--seconds S | --count K]
 * Observe:  each thread increments a counter of its own - no lock, no race, nothing
 *           shared. Packed side by side (8 bytes apart, one 64-byte cache line for eight of
 *           them) the counters go slower - often several times - than padded 64 bytes
 *           apart, because each store takes the line from the other CPUs (on a small VM
 *           whose vCPUs share a cache the difference can all but vanish). 128 bytes apart can be faster
 *           still on CPUs that fetch lines in pairs. With --placement same-cpu the threads
 *           take turns on one CPU and one cache, and the difference vanishes.
 * Try:      false_sharing --threads 1 (nothing to share); false_sharing --placement
 *           same-cpu; false_sharing --count 1000000 (the total is exact in every layout)
 * Python:   none: CPython's threads take turns under the GIL, and its integers are objects
 *           on the heap; multiprocessing.shared_memory arrays can show it across processes
 * See also: docs/threads/false_sharing.md, demos/threads/false_sharing_model.h,
 *           bench/bench_false_sharing.c
 */
#include "core.h"
#include "false_sharing_model.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "false_sharing - N threads each increment a counter of their own: counters packed in one\n"
    "                cache line against padded 64 or 128 bytes apart; increments/s each way\n"
    "\n"
    "Usage: false_sharing [--threads N] [--layout L] [--placement P] [--seconds S | --count K]\n"
    "  --threads N     threads, one counter each (default: the CPU count, at least 2)\n"
    "  --layout L      all (the default), packed (8 bytes apart), pad64 or pad128\n"
    "  --placement P   spread: thread i on CPU i (the default); same-cpu: all on one CPU;\n"
    "                  unpinned: the scheduler decides\n"
    "  --seconds S     how long each layout runs (default 0.5)\n"
    "  --count K       each thread makes exactly K increments instead (the total is then\n"
    "                  checked: N x K)\n"
    "  --help          this text\n";

struct run {
    long threads, count;
    int layout;                          /* an fs_layout, or -1: all */
    enum fs_place place;
    double seconds;
};

static struct run parse_flags(int argc, char **argv)
{
    static const char *const layouts[] = { "all", "packed", "pad64", "pad128", NULL };
    int cpus = cpu_count();
    struct run o = { .threads = cpus < 2 ? 2 : cpus, .layout = -1, .place = FS_SPREAD,
                     .seconds = 0.5 };
    int timed = 0;
    static const struct option opts[] = {
        { "threads", required_argument, NULL, 't' },
        { "layout", required_argument, NULL, 'l' },
        { "placement", required_argument, NULL, 'p' },
        { "seconds", required_argument, NULL, 's' },
        { "count", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': o.threads = parse_long("--threads", optarg, 1, 1024); break;
        case 'l': o.layout = parse_choice("--layout", optarg, layouts) - 1; break;
        case 'p': o.place = (enum fs_place)parse_choice("--placement", optarg, fs_place_names);
                  break;
        case 's': o.seconds = parse_double("--seconds", optarg, 0.001, 3600); timed = 1; break;
        case 'c': o.count = parse_long("--count", optarg, 1, 1000000000000L); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (timed && o.count)
        usage_error("choose one of --seconds and --count");
    return o;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct run o = parse_flags(argc, argv);
    int cpus = cpu_count();
    printf("false_sharing: %ld thread%s on %d CPU%s, placement %s, each incrementing its own "
           "counter ", o.threads, o.threads == 1 ? "" : "s", cpus, cpus == 1 ? "" : "s",
           fs_place_names[o.place]);
    if (o.count)
        printf("%ld times\n", o.count);
    else
        printf("for %g s\n", o.seconds);

    double rate[FS_NLAYOUTS] = { 0 };
    int failed = 0;
    for (int l = 0; l < FS_NLAYOUTS; l++) {
        if (o.layout >= 0 && o.layout != l)
            continue;
        struct fs_config c = { .threads = o.threads, .layout = (enum fs_layout)l,
                               .place = o.place, .count = o.count, .seconds = o.seconds };
        struct fs_result r;
        fs_run(&c, &r);
        rate[l] = (double)r.total / r.wall_s;
        printf("  %-6s (%3d bytes apart): %7.1f M increments/s in all, %7.1f M per thread; "
               "%5.2f ns per increment on CPU\n", fs_layout_names[l], fs_layout_stride[l],
               rate[l] / 1e6, rate[l] / 1e6 / (double)o.threads, r.cpu_ns_per_inc);
        /* The counters in memory must agree with what the threads counted: each thread is
         * its counter's only writer, so nothing can be lost in any layout. */
        if (o.count) {
            unsigned long long expect = (unsigned long long)o.threads * (unsigned long long)o.count;
            printf("          total %llu (expected %llu)\n", (unsigned long long)r.total,
                   expect);
            failed |= r.total != expect;
        }
        failed |= r.total != r.counted;
    }
    if (rate[FS_PACKED] > 0 && rate[FS_PAD64] > 0)
        printf("packed counters made %.2fx the increments/s of padded to 64 bytes%s\n",
               rate[FS_PACKED] / rate[FS_PAD64],
               o.threads == 1 ? " (one thread: nothing to share, expected about 1x)"
               : o.place == FS_SAME_CPU || cpus == 1
               ? " (one CPU: one cache, expected about 1x)"
               : " (expected below 1x where CPUs have caches of their own: the line travels "
                 "between them at every store)");
    if (failed) {
        fprintf(stderr, "false_sharing: increments were lost: a broken counter\n");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
