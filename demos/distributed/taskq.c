/* taskq.c - the interface of taskq.h: pick a backend by URL, forward every call to it
 *
 * What is the same for every backend lives here: parsing the URL, the error message, and
 * the batches that hold delivered payloads.
 */
#include "taskq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#ifdef TASKQ_HAVE_REDIS
#include "taskq_redis_lists.h"
#endif

static const struct taskq_backend *const backends[] = {
    &taskq_broker_backend,
#ifdef TASKQ_HAVE_REDIS
    &taskq_redis_backend,
    &taskq_redis_lists_backend,      /* the pattern Streams replaced, for the lesson */
#endif
};

static struct taskq_common *common(const struct taskq *q)
{
    return (struct taskq_common *)(void *)q;
}

int taskq_fail(struct taskq *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(common(q)->error, sizeof common(q)->error, fmt, ap);
    va_end(ap);
    return -1;
}

const char *taskq_error(const struct taskq *q) { return common(q)->error; }

/* "tcp://HOST:PORT", "HOST:PORT" or "redis://HOST:PORT" into scheme, host and port. */
static int parse_url(const char *url, char *scheme, size_t scheme_size, char *host,
                     size_t host_size, int *port)
{
    const char *rest = strstr(url, "://");
    if (rest) {
        size_t n = (size_t)(rest - url);
        if (n == 0 || n >= scheme_size)
            return -1;
        memcpy(scheme, url, n);
        scheme[n] = '\0';
        rest += 3;
    } else {
        snprintf(scheme, scheme_size, "tcp");
        rest = url;
    }
    const char *colon = strrchr(rest, ':');
    if (!colon || colon == rest || (size_t)(colon - rest) >= host_size)
        return -1;
    memcpy(host, rest, (size_t)(colon - rest));
    host[colon - rest] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* The backend that serves `url`, with its host and port; NULL (and why, in err) if the
 * URL is malformed or names a scheme this build has no backend for. */
static const struct taskq_backend *find_backend(const char *url, char *host, size_t host_size,
                                                int *port, char *err, size_t errlen)
{
    char scheme[16];
    if (parse_url(url, scheme, sizeof scheme, host, host_size, port) == -1) {
        snprintf(err, errlen, "'%s' is not a queue URL (want tcp://HOST:PORT, HOST:PORT or "
                 "redis://HOST:PORT)", url);
        return NULL;
    }
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->scheme, scheme) == 0)
            return backends[i];
    snprintf(err, errlen, "%s: no backend for '%s://' in this build", url, scheme);
    return NULL;
}

int taskq_check_url(const char *url, char *err, size_t errlen)
{
    char host[256];
    int port;
    return find_backend(url, host, sizeof host, &port, err, errlen) ? 0 : -1;
}

struct taskq *taskq_open(const struct taskq_opts *o, char *err, size_t errlen)
{
    char host[256];
    int port;
    const struct taskq_backend *b = find_backend(o->url, host, sizeof host, &port, err, errlen);
    return b ? b->open(o, host, port, err, errlen) : NULL;
}

void taskq_close(struct taskq *q)
{
    if (q)
        common(q)->backend->close(q);
}

int taskq_put(struct taskq *q, const char *queue, const struct taskq_item *items, size_t n)
{
    return common(q)->backend->put(q, queue, items, n);
}

int taskq_get(struct taskq *q, const char *queue, size_t max, int wait_ms, int lease_ms,
              struct taskq_batch *out)
{
    out->n = out->mem_len = 0;
    int n = common(q)->backend->get(q, queue, max, wait_ms, lease_ms, out);
    for (size_t i = 0; n > 0 && i < out->n; i++)   /* the memory has stopped moving */
        out->tasks[i].data = out->mem + out->tasks[i].off;
    return n;
}

int taskq_ack(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n)
{
    return common(q)->backend->settle(q, TASKQ_ACK, queue, t, n, 0);
}

int taskq_nack(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n)
{
    return common(q)->backend->settle(q, TASKQ_NACK, queue, t, n, 0);
}

int taskq_renew(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n,
                int lease_ms)
{
    return common(q)->backend->settle(q, TASKQ_RENEW, queue, t, n, lease_ms);
}

int taskq_finish(struct taskq *q, const char *queue, const struct taskq_task *t, size_t n,
                 const char *to_queue, const struct taskq_item *results, size_t m)
{
    return common(q)->backend->finish(q, queue, t, n, to_queue, results, m);
}

int taskq_stats(struct taskq *q, const char *queue, struct taskq_stats *st)
{
    return common(q)->backend->stats(q, queue, st);
}

int taskq_inspect(struct taskq *q, const char *queue, size_t max, struct taskq_entries *out)
{
    out->n = out->mem_len = 0;
    int rc = common(q)->backend->inspect(q, queue, max, out);
    for (size_t i = 0; rc == 0 && i < out->n; i++)
        out->e[i].data = out->mem + out->e[i].off;
    return rc;
}

/* --- batches ------------------------------------------------------------------------- */

/* Grow *p (an array of `size`-byte elements with room for *cap) to hold `need`. */
static void grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        die_errno("realloc");
    *p = q;
    *cap = c;
}

/* Copy len bytes into a growing byte store; returns their offset. */
static size_t store(unsigned char **mem, size_t *len, size_t *cap, const void *data, size_t n)
{
    grow((void **)mem, cap, *len + n + 1, 1);
    if (n)
        memcpy(*mem + *len, data, n);
    size_t off = *len;
    *len += n;
    return off;
}

struct taskq_task *taskq_batch_add(struct taskq_batch *b, const void *data, size_t len)
{
    grow((void **)&b->tasks, &b->cap, b->n + 1, sizeof *b->tasks);
    struct taskq_task *t = &b->tasks[b->n++];
    memset(t, 0, sizeof *t);
    t->off = store(&b->mem, &b->mem_len, &b->mem_cap, data, len);
    t->len = len;
    return t;
}

struct taskq_entry *taskq_entries_add(struct taskq_entries *es, const void *data, size_t len)
{
    grow((void **)&es->e, &es->cap, es->n + 1, sizeof *es->e);
    struct taskq_entry *e = &es->e[es->n++];
    memset(e, 0, sizeof *e);
    e->off = store(&es->mem, &es->mem_len, &es->mem_cap, data, len);
    e->len = len;
    return e;
}

void taskq_batch_free(struct taskq_batch *b)
{
    free(b->tasks);
    free(b->mem);
    memset(b, 0, sizeof *b);
}

void taskq_entries_free(struct taskq_entries *es)
{
    free(es->e);
    free(es->mem);
    memset(es, 0, sizeof *es);
}
