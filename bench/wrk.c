/* wrk.c - run wrk against a server and read its report (contract in wrk.h) */
#include "core.h"
#include "spawn_capture.h"
#include "wrk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

double wrk_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return -1;
    if (!strncmp(end, "us", 2))
        return v / 1000;
    if (!strncmp(end, "ms", 2))
        return v;
    if (!strncmp(end, "s", 1))
        return v * 1000;
    return -1;
}

int wrk_parse(const char *text, double values[WRK_NVALUES])
{
    const char *rps = strstr(text, "Requests/sec:"), *p50 = strstr(text, " 50% "),
               *p99 = strstr(text, " 99% ");
    if (!rps || !p50 || !p99)
        return -1;
    values[WRK_RPS] = strtod(rps + 13, NULL);
    values[WRK_P50_MS] = wrk_ms(p50 + 5 + strspn(p50 + 5, " "));
    values[WRK_P99_MS] = wrk_ms(p99 + 5 + strspn(p99 + 5, " "));
    double errors = 0;
    const char *e = strstr(text, "Socket errors:");
    long a, b, c, d;
    if (e && sscanf(e, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                    &a, &b, &c, &d) == 4)
        errors += (double)(a + b + c + d);
    if ((e = strstr(text, "Non-2xx or 3xx responses:")))
        errors += strtod(e + 25, NULL);
    values[WRK_ERRORS] = errors;
    return values[WRK_P50_MS] < 0 || values[WRK_P99_MS] < 0 ? -1 : 0;
}

int wrk_run(int port, const char *path, long conns, double seconds,
            double values[WRK_NVALUES])
{
    char url[64], c[24], t[16], d[24];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    snprintf(c, sizeof c, "%ld", conns);
    snprintf(t, sizeof t, "%d", conns < 2 ? 1 : 2);  /* wrk's threads share the CPUs too */
    long whole = (long)seconds < seconds ? (long)seconds + 1 : (long)seconds;
    snprintf(d, sizeof d, "%lds", whole > 0 ? whole : 1);  /* wrk takes whole seconds */
    char *argv[] = { "wrk", "-t", t, "-c", c, "-d", d, "--latency", "--timeout", "5s", url,
                     NULL };
    static char out[8192];
    struct spawn_opts so = { 0 };       /* stderr stays the bench's */
    int status;
    if (spawn_capture(argv, &so, out, sizeof out, &status) == SPAWN_MISSING) {
        fprintf(stderr, "server: wrk is not installed (%s; apt-get install wrk) - points "
                        "skipped\n", strerror(errno));
        return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || wrk_parse(out, values) != 0) {
        fprintf(stderr, "server: wrk failed:\n%s\n", out);
        return -1;
    }
    return 0;
}
