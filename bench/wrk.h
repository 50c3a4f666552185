/* wrk.h - the load generator of the server benches: run wrk, read what it prints
 *
 * wrk (apt-get install wrk) opens C keep-alive connections to a URL and sends requests on
 * them for D seconds as fast as the answers come back, then prints a report. wrk_parse()
 * reads that report and nothing else (a pure function, for unit tests); wrk_run() starts
 * wrk in a child that dies with the bench and hands its report to wrk_parse().
 */
#ifndef WRK_H
#define WRK_H

/* What wrk_parse() fills in, in the order of the server benches' metrics. */
enum { WRK_RPS, WRK_P50_MS, WRK_P99_MS, WRK_ERRORS, WRK_NVALUES };

/* "1.23ms" -> 1.23: a wrk latency (us, ms or s) in milliseconds; -1 for another unit. */
double wrk_ms(const char *s);

/* Read wrk --latency's report in text: values[WRK_RPS] from "Requests/sec:", the 50% and
 * 99% latencies in ms, and WRK_ERRORS, the socket errors (connect, read, write, timeout)
 * plus the "Non-2xx or 3xx responses". Returns 0, or -1 when a figure is missing or in a
 * unit it does not know. */
int wrk_parse(const char *text, double values[WRK_NVALUES]);

/* Run wrk for `seconds` (rounded up to whole seconds, at least 1) with `conns` connections
 * against http://127.0.0.1:PORT/PATH and parse its report into values. Returns 0; 1 when
 * wrk is not installed (said on stderr: skip the point); -1 when it failed (its output on
 * stderr). */
int wrk_run(int port, const char *path, long conns, double seconds,
            double values[WRK_NVALUES]);

#endif
