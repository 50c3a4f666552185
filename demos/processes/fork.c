/* fork.c - fork() is called once and returns twice
 *
 * Usage:    fork [--no-flush]
 * Observe:  the parent's fork() returns the child's pid; the child's returns 0, and the
 *           child's getppid() is the parent's pid. Both go on from the same line of code
 *           with a copy of the same memory: the child changes `counter` and the parent's
 *           copy stays as it was.
 * Try:      fork --no-flush | cat
 *           The "before fork" line appears twice. Piped stdout is buffered, the line is
 *           still in the buffer at fork(), the child gets a copy of the buffer, and both
 *           processes print it when they flush. The default run calls fflush() first.
 * Python:   docs/seeds.md#seed-000, os.fork() and os.getppid()
 * See also: docs/processes/fork.md
 */
#include "core.h"

#include <getopt.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "fork - fork() returns twice: the child's pid in the parent, 0 in the child\n"
    "\n"
    "Usage: fork [--no-flush]\n"
    "  --no-flush   do not flush stdout before fork(); pipe the output (| cat) to see\n"
    "               the buffered line printed by both processes\n"
    "  --help       this text\n";

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int flush = 1;
    static const struct option opts[] = {
        { "no-flush", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n': flush = 0; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    int counter = 1;
    printf("before fork: pid %d, parent %d, counter = %d\n", (int)getpid(), (int)getppid(),
           counter);
    if (flush)
        fflush(stdout);

    /* [snippet:fork] */
    /* One call, two returns. The check is spelled out here, once; later demos use the
     * checked helpers in lib/core.h (xfork and friends). */
    pid_t pid = fork();
    if (pid == -1) {
        die_errno("fork");
    } else if (pid == 0) {
        /* The child: a new process running the same program from this very line. */
        counter += 100;
        printf("child:  fork() returned 0; my pid is %d, my parent (getppid) is %d; "
               "counter = %d\n", (int)getpid(), (int)getppid(), counter);
        exit(EXIT_SUCCESS);       /* exit() flushes the child's copy of stdout */
    }
    /* The parent: fork() gave it the child's pid, the one handle it has on the child. */
    printf("parent: fork() returned %d, the child's pid; my pid is %d\n", (int)pid,
           (int)getpid());
    /* [/snippet:fork] */
    fflush(stdout);

    /* Wait for the child, so it does not linger as a zombie and so the next lines come
     * after everything it printed. (It ends a moment after it starts, so unlike the
     * children of the later demos it does not ask to die with its parent:
     * end_with_parent() in lib/shared.h, docs/processes/fork.md.) */
    int status;
    char how[128];
    if (waitpid(pid, &status, 0) == -1)
        die_errno("waitpid");
    printf("parent: child %d %s\n", (int)pid, describe_status(status, how, sizeof how));
    printf("parent: counter = %d (expected 1: the child changed its own copy)\n", counter);
    return EXIT_SUCCESS;
}
