"""Slow clients and the descriptor limit, one server at a time (its name is the argument),
with more slow clients than workers (the server runs --workers 4):

- 16 slowloris connections (a header byte every 0.2 s, reconnecting when cut off) and a
  head timeout longer than the test: every model but prefork still answers a good client,
  and 8 keep-alive clients (twice the workers) are each answered twice - idle keep-alive
  connections hold no worker either.
- prefork, whose worker a slow client does hold: with --min-rate the slow connections are
  answered 408 and closed (the rate check, not the head timeout, which is longer than the
  test), and a good client is answered once a worker is free.
- Out of descriptors (RLIMIT_NOFILE 64) with 150 idle connections open, some of them
  already timed out: each of 10 new clients is answered (200 or 503) or closed, none left
  waiting behind idle connections. Not for prefork: its idle
  connections wait in the kernel's accept queue for a worker, which is the slowloris case.
Waits are bounded by servertest.T as a hang guard; nothing is timed."""
import resource
import socket
import sys
from servertest import (T, Reader, Slowloris, connect, get, open_fds, outcomes, start, stop,
                        stop_rc)
from testlib import check, done, wait_for as testlib_wait_for

NAME = sys.argv[1]
WORKERS = 4
SLOW = 4 * WORKERS
LONG_MS = 60000             # a head timeout no wait in this test reaches
args = ["--header-timeout", str(LONG_MS)]
if NAME in ("server_pool", "server_prefork", "server_uv_multi", "server_uring"):
    args += ["--workers", str(WORKERS)]


def wait_for(cond):
    """testlib.wait_for() with the servers' deadline T."""
    return testlib_wait_for(cond, T)


def finish(p, what):
    rc, out, err = stop(p)
    check(rc == stop_rc(NAME) and "open now 0 (expected 0)" in out, f"{what}: clean exit, every "
          f"connection closed", f"exit {rc}\n{out[-400:]}\n{err[-800:]}")
    check("ERROR: AddressSanitizer" not in err and "runtime error" not in err
          and "ThreadSanitizer" not in err,
          f"{what}: no sanitizer report", err[-1500:])


if NAME != "server_prefork":
    p, port, _ = start(NAME, args)
    slow = None
    try:
        baseline = open_fds(p.pid)
        slow = Slowloris(port, SLOW, 0.2)
        # The server holds a descriptor for each slow connection once it has taken it.
        check(wait_for(lambda: open_fds(p.pid) >= baseline + SLOW),
              f"the server took all {SLOW} slow connections", f"{open_fds(p.pid)} open")
        try:
            rep = get(port, "/")
        except socket.timeout:
            rep = None
        check(rep is not None and rep[0] == 200,
              f"{SLOW} slowloris connections, {WORKERS} workers: a good client is answered")
        # Keep-alive clients, twice as many as workers: each asks, then waits idle while
        # the others ask; then each asks again on the same connection.
        keep = [connect(port) for _ in range(2 * WORKERS)]
        readers = [Reader(s) for s in keep]
        answered = 0
        try:
            for _ in range(2):
                for s, r in zip(keep, readers):
                    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                    rep = r.reply()
                    answered += rep is not None and rep[0] == 200
        except socket.timeout:
            pass
        check(answered == 4 * WORKERS, f"{2 * WORKERS} keep-alive clients beside them: "
              f"each answered twice on its connection", f"{answered} of {4 * WORKERS}")
        for s in keep:
            s.close()
        check(slow.cut == 0, "the slow connections were not cut off to make room",
              f"{slow.cut} cut")
    finally:
        if slow:
            slow.stop()
        if p.poll() is None:
            finish(p, "slowloris")
else:
    # prefork: the rate check. 5 bytes/s against --min-rate 50: cut off about a second
    # after the first byte, long before the head timeout.
    p, port, _ = start(NAME, args + ["--min-rate", "50"])
    slow = None
    try:
        slow = Slowloris(port, SLOW, 0.2)
        check(wait_for(lambda: slow.cut >= WORKERS),
              f"{SLOW} slowloris connections, {WORKERS} workers: the server cuts slow "
              f"connections off before the head timeout", f"{slow.cut} cut")
        with slow.lock:
            said = list(slow.said)
        check(said and all(s.startswith(b"HTTP/1.1 408 ") for s in said),
              "each of them was answered 408 first", repr(said[:3]))
        try:
            rep = get(port, "/")        # waits in the accept queue for a freed worker
        except socket.timeout:
            rep = None
        check(rep is not None and rep[0] == 200,
              "a good client is answered once a worker is freed")
    finally:
        if slow:
            slow.stop()
        if p.poll() is None:
            finish(p, "prefork with --min-rate")

    # A bad --min-rate is refused; the models that cannot enforce it do not take it.
    from testlib import program, run
    r = run([program(NAME), "--min-rate", "-1"])
    check(r.returncode == 2 and "--min-rate" in r.stderr, "--min-rate -1 is refused", r.stderr)
    r = run([program("server_uv"), "--min-rate", "10"])
    check(r.returncode == 2, "server_uv does not take --min-rate", r.stderr)

# ---- out of descriptors, idle connections open --------------------------------------------
# 150 idle connections against 64 descriptors: the server takes what it can hold and
# answers the rest 503. When the head timeout closes the ones it took, descriptors come
# free and new clients are taken again - and must not then queue behind idle connections.
if NAME != "server_prefork":
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    idle_ms = 3000
    p, port, _ = start(NAME, ["--header-timeout", str(idle_ms)] + args[2:], preexec=low_limit)
    idle = []
    try:
        idle = [connect(port) for _ in range(150)]      # more than the server can hold
        for s in idle:
            s.settimeout(0)

        def one_timed_out():
            """True once the server has closed an idle connection without a word (its
            head timeout ran out), as opposed to the 503 of a refused one."""
            for s in idle:
                try:
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except (BlockingIOError, ConnectionResetError):
                    pass
            return False
        check(wait_for(one_timed_out), "an idle connection the server took is closed "
              "after its head timeout")
        new = [connect(port) for _ in range(10)]
        for s in new:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = outcomes(new)
        check(got["hung"] == 0 and sum(got.values()) == 10,
              "64 descriptors, 150 idle connections: then each of 10 new clients is "
              "answered 200 or 503, or closed; none waits", str(got))
        print(f"     (10 new clients beside 150 idle ones, 64 descriptors: {got})")
    finally:
        for s in idle:
            s.close()
        if p.poll() is None:
            finish(p, "out of descriptors")
done()
