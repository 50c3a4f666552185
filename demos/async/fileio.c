/* fileio.c - read K files five ways: one blocking thread, a pool of threads, libuv's
 *            uv_fs_read (its thread pool) and io_uring (plain, and with registered files
 *            and buffers), from a cold and from a warm page cache
 *
 * Usage:    fileio [--method M|all] [--pattern random|sequential] [--block B] [--files K]
 *                  [--size BYTES] [--threads N] [--depth D] [--cache cold|warm|both]
 *                  [--drop fadvise|proc] [--show-epoll] [FILE...]
 * Observe:  a regular file is always "ready". epoll refuses one outright (--show-epoll:
 *           epoll_ctl fails with EPERM), and poll() says "readable" at once - then read()
 *           blocks the thread anyway while the disk works. Readiness cannot help with files,
 *           so libuv does file IO the only portable way left: a blocking pread() on one of
 *           its pool threads (UV_THREADPOOL_SIZE, default 4), with the result handed back
 *           to the loop thread - a hand-off each way per read. io_uring asks for completion
 *           instead of readiness: "read these 4 KiB at this offset and tell me when it is
 *           done", many reads in flight from one thread, one system call for a batch. From a
 *           warm cache a read is a memory copy and the hand-offs are what costs; from a cold
 *           cache the disk's queue depth is what counts, and D reads in flight (or N threads
 *           each blocked in one) keep it busy. The threads column shows who did the work:
 *           uring stays at 1 - a kernel since 5.9 waits for an uncached page without a
 *           thread; a read it must block for would go to io-wq workers ("iou-wrk-*"),
 *           threads of this process that the column would count.
 * Try:      fileio --method all --pattern random
 *           fileio --method all --pattern random --cache cold --size 67108864 --files 2
 *           UV_THREADPOOL_SIZE=16 fileio --method uv --depth 64
 *           fileio --show-epoll
 * Python:   asyncio has no file IO: loop.run_in_executor(None, f.read) is libuv's pool
 * See also: docs/async/fileio.md, bench/bench_fileio.c, demos/async/loop.c (uv_fs_read)
 */
#include "core.h"
#include "fileio_model.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const char usage_text[] =
    "fileio - read K files five ways: blocking, a thread pool, libuv's uv_fs_read, io_uring\n"
    "         (and io_uring with registered files and buffers), cold and warm page cache\n"
    "\n"
    "Usage: fileio [options] [FILE...]\n"
    "  --method M        blocking, threads, uv, uring, uring-fixed or all (default all)\n"
    "  --pattern P       random (one block at random aligned offsets, as many reads as the\n"
    "                    files have blocks) or sequential (every file whole; default)\n"
    "  --block B         bytes per read (default 4096, 512..16777216)\n"
    "  --files K         files to create (default 8, 1..1024)\n"
    "  --size BYTES      bytes per created file (default 8388608, 1..1073741824)\n"
    "  --threads N       threads of the threads method (default 4, 1..1024)\n"
    "  --depth D         reads in flight for uv and uring (default 16, 1..4096)\n"
    "  --cache C         cold, warm or both (default both)\n"
    "  --drop HOW        how to make the cache cold: fadvise (posix_fadvise DONTNEED on\n"
    "                    each file; default) or proc (echo 1 > /proc/sys/vm/drop_caches,\n"
    "                    as root; falls back to fadvise, saying why)\n"
    "  --show-epoll      show that epoll refuses a regular file (EPERM), then exit\n"
    "  --help            this text\n"
    "FILE...: read these files instead of creating K files in a temporary directory.\n"
    "uv's pool size is UV_THREADPOOL_SIZE (default 4). Sequential runs check that the sum\n"
    "of what was read equals the files' own.\n";

/* A regular file under epoll: the kernel refuses to watch it, because it would be ready
 * forever. poll() does not refuse - it reports readable at once, which is as useless. */
static int show_epoll(void)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);    /* this program: a file */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (fd == -1 || ep == -1)
        die_errno(fd == -1 ? "open /proc/self/exe" : "epoll_create1");
    /* [snippet:epoll] */
    struct epoll_event ev = { .events = EPOLLIN };
    int rc = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int e = errno;
    printf("epoll_ctl(EPOLL_CTL_ADD, a regular file) = %d: %s (%s)\n", rc,
           rc == -1 ? strerror(e) : "accepted", rc == -1 && e == EPERM ? "EPERM" : "?");
    /* [/snippet:epoll] */
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, 0);
    printf("poll(a regular file, timeout 0) = %d, revents %s: always ready, never done\n", n,
           p.revents & POLLIN ? "POLLIN" : "none");
    close(ep);
    close(fd);
    return 0;
}

struct options {
    int method;                  /* FIO_NMETHODS: all */
    int cache;                   /* 0 cold, 1 warm, 2 both */
    int use_proc;
    long files, size;
    struct fio_job job;
};

/* Make the files cold or warm and say how well that worked, from mincore. */
static void prepare_cache(const struct fio_files *f, int warm, int use_proc, size_t block)
{
    char how[160];
    long total;
    if (warm) {
        /* Read everything once, so every page is in the cache. */
        unsigned char *buf = xmalloc(block);
        for (int i = 0; i < f->k; i++)
            for (off_t off = 0; pread(f->fds[i], buf, block, off) > 0; off += (off_t)block)
                ;
        free(buf);
        snprintf(how, sizeof how, "read once before the run");
    } else if (fio_drop_cache(f, use_proc, how, sizeof how) == -1) {
        printf("  cache cold: %s\n", how);
        return;
    }
    long cached = fio_cached_pages(f, &total);
    printf("  cache %s by %s: %ld of %ld pages cached\n", warm ? "warm" : "cold", how, cached,
           total);
}

static void report(int m, const struct fio_job *j, const struct fio_result *r, uint64_t want)
{
    double rate = r->seconds > 0 ? (double)r->bytes / r->seconds : 0;
    printf("  %-12s %10.1f MiB/s %14.0f bytes/s  threads %-4d", fio_method_names[m],
           rate / (1 << 20), rate, r->threads);
    if (j->random)
        printf(" bytes %llu (random: no sum)\n", (unsigned long long)r->bytes);
    else
        printf(" sum %016llx (expected %016llx) %s\n", (unsigned long long)r->sum,
               (unsigned long long)want, r->sum == want ? "ok" : "WRONG");
}

static int run_all(const struct options *o, const struct fio_files *f)
{
    uint64_t want = 0;
    int failed = 0;
    for (int i = 0; i < f->k; i++)
        want += f->expected[i];
    for (int warm = 0; warm < 2; warm++) {
        if (o->cache != 2 && o->cache != warm)
            continue;
        printf("%s cache:\n", warm ? "warm" : "cold");
        for (int m = 0; m < FIO_NMETHODS; m++) {
            if (o->method != FIO_NMETHODS && o->method != m)
                continue;
            prepare_cache(f, warm, o->use_proc, o->job.block);
            struct fio_result r;
            int rc = fio_run_isolated((enum fio_method)m, &o->job, &r);
            if (rc == 1)
                printf("  %-12s skipped: %s\n", fio_method_names[m], r.skipped);
            else if (rc == -1)
                printf("  %-12s failed\n", fio_method_names[m]), failed = 1;
            else
                report(m, &o->job, &r, want), failed |= !o->job.random && r.sum != want;
        }
    }
    return failed;
}

static void parse(int argc, char **argv, struct options *o)
{
    static const char *const caches[] = { "cold", "warm", "both", NULL };
    static const char *const patterns[] = { "sequential", "random", NULL };
    static const char *const drops[] = { "fadvise", "proc", NULL };
    static const char *const methods[] = { "blocking", "threads", "uv", "uring", "uring-fixed",
                                           "all", NULL };
    static const struct option opts[] = {
        { "method", required_argument, NULL, 'm' }, { "pattern", required_argument, NULL, 'p' },
        { "block", required_argument, NULL, 'b' },  { "files", required_argument, NULL, 'k' },
        { "size", required_argument, NULL, 's' },   { "threads", required_argument, NULL, 't' },
        { "depth", required_argument, NULL, 'd' },  { "cache", required_argument, NULL, 'c' },
        { "drop", required_argument, NULL, 'D' },   { "show-epoll", no_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->method = parse_choice("--method", optarg, methods); break;
        case 'p': o->job.random = parse_choice("--pattern", optarg, patterns); break;
        case 'b': o->job.block = (size_t)parse_long("--block", optarg, 512, 1L << 24); break;
        case 'k': o->files = parse_long("--files", optarg, 1, 1024); break;
        case 's': o->size = parse_long("--size", optarg, 1, 1L << 30); break;
        case 't': o->job.threads = (int)parse_long("--threads", optarg, 1, 1024); break;
        case 'd': o->job.depth = (int)parse_long("--depth", optarg, 1, 4096); break;
        case 'c': o->cache = parse_choice("--cache", optarg, caches); break;
        case 'D': o->use_proc = parse_choice("--drop", optarg, drops); break;
        case 'e': exit(show_epoll());
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct options o = { .method = FIO_NMETHODS, .cache = 2, .files = 8, .size = 8L << 20,
                         .job = { .block = 4096, .threads = 4, .depth = 16 } };
    parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *refuse = getenv("FILEIO_REFUSE_URING");     /* tests: act as if refused */
    o.job.refuse_uring = refuse && *refuse && strcmp(refuse, "0") != 0;

    struct fio_files f;
    if (optind < argc)
        fio_open(&f, argc - optind, argv + optind, o.job.block);
    else
        fio_create(&f, (int)o.files, (off_t)o.size, o.job.block);
    o.job.files = &f;
    o.job.reads = fio_total_reads(&f, o.job.block);
    const char *pool = getenv("UV_THREADPOOL_SIZE");
    printf("fileio: %d files, %ld reads of %zu bytes (%s), threads %d, depth %d, "
           "UV_THREADPOOL_SIZE %s\n", f.k, o.job.reads, o.job.block,
           o.job.random ? "random" : "sequential", o.job.threads, o.job.depth,
           pool && *pool ? pool : "4 (libuv's default; the variable is not set)");
    int failed = run_all(&o, &f);
    fio_close(&f);
    return failed;
}
