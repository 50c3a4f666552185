/* server_target.h - the server under test of the server benches: start it, stop it
 *
 * A target is one of the course's servers (build/bin/server_uv, ...), started with
 * --port 0 so the kernel picks a free port that the server prints on its first line, or
 * nginx from Debian, configured from the peer file bench/peers/nginx.conf with its
 * @WORKERS@, @PORT@ and @DIR@ filled in, in a temporary folder. Either runs in a child
 * that gets SIGTERM when the bench dies (end_with_parent()), so it reaps its own workers.
 */
#ifndef SERVER_TARGET_H
#define SERVER_TARGET_H

#include <sys/types.h>

/* The exit status of a server that cannot run on this machine (69, EX_UNAVAILABLE from
 * sysexits.h: server_uring where io_uring is refused). Its points are skipped. */
#define TARGET_UNAVAILABLE 69

struct target {
    pid_t pid;
    int port;
    char dir[64];           /* nginx's temporary folder, "" for the course's servers */
};

/* Start a target: the course's server `model` ("server_uv", ...), with --workers N when
 * workers > 0 (else its default) and --header-timeout header_timeout_ms (0: none); or,
 * with model NULL, nginx with `workers` workers (at least 1), configured from the
 * template at nginx_conf. Returns 0 once it accepts connections on t->port; 1 when nginx
 * is not installed or its template is missing, or the server exited TARGET_UNAVAILABLE
 * (said on stderr: skip the point); -1 on failure (said on stderr). */
int target_start(const char *model, int workers, const char *nginx_conf,
                 long header_timeout_ms, struct target *t);

/* The signal the course's servers started from now on get when the bench dies: SIGTERM
 * by default (they stop cleanly), SIGKILL for a bench that traces them, because a tracer
 * detaching at that moment can swallow the SIGTERM (a ptrace signal-delivery-stop) and
 * leave the server running. Their workers end with them either way. */
void target_death_signal(int sig);

/* SIGTERM, then wait (SIGKILL after 5 s), and remove nginx's folder. Returns 0 if it
 * exited 0 or, having reaped its workers, died of that SIGTERM as the process servers do. */
int target_stop(struct target *t);

/* A free loopback port: bind port 0, read what the kernel gave, let it go again (for a
 * server that cannot pick its own, such as nginx or redis-server). */
int free_port(void);

/* 1 if something accepts TCP connections on 127.0.0.1:port now, else 0. */
int can_connect(int port);

#endif
