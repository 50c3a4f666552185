/* spawn.c - start N child processes, then join them and read how each one ended
 *
 * Usage:    spawn [--children N] [--join order|any] [--crash K] [--ms MS]
 * Observe:  child i works for a while (the later a child starts, the less it works, so
 *           they finish in reverse order) and exits with status i. Joining "in order"
 *           waits for child 0 first, like Python's p.join() in a loop; "--join any" takes
 *           whoever finishes first, as waitpid(-1) does. Either way every child is
 *           reaped: a child that has exited but not been waited for stays a zombie.
 * Try:      spawn --join any           (the exit order is the reverse of the start order)
 *           spawn --crash 1            (child 1 calls abort(): the parent sees a signal,
 *                                       not an exit status, and carries on)
 * Python:   docs/seeds.md#seed-000, Process(target=..., args=...).start() and .join()
 * See also: docs/processes/spawn.md
 */
#include "core.h"
#include "shared.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "spawn - start N children, join them, report each one's exit status\n"
    "\n"
    "Usage: spawn [--children N] [--join order|any] [--crash K] [--ms MS]\n"
    "  --children N    how many children to start (default 4, at most 1000)\n"
    "  --join order    wait for child 0, then 1, ... (default; like Python's join())\n"
    "  --join any      wait for whichever child ends next (waitpid(-1, ...))\n"
    "  --crash K       child K calls abort() instead of exiting (K from 0)\n"
    "  --ms MS         work time step in milliseconds (default 100): child i works\n"
    "                  (N - i) * MS ms\n"
    "  --help          this text\n";

/* What a child does: "work" (sleep, standing in for real work) and leave with status
 * i, or crash if asked to. _exit() rather than exit(): the child must not run the
 * parent's atexit handlers or flush the parent's stdio buffers a second time. */
/* [snippet:child] */
static void child_main(long i, long n, long ms, long crash)
{
    sleep_ns((n - i) * ms * 1000000);
    if (i == crash)
        abort();                  /* raises SIGABRT: the process dies by a signal */
    _exit((int)(i % 256));        /* only the low 8 bits of an exit status survive */
}
/* [/snippet:child] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    long n = 4, ms = 100, crash = -1;
    int join_any = 0;
    static const struct option opts[] = {
        { "children", required_argument, NULL, 'n' },
        { "join", required_argument, NULL, 'j' },
        { "crash", required_argument, NULL, 'c' },
        { "ms", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': n = parse_long("--children", optarg, 1, 1000); break;
        case 'c': crash = parse_long("--crash", optarg, 0, 999); break;
        case 'm': ms = parse_long("--ms", optarg, 0, 10000); break;
        case 'j':
            if (!strcmp(optarg, "order"))
                join_any = 0;
            else if (!strcmp(optarg, "any"))
                join_any = 1;
            else
                usage_error("--join: '%s' is neither 'order' nor 'any'", optarg);
            break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (crash >= n)
        usage_error("--crash: there is no child %ld among %ld", crash, n);

    pid_t *pids = xcalloc((size_t)n, sizeof *pids);

    pid_t parent = getpid();      /* saved before fork(): the child checks against it */
    printf("parent %d: starting %ld children\n", (int)parent, n);
    fflush(stdout);               /* empty the buffer before the children copy it */
    for (long i = 0; i < n; i++) {
        pids[i] = xfork();        /* fork() with the check: lib/core.h */
        if (pids[i] == 0) {
            /* [snippet:pdeathsig] */
            /* If the parent dies - Ctrl-C kills the whole group anyway, but kill -INT,
             * kill -TERM or kill -9 aimed at the parent alone kill only it - the kernel
             * kills this child too: no orphan works on for nobody (lib/shared.c). */
            end_with_parent(parent, SIGKILL);
            /* [/snippet:pdeathsig] */
            child_main(i, n, ms, crash);       /* never returns */
        }
        printf("parent: started child %ld as pid %d (works %ld ms, then %s)\n", i,
               (int)pids[i], (n - i) * ms, i == crash ? "aborts" : "exits");
    }

    /* [snippet:join] */
    /* Join. waitpid(pid, ...) waits for that one child; waitpid(-1, ...) for any. */
    int failed = 0;
    for (long k = 0; k < n; k++) {
        int status;
        pid_t pid = xwaitpid(join_any ? -1 : pids[k], &status, 0);
        long i = 0;
        while (pids[i] != pid)    /* which child was that? */
            i++;
        char how[128];
        printf("parent: joined child %ld (pid %d): %s", i, (int)pid,
               describe_status(status, how, sizeof how));
        if (WIFEXITED(status))
            printf(" (expected %ld)\n", i % 256);
        else
            printf("\n");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != i % 256)
            failed++;
    }
    /* [/snippet:join] */
    printf("parent: all %ld children joined; %d did not exit normally\n", n, failed);
    free(pids);
    return EXIT_SUCCESS;
}
