/* fileio_model.c - the five ways to read K files (see fileio_model.h) */
#include "fileio_model.h"
#include "core.h"
#include "shared.h"
#include "uvcheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#ifdef HAVE_URING
#include <liburing.h>
#endif

const char *const fio_method_names[] = { "blocking", "threads", "uv", "uring", "uring-fixed",
                                         NULL };

/* ---- the files ------------------------------------------------------------------------ */

uint64_t fio_checksum(const unsigned char *buf, size_t len, int file, off_t off)
{
    /* Each 8-byte word weighted by its odd position in the file: additions commute, so
     * blocks may arrive in any order, but a word read from the wrong place counts wrong. */
    uint64_t s = ((uint64_t)file + 1) * len, pos = (uint64_t)off;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, buf + i, 8);
        s += w * (2 * (pos + i) + 1);
    }
    for (; i < len; i++)
        s += buf[i] * (2 * (pos + i) + 1);
    return s;
}

static void files_alloc(struct fio_files *f, int k)
{
    f->k = k;
    f->paths = xcalloc((size_t)k, sizeof *f->paths);
    f->fds = xcalloc((size_t)k, sizeof *f->fds);
    f->sizes = xcalloc((size_t)k, sizeof *f->sizes);
    f->expected = xcalloc((size_t)k, sizeof *f->expected);
}

void fio_create(struct fio_files *f, int k, off_t size, size_t block)
{
    const char *tmp = getenv("TMPDIR");
    files_alloc(f, k);
    snprintf(f->dir, sizeof f->dir, "%.40s/fileio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        die_errno("mkdtemp");
    unsigned char *buf = xmalloc(block);
    uint64_t x = 0x9E3779B97F4A7C15u;               /* xorshift: data that does not compress */
    for (int i = 0; i < k; i++) {
        size_t n = strlen(f->dir) + 16;
        f->paths[i] = xmalloc(n);
        snprintf(f->paths[i], n, "%s/f%04d", f->dir, i);
        int fd = open(f->paths[i], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd == -1)
            die_errno(f->paths[i]);
        for (off_t off = 0; off < size; off += (off_t)block) {
            size_t len = size - off < (off_t)block ? (size_t)(size - off) : block;
            for (size_t b = 0; b < len; b++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[b] = (unsigned char)x;
            }
            if (write(fd, buf, len) != (ssize_t)len)
                die_errno("write");
            f->expected[i] += fio_checksum(buf, len, i, off);
        }
        /* Written pages are dirty and cannot be dropped from the cache until they reach
         * the disk: fsync makes them clean, so a cold run can really be cold. */
        if (fsync(fd) == -1)
            die_errno("fsync");
        f->fds[i] = fd;
        f->sizes[i] = size;
    }
    free(buf);
}

void fio_open(struct fio_files *f, int k, char **paths, size_t block)
{
    files_alloc(f, k);
    f->dir[0] = '\0';
    unsigned char *buf = xmalloc(block);
    for (int i = 0; i < k; i++) {
        struct stat st;
        f->paths[i] = strdup(paths[i]);
        f->fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (f->fds[i] == -1 || fstat(f->fds[i], &st) == -1)
            die_errno(paths[i]);
        if (!S_ISREG(st.st_mode))
            die_msg("%s: not a regular file", paths[i]);
        f->sizes[i] = st.st_size;
        for (off_t off = 0; off < st.st_size; off += (off_t)block) {
            ssize_t n = pread(f->fds[i], buf, block, off);
            if (n <= 0)
                die_msg("pread %s: %s", paths[i], n ? strerror(errno) : "file shrank");
            f->expected[i] += fio_checksum(buf, (size_t)n, i, off);
        }
    }
    free(buf);
}

void fio_close(struct fio_files *f)
{
    for (int i = 0; i < f->k; i++) {
        close(f->fds[i]);
        if (f->dir[0] && unlink(f->paths[i]) == -1)
            die_errno(f->paths[i]);
        free(f->paths[i]);
    }
    if (f->dir[0] && rmdir(f->dir) == -1)
        die_errno(f->dir);
    free(f->paths), free(f->fds), free(f->sizes), free(f->expected);
}

long fio_total_reads(const struct fio_files *f, size_t block)
{
    long n = 0;
    for (int i = 0; i < f->k; i++)
        n += (long)((f->sizes[i] + (off_t)block - 1) / (off_t)block);
    return n;
}

void fio_nth(const struct fio_job *j, long i, int *file, off_t *off, size_t *len)
{
    const struct fio_files *f = j->files;
    off_t b = (off_t)j->block;
    if (j->random) {
        /* splitmix64 of i: the same offsets for every method, whatever order they run in */
        uint64_t z = (uint64_t)i + 0x9E3779B97F4A7C15u;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        z ^= z >> 31;
        *file = (int)(i % f->k);
        off_t blocks = (f->sizes[*file] + b - 1) / b;
        *off = blocks ? (off_t)(z % (uint64_t)blocks) * b : 0;
    } else {
        int k = 0;
        for (off_t blocks; i >= (blocks = (f->sizes[k] + b - 1) / b); k++)
            i -= (long)blocks;
        *file = k;
        *off = (off_t)i * b;
    }
    off_t left = f->sizes[*file] - *off;
    *len = left < b ? (size_t)(left > 0 ? left : 0) : j->block;
}

/* ---- the page cache ------------------------------------------------------------------- */

int fio_drop_cache(const struct fio_files *f, int use_proc, char *how, size_t size)
{
    char why[96] = "";
    if (use_proc) {
        /* The whole machine's clean page cache: needs root, and a writable /proc/sys
         * (containers mount it read-only). */
        sync();
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
        if (fd != -1 && write(fd, "1", 1) == 1) {
            close(fd);
            snprintf(how, size, "echo 1 > /proc/sys/vm/drop_caches");
            return 0;
        }
        snprintf(why, sizeof why, " (drop_caches: %s)", strerror(errno));
        if (fd != -1)
            close(fd);
    }
    /* Only our files, without root: the kernel drops their clean, unmapped pages. */
    for (int i = 0; i < f->k; i++) {
        int e = posix_fadvise(f->fds[i], 0, 0, POSIX_FADV_DONTNEED);
        if (e) {
            snprintf(how, size, "posix_fadvise(DONTNEED) failed: %s", strerror(e));
            return -1;
        }
    }
    snprintf(how, size, "posix_fadvise(DONTNEED) per file%s", why);
    return 0;
}

long fio_cached_pages(const struct fio_files *f, long *total)
{
    long page = sysconf(_SC_PAGESIZE), cached = 0;
    *total = 0;
    for (int i = 0; i < f->k; i++) {
        size_t len = (size_t)f->sizes[i], pages = (len + (size_t)page - 1) / (size_t)page;
        if (!len)
            continue;
        /* Mapping the file reads nothing; mincore only looks at which pages are there. */
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, f->fds[i], 0);
        if (p == MAP_FAILED)
            die_errno("mmap");
        unsigned char *vec = xmalloc(pages);
        if (mincore(p, len, vec) == -1)
            die_errno("mincore");
        for (size_t k = 0; k < pages; k++)
            cached += vec[k] & 1;
        *total += (long)pages;
        free(vec);
        munmap(p, len);
    }
    return cached;
}

int fio_count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        die_errno("opendir /proc/self/task");
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void note_threads(struct fio_result *r)
{
    int n = fio_count_threads();
    if (n > r->threads)
        r->threads = n;
}

/* ---- blocking and threads: pread, one read at a time per thread ----------------------- */

struct pread_run {
    const struct fio_job *j;
    atomic_long next;
    _Atomic uint64_t bytes, sum;
    atomic_int err;
    pthread_barrier_t go;
    int use_barrier;
};

static void *pread_worker(void *arg)
{
    struct pread_run *p = arg;
    unsigned char *buf = xmalloc(p->j->block);
    uint64_t bytes = 0, sum = 0;
    if (p->use_barrier)
        pthread_barrier_wait(&p->go);
    for (long i; (i = atomic_fetch_add(&p->next, 1)) < p->j->reads;) {
        int file;
        off_t off;
        size_t len;
        fio_nth(p->j, i, &file, &off, &len);
        ssize_t n = pread(p->j->files->fds[file], buf, len, off);
        if (n < 0) {
            atomic_store(&p->err, errno);
            break;
        }
        bytes += (uint64_t)n;
        if (!p->j->random)
            sum += fio_checksum(buf, (size_t)n, file, off);
    }
    atomic_fetch_add(&p->bytes, bytes);
    atomic_fetch_add(&p->sum, sum);
    free(buf);
    return NULL;
}

static int run_pread(const struct fio_job *j, int threads, struct fio_result *r)
{
    struct pread_run p = { .j = j, .use_barrier = threads > 1 };
    int64_t t0 = now_ns();
    if (threads <= 1) {
        note_threads(r);               /* the one thread there is */
        pread_worker(&p);
    } else {
        pthread_t *t = xcalloc((size_t)threads, sizeof *t);
        pthread_barrier_init(&p.go, NULL, (unsigned)threads + 1);
        for (int i = 0; i < threads; i++)
            xpthread_create(&t[i], NULL, pread_worker, &p);
        note_threads(r);               /* all started, none finished: held at the barrier */
        pthread_barrier_wait(&p.go);
        for (int i = 0; i < threads; i++)
            xpthread_join(t[i], NULL);
        pthread_barrier_destroy(&p.go);
        free(t);
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    r->bytes = p.bytes, r->sum = p.sum;
    if (p.err) {
        fprintf(stderr, "pread: %s\n", strerror(p.err));
        return -1;
    }
    return 0;
}

/* ---- uv: uv_fs_read with a callback, which libuv runs on its thread pool --------------- */

struct uvread_run {
    const struct fio_job *j;
    long next, done;
    int err;
    struct fio_result *r;
};

struct uvread_slot {
    uv_fs_t req;                    /* first: the callback gets &req and casts back */
    struct uvread_run *run;
    unsigned char *buf;
    int file;
    off_t off;
};

static void uvread_start(uv_loop_t *loop, struct uvread_slot *s);

static void uvread_on_read(uv_fs_t *req)
{
    struct uvread_slot *s = (struct uvread_slot *)req;
    struct uvread_run *u = s->run;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n < 0) {
        u->err = (int)n;
        return;                     /* no new read: the loop ends when the others finish */
    }
    u->r->bytes += (uint64_t)n;
    if (!u->j->random)
        u->r->sum += fio_checksum(s->buf, (size_t)n, s->file, s->off);
    if (++u->done % 16 == 1)
        note_threads(u->r);         /* the pool's threads, started by the first reads */
    uvread_start(req->loop, s);
}

/* [snippet:uvread_start] */
static void uvread_start(uv_loop_t *loop, struct uvread_slot *s)
{
    struct uvread_run *u = s->run;
    if (u->err || u->next >= u->j->reads)
        return;
    size_t len;
    fio_nth(u->j, u->next++, &s->file, &s->off, &len);
    uv_buf_t b = uv_buf_init((char *)s->buf, (unsigned)len);
    /* With a callback the read is queued to the pool: a pool thread does the pread()
     * and the loop thread runs uvread_on_read when it is done. */
    check_uv("uv_fs_read",
             uv_fs_read(loop, &s->req, u->j->files->fds[s->file], &b, 1, s->off, uvread_on_read));
}
/* [/snippet:uvread_start] */

static int run_uv(const struct fio_job *j, struct fio_result *r)
{
    if (j->uv_pool > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", j->uv_pool);
        setenv("UV_THREADPOOL_SIZE", n, 1);     /* read once, when the pool first starts */
    }
    struct uvread_run u = { .j = j, .r = r };
    struct uvread_slot *s = xcalloc((size_t)j->depth, sizeof *s);
    uv_loop_t loop;
    check_uv("uv_loop_init", uv_loop_init(&loop));
    int64_t t0 = now_ns();
    for (int i = 0; i < j->depth; i++) {
        s[i].run = &u;
        s[i].buf = xmalloc(j->block);
        uvread_start(&loop, &s[i]);
    }
    check_uv("uv_run", uv_run(&loop, UV_RUN_DEFAULT));
    r->seconds = (double)(now_ns() - t0) / 1e9;
    check_uv("uv_loop_close", uv_loop_close(&loop));
    for (int i = 0; i < j->depth; i++)
        free(s[i].buf);
    free(s);
    if (u.err)
        die_uv("uv_fs_read", u.err);    /* in the child: the parent says it failed */
    return 0;
}

/* ---- uring: D reads in flight on one thread, completions reaped in batches ------------ */

#ifdef HAVE_URING
struct uring_slot {
    unsigned char *buf;
    int file;
    off_t off;
};

/* Register the files and the slots' buffers with the ring: later reads name them by index
 * and the kernel skips looking up the fd and pinning the pages for every read. */
static int uring_register(struct io_uring *ring, const struct fio_job *j,
                          struct uring_slot *s, struct fio_result *r)
{
    struct iovec *iov = xcalloc((size_t)j->depth, sizeof *iov);
    for (int i = 0; i < j->depth; i++)
        iov[i] = (struct iovec){ .iov_base = s[i].buf, .iov_len = j->block };
    int e = io_uring_register_files(ring, j->files->fds, (unsigned)j->files->k);
    const char *call = "io_uring_register_files";
    if (e == 0)
        e = io_uring_register_buffers(ring, iov, (unsigned)j->depth), call = "io_uring_register_buffers";
    free(iov);
    if (e < 0)
        snprintf(r->skipped, sizeof r->skipped, "%s: %s", call, strerror(-e));
    return e;
}

/* [snippet:uring_fill] */
/* Fill the submission queue with reads until `depth` are in flight. */
static void uring_fill(struct io_uring *ring, const struct fio_job *j, struct uring_slot *s,
                       int *free_slots, int *nfree, long *next, int fixed)
{
    while (*nfree > 0 && *next < j->reads) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
        if (!sqe)
            break;
        int k = free_slots[--*nfree];
        size_t len;
        fio_nth(j, (*next)++, &s[k].file, &s[k].off, &len);
        if (fixed) {
            io_uring_prep_read_fixed(sqe, s[k].file, s[k].buf, (unsigned)len, (uint64_t)s[k].off, k);
            sqe->flags |= IOSQE_FIXED_FILE;     /* s[k].file is an index, not an fd */
        } else {
            io_uring_prep_read(sqe, j->files->fds[s[k].file], s[k].buf, (unsigned)len,
                               (uint64_t)s[k].off);
        }
        io_uring_sqe_set_data(sqe, &s[k]);
    }
}
/* [/snippet:uring_fill] */

static int uring_loop(struct io_uring *ring, const struct fio_job *j, struct uring_slot *s,
                      int fixed, struct fio_result *r)
{
    int *free_slots = xcalloc((size_t)j->depth, sizeof *free_slots), nfree = j->depth, err = 0;
    long next = 0, done = 0;
    for (int i = 0; i < j->depth; i++)
        free_slots[i] = i;
    while (done < j->reads && !err) {
        uring_fill(ring, j, s, free_slots, &nfree, &next, fixed);
        /* One system call submits the new reads and waits for at least one completion. */
        int e = io_uring_submit_and_wait(ring, 1);
        if (e < 0 && e != -EINTR) {
            err = -e;
            break;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(ring, head, cqe) {
            struct uring_slot *sl = io_uring_cqe_get_data(cqe);
            seen++;
            if (cqe->res < 0) {
                err = -cqe->res;
                continue;
            }
            r->bytes += (uint64_t)cqe->res;
            if (!j->random)
                r->sum += fio_checksum(sl->buf, (size_t)cqe->res, sl->file, sl->off);
            free_slots[nfree++] = (int)(sl - s);
            if (++done % 64 == 1)
                note_threads(r);    /* io-wq workers, if the kernel starts any, count too */
        }
        io_uring_cq_advance(ring, seen);
    }
    free(free_slots);
    if (err)
        fprintf(stderr, "io_uring read: %s\n", strerror(err));
    return err ? -1 : 0;
}

static int run_uring(const struct fio_job *j, int fixed, struct fio_result *r)
{
    struct io_uring ring;
    int e = j->refuse_uring ? -EPERM : io_uring_queue_init((unsigned)j->depth, &ring, 0);
    if (e < 0) {
        snprintf(r->skipped, sizeof r->skipped, "io_uring_queue_init: %s%s", strerror(-e),
                 j->refuse_uring ? " (refused on purpose: FILEIO_REFUSE_URING)" : "");
        return 1;
    }
    struct uring_slot *s = xcalloc((size_t)j->depth, sizeof *s);
    for (int i = 0; i < j->depth; i++)
        s[i].buf = xmalloc(j->block);
    int rc = fixed && uring_register(&ring, j, s, r) < 0 ? 1 : 0;
    if (rc == 0) {
        int64_t t0 = now_ns();
        note_threads(r);
        rc = uring_loop(&ring, j, s, fixed, r);
        r->seconds = (double)(now_ns() - t0) / 1e9;
    }
    io_uring_queue_exit(&ring);
    for (int i = 0; i < j->depth; i++)
        free(s[i].buf);
    free(s);
    return rc;
}
#endif

/* ---- one method, here or in a child ---------------------------------------------------- */

int fio_run(enum fio_method m, const struct fio_job *j, struct fio_result *r)
{
    *r = (struct fio_result){ 0 };
    switch (m) {
    case FIO_BLOCKING: return run_pread(j, 1, r);
    case FIO_THREADS:  return run_pread(j, j->threads, r);
    case FIO_UV:       return run_uv(j, r);
    default:
#ifdef HAVE_URING
        return run_uring(j, m == FIO_URING_FIXED, r);
#else
        snprintf(r->skipped, sizeof r->skipped, "built without liburing (liburing-dev)");
        return 1;
#endif
    }
}

int fio_run_isolated(enum fio_method m, const struct fio_job *j, struct fio_result *r)
{
    struct msg { int rc; struct fio_result r; } msg = { -1, { 0 } };
    int fds[2];
    pid_t parent = getpid();
    xpipe(fds);
    fflush(NULL);
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        close(fds[0]);
        msg.rc = fio_run(m, j, &msg.r);
        ssize_t n = write(fds[1], &msg, sizeof msg);
        _exit(n == (ssize_t)sizeof msg ? 0 : 1);
    }
    close(fds[1]);
    ssize_t n;
    while ((n = read(fds[0], &msg, sizeof msg)) == -1 && errno == EINTR)
        ;
    close(fds[0]);
    int status;
    xwaitpid(pid, &status, 0);
    if (n != (ssize_t)sizeof msg) {
        char how[64];
        fprintf(stderr, "%s: the child died: %s\n", fio_method_names[m],
                describe_status(status, how, sizeof how));
        return -1;
    }
    *r = msg.r;
    return msg.rc;
}
