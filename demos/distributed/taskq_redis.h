/* taskq_redis.h - what the two Redis backends share (for taskq_redis*.c only)
 *
 * taskq_redis.c (Streams, scheme redis://) and taskq_redis_lists.c (the older lists
 * pattern, scheme redis-lists://) talk to Redis the same way: one hiredis connection,
 * commands built as argument vectors (payloads are bytes, so never printf-formatted into a
 * command line), pipelined where a step sends several, Lua scripts for what must happen as
 * one step, and a socket timeout so a Redis that stops answering is an error, not a hang.
 *
 * Both backends' struct taskq begin with struct rconn, which begins with taskq_common.
 */
#ifndef TASKQ_REDIS_H
#define TASKQ_REDIS_H

#include <hiredis/hiredis.h>

#include "taskq.h"
#include "taskq_redis_lists.h"

/* How long past a command's own wait the client waits for Redis's reply before it gives
 * up on the connection (hiredis's socket timeout). */
#define RCONN_MARGIN_MS 5000
#define RCONN_NUMS 8                 /* numeric arguments one command may carry */

struct rconn {
    struct taskq_common common;
    redisContext *c;
    int timeout_ms;                  /* the socket timeout now set; -1: none (block forever) */
    const char **argv;               /* the command being built */
    size_t *argvlen;
    size_t argc, argcap;
    char nums[RCONN_NUMS][24];
    size_t nnums;
};

/* A Lua script: its text, and its SHA1 once Redis has it (SCRIPT LOAD on first use). */
struct rscript {
    const char *src;
    char sha[41];
};

/* Connect to HOST:PORT and allocate the backend's struct taskq of `size` bytes (zeroed,
 * starting with struct rconn). NULL with a message in err when Redis cannot be reached. */
struct taskq *rconn_open(size_t size, const struct taskq_backend *b, const char *host,
                         int port, char *err, size_t errlen);
void rconn_close(struct taskq *q);

/* Build a command: rconn_cmd() starts one, the others append an argument. The pointers
 * must stay valid until the command is sent. */
void rconn_cmd(struct taskq *q, const char *name);
void rconn_arg(struct taskq *q, const void *data, size_t len);
void rconn_str(struct taskq *q, const char *s);
void rconn_num(struct taskq *q, long long n);

/* Queue the built command in hiredis's output buffer (a pipeline), or send it and wait for
 * its reply. Replies come back in order from rconn_reply(). A reply that is an error is
 * freed and turned into -1 / NULL through taskq_fail(), except one whose text begins with
 * `tolerate` (e.g. "BUSYGROUP"), which is returned for the caller to look at. */
void rconn_send(struct taskq *q);
redisReply *rconn_reply(struct taskq *q, const char *tolerate);
redisReply *rconn_call(struct taskq *q, const char *tolerate);

/* Read and check n replies (say, of a MULTI ... EXEC). Returns 0 or -1. */
int rconn_replies(struct taskq *q, size_t n);

/* Set the socket timeout for the next replies to wait_ms + RCONN_MARGIN_MS (wait_ms < 0:
 * wait forever). Only calls into hiredis when the value changes. */
int rconn_timeout(struct taskq *q, int wait_ms);

/* Run script s with the command built so far as its arguments: call rconn_cmd(q, NULL)
 * first, then add numkeys, the keys and the arguments. Loads the script when Redis does not
 * have it (first use, or after SCRIPT FLUSH). Returns the reply (free it) or NULL. */
redisReply *rconn_eval(struct taskq *q, struct rscript *s);

/* "<prefix><queue><suffix>" into buf; -1 (through taskq_fail) if it does not fit. */
int rconn_key(struct taskq *q, char *buf, size_t size, const char *prefix,
              const char *queue, const char *suffix);

/* A reply element's text as a C string into buf (truncated to fit); "" if not a string. */
void rconn_copy(char *buf, size_t size, const redisReply *r);

#endif
