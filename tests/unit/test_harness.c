/* test_harness.c - the pure parts of the bench harness and of lib/core.c
 *
 * median, bench_steps, the flag parsers (every refusal exits 2: checked in a forked child),
 * csv_row's rows and describe_status's words.
 */
#include "harness.h"
#include "unit.h"

#include <math.h>
#include <signal.h>
#include <string.h>

static void test_median(void)
{
    double one[] = { 7 }, odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, same[] = { 2, 2 };
    EXPECT(median(one, 1) == 7);
    EXPECT(median(odd, 3) == 3);
    EXPECT(median(even, 4) == 2.5);                 /* the mean of the two middle values */
    EXPECT(even[0] == 1 && even[3] == 4);           /* sorted: the harness reads min and max */
    EXPECT(median(same, 2) == 2);
}

/* bench_steps(max, must) equals the list `want` (ended by 0). */
static int steps_are(long max, long must, const long *want)
{
    long out[64];
    size_t n = bench_steps(max, must, out, 64), i = 0;
    while (i < n && want[i] == out[i])
        i++;
    return i == n && want[n] == 0;
}

static void test_steps(void)
{
    EXPECT(steps_are(1, 1, (long[]){ 1, 0 }));
    EXPECT(steps_are(4, 2, (long[]){ 1, 2, 3, 4, 0 }));
    EXPECT(steps_are(8, 8, (long[]){ 1, 2, 3, 4, 5, 6, 7, 8, 0 }));
    EXPECT(steps_are(16, 8, (long[]){ 1, 2, 3, 4, 6, 8, 12, 16, 0 }));
    EXPECT(steps_are(64, 2, (long[]){ 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 0 }));
    EXPECT(steps_are(16, 5, (long[]){ 1, 2, 3, 4, 5, 6, 8, 12, 16, 0 }));    /* + must */
    EXPECT(steps_are(20, 2, (long[]){ 1, 2, 3, 4, 6, 8, 12, 16, 20, 0 }));   /* + max */
    long out[3];
    EXPECT(bench_steps(64, 8, out, 3) == 3 && out[2] == 3);                 /* cap */
    EXPECT(bench_steps(0, 0, out, 3) == 0);
}

/* The flag parsers, run in a child by expect_exit(): each exits 2 on a bad value. */
static void a_long(const char *s) { parse_long("--n", s, -100, 100); }
static void a_double(const char *s) { parse_double("--s", s, 0, 10); }
static void a_choice(const char *s)
{
    parse_choice("--lock", s, (const char *const[]){ "none", "mutex", NULL });
}
static void a_names(const char *s)
{
    const char *cursor = NULL;
    char item[8];
    while (list_item("--v", s, &cursor, item, sizeof item))
        ;
}
static void a_list(const char *s)
{
    long out[4];
    parse_long_list("--x", s, 1, 64, out, 4);
}

static void test_numbers(void)
{
    EXPECT(parse_long("--n", "42", 0, 100) == 42);
    EXPECT(parse_long("--n", "-7", -100, 100) == -7);
    EXPECT(parse_long("--n", "010", 0, 100) == 10);         /* decimal, not octal */
    EXPECT(parse_double("--s", "0.25", 0, 1) == 0.25);
    EXPECT(parse_double("--s", ".5", 0, 1) == 0.5);
    EXPECT(parse_double("--s", "3", 0, 10) == 3);
    const char *bad_long[] = { "0x10", "+2", " 2", "2 ", "1e3", "3x", "", "-", "101", "-101",
                               "2.0", "99999999999999999999", NULL };
    for (int i = 0; bad_long[i]; i++)
        expect_exit(a_long, bad_long[i], 2);
    expect_exit(a_long, NULL, 2);                            /* the flag came last */
    expect_exit(a_long, "100", 0);
    const char *bad_double[] = { "nan", "inf", "1e3", "0x10", "+2", " 2", "1.2.3", ".", "10.5",
                                 "-0.5", NULL };
    for (int i = 0; bad_double[i]; i++)
        expect_exit(a_double, bad_double[i], 2);
    expect_exit(a_double, "10", 0);
}

static void test_lists(void)
{
    long out[4];
    EXPECT(parse_long_list("--x", "1,2,64", 1, 64, out, 4) == 3 &&
           out[0] == 1 && out[1] == 2 && out[2] == 64);
    EXPECT(parse_long_list("--x", "8", 1, 64, out, 4) == 1 && out[0] == 8);
    const char *bad[] = { "", "1,,2", ",1", "1,", ",", "0", "65", "1,x", "1,2,3,4,5", NULL };
    for (int i = 0; bad[i]; i++)
        expect_exit(a_list, bad[i], 2);
    expect_exit(a_list, "1,2,3,4", 0);

    /* list_item hands out the items one by one and then says there are no more. */
    const char *cursor = NULL;
    char item[8];
    EXPECT(list_item("--v", "a,bb", &cursor, item, sizeof item) == 1 && !strcmp(item, "a"));
    EXPECT(list_item("--v", "a,bb", &cursor, item, sizeof item) == 1 && !strcmp(item, "bb"));
    EXPECT(list_item("--v", "a,bb", &cursor, item, sizeof item) == 0);
    const char *bad_names[] = { "", "a,,b", ",a", "a,", "a,12345678", NULL };
    for (int i = 0; bad_names[i]; i++)
        expect_exit(a_names, bad_names[i], 2);
    expect_exit(a_names, "a,1234567", 0);                    /* 7 characters fit in 8 bytes */

    EXPECT(parse_choice("--lock", "mutex", (const char *const[]){ "none", "mutex", NULL }) == 1);
    expect_exit(a_choice, "Mutex", 2);
    expect_exit(a_choice, "", 2);
    expect_exit(a_choice, NULL, 2);
}

/* csv_row's line for one value, in `line`. */
static void row_of(double x, double value, char *line, size_t size)
{
    FILE *f = fmemopen(line, size, "w");
    CHECK(f);
    csv_row(f, "spin", "c-threads", x, "cores_used", value, "cores");
    fclose(f);
}

static void a_row(const char *what)
{
    char line[256];
    row_of(1, !strcmp(what, "nan") ? NAN : INFINITY, line, sizeof line);
}
static void a_row_comma(const char *variant) { csv_row(stdout, "b", variant, 1, "m", 1, "u"); }

static void test_csv(void)
{
    char line[256];
    row_of(2, 1.98, line, sizeof line);
    EXPECT(!strcmp(line, "spin,c-threads,2,cores_used,1.98,cores\n"));
    row_of(1024, 1234567890, line, sizeof line);            /* counts print as integers */
    EXPECT(!strcmp(line, "spin,c-threads,1024,cores_used,1234567890,cores\n"));

    /* Ten significant digits survive the trip through text. */
    const double values[] = { 1.0 / 3, 2.5e-9, 123456.789012, 9.87654321e15, -0.125 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        row_of(0.5, values[i], line, sizeof line);
        double back = NAN;
        EXPECT(sscanf(line, "spin,c-threads,0.5,cores_used,%lf,cores\n", &back) == 1);
        EXPECT(fabs(back - values[i]) <= fabs(values[i]) * 5e-10);
    }
    expect_exit(a_row, "nan", -SIGABRT);                   /* refused: a CHECK fails */
    expect_exit(a_row, "inf", -SIGABRT);
    expect_exit(a_row_comma, "a,b", -SIGABRT);
}

/* How a real child ended, in describe_status's words. */
static const char *ended(int code, int sig, char *buf, size_t size)
{
    pid_t pid = xfork();
    if (pid == 0) {
        if (sig)
            raise(sig);
        _exit(code);
    }
    int status;
    xwaitpid(pid, &status, 0);
    return describe_status(status, buf, size);
}

static void test_describe_status(void)
{
    char buf[128];
    EXPECT(!strcmp(ended(3, 0, buf, sizeof buf), "exited with status 3"));
    EXPECT(!strcmp(ended(0, 0, buf, sizeof buf), "exited with status 0"));
    EXPECT(!strcmp(ended(0, SIGKILL, buf, sizeof buf), "killed by signal 9 (SIGKILL: Killed)"));
    EXPECT(!strcmp(ended(0, SIGTERM, buf, sizeof buf),
                   "killed by signal 15 (SIGTERM: Terminated)"));
    char small[8];
    EXPECT(!strcmp(ended(3, 0, small, sizeof small), "exited "));      /* cut, still ended */
}

int main(int argc, char **argv)
{
    (void)argc;
    prog_init(argv[0]);
    test_median();
    test_steps();
    test_numbers();
    test_lists();
    test_csv();
    test_describe_status();
    return unit_done();
}
