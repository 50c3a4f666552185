/* core.c - errors, flags, clocks, CPUs and result rows (contracts in core.h) */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* "prog: <formatted message>\n" on stderr. */
static void say(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

noreturn void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

noreturn void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    usage_try_help();
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

/* 1 if s is a decimal number as the suite writes them: an optional '-', digits and, when
 * `fraction`, an optional '.' with more digits ("-12", "0.25", ".5", "010" which is ten).
 * strtol() and strtod() alone would also take " 7", "+7", "0x10" (hex, for strtod), "1e3",
 * "inf" and "nan"; a flag value is none of those. */
static int is_decimal(const char *s, int fraction)
{
    int digits = 0, dots = 0;
    if (*s == '-')
        s++;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s == '.' && fraction && dots++ == 0)
            continue;
        else
            return 0;
    }
    return digits > 0;
}

long parse_long(const char *flag, const char *s, long min, long max)
{
    if (!s)
        usage_error("%s needs a value", flag);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!is_decimal(s, 0) || errno != 0 || end == s || *end != '\0')
        usage_error("%s: '%s' is not a whole decimal number", flag, s);
    if (v < min || v > max)
        usage_error("%s: %ld is out of range (%ld..%ld)", flag, v, min, max);
    return v;
}

double parse_double(const char *flag, const char *s, double min, double max)
{
    if (!s)
        usage_error("%s needs a value", flag);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!is_decimal(s, 1) || errno != 0 || end == s || *end != '\0' || !isfinite(v))
        usage_error("%s: '%s' is not a decimal number", flag, s);
    if (v < min || v > max)
        usage_error("%s: %g is out of range (%g..%g)", flag, v, min, max);
    return v;
}

int list_item(const char *flag, const char *list, const char **cursor, char *item, size_t size)
{
    if (!list)
        usage_error("%s needs a value", flag);
    const char *at = *cursor ? *cursor : list;
    if (*cursor && *at == '\0')
        return 0;                                  /* past the last item */
    size_t n = strcspn(at, ",");
    if (n == 0)                                    /* "", ",1", "1,,2" or "1," */
        usage_error("%s: empty item in the list '%s' (give items separated by single commas)",
                    flag, list);
    if (n >= size)
        usage_error("%s: '%.*s' is too long an item", flag, (int)n, at);
    memcpy(item, at, n);
    item[n] = '\0';
    /* Step over the comma; a comma that ends the list leaves an empty item to refuse. */
    *cursor = at[n] == ',' ? at + n + 1 : at + n;
    if (at[n] == ',' && at[n + 1] == '\0')
        usage_error("%s: empty item in the list '%s' (give items separated by single commas)",
                    flag, list);
    return 1;
}

size_t parse_long_list(const char *flag, const char *list, long min, long max, long *out,
                       size_t cap)
{
    const char *cursor = NULL;
    char item[32];
    size_t n = 0;
    while (list_item(flag, list, &cursor, item, sizeof item)) {
        if (n == cap)
            usage_error("%s: more than %zu values", flag, cap);
        out[n++] = parse_long(flag, item, min, max);
    }
    return n;
}

int parse_choice(const char *flag, const char *s, const char *const names[])
{
    if (!s)
        usage_error("%s needs a value", flag);
    char all[256] = "";
    size_t len = 0;
    for (int i = 0; names[i]; i++) {
        if (!strcmp(s, names[i]))
            return i;
        int w = snprintf(all + len, sizeof all - len, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof all - len)
            len += (size_t)w;
    }
    usage_error("%s: '%s' is not one of %s", flag, s, all);
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

const char *raise_nofile(struct nofile_limits *l)
{
    struct rlimit rl;
    *l = (struct nofile_limits){ 0 };
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return "getrlimit";
    l->was = l->now = (unsigned long long)rl.rlim_cur;
    l->hard = (unsigned long long)rl.rlim_max;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            return "setrlimit";
        l->now = l->hard;
    }
    return NULL;
}

/* ---- result rows -------------------------------------------------------------------- */

void csv_header(FILE *f)
{
    fputs(CSV_HEADER "\n", f);
}

/* A name that fits in one field: no comma, no newline (CHECK fails otherwise). */
static const char *csv_field(const char *s)
{
    s = s ? s : "";
    CHECK(!strpbrk(s, ",\n"));
    return s;
}

void csv_row(FILE *f, const struct csv_point *p, const char *metric, const char *stat,
             double value, const char *unit)
{
    CHECK(isfinite(value) && isfinite(p->x));
    /* Ten significant digits: more than any measurement here can honestly claim, and
     * integers (counts, sizes) print without a fraction. */
    fprintf(f, "%s,%s,", csv_field(p->bench), csv_field(p->variant));
    fprintf(f, "%s,", csv_field(p->label ? p->label : p->variant));
    fprintf(f, "%s,%.10g,%s,", csv_field(p->placement), p->x, csv_field(p->x_name));
    fprintf(f, "%s,%s,%s,", csv_field(p->x_unit), csv_field(metric), csv_field(stat));
    fprintf(f, "%.10g,%s\n", value, csv_field(unit));
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

/* ---- programs ----------------------------------------------------------------------- */

char *sibling_program(const char *name, char *buf, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", buf, size - 1);
    char *slash = len > 0 ? memrchr(buf, '/', (size_t)len) : NULL;
    size_t dir = slash ? (size_t)(slash + 1 - buf) : 0;
    if (!slash || dir + strlen(name) >= size)
        dir = 0;                                 /* fall back to a PATH search */
    snprintf(buf + dir, size - dir, "%s", name);
    return buf;
}
