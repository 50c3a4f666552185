/* fileio_model.h - reading K files five ways, the model fileio.c shows and bench_fileio.c
 *                  measures
 *
 * The same list of reads (fio_nth: which file, which offset, how long) is done by
 *   blocking     one thread, one pread() after another
 *   threads      N threads taking the next read from a shared counter
 *   uv           libuv's uv_fs_read: the loop thread hands reads to libuv's thread pool
 *                (UV_THREADPOOL_SIZE threads, default 4) and gets completions back
 *   uring        io_uring through liburing: D reads in flight on one thread, submitted
 *                and reaped in batches
 *   uring-fixed  the same with the files and buffers registered with the ring once
 *                (io_uring_register_files/buffers, read_fixed): no per-read fd lookup or
 *                page pinning
 * Each method runs in a forked child (fio_run_isolated), so the threads it starts (and
 * libuv's pool, which lives until exit) are counted for it alone and the next method
 * starts from one thread.
 */
#ifndef FILEIO_MODEL_H
#define FILEIO_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum fio_method { FIO_BLOCKING, FIO_THREADS, FIO_UV, FIO_URING, FIO_URING_FIXED, FIO_NMETHODS };
extern const char *const fio_method_names[];   /* "blocking", ..., NULL-terminated */

struct fio_files {
    int k;                  /* how many files */
    char **paths;
    int *fds;               /* open O_RDONLY while a run lasts */
    off_t *sizes;
    uint64_t *expected;     /* each file's checksum in blocks of `block` (fio_checksum) */
    char dir[64];           /* the temporary directory we made, or "" for given paths */
};

struct fio_job {
    const struct fio_files *files;
    int random;             /* 1: `reads` reads of one block at random aligned offsets;
                             * 0: every file whole, block after block */
    size_t block;           /* bytes per read */
    long reads;             /* how many reads in all (fio_total_reads) */
    int threads;            /* threads for the threads method */
    int depth;              /* reads in flight for uv and the uring methods */
    int uv_pool;            /* UV_THREADPOOL_SIZE to set in the child (0: leave as is) */
    int refuse_uring;       /* 1: behave as if io_uring_setup were refused (tests) */
};

struct fio_result {
    uint64_t bytes;         /* bytes read */
    uint64_t sum;           /* checksum of what was read (sequential: equals the files') */
    double seconds;
    int threads;            /* the most threads /proc/self/task showed during the run */
    char skipped[160];      /* "" or why the method did not run */
};

/* Make k files of `size` bytes of pseudo-random data in a new directory under $TMPDIR
 * (or /tmp), fsync'd so their pages are clean and can be dropped; their checksums are
 * taken from the bytes written. */
void fio_create(struct fio_files *f, int k, off_t size, size_t block);
/* Open given paths; their checksums are taken by reading them once. */
void fio_open(struct fio_files *f, int k, char **paths, size_t block);
/* Close the files; remove them and the directory if we made them. */
void fio_close(struct fio_files *f);

/* The number of reads a job makes: the blocks of every file (a random job makes as many). */
long fio_total_reads(const struct fio_files *f, size_t block);
/* Read number i of the job: its file, offset and length. The same for every method. */
void fio_nth(const struct fio_job *j, long i, int *file, off_t *off, size_t *len);
/* Position-weighted sum of a block read from `off` of file `file`: adding the blocks'
 * sums in any order gives the file's sum, and a byte in the wrong place changes it. */
uint64_t fio_checksum(const unsigned char *buf, size_t len, int file, off_t off);

/* Drop the files from the page cache: /proc/sys/vm/drop_caches when `use_proc` and we
 * may write it, else posix_fadvise(DONTNEED) per file. Writes which way was used into
 * how; returns 0, or -1 (how says why). */
int fio_drop_cache(const struct fio_files *f, int use_proc, char *how, size_t size);
/* Pages of the files in the page cache now (mincore), and their total in *total. */
long fio_cached_pages(const struct fio_files *f, long *total);

/* The number of threads in this process now (entries of /proc/self/task). */
int fio_count_threads(void);

/* Run one method in this process: 0 done, 1 skipped (r->skipped says why), -1 failed. */
int fio_run(enum fio_method m, const struct fio_job *j, struct fio_result *r);
/* The same in a forked child, the result sent back through a pipe. */
int fio_run_isolated(enum fio_method m, const struct fio_job *j, struct fio_result *r);

#endif
