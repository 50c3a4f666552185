/* unit.h - what the C unit tests share: one check macro and one exit-status check
 *
 * A test is a plain program: main() calls EXPECT(...) as often as it likes and ends with
 * `return unit_done();`, which says how many checks failed and exits 1 if any did.
 * EXPECT keeps going after a failure, so one run shows every broken case.
 * expect_exit() runs fn(arg) in a forked child and checks how the child ended: the way to
 * test code that calls exit(2) on a bad flag value without ending the test with it.
 */
#ifndef UNIT_H
#define UNIT_H

#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int unit_checks, unit_failures;

#define EXPECT(expr) unit_expect((expr) != 0, __FILE__, __LINE__, #expr)

static inline int unit_expect(int ok, const char *file, int line, const char *expr)
{
    unit_checks++;
    if (!ok) {
        unit_failures++;
        fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, expr);
    }
    return ok;
}

/* Run fn(arg) in a child with its stderr sent to /dev/null (a usage error's message is
 * expected there, not news) and check that the child exited with `code`, or for a code
 * below 0 that it was killed by signal -code (-SIGABRT: a failed CHECK). fn returning
 * counts as exit 0. */
#define expect_exit(fn, arg, code) unit_expect_exit(fn, arg, code, __FILE__, __LINE__, #fn)

static inline int unit_expect_exit(void (*fn)(const char *), const char *arg, int code,
                                   const char *file, int line, const char *name)
{
    fflush(NULL);                   /* or the child's exit() would print our buffers again */
    pid_t pid = xfork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(125);
        fn(arg);
        exit(0);
    }
    int status;
    char how[128];
    xwaitpid(pid, &status, 0);
    int ok = code >= 0 ? WIFEXITED(status) && WEXITSTATUS(status) == code
                       : WIFSIGNALED(status) && WTERMSIG(status) == -code;
    unit_checks++;
    if (!ok) {
        unit_failures++;
        fprintf(stderr, "%s:%d: FAILED: %s(\"%s\") %s, expected %d\n", file, line, name,
                arg ? arg : "NULL", describe_status(status, how, sizeof how), code);
    }
    return ok;
}

static inline int unit_done(void)
{
    fprintf(stderr, "%d checks, %d failed\n", unit_checks, unit_failures);
    return unit_failures ? 1 : 0;
}

#endif
