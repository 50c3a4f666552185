/* slow_clients.h - the slowloris crowd of bench_slowloris
 *
 * n connections to a server, each sending its next byte of a request head that never
 * ends every SLOW_EVERY_MS (spread so that they do not all send at once), and reconnecting
 * at once when the server closes one, as the real slowloris does. They run in a child of
 * the bench that dies with it, loopback only.
 */
#ifndef SLOW_CLIENTS_H
#define SLOW_CLIENTS_H

#include <sys/types.h>

#define SLOW_MAX 5000        /* slow clients at most (each is a descriptor here) */
#define SLOW_EVERY_MS 2000   /* one byte per slow client this often */
#define SLOW_LIFE_S 600      /* a slow-client process ends itself after this, whatever */

/* Start n slow clients against 127.0.0.1:port in a child (pid in *pid) and wait until
 * they are all connected (10 s at most). Returns 0, or -1 after saying why (the caller
 * still kills and reaps *pid). */
int start_slow(int port, long n, pid_t *pid);

#endif
