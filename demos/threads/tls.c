/* tls.c - per-thread globals: _Thread_local, and pthread keys whose destructor runs at exit
 *
 * Usage:    tls [--threads N] [--idle K] [--checks N]
 * Observe:  every thread sets the same global name, current_student, to its own student,
 *           and functions deep down read it without being passed anything - yet no thread
 *           ever sees another's student: a _Thread_local variable has one copy per thread
 *           (the addresses printed differ). The "database connection" lives behind a
 *           pthread key instead: each thread opens its own the first time it needs one,
 *           and the key's destructor closes it when the thread ends - after the thread's
 *           last line, before main's join returns. The last K threads never touch the
 *           database, so no destructor runs for them, and none runs for the main thread:
 *           destructors run when a thread exits, not when main returns, so main closes
 *           its own connection by hand.
 * Try:      tls --threads 5 --idle 2   (count the "closing" lines)
 *           remove _Thread_local from current_student: what do the checks report now?
 * Python:   docs/seeds.md#seed-000, threading.local() holding each thread's student
 * See also: docs/threads/tls.md
 */
#include "core.h"

#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "tls - per-thread globals: _Thread_local, and pthread keys with a destructor\n"
    "\n"
    "Usage: tls [--threads N] [--idle K] [--checks N]\n"
    "  --threads N     how many student threads (default 3, at most 64)\n"
    "  --idle K        the last K threads never open a database connection (default 1)\n"
    "  --checks N      how many times each thread checks it sees only its own values\n"
    "                  (default 1000)\n"
    "  --help          this text\n";

static const char *const names[] = { "Alice", "Bob", "Carol", "Dave", "Eve", "Frank",
                                     "Grace", "Heidi" };

/* [snippet:thread_local] */
/* One name in the source, one variable per thread: each thread that starts gets its own
 * copy, initialised to NULL. Python's threading.local() attribute, built into C11. */
static _Thread_local const char *current_student;

/* Code far from the thread's start reads "its" student without taking a parameter. */
static const char *whose_homework(void)
{
    return current_student;
}
/* [/snippet:thread_local] */

/* A pretend database connection: which thread opened it, and a number to recognise it. */
struct connection {
    int id;
    const char *owner;
};

static pthread_key_t connection_key;
static atomic_int connections_opened, connections_closed;

/* [snippet:key] */
/* The key's destructor: called at thread exit, in the exiting thread, for every key whose
 * value in that thread is not NULL. Threads that never set a value cost nothing here. */
static void close_connection(void *value)
{
    struct connection *c = value;
    printf("destructor: closing connection %d of %s\n", c->id, c->owner);
    atomic_fetch_add(&connections_closed, 1);
    free(c);
}

/* The calling thread's connection, opened the first time this thread asks for one. */
static struct connection *get_connection(void)
{
    struct connection *c = pthread_getspecific(connection_key);
    if (c == NULL) {
        c = xmalloc(sizeof *c);
        c->id = atomic_fetch_add(&connections_opened, 1) + 1;
        c->owner = current_student;
        int s = pthread_setspecific(connection_key, c);
        if (s != 0)
            die_code("pthread_setspecific", s);
        printf("%s: opened connection %d\n", c->owner, c->id);
    }
    return c;
}
/* [/snippet:key] */

struct student {
    long index;
    const char *name;
    int uses_db;                  /* 0 for the idle threads */
    long checks, mismatches;      /* written by the thread, read by main after the join */
    char name_buf[32];
};

static void *student_main(void *arg)
{
    struct student *st = arg;
    current_student = st->name;                  /* this thread's copy only */
    printf("%s: current_student lives at %p\n", st->name, (void *)&current_student);
    /* Check over and over, letting the other threads run in between (sched_yield), that
     * the values this thread reads are its own. One mismatch would be a bug. */
    for (long k = 0; k < st->checks; k++) {
        if (whose_homework() != st->name)
            st->mismatches++;
        if (st->uses_db && get_connection()->owner != st->name)
            st->mismatches++;
        sched_yield();
    }
    printf("%s: %ld checks, %ld saw another thread's value (expected 0)\n", st->name,
           st->checks, st->mismatches);
    printf("%s: returning%s\n", st->name, st->uses_db ? " (its connection is still open)" : "");
    return NULL;                  /* now the key's destructor runs, in this thread */
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    long n = 3, idle = 1, checks = 1000;
    static const struct option opts[] = {
        { "threads", required_argument, NULL, 't' },
        { "idle", required_argument, NULL, 'i' },
        { "checks", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': n = parse_long("--threads", optarg, 1, 64); break;
        case 'i': idle = parse_long("--idle", optarg, 0, 64); break;
        case 'c': checks = parse_long("--checks", optarg, 1, 10000000); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (idle > n)
        usage_error("--idle: %ld idle threads among %ld", idle, n);

    int s = pthread_key_create(&connection_key, close_connection);
    if (s != 0)
        die_code("pthread_key_create", s);

    /* The main thread is a thread like the others: it has its own current_student and
     * may have its own connection. */
    current_student = "the teacher";
    struct connection *mine = get_connection();

    struct student *st = xcalloc((size_t)n, sizeof *st);
    pthread_t *tids = xcalloc((size_t)n, sizeof *tids);
    for (long i = 0; i < n; i++) {
        st[i].index = i;
        if (i < (long)(sizeof names / sizeof *names))
            st[i].name = names[i];
        else {
            snprintf(st[i].name_buf, sizeof st[i].name_buf, "student-%ld", i);
            st[i].name = st[i].name_buf;
        }
        st[i].uses_db = i < n - idle;
        st[i].checks = checks;
        xpthread_create(&tids[i], NULL, student_main, &st[i]);
    }
    long mismatches = 0;
    for (long i = 0; i < n; i++) {
        xpthread_join(tids[i], NULL);
        printf("main: joined %s\n", st[i].name);
        mismatches += st[i].mismatches;
    }

    printf("main: current_student = %s (expected the teacher), at %p\n", whose_homework(),
           (void *)&current_student);
    printf("connections opened by the threads: %d (expected %ld), closed by the destructor: "
           "%d (expected %ld)\n", atomic_load(&connections_opened) - 1, n - idle,
           atomic_load(&connections_closed), n - idle);
    printf("checks that saw another thread's value: %ld (expected 0)\n", mismatches);

    /* No destructor runs for the main thread when main returns (exit() does not run them),
     * so main closes its own connection and then deletes the key. */
    printf("main: closing connection %d of %s by hand\n", mine->id, mine->owner);
    free(mine);
    pthread_setspecific(connection_key, NULL);
    pthread_key_delete(connection_key);
    free(tids);
    free(st);
    return EXIT_SUCCESS;
}
