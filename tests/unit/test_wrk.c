/* test_wrk.c - wrk_parse() and wrk_ms() on wrk 4.1's report as it prints it
 *
 * The server benches read every figure they chart from this text, so a misread unit (a
 * "3.67ms" taken as seconds) or a missed error count would move a whole chart quietly.
 * The report below is one real `wrk -t1 -c4 -d1s --latency` run against server_uv.
 */
#include "unit.h"
#include "wrk.h"

#include <math.h>
#include <string.h>

static const char report[] =
    "Running 1s test @ http://127.0.0.1:34965/\n"
    "  1 threads and 4 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency   265.98us  715.31us   6.12ms   90.94%\n"
    "    Req/Sec    62.18k    13.88k   78.62k    50.00%\n"
    "  Latency Distribution\n"
    "     50%   38.00us\n"
    "     75%   53.00us\n"
    "     90%  805.00us\n"
    "     99%    3.67ms\n"
    "  62051 requests in 1.00s, 6.51MB read\n"
    "Requests/sec:  61860.04\n"
    "Transfer/sec:      6.49MB\n";

static int near(double a, double b)
{
    return fabs(a - b) < 1e-9 * (fabs(b) + 1);
}

/* The report with `from` replaced by `to` (one occurrence), in a static buffer. */
static const char *edited(const char *from, const char *to)
{
    static char buf[sizeof report + 256];
    const char *at = strstr(report, from);
    CHECK(at != NULL);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - report), report, to, at + strlen(from));
    return buf;
}

int main(void)
{
    /* Units: wrk prints us, ms or s; the benches chart milliseconds. */
    EXPECT(near(wrk_ms("38.00us"), 0.038));
    EXPECT(near(wrk_ms("3.67ms"), 3.67));
    EXPECT(near(wrk_ms("1.50s"), 1500));
    EXPECT(wrk_ms("2.00m") < 0);            /* minutes: a unit it does not know */
    EXPECT(wrk_ms("ms") < 0);               /* no number */

    double v[WRK_NVALUES];
    EXPECT(wrk_parse(report, v) == 0);
    EXPECT(near(v[WRK_RPS], 61860.04));
    EXPECT(near(v[WRK_P50_MS], 0.038));     /* the distribution's 50%, not the Avg column */
    EXPECT(near(v[WRK_P99_MS], 3.67));
    EXPECT(v[WRK_ERRORS] == 0);

    /* Errors: the four socket error kinds and the non-2xx replies all count. */
    const char *errs = edited("Requests/sec:",
        "  Socket errors: connect 1, read 2, write 3, timeout 4\n"
        "  Non-2xx or 3xx responses: 60808\nRequests/sec:");
    EXPECT(wrk_parse(errs, v) == 0 && v[WRK_ERRORS] == 1 + 2 + 3 + 4 + 60808);

    /* A p99 in seconds (a server that stalls) is still read, in ms. */
    EXPECT(wrk_parse(edited("    3.67ms", "    2.10s"), v) == 0 && near(v[WRK_P99_MS], 2100));

    /* What it must refuse rather than chart: a missing figure, a unit it cannot read. */
    EXPECT(wrk_parse(edited("     99%    3.67ms\n", ""), v) == -1);
    EXPECT(wrk_parse(edited("Requests/sec:", "Requests/min:"), v) == -1);
    EXPECT(wrk_parse(edited("   38.00us", "   38.00xs"), v) == -1);
    EXPECT(wrk_parse("", v) == -1);
    return unit_done();
}
