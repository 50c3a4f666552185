/* core.h - the little every program in the suite shares
 *
 * Errors:  die_errno("fork") prints "prog: fork: Resource temporarily unavailable" and exits 1.
 *          pthread_* functions return their error instead of setting errno, so they get
 *          die_code("pthread_create", s). A child between fork() and exec() uses
 *          die_child_errno(), which calls _exit() so the parent's stdio buffers are not
 *          flushed twice. Usage mistakes go to usage_error() and exit 2.
 * Flags:   every program answers --help with its purpose and usage on stdout (exit 0); a bad
 *          flag or value is named on stderr (exit 2). parse_long() and parse_double() check the
 *          whole string and the range, so "--threads 3x" or "--threads 0" is refused, not guessed;
 *          numbers are decimal ("0x10", "+2", "1e3" are refused). parse_long_list() and
 *          list_item() take comma lists and refuse empty items; parse_choice() one of N names.
 * Clocks:  now_ns() reads CLOCK_MONOTONIC, which never jumps when the wall clock is set.
 * CPUs:    cpu_count() counts the CPUs this process may run on (taskset shrinks it);
 *          pin_to_cpu() moves the calling thread onto one of them.
 * Results: csv_header() and csv_row() print the suite's one result format, CSV_HEADER
 *          below - one measured number per line, saying what it is about.
 */
#ifndef CORE_H
#define CORE_H

#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdnoreturn.h>
#include <time.h>

/* The program's name for messages; set it once with prog_init(argv[0]). */
extern const char *prog_name;
void prog_init(const char *argv0);

/* A CHECK that, unlike assert(), survives -DNDEBUG: a failed self-check prints where it
 * failed and what was false, then aborts. Use it for invariants, never for input. */
#define CHECK(expr) \
    ((expr) ? (void)0 : check_failed(__FILE__, __LINE__, #expr))
noreturn void check_failed(const char *file, int line, const char *expr);

/* Report a failed call and exit(1). Each names the call so the reader knows what broke. */
noreturn void die_errno(const char *call);                 /* uses errno */
noreturn void die_code(const char *call, int code);        /* pthread-style returned code */
noreturn void die_child_errno(const char *call);           /* _exit(127) after fork() */
noreturn void die_msg(const char *fmt, ...)                /* anything else, printf-style */
    __attribute__((format(printf, 1, 2)));

/* Checked wrappers for the calls every chapter makes: each returns what the call returns
 * and, on failure, exits through die_errno()/die_code() naming the call. The first demos
 * spell their checks out; later code uses these. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
pid_t xfork(void);
void xpipe(int fds[2]);
pid_t xwaitpid(pid_t pid, int *wstatus, int options);   /* retries on EINTR */
void xpthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
void xpthread_join(pthread_t t, void **ret);

/* A bad flag or value: "prog: <message>" and "Try 'prog --help'." on stderr, exit 2. */
noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After getopt_long() has printed its own complaint (unknown option, missing value):
 * "Try 'prog --help'." on stderr, exit 2. */
noreturn void usage_try_help(void);

/* Print `text` (purpose and usage, ready to read) on stdout and exit 0. */
noreturn void usage_exit(const char *text);

/* Parse all of `s` as a decimal number within [min, max], or usage_error() naming `flag`.
 * Decimal means an optional '-' and digits (and for parse_double one optional '.'): no
 * spaces, '+', hex, octal ("010" is ten), exponents, inf or nan. A NULL `s` (the flag came
 * last, with no value) is "flag needs a value". */
long parse_long(const char *flag, const char *s, long min, long max);
double parse_double(const char *flag, const char *s, double min, double max);

/* Walk the comma-separated `list` given to `flag`: each call copies the next item into
 * item (size bytes) and returns 1, or returns 0 after the last. Start with *cursor NULL.
 * An empty list or item ("", ",1", "1,,2", "1,") or one that does not fit is a usage_error(). */
int list_item(const char *flag, const char *list, const char **cursor, char *item, size_t size);

/* Parse a comma-separated list of decimal numbers ("1,2,8"), each within [min, max], into
 * out[] (at most cap); returns how many (at least 1). Bad lists are a usage_error(). */
size_t parse_long_list(const char *flag, const char *list, long min, long max, long *out,
                       size_t cap);

/* The index of `s` in names[] (a NULL-terminated list), or usage_error() listing them:
 * "--lock: 'sometimes' is not one of none, mutex, spin, atomic". */
int parse_choice(const char *flag, const char *s, const char *const names[]);

/* Nanoseconds on the monotonic clock: for intervals only, never for dates. */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep for `ns` nanoseconds, resuming after signal interruptions. */
void sleep_ns(int64_t ns);

/* The CPUs this process may run on (its affinity mask), at least 1. */
int cpu_count(void);

/* The id of the k-th CPU in this process's affinity mask (k wraps around), or -1. */
int cpu_id(int k);

/* Pin the calling thread to CPU `cpu`. Returns 0, or an errno value (e.g. EINVAL
 * when that CPU is not available) so the caller can decide whether to degrade. */
int pin_to_cpu(int cpu);

/* The open-file limits (RLIMIT_NOFILE) as raise_nofile() found and left them. */
struct nofile_limits {
    unsigned long long was, now, hard;    /* the soft limit before and after; the hard one */
};

/* Raise this process's soft limit on open files to its hard limit, for a program that
 * holds thousands of connections (one descriptor each); fills *l. Returns NULL, or the
 * name of the call that failed ("getrlimit", "setrlimit") with errno set. Says nothing:
 * whether to tell the user is the caller's choice (on stderr: stdout may carry data). */
const char *raise_nofile(struct nofile_limits *l);

/* "exited with status 3" or "killed by signal 11 (SIGSEGV: Segmentation fault)", written
 * into buf (size bytes) for a status from wait()/waitpid(); returns buf. */
const char *describe_status(int wstatus, char *buf, size_t size);

/* The result format, one measured number a line, every line saying what it is about:
 *     spin,c-threads,c-threads,,2,workers,workers,cores_used,median,1.98,cores
 *     ipc,pipe-threads/split,pipe-threads,split,0,none,none,latency,min,51234,ns
 * variant   the series in a chart: label, plus "/placement" for a bench of placed tasks
 * label     what was measured (the variant without its placement)
 * placement same-cpu, split or unpinned for a bench of two placed tasks, else empty
 * x, x_name, x_unit   the point's x value and what it counts ("none" when it has no x)
 * metric, value, unit the measured number
 * stat      which number of the point's repeats it is: median, min or max; or raw, one
 *           measurement on its own (one repeat of --raw, one run of measure, one sample)
 * This string is the header's only copy: scripts/csvformat.py reads it from this file. */
#define CSV_HEADER "bench,variant,label,placement,x,x_name,x_unit,metric,stat,value,unit"

/* What a row is about: the same for every metric of a point. label NULL: the variant;
 * placement NULL: none (an empty field). */
struct csv_point {
    const char *bench, *variant, *label, *placement;
    double x;
    const char *x_name, *x_unit;
};

/* csv_header() prints CSV_HEADER; csv_row() prints one measured value of point *p. Both
 * write to `f` (stdout for results, a file for raw repeats). Values are printed with
 * enough digits to round-trip; NaN and infinities, and commas or newlines in a name, are
 * refused. */
void csv_header(FILE *f);
void csv_row(FILE *f, const struct csv_point *p, const char *metric, const char *stat,
             double value, const char *unit);

/* The path of the program `name` in the folder of the running program (read from
 * /proc/self/exe), written into buf (size bytes); plain `name`, for a PATH search, when
 * that cannot be read or does not fit. Benches use it to run the demos built beside them.
 * Returns buf. */
char *sibling_program(const char *name, char *buf, size_t size);

#endif
