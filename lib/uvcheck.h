/* uvcheck.h - libuv's error check, the one way every libuv caller in the suite fails
 *
 * libuv returns its errors (a negative code, or a request's negative result) instead of
 * setting errno, and uv_strerror() names them. die_uv("uv_loop_init", err) prints
 * "prog: uv_loop_init: <reason>" and exits 1, like die_errno() does for system calls;
 * check_uv(call, err) is the thin checked form for a call's return value (< 0: die_uv).
 * Header-only, so lib/ itself does not link libuv: a program that includes this links
 * libuv already (PkgConfig::UV in its CMakeLists.txt).
 */
#ifndef UVCHECK_H
#define UVCHECK_H

#include "core.h"

#include <stdnoreturn.h>
#include <uv.h>

static inline noreturn void die_uv(const char *call, int err)
{
    die_msg("%s: %s", call, uv_strerror(err));
}

static inline void check_uv(const char *call, int err)
{
    if (err < 0)
        die_uv(call, err);
}

#endif
