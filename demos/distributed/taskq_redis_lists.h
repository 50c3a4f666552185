/* taskq_redis_lists.h - the lists pattern as a taskq backend: redis-lists://HOST:PORT
 *
 * taskq.c lists this backend beside the Streams one (taskq_redis.c) when the build has
 * hiredis (TASKQ_HAVE_REDIS). It keeps the interface of taskq.h with these differences,
 * each explained in taskq_redis_lists.c: the lease is per consumer (a heartbeat key that
 * get and renew refresh; a reaper gives back the tasks of a consumer whose heartbeat
 * expired, or that closed), tasks have no ids (id is "") and no delivery counts
 * (deliveries is 1, nothing is ever dead-lettered), and put never returns TASKQ_FULL.
 */
#ifndef TASKQ_REDIS_LISTS_H
#define TASKQ_REDIS_LISTS_H

#include "taskq.h"

extern const struct taskq_backend taskq_redis_lists_backend;

#endif
