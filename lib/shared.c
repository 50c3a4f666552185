/* shared.c - shared memory, a robust process-shared lock, a child's lifeline (see shared.h) */
#include "shared.h"
#include "core.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

void *shared_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die_errno("mmap (shared)");
    return p;
}

void shared_unmap(void *p, size_t size)
{
    if (munmap(p, size) == -1)
        die_errno("munmap");
}

/* [snippet:robust-init] */
void shared_mutex_init(pthread_mutex_t *m)
{
    /* PROCESS_SHARED: the mutex lives in shared memory and other processes lock it too.
     * ROBUST: if its owner dies holding it, the kernel hands it to the next locker with
     * EOWNERDEAD instead of leaving everyone blocked forever. */
    pthread_mutexattr_t attr;
    int s = pthread_mutexattr_init(&attr);
    if (s == 0)
        s = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (s == 0)
        s = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (s == 0)
        s = pthread_mutex_init(m, &attr);
    if (s != 0)
        die_code("pthread_mutex_init (shared, robust)", s);
    pthread_mutexattr_destroy(&attr);
}
/* [/snippet:robust-init] */

/* [snippet:robust-lock] */
int shared_mutex_lock(pthread_mutex_t *m, void (*repair)(void *arg), void *arg)
{
    int s = pthread_mutex_lock(m);
    if (s == 0)
        return 0;
    if (s != EOWNERDEAD)
        die_code("pthread_mutex_lock", s);
    /* We own the lock, but its last owner died inside the critical section. Repair what
     * it protects, then tell the mutex the state is consistent again - without that,
     * unlocking would make it unusable for everyone (ENOTRECOVERABLE). */
    if (repair)
        repair(arg);
    s = pthread_mutex_consistent(m);
    if (s != 0)
        die_code("pthread_mutex_consistent", s);
    return 1;
}
/* [/snippet:robust-lock] */

void shared_mutex_unlock(pthread_mutex_t *m)
{
    int s = pthread_mutex_unlock(m);
    if (s != 0)
        die_code("pthread_mutex_unlock", s);
}

/* [snippet:end-with-parent] */
void end_with_parent(pid_t parent, int sig)
{
    if (prctl(PR_SET_PDEATHSIG, sig) == -1)
        die_child_errno("prctl(PR_SET_PDEATHSIG)");
    /* The parent may have died between fork() and prctl(): then no signal will come, and
     * we have already been adopted (by init or a subreaper), so getppid() has changed. */
    if (getppid() != parent)
        raise(sig);
}
/* [/snippet:end-with-parent] */

noreturn void die_of_signal(int sig)
{
    fflush(NULL);                           /* raise() below skips exit()'s flushing */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);   /* a server blocks it for its signalfd */
    raise(sig);
    _exit(128 + sig);                       /* a signal whose default is to be ignored */
}
