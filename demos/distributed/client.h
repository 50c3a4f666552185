/* client.h - what every program that talks to a task queue shares: its flags, its name,
 *            opening the queue, and stopping on Ctrl-C
 *
 * Flags:   --backend URL (default tcp://127.0.0.1:7070; redis://HOST:PORT for Redis),
 *          --key FILE (default ./taskq.key; the broker's shared key, auth.h) and --name NAME
 *          (default "prog@host:pid": unique, so the broker's logs and lease tables say who
 *          holds a task). A program lists CLIENT_OPTIONS in its getopt_long() table and
 *          hands every option it does not know itself to client_flag(), which also answers
 *          --help and rejects unknown flags (exit 2).
 * Opening: client_open() connects and authenticates, or says why not on stderr
 *          ("worker: 127.0.0.1:7070: broker refused the key") and exits 1.
 * Losing:  client_lost() reports a failed call (taskq_error) and exits 1: a program whose
 *          backend is gone has nothing left to do, and must not hang or pretend.
 * Stops:   client_catch_stops() turns SIGINT and SIGTERM into client_stop = 1, so a loop
 *          can finish the batch in hand before it ends (taskq calls resume after the signal:
 *          a reply is never abandoned half-read).
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <signal.h>
#include <stdnoreturn.h>

#include "taskq.h"
#include "wire.h"

enum { CLIENT_OPT_BACKEND = 1000, CLIENT_OPT_KEY, CLIENT_OPT_NAME };

#define CLIENT_OPTIONS                                              \
    { "backend", required_argument, NULL, CLIENT_OPT_BACKEND },     \
    { "key", required_argument, NULL, CLIENT_OPT_KEY },             \
    { "name", required_argument, NULL, CLIENT_OPT_NAME },           \
    { "help", no_argument, NULL, 'h' }

/* The --help lines for the shared flags. */
#define CLIENT_USAGE                                                                     \
    "  --backend URL   tcp://HOST:PORT (this chapter's broker; default\n"               \
    "                  tcp://127.0.0.1:7070) or redis://HOST:PORT (Redis Streams)\n"     \
    "  --key FILE      the broker's shared key (default ./taskq.key, mode 0600)\n"      \
    "  --name NAME     this client's name (default PROGRAM@HOST:PID)\n"                 \
    "  --help          this text\n"

struct client {
    const char *backend;
    const char *key;
    char name[WIRE_MAX_NAME + 1];
};

/* Fill in the defaults; call after prog_init(). */
void client_defaults(struct client *c);

/* Handle one option getopt_long() returned that the program does not know itself:
 * the shared flags, --help (prints usage_text, exit 0), anything else (exit 2). */
void client_flag(struct client *c, int opt, const char *arg, const char *usage_text);

/* Connect to c->backend as c->name, or exit 1 saying why. */
struct taskq *client_open(const struct client *c);

/* Say what the failed call on q reported, close q and exit 1. */
noreturn void client_lost(struct taskq *q);

/* SIGINT and SIGTERM set client_stop instead of ending the program. */
extern volatile sig_atomic_t client_stop;
void client_catch_stops(void);

#endif
