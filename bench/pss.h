/* pss.h - the memory probe of bench_server_mem: what a server costs per idle connection
 *
 * PSS (proportional set size) counts each page a process maps once, shared pages divided
 * among the processes that share them, so summing it over a server's processes gives what
 * the server as a whole holds; summing plain RSS would count a forked child's shared pages
 * once per child.
 */
#ifndef PSS_H
#define PSS_H

#include <sys/types.h>

/* PSS of pid and of every process below it, in MiB (from /proc/PID/smaps_rollup). */
double tree_pss_mb(pid_t pid);

/* Open n connections to 127.0.0.1:port at once (non-blocking: a server that accepts only
 * some of them must not stall the bench), send one request on each as it connects, take
 * each reply, and stop once nothing has moved for 1 s (at most 15 s in all). Then, holding
 * them open, values[0] = tree_pss_mb(server), values[1] = connections answered (a pool or
 * prefork answers only as many as it has workers). Returns 0. */
int hold_idle(pid_t server, int port, long n, double *values);

#endif
