/* core.c - errors, flags, clocks, CPUs and result rows (contracts in core.h) */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *prog_name = "?";

void prog_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    prog_name = slash ? slash + 1 : argv0;
}

/* ---- errors ------------------------------------------------------------------------- */

noreturn void check_failed(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s: %s:%d: check failed: %s\n", prog_name, file, line, expr);
    abort();
}

noreturn void die_errno(const char *call)
{
    die_code(call, errno);
}

noreturn void die_code(const char *call, int code)
{
    fprintf(stderr, "%s: %s: %s\n", prog_name, call, strerror(code));
    exit(EXIT_FAILURE);
}

noreturn void die_child_errno(const char *call)
{
    /* After fork() the child shares the parent's unflushed stdio buffers; exit() would
     * print them a second time. _exit() leaves them alone. 127 is what shells use for
     * "could not run the command". */
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s: %s: %s\n", prog_name, call, strerror(errno));
    if (n > 0)
        (void)!write(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    _exit(127);
}

noreturn void die_msg(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_FAILURE);
}

noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog_name);
    exit(2);
}

noreturn void usage_try_help(void)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", prog_name);
    exit(2);
}

noreturn void usage_exit(const char *text)
{
    fputs(text, stdout);
    exit(EXIT_SUCCESS);
}

/* ---- checked wrappers ------------------------------------------------------------- */

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        die_errno("malloc");
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die_errno("calloc");
    return p;
}

pid_t xfork(void)
{
    pid_t pid = fork();
    if (pid == -1)
        die_errno("fork");
    return pid;
}

void xpipe(int fds[2])
{
    if (pipe(fds) == -1)
        die_errno("pipe");
}

pid_t xwaitpid(pid_t pid, int *wstatus, int options)
{
    pid_t r;
    while ((r = waitpid(pid, wstatus, options)) == -1 && errno == EINTR)
        ;
    if (r == -1)
        die_errno("waitpid");
    return r;
}

void xpthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    int s = pthread_create(t, attr, fn, arg);
    if (s != 0)
        die_code("pthread_create", s);
}

void xpthread_join(pthread_t t, void **ret)
{
    int s = pthread_join(t, ret);
    if (s != 0)
        die_code("pthread_join", s);
}

/* ---- flags -------------------------------------------------------------------------- */

long parse_long(const char *flag, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        usage_error("%s: '%s' is not a whole number", flag, s);
    if (v < min || v > max)
        usage_error("%s: %ld is out of range (%ld..%ld)", flag, v, min, max);
    return v;
}

double parse_double(const char *flag, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        usage_error("%s: '%s' is not a number", flag, s);
    if (v < min || v > max)
        usage_error("%s: %g is out of range (%g..%g)", flag, v, min, max);
    return v;
}

/* ---- clocks ------------------------------------------------------------------------- */

void sleep_ns(int64_t ns)
{
    struct timespec left = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        ;
}

/* ---- CPUs --------------------------------------------------------------------------- */

int cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int cpu_id(int k)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    int n = CPU_COUNT(&set);
    if (n == 0)
        return -1;
    k %= n;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set) && k-- == 0)
            return cpu;
    return -1;
}

int pin_to_cpu(int cpu)
{
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

/* ---- programs beside this one ------------------------------------------------------ */

char *exe_sibling(const char *name, char *buf, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", buf, size - 1);
    char *slash = len > 0 ? memrchr(buf, '/', (size_t)len) : NULL;
    if (!slash) {
        snprintf(buf, size, "%s", name);
        return buf;
    }
    snprintf(slash + 1, size - (size_t)(slash + 1 - buf), "%s", name);
    return buf;
}

/* ---- result rows -------------------------------------------------------------------- */

void csv_header(FILE *f)
{
    fputs("bench,variant,x,metric,value,unit\n", f);
}

void csv_row(FILE *f, const char *bench, const char *variant, double x,
             const char *metric, double value, const char *unit)
{
    CHECK(isfinite(value) && isfinite(x));
    CHECK(!strpbrk(bench, ",\n") && !strpbrk(variant, ",\n") && !strpbrk(metric, ",\n"));
    /* Ten significant digits: more than any measurement here can honestly claim, and
     * integers (counts, sizes) print without a fraction. */
    fprintf(f, "%s,%s,%.10g,%s,%.10g,%s\n", bench, variant, x, metric, value, unit);
}

/* ---- wait statuses ------------------------------------------------------------------ */

const char *describe_status(int wstatus, char *buf, size_t size)
{
    if (WIFEXITED(wstatus))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, size, "killed by signal %d (SIG%s: %s)%s", sig, abbrev ? abbrev : "?",
                 strsignal(sig), WCOREDUMP(wstatus) ? ", core dumped" : "");
    } else
        snprintf(buf, size, "wait status 0x%x", (unsigned)wstatus);
    return buf;
}
