/* bench_fileio.c - MiB/s of random 4 KiB reads against concurrency: one blocking thread, a
 *                  pool of threads, libuv's uv_fs_read pool, io_uring (plain and with
 *                  registered files and buffers), from a warm and from a cold page cache
 *
 * x is the concurrency: the threads of the threads method, libuv's pool size
 * (UV_THREADPOOL_SIZE) with as many reads in flight for uv, the queue depth for the uring
 * methods; blocking is one thread, measured at x = 1 only. The files (16 of 4 MiB in quick
 * mode, 64 MiB in all; 16 of 16 MiB in full) are made once in a temporary directory and
 * removed at exit; every run makes the same reads (fio_nth: one 4 KiB block at a random
 * aligned offset, 4096 reads in quick mode, 16384 in full). Before each run a warm point
 * reads every file once, a cold one drops them with posix_fadvise(DONTNEED) - pages this
 * process wrote and fsync'd are clean, so it works without root (fio instead drops the
 * cache before every job unless told not to: its "warm" runs may be cold). Each run is a
 * forked child (demos/async/fileio_model.c), so libuv's pool starts at the size asked for.
 * io_uring refused (old kernel, seccomp, io_uring_disabled): those points say skipped.
 *
 * Built with FILEIO_BY_SIZE it is bench_fileio_size: x is the file size in KiB (16, 256,
 * 4096; full adds 65536) and every file is read whole, 4 KiB after 4 KiB, the same total
 * each time (16 MiB quick, 64 MiB full, so 1024 files of 16 KiB), at concurrency 16 for
 * every method but blocking: small files cost an open file's worth of lookups per few
 * reads, large ones let readahead work.
 */
#include "core.h"
#include "fileio_model.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* A point's kind: method * 2 + cold. */
static const char *variants[] = { "blocking-warm", "blocking-cold", "threads-warm",
                                  "threads-cold", "uv-warm", "uv-cold", "uring-warm",
                                  "uring-cold", "uring-fixed-warm", "uring-fixed-cold" };

#ifdef FILEIO_BY_SIZE
enum { BY_SIZE = 1 };
#else
enum { BY_SIZE = 0 };
#endif

static struct fio_files files;
static int made;
static off_t made_size;

static void remove_files(void)
{
    if (made)
        fio_close(&files);
}

static size_t plan(struct bench_point *pts, size_t max, const struct bench_opts *o)
{
    static const double conc[] = { 1, 4, 16, 64 }, kib[] = { 16, 256, 4096, 65536 };
    const double *xs = BY_SIZE ? kib : conc;
    size_t n = 0, nx = BY_SIZE && !o->full ? 3 : 4;
    /* By size, every variant at one size before the next: the files are made once each. */
    size_t nv = sizeof variants / sizeof *variants;
    for (size_t k = 0; k < nv * nx && n < max; k++) {
        size_t v = BY_SIZE ? k % nv : k / nx, i = BY_SIZE ? k / nv : k % nx;
        if (BY_SIZE || v / 2 != FIO_BLOCKING || xs[i] == 1)
            pts[n++] = (struct bench_point){ .variant = variants[v], .x = xs[i],
                                             .kind = (int)v };
    }
    return n;
}

static int run(const struct bench_point *p, const struct bench_opts *o, double *values)
{
    enum fio_method m = (enum fio_method)(p->kind / 2);
    int cold = p->kind % 2, x = BY_SIZE ? 16 : (int)p->x;
    off_t total_bytes = (off_t)(o->full ? 64 : 16) << 20;
    off_t size = BY_SIZE ? (off_t)p->x << 10 : (off_t)(o->full ? 16 : 4) << 20;
    if (made && made_size != size)
        fio_close(&files), made = 0;
    if (!made) {
        fio_create(&files, BY_SIZE ? (int)(total_bytes / size) : 16, size, 4096);
        made = 1, made_size = size;
    }
    long reads = BY_SIZE ? fio_total_reads(&files, 4096) : o->full ? 16384 : 4096;
    struct fio_job j = { .files = &files, .random = !BY_SIZE, .block = 4096, .reads = reads,
                         .threads = x, .depth = x, .uv_pool = x };
    char how[160];
    if (cold && fio_drop_cache(&files, 0, how, sizeof how) == -1) {
        fprintf(stderr, "fileio: %s\n", how);
        return -1;
    }
    long total, cached = cold ? fio_cached_pages(&files, &total) : 0;
    if (cached)    /* e.g. on tmpfs, whose pages are the files themselves */
        fprintf(stderr, "fileio: cold: %ld of %ld pages stayed cached after %s\n", cached,
                total, how);
    if (!cold) {
        j.random = 0;                       /* read every block once: all of it cached */
        j.reads = fio_total_reads(&files, 4096);
        struct fio_result warm;
        if (fio_run(FIO_BLOCKING, &j, &warm) != 0)
            return -1;
        j.random = !BY_SIZE, j.reads = reads;
    }
    struct fio_result r;
    int rc = fio_run_isolated(m, &j, &r);
    if (rc == 1)
        fprintf(stderr, "fileio: %s skipped: %s\n", p->variant, r.skipped);
    if (rc != 0)
        return rc;
    values[0] = (double)r.bytes / r.seconds / (1 << 20);
    values[1] = r.threads;
    return 0;
}

static const struct bench_def def = {
#ifdef FILEIO_BY_SIZE
    .name = "fileio_size",
    .x_name = "file_size",
    .x_unit = "KiB",
    .usage =
        "fileio_size (bench) - MiB/s reading whole files of 16 KiB .. 4 MiB (full: 64 MiB),\n"
        "                      the same total, 4 KiB reads, concurrency 16: blocking, threads,\n"
        "                      libuv's uv_fs_read pool, io_uring plain and registered; warm\n"
        "                      and cold page cache\n"
        "\n"
        "Usage: bench_fileio_size [common flags]\n",
    .raise_nofile = 1,     /* 1024 files of 16 KiB (4096 in full mode) open at once */
#else
    .name = "fileio",
    .x_name = "concurrency",
    .x_unit = "in_flight",
    .usage =
        "fileio (bench) - MiB/s of random 4 KiB reads against concurrency (1, 4, 16, 64):\n"
        "                 blocking, threads, libuv's uv_fs_read pool, io_uring, io_uring\n"
        "                 with registered files and buffers; warm and cold page cache\n"
        "\n"
        "Usage: bench_fileio [common flags]\n",
#endif
    .metrics = { { "mib_per_s", "MiB/s" }, { "threads", "threads" } },
    .plan = plan,
    .run = run,
};

int main(int argc, char **argv)
{
    atexit(remove_files);
    return bench_main(argc, argv, &def);
}
