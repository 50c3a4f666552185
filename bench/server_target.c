/* server_target.c - start and stop the server under test (contract in server_target.h) */
#include "core.h"
#include "server_target.h"
#include "spawn_capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int model_death = SIGTERM;          /* target_death_signal() */

void target_death_signal(int sig)
{
    model_death = sig;
}

/* Start build/bin/<model> --port 0 [--workers N] and read its port from "listening on
 * ADDR:PORT". */
static int start_model(const char *model, int workers, long header_timeout_ms,
                       struct target *t)
{
    char path[PATH_MAX], timeout[24], nworkers[24];
    sibling_program(model, path, sizeof path);      /* the servers are built beside the bench */
    snprintf(timeout, sizeof timeout, "%ld", header_timeout_ms);
    snprintf(nworkers, sizeof nworkers, "%d", workers);
    char *argv[] = { (char *)model, "--port", "0", "--header-timeout", timeout,
                     workers > 0 ? "--workers" : NULL, nworkers, NULL };
    struct spawn_opts so = { .file = path, .death_signal = model_death, .out = SPAWN_PIPE };
    struct spawn s;
    t->dir[0] = '\0';
    if (spawn_start(&s, argv, &so) == SPAWN_MISSING) {
        fprintf(stderr, "server: cannot run %s: %s\n", path, strerror(errno));
        return -1;
    }
    t->pid = s.pid;
    char buf[4096];
    size_t len = 0;
    int64_t deadline = now_ns() + 10 * (int64_t)1000000000;
    t->port = -1;
    while (t->port < 0 && len < sizeof buf - 1 && now_ns() < deadline) {
        struct pollfd p = { .fd = s.out_fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(s.out_fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *at = strstr(buf, "listening on ");
        char *colon = at ? strchr(at, ':') : NULL;
        if (colon && strchr(colon, '\n'))
            t->port = atoi(colon + 1);
    }
    close(s.out_fd);        /* later lines (the stop message) are not needed */
    if (t->port <= 0) {
        int status = 0;
        if (xwaitpid(t->pid, &status, WNOHANG) == 0) {
            kill(t->pid, SIGKILL);
            xwaitpid(t->pid, &status, 0);
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == TARGET_UNAVAILABLE) {
            fprintf(stderr, "server: %s cannot run on this machine (said above) - its "
                            "points skipped\n", model);
            return 1;
        }
        fprintf(stderr, "server: %s did not say where it listens\n", model);
        return -1;
    }
    return 0;
}

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
        die_errno("socket/bind/getsockname");
    close(fd);
    return ntohs(sa.sin_port);
}

int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* Copy the template text into out (size bytes) with @WORKERS@, @PORT@ and @DIR@ filled
 * in. Returns the length written. */
static size_t fill_template(const char *text, int workers, const struct target *t, char *out,
                            size_t size)
{
    size_t o = 0;
    for (const char *p = text; *p && o < size - 128; ) {
        if (!strncmp(p, "@WORKERS@", 9))
            o += (size_t)snprintf(out + o, size - o, "%d", workers), p += 9;
        else if (!strncmp(p, "@PORT@", 6))
            o += (size_t)snprintf(out + o, size - o, "%d", t->port), p += 6;
        else if (!strncmp(p, "@DIR@", 5))
            o += (size_t)snprintf(out + o, size - o, "%s", t->dir), p += 5;
        else
            out[o++] = *p++;
    }
    return o;
}

/* Write t->dir/nginx.conf from the template at nginx_conf (t->dir and t->port chosen).
 * Returns 0, or 1 when the template cannot be read (said on stderr). */
static int write_nginx_conf(const char *nginx_conf, int workers, const struct target *t,
                            char *conf, size_t conf_size)
{
    char text[4096], out[8192];
    FILE *f = fopen(nginx_conf, "r");
    if (!f) {
        fprintf(stderr, "server: %s: %s - nginx points skipped\n", nginx_conf, strerror(errno));
        return 1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    size_t len = fill_template(text, workers, t, out, sizeof out);
    snprintf(conf, conf_size, "%s/nginx.conf", t->dir);
    f = fopen(conf, "w");
    if (!f || fwrite(out, 1, len, f) != len || fclose(f) != 0)
        die_errno(conf);
    return 0;
}

/* nginx from Debian with the template at nginx_conf, in a temporary folder. Returns 0, 1
 * when nginx is not installed or the template is missing (skip), -1 on failure. */
static int start_nginx(int workers, const char *nginx_conf, struct target *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/bench-nginx-XXXXXX");
    if (!mkdtemp(t->dir))
        die_errno("mkdtemp");
    t->port = free_port();
    char conf[PATH_MAX + 16], elog[PATH_MAX + 16];
    snprintf(elog, sizeof elog, "%s/error.log", t->dir);
    int s = write_nginx_conf(nginx_conf, workers, t, conf, sizeof conf);
    char *argv[] = { "nginx", "-p", t->dir, "-c", conf, "-e", elog, NULL };
    /* SIGTERM when the bench dies: nginx's master then stops its workers. */
    struct spawn_opts so = { .file = "/usr/sbin/nginx", .death_signal = SIGTERM,
                             .out = SPAWN_NULL };
    struct spawn sp;
    if (s == 0 && spawn_start(&sp, argv, &so) == SPAWN_MISSING) {
        fprintf(stderr, "server: nginx is not installed (apt-get install nginx-light) - "
                        "its points skipped\n");
        s = 1;
    }
    if (s != 0) {
        nftw(t->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
        return s;
    }
    t->pid = sp.pid;
    /* nginx prints nothing when ready: try to connect until it answers (at most 10 s). */
    for (int i = 0; i < 500; i++) {
        if (can_connect(t->port))
            return 0;
        if (waitpid(t->pid, NULL, WNOHANG) == t->pid)
            break;
        sleep_ns(20000000);
    }
    fprintf(stderr, "server: nginx did not start (see %s)\n", elog);
    kill(t->pid, SIGKILL);
    waitpid(t->pid, NULL, 0);
    nftw(t->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    return -1;
}

int target_start(const char *model, int workers, const char *nginx_conf,
                 long header_timeout_ms, struct target *t)
{
    if (!model)
        return start_nginx(workers > 0 ? workers : 1, nginx_conf, t);
    return start_model(model, workers, header_timeout_ms, t);
}

int target_stop(struct target *t)
{
    kill(t->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; i++) {
        if (xwaitpid(t->pid, &status, WNOHANG) == t->pid)
            break;
        if (i == 499) {
            fprintf(stderr, "server: pid %d did not stop in 5 s: killed\n", (int)t->pid);
            kill(t->pid, SIGKILL);
            xwaitpid(t->pid, &status, 0);
        }
        sleep_ns(10000000);
    }
    if (t->dir[0])
        nftw(t->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
    int clean = WIFEXITED(status) ? WEXITSTATUS(status) == 0
                                  : WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    return clean ? 0 : -1;
}
