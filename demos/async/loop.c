/* loop.c - one thread waits for many things at once: a first libuv event loop
 *
 * Usage:    loop [--ms STEP] [--file PATH]
 * Observe:  the program starts everything first - three timers (3, 1 and 2 steps long, in
 *           that order), a file read and a child process that exits with status 3 after
 *           1.5 steps - and only then runs the loop. Things complete in the order they
 *           finish, not the order they were started, and each completion is a callback on
 *           the same one thread. The whole run takes about the longest wait (3 steps), not
 *           the sum of the waits: the loop waits for all of them at once.
 * Try:      loop --ms 20; loop --ms 500 (the order stays: the waits scale together)
 *           strace -f -e trace=epoll_wait build/bin/loop   (the thread sleeps in one call)
 * Python:   docs/seeds.md#seed-000, nginx's one-process event model (asyncio is
 *           Python's loop: asyncio.sleep, create_subprocess_exec)
 * See also: docs/async/loop.md, demos/async/server_uv.c (the same loop serving HTTP)
 */
#include "core.h"
#include "uvcheck.h"

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

static const char usage_text[] =
    "loop - timers, a file read and a child process, all waited for by one thread\n"
    "\n"
    "Usage: loop [--ms STEP] [--file PATH]\n"
    "  --ms STEP     the time step in milliseconds (default 100, 1..10000): timers of 3, 1\n"
    "                and 2 steps, a child that exits after 1.5 steps\n"
    "  --file PATH   the file to read (default: this program's own executable)\n"
    "  --help        this text\n";

static int64_t t0;                  /* when the loop started, for the printed times */
static pid_t main_tid;              /* the thread that runs the loop */
static int completed, on_main_thread;

/* Every callback reports through here: which one finished, when, and on which thread. */
static void done(const char *what)
{
    completed++;
    on_main_thread += gettid() == main_tid;
    printf("[%6.1f ms] %d. %s\n", (double)(now_ns() - t0) / 1e6, completed, what);
}

/* ---- timers ----------------------------------------------------------------------------- */
struct timer {
    uv_timer_t handle;
    char name[48];
};

static void on_timer(uv_timer_t *t)
{
    done(((struct timer *)t)->name);
    uv_close((uv_handle_t *)t, NULL);   /* one-shot: nothing left to wait for here */
}

/* ---- the file: open, read chunk after chunk, close - each step a callback --------------- */
static struct {
    uv_fs_t req;
    uv_file fd;
    char chunk[64 * 1024];
    uv_buf_t buf;
    int64_t bytes;
    const char *path;
} file;

static void on_read(uv_fs_t *req);

/* A failed file step names the file too: "uv_fs_open /no/such/file: no such file ...". */
static noreturn void die_uv_file(const char *call, int err)
{
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "%s %s", call, file.path);
    die_uv(what, err);
}

static void on_open(uv_fs_t *req)
{
    if (req->result < 0)
        die_uv_file("uv_fs_open", (int)req->result);
    file.fd = (uv_file)req->result;
    uv_fs_req_cleanup(req);
    file.buf = uv_buf_init(file.chunk, sizeof file.chunk);
    check_uv("uv_fs_read", uv_fs_read(req->loop, &file.req, file.fd, &file.buf, 1, -1, on_read));
}

/* [snippet:read] */
static void on_read(uv_fs_t *req)
{
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n < 0)
        die_uv_file("uv_fs_read", (int)n);
    if (n > 0) {                    /* more to come: ask for the next chunk, return at once */
        file.bytes += n;
        check_uv("uv_fs_read", uv_fs_read(req->loop, req, file.fd, &file.buf, 1, -1, on_read));
        return;
    }
    uv_fs_t close_req;              /* end of file; closing is quick, do it synchronously */
    uv_fs_close(req->loop, &close_req, file.fd, NULL);
    uv_fs_req_cleanup(&close_req);
    char what[PATH_MAX + 64];
    snprintf(what, sizeof what, "file read: %lld bytes of %s", (long long)file.bytes, file.path);
    done(what);
}
/* [/snippet:read] */

/* ---- the child process -------------------------------------------------------------------- */
static void on_child_exit(uv_process_t *proc, int64_t status, int signo)
{
    char what[96];
    snprintf(what, sizeof what, "child %d exited with status %lld (expected 3), signal %d",
             proc->pid, (long long)status, signo);
    done(what);
    uv_close((uv_handle_t *)proc, NULL);
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    long step = 100;
    static char self[PATH_MAX];
    static const struct option opts[] = {
        { "ms", required_argument, NULL, 'm' },
        { "file", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    file.path = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': step = parse_long("--ms", optarg, 1, 10000); break;
        case 'f': file.path = optarg; break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s'", argv[optind]);
    if (!file.path) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            die_errno("readlink /proc/self/exe");
        file.path = self;
    }
    struct stat st;
    if (stat(file.path, &st) == -1)
        die_errno(file.path);
    setvbuf(stdout, NULL, _IOLBF, 0);

    uv_loop_t *loop = uv_default_loop();
    main_tid = gettid();
    printf("loop: starting 3 timers, a file read and a child, all from thread %d\n",
           (int)main_tid);

    /* [snippet:start] */
    /* Start everything. Each call only registers interest and returns at once. */
    t0 = now_ns();
    uv_update_time(loop);           /* timers count from the loop's cached "now": refresh it */
    static struct timer timers[3];
    const long steps[3] = { 3, 1, 2 };
    for (int i = 0; i < 3; i++) {
        snprintf(timers[i].name, sizeof timers[i].name, "timer %c: %ld ms", 'A' + i,
                 steps[i] * step);
        check_uv("uv_timer_init", uv_timer_init(loop, &timers[i].handle));
        check_uv("uv_timer_start",
                 uv_timer_start(&timers[i].handle, on_timer, (uint64_t)(steps[i] * step), 0));
    }
    /* The file: libuv runs blocking file calls on its small thread pool and hands the
     * result back to this thread as a callback. */
    check_uv("uv_fs_open", uv_fs_open(loop, &file.req, file.path, O_RDONLY, 0, on_open));
    /* The child: sleeps 1.5 steps, exits 3. libuv reaps it and calls on_child_exit. */
    char script[64];
    snprintf(script, sizeof script, "sleep %.3f; exit 3", 1.5 * (double)step / 1000.0);
    char *args[] = { "/bin/sh", "-c", script, NULL };
    uv_process_t child;
    uv_process_options_t po = { .file = args[0], .args = args, .exit_cb = on_child_exit };
    check_uv("uv_spawn", uv_spawn(loop, &child, &po));

    uv_run(loop, UV_RUN_DEFAULT);   /* returns when nothing is left to wait for */
    /* [/snippet:start] */

    double took = (double)(now_ns() - t0) / 1e6;
    printf("loop: %d of 5 callbacks ran, %d of them on thread %d (expected 5 and 5)\n",
           completed, on_main_thread, (int)main_tid);
    printf("loop: file bytes read = %lld (expected %lld)\n", (long long)file.bytes,
           (long long)st.st_size);
    printf("loop: took %.1f ms; the longest wait is %ld ms, the waits add up to %ld ms\n",
           took, 3 * step, (3 + 1 + 2) * step + 3 * step / 2);
    check_uv("uv_loop_close", uv_loop_close(loop));
    uv_library_shutdown();
    return completed == 5 && file.bytes == (int64_t)st.st_size ? EXIT_SUCCESS : EXIT_FAILURE;
}
