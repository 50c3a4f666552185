/* spin.c - busy loops as threads or as processes: how many cores does the work really use?
 *
 * Usage:    spin [--threads N | --processes N] [--seconds S]
 * Observe:  with N at or below the number of CPUs, "cores used" comes out close to N, for
 *           threads and processes alike: the kernel schedules every thread of a C program
 *           on its own core. Past the CPU count it stops growing - there is nothing left
 *           to run the extra loops on, so they take turns (count the involuntary context
 *           switches with build/bin/measure).
 * Why Python differs: CPython's threads must hold the global interpreter lock (GIL) to run
 *           bytecode, and only one thread holds it at a time, so N spinning Python threads
 *           share about one core between them; N Python *processes* each have their own
 *           interpreter and lock and fill N cores. bench/peers/gil_spin.py is the same
 *           program in Python: compare `measure -- python3 bench/peers/gil_spin.py
 *           --threads 2` with `measure -- build/bin/spin --threads 2`.
 * Try:      spin --threads 1; spin --threads 2; spin --threads 8 (on a 2-CPU machine);
 *           then the same with --processes.
 * Python:   docs/seeds.md#seed-000, "one dead loop per core"
 * See also: docs/threads/spin.md
 */
#include "core.h"
#include "shared.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "spin - N busy loops as threads or as processes, and the cores they used\n"
    "\n"
    "Usage: spin [--threads N | --processes N] [--seconds S]\n"
    "  --threads N     spin in N threads of this process (default: the CPU count)\n"
    "  --processes N   spin in N child processes instead\n"
    "  --seconds S     how long each loop spins (default 1, at most 3600)\n"
    "  --help          this text\n";

/* Each worker's result lives on its own 64-byte cache line. The loop below writes its slot
 * only once, at the end; but a worker that wrote its slot as it ran (a counter, say) would
 * make the CPUs pass a shared line back and forth ("false sharing") and slow every loop
 * down for no reason the student could see. The false_sharing demo measures it. */
struct slot {
    _Alignas(64) uint64_t loops;    /* how many times the loop body ran */
    uint64_t checksum;              /* the loop's result, kept so the compiler keeps the work */
};

static int64_t deadline_ns;         /* when every worker stops, set before any starts */

/* The busy loop: pure computation, no system call, no memory traffic - nothing that could
 * make the worker wait. It reads the clock only every 4096 rounds, so almost all of its
 * time is spent in the arithmetic. */
/* [snippet:loop] */
static void spin_until_deadline(struct slot *s)
{
    uint64_t x = 88172645463325252u, loops = 0;
    do {
        for (int i = 0; i < 4096; i++)
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;    /* xorshift64: cheap and opaque */
        loops += 4096;
    } while (now_ns() < deadline_ns);
    s->loops = loops;
    s->checksum = x;
}
/* [/snippet:loop] */

static void *thread_main(void *arg)
{
    spin_until_deadline(arg);
    return NULL;
}

static double cpu_seconds(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) == -1)
        die_errno("getrusage");
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The command line: how many workers, threads or processes, spinning how long. */
struct run {
    long n;
    int use_processes;
    double seconds;
};

static struct run parse_flags(int argc, char **argv)
{
    struct run o = { .n = cpu_count(), .seconds = 1.0 };
    int chose = 0;
    static const struct option opts[] = {
        { "threads", required_argument, NULL, 't' },
        { "processes", required_argument, NULL, 'p' },
        { "seconds", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'p':
            if (chose++)
                usage_error("choose one of --threads and --processes");
            o.n = parse_long(c == 't' ? "--threads" : "--processes", optarg, 1, 4096);
            o.use_processes = c == 'p';
            break;
        case 's': o.seconds = parse_double("--seconds", optarg, 0.001, 3600); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    return o;
}

/* n processes spin, one slot each; returns 0, or -1 if one of them did not exit 0. */
static int run_processes(long n, struct slot *slots)
{
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids)
        die_errno("calloc");
    pid_t parent = getpid();
    for (long i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == -1)
            die_errno("fork");
        if (pids[i] == 0) {     /* the child: spin, then leave without exit handlers */
            /* Die with the parent: kill -INT or kill -9 aimed at the parent alone
             * must not leave this loop spinning for nobody (lib/shared.h). */
            end_with_parent(parent, SIGKILL);
            spin_until_deadline(&slots[i]);
            _exit(0);
        }
    }
    /* Reap every child. Its CPU time joins RUSAGE_CHILDREN only once it is waited for. */
    int failed = 0;
    for (long i = 0; i < n; i++) {
        int status;
        char how[128];
        if (waitpid(pids[i], &status, 0) == -1)
            die_errno("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spin: worker %ld (pid %d) %s\n", i, (int)pids[i],
                    describe_status(status, how, sizeof how));
            failed = 1;
        }
    }
    free(pids);
    return failed ? -1 : 0;
}

/* n threads of this process spin, one slot each. */
static void run_threads(long n, struct slot *slots)
{
    pthread_t *tids = calloc((size_t)n, sizeof *tids);
    if (!tids)
        die_errno("calloc");
    for (long i = 0; i < n; i++) {
        int s = pthread_create(&tids[i], NULL, thread_main, &slots[i]);
        if (s != 0)
            die_code("pthread_create", s);   /* pthreads return the error, not errno */
    }
    for (long i = 0; i < n; i++) {
        int s = pthread_join(tids[i], NULL);
        if (s != 0)
            die_code("pthread_join", s);
    }
    free(tids);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    struct run o = parse_flags(argc, argv);
    long n = o.n;

    /* Threads could use ordinary memory; child processes get a copy of ordinary memory at
     * fork() and their writes would never reach us, so the slots are a shared mapping
     * (shared_map: mmap with MAP_SHARED | MAP_ANONYMOUS, lib/shared.c). */
    struct slot *slots = shared_map((size_t)n * sizeof *slots);

    int cpus = cpu_count();
    printf("spin: %ld %s spinning for %g s on %d CPU%s\n", n,
           o.use_processes ? "processes" : "threads", o.seconds, cpus, cpus == 1 ? "" : "s");
    fflush(stdout);                 /* before fork(), or children inherit the buffer */

    int who = o.use_processes ? RUSAGE_CHILDREN : RUSAGE_SELF;
    double cpu0 = cpu_seconds(who);
    int64_t t0 = now_ns();
    deadline_ns = t0 + (int64_t)(o.seconds * 1e9);

    if (o.use_processes) {
        if (run_processes(n, slots) != 0)
            return EXIT_FAILURE;
    } else {
        run_threads(n, slots);
    }

    /* The report: loops per worker, and the CPU time they used per second of wall time. */
    double wall = (double)(now_ns() - t0) / 1e9;
    double used = (cpu_seconds(who) - cpu0) / wall;
    uint64_t total = 0;
    for (long i = 0; i < n; i++) {
        printf("  worker %ld: %llu loops\n", i, (unsigned long long)slots[i].loops);
        total += slots[i].loops;
    }
    long expect = n < cpus ? n : cpus;
    printf("total: %llu loops in %.3f s\n", (unsigned long long)total, wall);
    printf("cores used: %.2f (expected about %ld: %ld %s on %d CPU%s)\n", used, expect, n,
           o.use_processes ? "processes" : "threads", cpus, cpus == 1 ? "" : "s");
    shared_unmap(slots, (size_t)n * sizeof *slots);
    return EXIT_SUCCESS;
}
