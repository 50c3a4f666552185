/* cow_model.c - what fork() copies and what it leaves shared: a region the parent has
 *               touched, a fork, a child that writes a fraction of its pages
 *
 * The contract is in cow_model.h. The parts to read: cow_fork() and child_writes(), where
 * the faults are counted.
 */
#include "core.h"
#include "shared.h"
#include "cow_model.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HUGE_ALIGN ((size_t)2 << 20)     /* a PMD's worth on x86-64: one huge page */

const char *const cow_kind_names[] = { "small", "huge", "dontfork", NULL };
const char *const cow_start_names[] = { "fork+exit", "fork+exec", "vfork+exec", "posix_spawn",
                                        NULL };

void cow_region_map(struct cow_region *r, size_t bytes, enum cow_kind kind)
{
    memset(r, 0, sizeof *r);
    r->page_size = (size_t)sysconf(_SC_PAGESIZE);
    r->bytes = bytes;
    r->pages = bytes / r->page_size;
    r->kind = kind;
    /* Map 2 MiB more than asked and start at the first 2 MiB boundary inside: a huge page
     * can only map a 2 MiB-aligned stretch. */
    r->map_bytes = bytes + HUGE_ALIGN;
    r->map = mmap(NULL, r->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
    if (r->map == MAP_FAILED)
        die_errno("mmap");
    r->base = (char *)(((uintptr_t)r->map + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
    /* The advice must come before the first touch: it decides what the faults map. EINVAL
     * from the THP advice means a kernel built without THP: 4 KiB pages it is, which
     * cow_huge_bytes() then shows. */
    if (madvise(r->base, bytes, kind == COW_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == -1 &&
        errno != EINVAL)
        die_errno("madvise(MADV_HUGEPAGE/MADV_NOHUGEPAGE)");
    if (kind == COW_DONTFORK && madvise(r->base, bytes, MADV_DONTFORK) == -1)
        die_errno("madvise(MADV_DONTFORK)");
    memset(r->base, 1, bytes);           /* every page present before the fork */
}

long cow_max_mib(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
        return 1024;                     /* unknown: a size every course machine holds */
    long mib = (long)((unsigned long long)pages * (unsigned long long)size >> 21);
    return mib > 0 ? mib : 1;
}

void cow_region_unmap(struct cow_region *r)
{
    if (r->map && munmap(r->map, r->map_bytes) == -1)
        die_errno("munmap");
    memset(r, 0, sizeof *r);
}

long cow_huge_bytes(const struct cow_region *r)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    uintptr_t lo = (uintptr_t)r->base, hi = lo + r->bytes;
    int inside = 0;
    long total = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end, kb;
        /* A mapping's first line starts "start-end perms ..."; its fields follow. The
         * advice may have split the mapping in several: add up those within the region. */
        if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = start < hi && end > lo;
        else if (inside && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
            total += (long)kb * 1024;
    }
    fclose(f);
    return total;
}

const char *cow_thp_mode(char *buf, size_t size)
{
    snprintf(buf, size, "absent");
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return buf;
    char line[128];
    if (fgets(line, sizeof line, f)) {
        char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
        if (close)
            snprintf(buf, size, "%.*s", (int)(close - open - 1), open + 1);
    }
    fclose(f);
    return buf;
}

static long minor_faults(long *major)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == -1)
        die_child_errno("getrusage");
    if (major)
        *major = ru.ru_majflt;
    return ru.ru_minflt;
}

/* [snippet:child-writes] */
/* One pass of the child's writes: a byte into each of `touched` pages spread evenly over
 * the region. The first pass finds every page shared with the parent and read-only, so each
 * write faults and the kernel copies that page; the second finds them already the child's. */
static void child_writes(const struct cow_region *r, long touched, long *faults, long *major,
                         int64_t *ns)
{
    volatile char *p = r->base;          /* volatile: every write happens, in order */
    long major0, major1;
    long f0 = minor_faults(&major0);
    int64_t t0 = now_ns();
    for (long k = 0; k < touched; k++)
        p[(size_t)k * r->pages / (size_t)touched * r->page_size] = (char)k;
    *ns = now_ns() - t0;
    *faults = minor_faults(&major1) - f0;
    *major = major1 - major0;
}
/* [/snippet:child-writes] */

static noreturn void child_main(const struct cow_region *r, double touch, int64_t hold_ns,
                                pid_t parent, int report_fd)
{
    end_with_parent(parent, SIGKILL);    /* a killed parent leaves no child holding memory */
    struct cow_child c = { .touched = (long)(touch * (double)r->pages + 0.5) };
    /* Is the region here at all? mincore() fails with ENOMEM on an address nothing maps:
     * after MADV_DONTFORK the child has no copy, not even a read-only one. */
    unsigned char vec;
    c.mapped = mincore(r->base, r->page_size, &vec) == 0;
    if (c.touched > 0 && c.mapped) {
        long major;
        child_writes(r, c.touched, &c.faults, &c.major_faults, &c.write_ns);
        child_writes(r, c.touched, &c.rewrite_faults, &major, &c.rewrite_ns);
        c.major_faults += major;
    }
    if (write(report_fd, &c, sizeof c) != (ssize_t)sizeof c)   /* < PIPE_BUF: one piece */
        die_child_errno("write");
    close(report_fd);
    if (hold_ns > 0)
        sleep_ns(hold_ns);
    _exit(0);
}

/* [snippet:fork] */
int cow_fork(const struct cow_region *r, double touch, int64_t hold_ns, struct cow_fork *out)
{
    int fds[2];
    xpipe(fds);
    pid_t parent = getpid();
    int64_t t0 = now_ns();
    pid_t pid = fork();                  /* copies the page tables, not the pages */
    int64_t t1 = now_ns();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0) {
        close(fds[0]);
        child_main(r, touch, hold_ns, parent, fds[1]);
    }
/* [/snippet:fork] */
    close(fds[1]);
    memset(out, 0, sizeof *out);
    out->pid = pid;
    out->fork_ns = t1 - t0;
    size_t got = 0;
    while (got < sizeof out->child) {
        ssize_t n = read(fds[0], (char *)&out->child + got, sizeof out->child - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die_errno("read");
        if (n == 0)
            break;                       /* the child died before it reported */
        got += (size_t)n;
    }
    close(fds[0]);
    if (got < sizeof out->child) {
        fprintf(stderr, "%s: the child ended before it reported\n", prog_name);
        cow_reap(pid);
        return -1;
    }
    return 0;
}

int cow_reap(pid_t pid)
{
    int status;
    xwaitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char how[128];
    fprintf(stderr, "%s: child %ld %s\n", prog_name, (long)pid,
            describe_status(status, how, sizeof how));
    return -1;
}

/* These children live for microseconds (an _exit or an exec of true): they do not call
 * end_with_parent(), whose prctl() would be timed with the start. */
int64_t cow_start_and_reap(enum cow_start how, int64_t *call_ns)
{
    char *argv[] = { "true", NULL };
    int64_t t0 = now_ns(), t1;
    pid_t pid;
    if (how == COW_POSIX_SPAWN) {
        int s = posix_spawn(&pid, COW_TRUE_PATH, NULL, NULL, argv, environ);
        if (s != 0)
            die_code("posix_spawn", s);
    } else {
        pid = how == COW_VFORK_EXEC ? vfork() : fork();
        if (pid == -1)
            die_errno(how == COW_VFORK_EXEC ? "vfork" : "fork");
        if (pid == 0) {
            if (how != COW_FORK_EXIT)
                execve(COW_TRUE_PATH, argv, environ);
            _exit(how == COW_FORK_EXIT ? 0 : 127);   /* only _exit is safe after vfork */
        }
    }
    t1 = now_ns();
    if (cow_reap(pid) != 0)
        die_msg("%s of %s failed", cow_start_names[how], COW_TRUE_PATH);
    if (call_ns)
        *call_ns = t1 - t0;
    return now_ns() - t0;
}
