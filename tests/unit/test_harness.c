/* test_harness.c - the pure parts of the bench harness and of lib/core.c
 *
 * median, bench_steps, the flag parsers (every refusal exits 2: checked in a forked child),
 * csv_row's rows read back field by field, placed points, and describe_status's words.
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

/* Two points as the harness describes them: one of a bench without placement, and one
 * of a placed pair. */
static const struct csv_point spin_point = { .bench = "spin", .variant = "c-threads", .x = 2,
                                             .x_name = "workers", .x_unit = "workers" };
static const struct csv_point ipc_point = { .bench = "ipc", .variant = "pipe-threads/split",
                                            .label = "pipe-threads", .placement = "split",
                                            .x = 0.5, .x_name = "none", .x_unit = "none" };

/* csv_row's line for one value of *p, in `line`. */
static void row_of(const struct csv_point *p, const char *stat, double value, char *line,
                   size_t size)
{
    FILE *f = fmemopen(line, size, "w");
    CHECK(f);
    csv_row(f, p, "cores_used", stat, value, "cores");
    fclose(f);
}

/* Split a line (its newline dropped) at every comma into at most max fields: how many. */
static int fields_of(char *line, char *field[], int max)
{
    line[strcspn(line, "\n")] = '\0';
    int n = 0;
    for (char *next = line; next && n < max; n++) {
        field[n] = next;
        next = strchr(next, ',');
        if (next)
            *next++ = '\0';
    }
    return n;
}

static void a_row(const char *what)
{
    char line[256];
    row_of(&spin_point, "median", !strcmp(what, "nan") ? NAN : INFINITY, line, sizeof line);
}
static void a_row_comma(const char *variant)
{
    struct csv_point p = spin_point;
    p.variant = variant;
    csv_row(stdout, &p, "m", "median", 1, "u");
}
static void a_row_unit(const char *unit) { csv_row(stdout, &spin_point, "m", "raw", 1, unit); }

static void test_csv_header(void)
{
    char line[256];
    FILE *f = fmemopen(line, sizeof line, "w");
    CHECK(f);
    csv_header(f);
    fclose(f);
    EXPECT(!strcmp(line, CSV_HEADER "\n"));
    char *name[16];
    EXPECT(fields_of(line, name, 16) == 11);
    EXPECT(!strcmp(name[0], "bench") && !strcmp(name[4], "x") && !strcmp(name[8], "stat") &&
           !strcmp(name[9], "value") && !strcmp(name[10], "unit"));
}

/* Every field of a row reads back as what went in; ten significant digits survive. */
static void test_csv_round_trip(void)
{
    char line[256], *field[16];
    row_of(&spin_point, "median", 1.98, line, sizeof line);
    EXPECT(!strcmp(line, "spin,c-threads,c-threads,,2,workers,workers,cores_used,median,"
                         "1.98,cores\n"));      /* no label: the variant; no placement: "" */
    row_of(&spin_point, "max", 1234567890, line, sizeof line);   /* counts print as integers */
    EXPECT(!strcmp(line, "spin,c-threads,c-threads,,2,workers,workers,cores_used,max,"
                         "1234567890,cores\n"));

    const double values[] = { 1.0 / 3, 2.5e-9, 123456.789012, 9.87654321e15, -0.125 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        row_of(&ipc_point, "raw", values[i], line, sizeof line);
        EXPECT(fields_of(line, field, 16) == 11);
        EXPECT(!strcmp(field[0], "ipc") && !strcmp(field[1], "pipe-threads/split"));
        EXPECT(!strcmp(field[2], "pipe-threads") && !strcmp(field[3], "split"));
        EXPECT(strtod(field[4], NULL) == 0.5);
        EXPECT(!strcmp(field[5], "none") && !strcmp(field[6], "none"));
        EXPECT(!strcmp(field[7], "cores_used") && !strcmp(field[8], "raw"));
        double back = strtod(field[9], NULL);
        EXPECT(fabs(back - values[i]) <= fabs(values[i]) * 5e-10);
        EXPECT(!strcmp(field[10], "cores"));
    }
    expect_exit(a_row, "nan", -SIGABRT);                   /* refused: a CHECK fails */
    expect_exit(a_row, "inf", -SIGABRT);
    expect_exit(a_row_comma, "a,b", -SIGABRT);
    expect_exit(a_row_comma, "a\nb", -SIGABRT);
    expect_exit(a_row_unit, "ns,", -SIGABRT);
}

/* A placed point carries its label and placement as fields, not only in its name. */
static void test_placed_point(void)
{
    struct bench_point p = bench_placed_point("pipe-threads", 7, BENCH_SPLIT, 16);
    EXPECT(!strcmp(p.variant, "pipe-threads/split") && !strcmp(p.label, "pipe-threads"));
    EXPECT(p.kind == 7 && p.placement == BENCH_SPLIT && p.x == 16);
    struct bench_point again = bench_placed_point("pipe-threads", 7, BENCH_SPLIT, 64);
    EXPECT(again.variant == p.variant && again.label == p.label);   /* kept once */
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
    test_csv_header();
    test_csv_round_trip();
    test_placed_point();
    test_describe_status();
    return unit_done();
}
