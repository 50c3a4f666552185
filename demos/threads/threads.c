/* threads.c - start named threads, see them from inside and from the kernel, join them
 *
 * Usage:    threads [--threads N] [--steps N]
 * Observe:  every thread reports the same pid - they are one process - but its own
 *           thread id (tid); the main thread's tid equals the pid. While they all exist,
 *           main lists /proc/self/task: the kernel sees N + 1 tasks with the names the
 *           threads gave themselves (what `ps -L` and `top -H` show). Each thread then
 *           counts its steps; the lines of different threads interleave differently from
 *           run to run, but each thread's own lines stay in order.
 * Try:      threads --threads 4 --steps 5      (run it twice: does the interleaving match?)
 *           in another terminal while it runs with --steps 100000000: ps -L -p <pid>
 * Python:   docs/seeds.md#seed-000, threading.Thread(target=loop, name='LoopThread') and
 *           threading.current_thread().name
 * See also: docs/threads/threads.md
 */
#include "core.h"

#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "threads - start named threads, list them as the kernel sees them, join them\n"
    "\n"
    "Usage: threads [--threads N] [--steps N]\n"
    "  --threads N     how many threads to start (default 2, at most 64)\n"
    "  --steps N       how far each thread counts (default 3)\n"
    "  --help          this text\n";

struct loop_thread {
    pthread_t handle;             /* the pthread library's handle: opaque, not a number */
    long index;
    long counted;                 /* written by the thread, read by main after the join */
};

static long steps = 3;
static pthread_barrier_t named, listed;   /* "every thread has its name", "main has looked" */

/* [snippet:thread] */
static void *loop_thread(void *arg)
{
    struct loop_thread *t = arg;
    char name[32];                /* the kernel keeps at most 15 characters of a name */
    snprintf(name, sizeof name, "LoopThread-%ld", t->index + 1);
    int s = pthread_setname_np(pthread_self(), name);
    if (s != 0)
        die_code("pthread_setname_np", s);
    /* gettid() is the kernel's id for this thread; getpid() is the same in every thread. */
    printf("%s: pid %d, tid %d\n", name, (int)getpid(), (int)gettid());
    pthread_barrier_wait(&named);     /* let main list the tasks while all of us exist */
    pthread_barrier_wait(&listed);
    for (long n = 1; n <= steps; n++) {
        printf("%s >>> %ld\n", name, n);
        t->counted = n;
    }
    printf("%s ended\n", name);
    return NULL;
}
/* [/snippet:thread] */

/* [snippet:tasks] */
/* Every thread of this process is a directory under /proc/self/task, named by its tid;
 * its comm file holds the thread's name. This is the kernel's view, not the library's. */
static int list_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        die_errno("opendir /proc/self/task");
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[64] = "?";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        printf("  task %s: %s\n", e->d_name, comm);
        count++;
    }
    closedir(d);
    return count;
}
/* [/snippet:tasks] */

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    long n = 2;
    static const struct option opts[] = {
        { "threads", required_argument, NULL, 't' },
        { "steps", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': n = parse_long("--threads", optarg, 1, 64); break;
        case 's': steps = parse_long("--steps", optarg, 0, 1000000000); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    /* The main thread's name is the program's name until someone changes it. */
    char main_name[16];
    int s = pthread_getname_np(pthread_self(), main_name, sizeof main_name);
    if (s != 0)
        die_code("pthread_getname_np", s);
    printf("main thread '%s': pid %d, tid %d (the main thread's tid is the pid)\n", main_name,
           (int)getpid(), (int)gettid());

    s = pthread_barrier_init(&named, NULL, (unsigned)n + 1);
    if (s == 0)
        s = pthread_barrier_init(&listed, NULL, (unsigned)n + 1);
    if (s != 0)
        die_code("pthread_barrier_init", s);
    struct loop_thread *t = xcalloc((size_t)n, sizeof *t);
    /* The first demos spell the check out; pthread functions return their error. */
    for (long i = 0; i < n; i++) {
        t[i].index = i;
        s = pthread_create(&t[i].handle, NULL, loop_thread, &t[i]);
        if (s != 0)
            die_code("pthread_create", s);
    }

    pthread_barrier_wait(&named);     /* every thread exists and has its name now */
    printf("main: the kernel lists these tasks in this process:\n");
    int tasks = list_tasks();
    printf("main: %d tasks (expected %ld: main and %ld threads)\n", tasks, n + 1, n);
    pthread_barrier_wait(&listed);

    long total = 0;
    for (long i = 0; i < n; i++) {
        s = pthread_join(t[i].handle, NULL);
        if (s != 0)
            die_code("pthread_join", s);
        printf("main: joined LoopThread-%ld, which counted to %ld (expected %ld)\n", i + 1,
               t[i].counted, steps);
        total += t[i].counted;
    }
    printf("main: all %ld threads joined, %ld steps in all (expected %ld)\n", n, total,
           n * steps);
    pthread_barrier_destroy(&named);
    pthread_barrier_destroy(&listed);
    free(t);
    return EXIT_SUCCESS;
}
