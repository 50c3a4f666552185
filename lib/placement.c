/* placement.c - CPU placement of a bench's two tasks, and the partner task (placement.h) */
#include "core.h"
#include "harness.h"
#include "placement.h"
#include "shared.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The affinity the program started with: what BENCH_UNPINNED restores. */
static cpu_set_t start_affinity;
static int start_affinity_known;

static const char *const placement_names[BENCH_NPLACEMENTS] = { "unpinned", "same-cpu", "split" };

void bench_placement_init(void)
{
    start_affinity_known = sched_getaffinity(0, sizeof start_affinity, &start_affinity) == 0;
}

unsigned bench_parse_placements(const char *list)
{
    /* In the order of the BENCH_* placement numbers, then "all". */
    static const char *const names[] = { "unpinned", "same-cpu", "split", "all", NULL };
    unsigned set = 0;
    const char *cursor = NULL;
    char item[32];
    while (list_item("--placement", list, &cursor, item, sizeof item)) {
        int p = parse_choice("--placement", item, names);
        set |= p == BENCH_NPLACEMENTS ? (1u << BENCH_NPLACEMENTS) - 1 : 1u << p;
    }
    return set;
}

const char *bench_placement_name(int placement)
{
    return placement >= 0 && placement < BENCH_NPLACEMENTS ? placement_names[placement] : "?";
}

int bench_placement_wanted(const struct bench_opts *o, int placement)
{
    if (placement < 0 || placement >= BENCH_NPLACEMENTS || !(o->placements & (1u << placement)))
        return 0;
    return placement != BENCH_SPLIT || cpu_count() >= 2;
}

/* s, kept for the life of the program: a plan asks for each name once per run, and the
 * points keep pointing at it. */
static const char *intern(const char *s)
{
    static char *names[2 * BENCH_MAX_POINTS];
    static size_t n;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s))
            return names[i];
    CHECK(n < 2 * BENCH_MAX_POINTS);
    names[n] = xmalloc(strlen(s) + 1);
    strcpy(names[n], s);
    return names[n++];
}

struct bench_point bench_placed_point(const char *label, int kind, int placement, double x)
{
    char variant[128];
    snprintf(variant, sizeof variant, "%s/%s", label, bench_placement_name(placement));
    return (struct bench_point){ .variant = intern(variant), .x = x, .kind = kind,
                                 .placement = placement, .label = intern(label) };
}

int bench_pin(int placement, int task)
{
    if (placement == BENCH_UNPINNED) {
        if (!start_affinity_known)
            return 0;
        return sched_setaffinity(0, sizeof start_affinity, &start_affinity) == 0 ? 0 : errno;
    }
    /* cpu_id() reads the current mask, which a pinned thread has shrunk: count from the
     * mask the program started with. */
    int k = placement == BENCH_SPLIT ? task : 0, cpu = -1;
    if (start_affinity_known) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &start_affinity) && k-- == 0) {
                cpu = c;
                break;
            }
    } else
        cpu = cpu_id(k);
    return cpu < 0 ? EINVAL : pin_to_cpu(cpu);
}

static void *partner_thread(void *arg)
{
    struct bench_partner *partner = arg;
    int s = bench_pin(partner->placement, 1);
    if (s != 0)
        die_code("bench_pin", s);
    partner->ret = partner->fn(partner->arg);
    return NULL;
}

void bench_partner_start(struct bench_partner *partner, int kind, int placement,
                         int (*fn)(void *), void *arg)
{
    *partner = (struct bench_partner){ .kind = kind, .placement = placement, .fn = fn, .arg = arg };
    if (kind == BENCH_THREAD) {
        xpthread_create(&partner->thread, NULL, partner_thread, partner);
        return;
    }
    fflush(NULL);                 /* nothing buffered is written twice */
    pid_t parent = getpid();
    partner->pid = xfork();
    if (partner->pid == 0) {
        end_with_parent(parent, SIGKILL);      /* a killed bench leaves no partner behind */
        int s = bench_pin(placement, 1);
        if (s != 0) {
            errno = s;
            die_child_errno("sched_setaffinity");
        }
        _exit(fn(arg) == 0 ? 0 : 1);
    }
}

int bench_partner_wait(struct bench_partner *partner)
{
    if (partner->kind == BENCH_THREAD) {
        xpthread_join(partner->thread, NULL);
        return partner->ret;
    }
    int status;
    xwaitpid(partner->pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char buf[128];
    fprintf(stderr, "%s: partner process %ld %s\n", prog_name, (long)partner->pid,
            describe_status(status, buf, sizeof buf));
    return -1;
}
