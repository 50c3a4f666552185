/* futex.h - wait on a word in memory until another task changes it: the kernel primitive
 * under every Linux mutex, condition variable and semaphore
 *
 * A task that finds the word still at `expected` asks the kernel to sleep until someone
 * calls futex_wake() on the same word; the check and the sleep are one atomic step in the
 * kernel, so a wake-up between "I saw the old value" and "I sleep" is never lost. The word
 * may live in memory shared between processes (mmap MAP_SHARED): these use the shared
 * (non-PRIVATE) futex operations, which work for threads and processes alike.
 */
#ifndef FUTEX_H
#define FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleep while *word == expected, at most timeout_ns. Returns 0 when woken or when the word
 * had already changed (the caller re-checks it, as wake-ups may be spurious), ETIMEDOUT
 * when the time ran out. Other failures exit through die_errno("futex"). */
int futex_wait(atomic_uint *word, unsigned expected, int64_t timeout_ns);

/* Wake up to `n` tasks sleeping on word; returns how many were woken. */
int futex_wake(atomic_uint *word, int n);

/* Wait until *word != old, sleeping in futex_wait() between checks; gives up after
 * timeout_ns in all (a peer that died never changes the word). Returns the new value, or
 * sets errno = ETIMEDOUT and returns `old` when the time ran out. */
unsigned futex_wait_change(atomic_uint *word, unsigned old, int64_t timeout_ns);

#endif
