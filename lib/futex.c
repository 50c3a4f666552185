/* futex.c - futex wait and wake (contract in futex.h) */
#include "core.h"
#include "futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

int futex_wait(atomic_uint *word, unsigned expected, int64_t timeout_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(timeout_ns / 1000000000),
                           .tv_nsec = (long)(timeout_ns % 1000000000) };
    /* glibc has no wrapper: the raw system call, relative timeout. */
    if (syscall(SYS_futex, (void *)word, FUTEX_WAIT, expected, &ts, NULL, 0) == 0)
        return 0;
    if (errno == EAGAIN || errno == EINTR)   /* already changed, or a signal: re-check */
        return 0;
    if (errno == ETIMEDOUT)
        return ETIMEDOUT;
    die_errno("futex");
}

int futex_wake(atomic_uint *word, int n)
{
    long woken = syscall(SYS_futex, (void *)word, FUTEX_WAKE, n, NULL, NULL, 0);
    if (woken == -1)
        die_errno("futex");
    return (int)woken;
}

unsigned futex_wait_change(atomic_uint *word, unsigned old, int64_t timeout_ns)
{
    int64_t deadline = now_ns() + timeout_ns;
    unsigned v;
    while ((v = atomic_load_explicit(word, memory_order_acquire)) == old) {
        int64_t left = deadline - now_ns();
        if (left <= 0 || futex_wait(word, old, left) == ETIMEDOUT) {
            if ((v = atomic_load_explicit(word, memory_order_acquire)) != old)
                return v;
            errno = ETIMEDOUT;
            return old;
        }
    }
    return v;
}
