/* zombies.c - what happens to a child after it exits, and to a child whose parent exits
 *
 * Usage:    zombies [--mode all|zombie|orphan|daemon|pidfd] [--no-subreaper] [--hold MS]
 *                   [--ms MS]
 * Observe:  zombie: a child that has exited but is not yet waited for stays in the process
 *           table as state Z in /proc/PID/stat; even SIGKILL does not remove it; waitpid()
 *           does. orphan: when the middle of three generations exits, the grandchild gets a
 *           new parent - this program, which made itself a child subreaper, or init (pid 1)
 *           with --no-subreaper. daemon: fork, setsid(), fork again - the classic daemon,
 *           in a session of its own with no terminal. pidfd: a handle on a process that
 *           cannot come to mean another one when the pid is reused, waited for with poll().
 *           Every mode ends with no process left: this program kills what it made.
 * Try:      zombies --mode zombie --hold 30000 & ps -o pid,ppid,stat,cmd --ppid $!
 *           (the Z child is listed as <defunct> while the parent sleeps)
 *           zombies --mode orphan --no-subreaper   (who adopts the grandchild here?)
 * Python:   docs/seeds.md#seed-000, os.waitpid(); os.pidfd_open() and os.waitid(os.P_PIDFD)
 * See also: docs/processes/zombies.md
 */
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "zombies - zombies, orphans, a double-fork daemon and pidfds, each cleaned up\n"
    "\n"
    "Usage: zombies [--mode all|zombie|orphan|daemon|pidfd] [--no-subreaper] [--hold MS]\n"
    "               [--ms MS]\n"
    "  --mode M        which lesson to run (default all, in that order):\n"
    "                    zombie  a child exits; /proc shows it as Z until it is reaped\n"
    "                    orphan  a grandchild whose parent exits is adopted\n"
    "                    daemon  fork, setsid(), fork: a process in a session of its own\n"
    "                    pidfd   wait for a child and a non-child through pidfds\n"
    "  --no-subreaper  do not make this program a child subreaper: orphans go to init\n"
    "                  (or to the nearest subreaper above us)\n"
    "  --hold MS       keep the zombie, the orphan and the daemon this long before\n"
    "                  reaping or killing them (default 0), to look at them with ps\n"
    "  --ms MS         how long the non-child of the pidfd lesson works (default 200)\n"
    "  --help          this text\n";

static const char *const mode_names[] = { "all", "zombie", "orphan", "daemon", "pidfd", NULL };
enum { ALL, ZOMBIE, ORPHAN, DAEMON, PIDFD };

/* What /proc/PID/stat says about a process (man 5 proc). */
struct procstat {
    char state;                 /* R running, S sleeping, Z zombie, ... */
    int ppid, pgrp, session, tty_nr;
};

/* Read /proc/PID/stat into *st; returns 0, or -1 with errno ENOENT once the pid is gone.
 * The command name (field 2) is in parentheses and may hold spaces and ')', so parsing
 * starts after the LAST ')'. */
/* [snippet:procstat] */
static int read_procstat(pid_t pid, struct procstat *st)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *after = strrchr(buf, ')');
    if (after == NULL || sscanf(after + 1, " %c %d %d %d %d", &st->state, &st->ppid,
                                &st->pgrp, &st->session, &st->tty_nr) != 5)
        die_msg("%s: unexpected format", path);
    return 0;
}
/* [/snippet:procstat] */

/* The name of process `pid` (/proc/PID/comm), or "?" when it cannot be read. */
static const char *comm_of(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL || fgets(buf, (int)size, f) == NULL)
        snprintf(buf, size, "?");
    if (f != NULL)
        fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* glibc 2.36 has wrappers for these; the raw system calls also build with older ones. */
static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_kill(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Block until the process behind `pidfd` has exited: the descriptor becomes readable
 * then (for a child, once it is a zombie; it does not reap it). */
static void poll_exit(int pidfd)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    while (poll(&p, 1, -1) == -1)
        if (errno != EINTR)
            die_errno("poll");
}

/* A pipe whose write end only this program keeps: a descendant that holds the read end
 * sees end-of-file the moment we are gone, however we end - SIGKILL included. It is how
 * the orphan and the daemon below, which PR_SET_PDEATHSIG cannot protect (it fires when
 * their *own* parent exits, the very event these lessons are about), still end with us. */
static int lifeline[2] = { -1, -1 };

/* A descendant waits on the lifeline: it returns when this program has died (EOF). */
static noreturn void live_until_lifeline_ends(void)
{
    close(lifeline[1]);
    char c;
    while (read(lifeline[0], &c, 1) == -1 && errno == EINTR)
        continue;
    _exit(0);
}

static long hold_ms;
static int subreaper = 1;

static void section(const char *title)
{
    printf("\n== %s\n", title);
    fflush(stdout);   /* every fork() below copies stdio buffers: flush them first */
}

/* 1. A child that exits before its parent waits. */
static void lesson_zombie(void)
{
    section("zombie: a child that has exited and not been waited for");
    pid_t parent = getpid();
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        _exit(7);
    }
    printf("child %d forked; it exits at once with status 7\n", (int)pid);

    /* [snippet:zombie] */
    /* Wait until the child has exited WITHOUT reaping it: WNOWAIT leaves it waitable,
     * so it stays a zombie - as it would in a parent busy elsewhere. */
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == -1)
        if (errno != EINTR)
            die_errno("waitid");
    struct procstat st;
    if (read_procstat(pid, &st) == -1)
        die_errno("read /proc/PID/stat");
    printf("child %d has exited (status %d) and is not reaped: /proc/%d/stat says state %c "
           "(expected Z, a zombie)\n", (int)pid, info.si_status, (int)pid, st.state);

    /* A zombie runs nothing, so there is nothing for a signal to end. */
    if (kill(pid, SIGKILL) == -1)
        die_errno("kill");
    if (read_procstat(pid, &st) == -1)
        die_errno("read /proc/PID/stat");
    printf("kill(%d, SIGKILL) returned 0, and the state is still %c: a zombie is already "
           "dead\n", (int)pid, st.state);
    if (hold_ms > 0) {
        printf("holding the zombie for %ld ms (ps shows it as <defunct>)\n", hold_ms);
        fflush(stdout);
        sleep_ns(hold_ms * 1000000);
    }

    /* Reaping collects the status and frees the pid. */
    int status;
    char how[128];
    xwaitpid(pid, &status, 0);
    int gone = read_procstat(pid, &st) == -1 && errno == ENOENT;
    printf("waitpid(%d): %s; /proc/%d %s\n", (int)pid, describe_status(status, how, sizeof how),
           (int)pid, gone ? "is gone (the pid is free again)" : "exists again (pid reused)");
    /* [/snippet:zombie] */
}

/* Fork a middle child that forks a grandchild and exits, leaving it an orphan. With
 * `new_session`, the middle child first calls setsid(): the daemon recipe. Returns the
 * grandchild's pid once the middle child has been reaped (so the orphan has already been
 * re-parented); *middle gets the middle child's pid. */
/* [snippet:double-fork] */
static pid_t make_orphan(int new_session, pid_t *middle)
{
    pid_t parent = getpid();
    int report[2];
    xpipe(report);
    if (pipe2(lifeline, O_CLOEXEC) == -1)
        die_errno("pipe2");
    fflush(stdout);
    pid_t mid = xfork();
    if (mid == 0) {
        end_with_parent(parent, SIGKILL);   /* our child: PDEATHSIG covers it */
        close(report[0]);
        if (new_session && setsid() == -1)  /* new session and group, no terminal */
            die_child_errno("setsid");
        pid_t grandchild = fork();
        if (grandchild == -1)
            die_child_errno("fork");
        if (grandchild == 0) {
            /* A daemon: not a session leader (the middle child is), so it can never
             * acquire a controlling terminal again. A real one would now chdir("/"),
             * umask(0), point 0, 1 and 2 at /dev/null and close the rest - our lifeline
             * too; this one keeps them for the demo. */
            close(report[1]);
            live_until_lifeline_ends();
        }
        (void)!write(report[1], &grandchild, sizeof grandchild);
        _exit(0);                           /* the grandchild is now an orphan */
    }
    close(report[1]);
    close(lifeline[0]);                     /* we keep only the write end */
    pid_t grandchild = 0;
    if (read(report[0], &grandchild, sizeof grandchild) != (ssize_t)sizeof grandchild)
        die_msg("the middle child did not report its child's pid");
    close(report[0]);
    int status;
    xwaitpid(mid, &status, 0);              /* it has exited: its child was re-parented */
    *middle = mid;
    return grandchild;
}
/* [/snippet:double-fork] */

/* Kill an adopted process through a pidfd and wait for its end: reap it when it is ours
 * (we are its subreaper), else only see it exit (its adopter reaps it). */
static void end_adopted(pid_t pid, const char *what)
{
    if (hold_ms > 0) {
        printf("holding the %s for %ld ms\n", what, hold_ms);
        fflush(stdout);
        sleep_ns(hold_ms * 1000000);
    }
    int fd = pidfd_open_(pid);
    if (fd == -1) {
        /* Linux before 5.3: the pid is safe to use because it cannot be reused while the
         * process is our unreaped child, which it is when we are its subreaper. */
        if (errno != ENOSYS || !subreaper)
            die_errno("pidfd_open");
        kill(pid, SIGTERM);
    } else if (pidfd_kill(fd, SIGTERM) == -1) {
        die_errno("pidfd_send_signal");
    }
    char how[128];
    if (subreaper) {
        int status;
        xwaitpid(pid, &status, 0);
        printf("%s %d: %s; reaped by us, its adopter\n", what, (int)pid,
               describe_status(status, how, sizeof how));
    } else {
        poll_exit(fd);
        printf("%s %d has ended (SIGTERM through its pidfd); its adopter reaps it\n", what,
               (int)pid);
    }
    if (fd != -1)
        close(fd);
    close(lifeline[1]);
}

/* 2. The middle one of three generations exits; the grandchild is adopted. */
static void lesson_orphan(void)
{
    section("orphan: the grandchild's parent exits");
    char name[64];
    pid_t mid, g = make_orphan(0, &mid);
    struct procstat st;
    if (read_procstat(g, &st) == -1)
        die_errno("read /proc/PID/stat");
    printf("grandchild %d: its parent, the middle child %d, has exited\n", (int)g, (int)mid);
    printf("/proc/%d/stat: ppid %d (%s)", (int)g, st.ppid, comm_of(st.ppid, name, sizeof name));
    if (subreaper)
        printf(", expected %d: this program, a child subreaper\n", (int)getpid());
    else
        printf(": init (1), or the nearest subreaper above us\n");
    end_adopted(g, "orphan");
}

/* 3. The double-fork daemon: where it ends up, and what ties it to us. */
static void lesson_daemon(void)
{
    section("daemon: fork, setsid(), fork again");
    char name[64];
    pid_t mid, d = make_orphan(1, &mid);
    struct procstat st;
    if (read_procstat(d, &st) == -1)
        die_errno("read /proc/PID/stat");
    printf("daemon %d: the middle child %d called setsid(), forked it and exited\n", (int)d,
           (int)mid);
    printf("/proc/%d/stat: ppid %d (%s), session %d (ours is %d), process group %d, "
           "controlling terminal %s\n", (int)d, st.ppid, comm_of(st.ppid, name, sizeof name),
           st.session, (int)getsid(0), st.pgrp, st.tty_nr == 0 ? "none" : "yes");
    printf("it is no session leader (session %d is the middle child's), so it can never "
           "acquire a terminal\n", st.session);
    end_adopted(d, "daemon");
}

/* 4. pidfds: wait for a process without the pid-reuse race. */
static void lesson_pidfd(long ms)
{
    section("pidfd: wait for a process through a handle, not a number");
    pid_t parent = getpid();
    int report[2], go[2];
    xpipe(report);
    xpipe(go);
    pid_t child = xfork();
    if (child == 0) {
        end_with_parent(parent, SIGKILL);
        close(report[0]);
        close(go[1]);           /* else the read below would never see end-of-file */
        pid_t me = getpid();
        pid_t n = xfork();
        if (n == 0) {                       /* the non-child: works, then exits with 5 */
            end_with_parent(me, SIGKILL);
            close(go[0]);
            close(report[1]);
            sleep_ns(ms * 1000000);
            _exit(5);
        }
        (void)!write(report[1], &n, sizeof n);
        /* Do not reap n until the top parent holds a pidfd on it: till then the pid
         * cannot be reused, so the pidfd is sure to name our n. */
        char c;
        (void)!read(go[0], &c, 1);
        int status;
        xwaitpid(n, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    close(report[1]);
    close(go[0]);
    pid_t n = 0;
    if (read(report[0], &n, sizeof n) != (ssize_t)sizeof n)
        die_msg("the child did not report its child's pid");
    close(report[0]);
    printf("child %d forked %d, which is not our child\n", (int)child, (int)n);

    /* [snippet:pidfd] */
    int nfd = pidfd_open_(n);
    if (nfd == -1) {
        if (errno == ENOSYS) {
            printf("pidfd_open: not on this kernel (Linux 5.3 and later have it); skipped\n");
            close(go[1]);
            int status;
            xwaitpid(child, &status, 0);
            return;
        }
        die_errno("pidfd_open");
    }
    close(go[1]);                 /* now its parent may reap it: our handle stays valid */
    /* A pidfd becomes readable when its process exits: one poll() can wait for it beside
     * sockets and pipes, with a timeout, for a process that is not our child. */
    poll_exit(nfd);
    printf("poll(): the pidfd of %d is readable: it has exited\n", (int)n);
    siginfo_t info;
    if (waitid(P_PIDFD, (id_t)nfd, &info, WEXITED) == -1)
        printf("waitid(P_PIDFD, %d): %s (only its parent collects its status)\n", (int)n,
               strerror(errno));
    close(nfd);

    /* Our own child: pidfd_open() cannot race with pid reuse, because an unreaped child's
     * pid is not reused; waitid(P_PIDFD) (Linux 5.4) reaps it through the descriptor. */
    int cfd = pidfd_open_(child);
    if (cfd == -1)
        die_errno("pidfd_open");
    poll_exit(cfd);
    while (waitid(P_PIDFD, (id_t)cfd, &info, WEXITED) == -1) {
        if (errno == EINVAL) {    /* Linux 5.3: pidfds, but no P_PIDFD */
            int status;
            xwaitpid(child, &status, 0);
            info.si_code = CLD_EXITED, info.si_status = WEXITSTATUS(status);
            break;
        }
        if (errno != EINTR)
            die_errno("waitid");
    }
    printf("waitid(P_PIDFD, %d): exited with status %d (expected 5: it passes on the status "
           "of %d, which it reaped)\n", (int)child, info.si_code == CLD_EXITED ?
           info.si_status : -1, (int)n);
    close(cfd);
    /* [/snippet:pidfd] */
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    int mode = ALL;
    long ms = 200;
    static const struct option opts[] = {
        { "mode", required_argument, NULL, 'm' },
        { "no-subreaper", no_argument, NULL, 'n' },
        { "hold", required_argument, NULL, 'H' },
        { "ms", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mode = parse_choice("--mode", optarg, mode_names); break;
        case 'n': subreaper = 0; break;
        case 'H': hold_ms = parse_long("--hold", optarg, 0, 3600000); break;
        case 's': ms = parse_long("--ms", optarg, 0, 60000); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);

    /* A parent that sets SIGCHLD to SIG_IGN gets no zombies at all (the kernel reaps its
     * children for it), and that setting is inherited through exec(): make sure of the
     * default, so the zombie lesson shows what an ordinary parent sees. */
    signal(SIGCHLD, SIG_DFL);

    /* [snippet:subreaper] */
    /* A child subreaper adopts the orphans among its descendants instead of init, so it
     * can reap them - and kill them: systemd, container inits and test harnesses use it. */
    if (subreaper) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
            die_errno("prctl(PR_SET_CHILD_SUBREAPER)");
    }
    /* [/snippet:subreaper] */
    printf("zombies: pid %d%s\n", (int)getpid(),
           subreaper ? ", a child subreaper" : ", not a subreaper");

    if (mode == ALL || mode == ZOMBIE)
        lesson_zombie();
    if (mode == ALL || mode == ORPHAN)
        lesson_orphan();
    if (mode == ALL || mode == DAEMON)
        lesson_daemon();
    if (mode == ALL || mode == PIDFD)
        lesson_pidfd(ms);
    return EXIT_SUCCESS;
}
