/* client.c - the shared flags, name, opening and stopping of the queue programs (client.h)
 */
#include "client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "core.h"

volatile sig_atomic_t client_stop;

void client_defaults(struct client *c)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    c->backend = TASKQ_DEFAULT_URL;
    c->key = AUTH_DEFAULT_KEY_FILE;
    snprintf(c->name, sizeof c->name, "%s@%s:%d", prog_name, host, (int)getpid());
}

void client_flag(struct client *c, int opt, const char *arg, const char *usage_text)
{
    switch (opt) {
    case CLIENT_OPT_BACKEND: {
        char err[512];                  /* a typo is a usage error, not a lost connection */
        if (taskq_check_url(arg, err, sizeof err) == -1)
            usage_error("--backend: %s", err);
        c->backend = arg;
        break;
    }
    case CLIENT_OPT_KEY: c->key = arg; break;
    case CLIENT_OPT_QUEUE: c->queue = arg; break;
    case CLIENT_OPT_NAME:
        if (arg[0] == '\0' || strlen(arg) > WIRE_MAX_NAME)
            usage_error("--name: '%.40s' must have 1 to %d bytes", arg, WIRE_MAX_NAME);
        snprintf(c->name, sizeof c->name, "%s", arg);
        break;
    case 'h': usage_exit(usage_text);
    default: usage_try_help();          /* getopt has said what was wrong */
    }
}

void client_parse(struct client *c, int argc, char **argv, const struct option *opts,
                  int (*own)(int opt, const char *arg), const char *usage_text)
{
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (!own(opt, optarg))
            client_flag(c, opt, optarg, usage_text);
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
}

struct taskq *client_open(const struct client *c)
{
    char err[512];
    struct taskq_opts o = { .url = c->backend, .key_file = c->key, .name = c->name };
    struct taskq *q = taskq_open(&o, err, sizeof err);
    if (!q)
        die_msg("%s", err);
    return q;
}

noreturn void client_lost(struct taskq *q)
{
    char err[256];
    snprintf(err, sizeof err, "%s", taskq_error(q));
    taskq_close(q);
    die_msg("%s", err);
}

static void on_stop(int sig)
{
    (void)sig;
    client_stop = 1;
}

void client_catch_stops(void)
{
    struct sigaction sa = { .sa_handler = on_stop };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
        die_errno("sigaction");
}
