"""The HTTP servers of the async chapter, one at a time (the server's name is the argument):
each endpoint's reply, keep-alive and pipelining on one connection, 200 concurrent clients
all answered, every bad input answered as specified (400, 431, 405, 404, 505), a
slowloris client cut off with 408 while a normal client is served, vanished clients
cleaned up, running out of file descriptors survived, and a clean exit on SIGTERM with
every child reaped. Each server starts with --port 0 and is stopped by its pid."""
import concurrent.futures
import os
import re
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from servertest import (T, Reader, connect, get, open_fds, outcomes, start as start_server, stop,
                        stop_rc)
from testlib import SRC, check, done, program

NAME = sys.argv[1]
WORKERS = {"server_uv_multi": "2", "server_pool": "8", "server_prefork": "8"}
HEADER_TIMEOUT_MS = 1500
FDLIMIT_SERVERS = ("server_uv", "server_uv_multi", "server_epoll", "server_threads", "server_pool",
                   "server_uring")
with open(os.path.join(SRC, "lib", "http.h")) as f:     # the documented /cpu maximum
    HTTP_H = f.read()
CPU_MAX_US = int(re.search(r"#define HTTP_CPU_MAX_US (\d+)", HTTP_H).group(1))
BUF_SIZE = 2 * int(re.search(r"#define HTTP_MAX_HEAD (\d+)", HTTP_H).group(1))
LOOP_SERVERS = ("server_uv", "server_uv_multi", "server_epoll", "server_uring")
IDLE_CONNS = 2000


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return int(re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M).group(1))


def idle_cost(pid, port, n=IDLE_CONNS):
    """Open n connections, make one request on each and leave them open, idle. Returns how
    many were answered and the server's memory growth (PSS) per connection in bytes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    before = pss_kib(pid)
    conns = [connect(port) for _ in range(n)]
    for s in conns:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    answered = sum(1 for s in conns if (Reader(s).reply() or (0,))[0] == 200)
    per_conn = (pss_kib(pid) - before) * 1024 / n
    for s in conns:
        s.close()
    return answered, per_conn


def idle_bound(pid):
    """Bytes an idle connection may cost: an eighth of an input buffer. Under ASan a freed
    buffer waits in its quarantine and redzones pad every block, and TSan keeps shadow
    memory and a history for every block: half a buffer there."""
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    sanitized = "libasan" in maps or "libtsan" in maps
    return BUF_SIZE // 2 if sanitized else BUF_SIZE // 8


def start(extra=(), preexec=None):
    """Start the server with the test's settings (servertest.start)."""
    args = ["--header-timeout", str(HEADER_TIMEOUT_MS)]
    if NAME in WORKERS:
        args += ["--workers", WORKERS[NAME]]
    return start_server(NAME, args + list(extra), preexec)


def settles_to(pid, baseline, seconds=T):
    """Wait (bounded) for the server's descriptor count to come back to baseline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if open_fds(pid) <= baseline:
            return True
        time.sleep(0.05)
    return False


def bad(port, raw, keep=False):
    """Send raw bytes; return (status, whether the server then closed the connection)."""
    with connect(port) as s:
        s.sendall(raw)
        r = Reader(s)
        rep = r.reply()
        if rep is None:
            return None, True
        if keep:
            return rep[0], rep[1].get("connection")
        s.settimeout(5)
        try:
            closed = r.at_eof()
        except socket.timeout:
            closed = False
        return rep[0], closed


if NAME == "server_uring":
    # Where io_uring_setup() is refused the server says why and exits 69, EX_UNAVAILABLE
    # (servertest.start turns that into a skip, 77; the benches skip its points);
    # SERVER_URING_FORCE_REFUSED takes that path here.
    r = subprocess.run([program(NAME), "--port", "0"], capture_output=True, text=True,
                       timeout=T, env=dict(os.environ, SERVER_URING_FORCE_REFUSED="1"))
    check(r.returncode == 69 and "io_uring is refused here: io_uring_setup:" in r.stderr
          and "kernel.io_uring_disabled" in r.stderr and r.stdout == "",
          "io_uring refused: the reason on stderr, exit 69, no listening line",
          f"{r.returncode} {r.stderr!r}")
    r = subprocess.run([program("bench_server_mem"), "--variant", "server_uring",
                        "--connections", "1", "--repeat", "1"], capture_output=True, text=True,
                       timeout=T, env=dict(os.environ, SERVER_URING_FORCE_REFUSED="1"))
    check(r.returncode == 0 and "server_uring cannot run on this machine" in r.stderr
          and "server_uring," not in r.stdout,
          "io_uring refused: a bench skips server_uring's points, saying why",
          f"{r.returncode} {r.stdout[-300:]!r} {r.stderr[-600:]!r}")
    p, port, out = start(["--ring-flags", "off"])
    st, _, body = get(port, "/")
    check(st == 200 and "single issuer" not in out, "--ring-flags off: a plain ring serves",
          out)
    check(stop(p)[0] == 0, "--ring-flags off: clean exit")
    # Without the provided-buffer ring every connection keeps its own input buffer, idle or
    # not: the control that shows the idle-memory check below can fail (the server before
    # the ring had only this way).
    # A pool of one provided buffer: while /cpu holds the ring's thread, 300 clients send a
    # request each; when the ring next reaps, their recvs find the pool empty and complete
    # with -ENOBUFS: they must be submitted again, not taken for a vanished client.
    p, port, out = start(["--bufs", "1"])
    try:
        conns = [connect(port) for _ in range(300)]
        busy = connect(port)
        busy.sendall(b"GET /cpu?us=300000 HTTP/1.1\r\nHost: t\r\n\r\n")
        for s in conns:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        answered = sum(1 for s in conns if (Reader(s).reply() or (0,))[0] == 200)
        check(answered == len(conns) and (Reader(busy).reply() or (0,))[0] == 200,
              "--bufs 1, 300 requests at once while the ring computes: every one answered",
              f"{answered} answered")
        for s in conns + [busy]:
            s.close()
        check(stop(p)[0] == 0, "--bufs 1: clean exit")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    p, port, out = start(["--buf-ring", "off"])
    try:
        answered, per_conn = idle_cost(p.pid, port)
        bound = idle_bound(p.pid)
        rc, _, err = stop(p)
        check(answered == IDLE_CONNS and per_conn > bound and "provided" not in out
              and "reads: a 16384-byte buffer per connection, idle or not (--buf-ring off)"
              in err and rc == 0,
              f"--buf-ring off: it says so on stderr, serves, and {IDLE_CONNS} idle connections "
              f"cost more than {bound} bytes each (a buffer each)",
              f"exit {rc}, {answered} answered, {per_conn:.0f} bytes each\n{out}{err[-500:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

p, port, _ = start()
try:
    baseline = open_fds(p.pid)
    # ---- each endpoint ------------------------------------------------------------------
    st, h, body = get(port, "/")
    check(st == 200 and body == f"hello from {NAME}\n", "GET / answers 200 with the fixed body",
          f"{st} {body!r}")
    check(h.get("content-length") == str(len(body)) and h.get("connection") == "keep-alive",
          "GET / says its length and keep-alive", str(h))
    st, _, body = get(port, "/io?ms=30")
    check(st == 200 and body == "io: waited 30 ms\n", "GET /io?ms=30 answers after the wait",
          f"{st} {body!r}")
    st, _, body = get(port, "/cpu?us=200")
    check(st == 200 and re.fullmatch(r"cpu: worked 200 us, checksum [0-9a-f]{16}\n", body),
          "GET /cpu?us=200 answers with the work's checksum", f"{st} {body!r}")
    st, _, body = get(port, f"/cpu?us={CPU_MAX_US}")
    check(st == 200 and body.startswith(f"cpu: worked {CPU_MAX_US} us"),
          f"GET /cpu?us={CPU_MAX_US} (the maximum) answers 200", f"{st} {body!r}")
    st, _, body = get(port, f"/cpu?us={CPU_MAX_US + 1}")
    check(st == 400, f"GET /cpu?us={CPU_MAX_US + 1} (over the maximum) answers 400",
          f"{st} {body!r}")
    st, _, body = get(port, "/cpu?us=10000000")
    check(st == 400, "GET /cpu?us=10000000 (10 s of one thread) answers 400", f"{st} {body!r}")

    # ---- keep-alive, pipelining, Connection: close, HTTP/1.0 ---------------------------
    with connect(port) as s:
        r = Reader(s)
        ok = 0
        for i in range(100):
            target = "/io?ms=1" if i % 10 == 0 else "/"
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            rep = r.reply()
            ok += rep is not None and rep[0] == 200
        check(ok == 100, "100 requests one after another on one connection: 100 replies",
              f"{ok} of 100")
        s.sendall(b"".join(f"GET /io?ms={i % 3} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
                           for i in range(50)))
        bodies = [r.reply() for _ in range(50)]
        check(all(b and b[2] == f"io: waited {i % 3} ms\n" for i, b in enumerate(bodies)),
              "50 pipelined requests: 50 replies, in order")
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        rep = r.reply()
        check(rep and rep[0] == 200 and rep[1].get("connection") == "close" and r.at_eof(),
              "Connection: close is answered, then the server closes")
    # A head split across many reads, on a connection that goes idle between requests (a
    # loop server holds an input buffer only while a head is partly read: it must keep
    # the part it has, and take a buffer again when the next one starts).
    with connect(port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # every send its own segment
        r = Reader(s)
        one = b"GET /io?ms=5 HTTP/1.1\r\nHost: t\r\nX-Pad: abcdefgh\r\n\r\n"
        two = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
        bodies = []
        for _ in range(3):
            for i in range(len(one)):           # byte by byte
                s.sendall(one[i:i + 1])
            bodies.append(r.reply())
            s.sendall(two + one[:20])           # a whole request and the start of the next
            bodies.append(r.reply())
            for i in range(20, len(one), 7):    # the rest of it in pieces
                s.sendall(one[i:i + 7])
            bodies.append(r.reply())
        want = ["io: waited 5 ms\n", f"hello from {NAME}\n", "io: waited 5 ms\n"] * 3
        check([b and b[2] for b in bodies] == want,
              "heads split over many reads, idle between requests: 9 replies, in order",
              str([b and b[2] for b in bodies]))
    st, h, _ = get(port, "/", version="1.0")
    check(st == 200 and h.get("connection") == "close", "HTTP/1.0 closes by default", str(h))
    st, h, _ = get(port, "/", "Connection: keep-alive\r\n", version="1.0")
    check(st == 200 and h.get("connection") == "keep-alive",
          "HTTP/1.0 with Connection: keep-alive keeps it", str(h))

    # ---- 200 concurrent clients ---------------------------------------------------------
    N = 200
    barrier = threading.Barrier(N, timeout=T)

    def client(i):
        with connect(port) as s:
            barrier.wait()          # every client is connected before any sends
            s.sendall(f"GET /io?ms=20 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                      .encode())
            rep = Reader(s).reply()
            return rep is not None and rep[0] == 200 and rep[2] == "io: waited 20 ms\n"

    with concurrent.futures.ThreadPoolExecutor(N) as ex:
        results = list(ex.map(client, range(N)))
    check(sum(results) == N, f"{N} concurrent clients: all answered 200",
          f"{sum(results)} of {N}")

    # ---- bad input ----------------------------------------------------------------------
    cases = [
        (b"GARBAGE\r\n\r\n", 400, "a request line without spaces"),
        (b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "a header line without a colon"),
        (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400, "an obsolete folded header"),
        (b"GET  / HTTP/1.1\r\n\r\n", 400, "two spaces after the method"),
        (b"GET /io?ms=abc HTTP/1.1\r\n\r\n", 400, "/io with a non-number"),
        (b"GET /cpu?us=99999999999 HTTP/1.1\r\n\r\n", 400, "/cpu out of range"),
        (b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400, "a request body"),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "chunked encoding"),
        (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400, "a NUL byte in a header"),
        (b"GET / HTTX/1.1\r\n\r\n", 400, "a broken version"),
        (b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0 in a text request line"),
        (b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n", 431,
         "one 9000-byte header"),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%03d: %s\r\n" % (i, b"v" * 40)
                                         for i in range(200)) + b"\r\n", 431,
         "200 headers, 10 KiB in all"),
        (b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 9000, 431, "9000 bytes and no end of line"),
    ]
    for raw, want, what in cases:
        st, closed = bad(port, raw)
        check(st == want and closed, f"{what}: {want}, then closed", f"got {st}, closed {closed}")
    st, conn = bad(port, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", keep=True)
    check(st == 405 and conn == "keep-alive", "POST: 405, connection kept", f"{st} {conn}")
    st, conn = bad(port, b"DELETE /x HTTP/1.1\r\n\r\n", keep=True)
    check(st == 405, "DELETE: 405", f"{st}")
    st, conn = bad(port, b"GET /nowhere HTTP/1.1\r\n\r\n", keep=True)
    check(st == 404 and conn == "keep-alive", "an unknown path: 404, connection kept",
          f"{st} {conn}")
    with connect(port) as s:
        s.sendall(b"PUT / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        r = Reader(s)
        a, b = r.reply(), r.reply()
        check(a and a[0] == 405 and b and b[0] == 200 and "allow" in a[1],
              "after a 405 (with Allow) the same connection still serves a GET")

    # ---- slowloris ----------------------------------------------------------------------
    # A client sends a partial head and then a header line every 200 ms, never finishing.
    # The header timeout counts from the start of the head, so dripping does not reset it.
    slow = connect(port)
    slow.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
    idle = connect(port)             # connects and never sends anything
    st, _, body = get(port, "/")
    check(st == 200, "a normal client is served while a slowloris client drips")
    slow.settimeout(0.2)
    got, eof, t0 = b"", False, time.monotonic()
    while time.monotonic() - t0 < T:
        try:
            data = slow.recv(4096)
            if not data:
                eof = True
                break
            got += data
        except socket.timeout:
            try:
                slow.sendall(b"X-Drip: 1\r\n")
            except OSError:
                pass
        except ConnectionResetError:
            eof = True
            break
    check(got.startswith(b"HTTP/1.1 408 ") and eof,
          "the slowloris client gets 408 and is closed", repr(got[:80]))
    slow.close()
    idle.settimeout(T)
    check(Reader(idle).at_eof(), "an idle connection is closed after the header timeout")
    idle.close()

    # ---- vanished clients ---------------------------------------------------------------
    check(settles_to(p.pid, baseline), "descriptors back to the start count",
          f"{open_fds(p.pid)} vs {baseline}")
    for i in range(20):
        s = connect(port)
        s.sendall(b"GET /io?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n")
        if i % 2:                    # half of them reset the connection instead of a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    check(settles_to(p.pid, baseline),
          "20 clients that vanish mid-request: every descriptor is released",
          f"{open_fds(p.pid)} open vs {baseline} at start")
    st, _, _ = get(port, "/")
    check(st == 200, "the server still answers after the vanished clients")

    # ---- a slow reader ---------------------------------------------------------------------
    # The client pipelines small requests and reads nothing. Each reply is bigger than its
    # request, so a server that kept answering would buffer without bound; a bounded one
    # stops reading, the kernel buffers fill and the client's sends stall. Then the client
    # reads, and must get exactly one 200 for every request it managed to send.
    req = b"GET / HTTP/1.1\r\n\r\n"
    rep_len = len(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                  f"{len(NAME) + 12}\r\nConnection: keep-alive\r\n\r\nhello from {NAME}\n")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)     # a small window
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    chunk, sent, limit = req * 3000, 0, 200 * 1024 * 1024
    while sent < limit:                  # stop when no byte goes out for 2 s
        if not select.select([], [s], [], 2)[1]:
            break
        try:
            sent += s.send(chunk[sent % len(req):])
        except BlockingIOError:
            pass
    check(sent < limit,
          "a client that never reads stalls: the server stops taking its requests",
          f"{sent} bytes sent")
    whole = sent // len(req)
    if sent % len(req):                  # finish the request cut in the middle
        s.setblocking(True)
        s.sendall(req[sent % len(req):])
        whole += 1
    s.setblocking(True)
    s.settimeout(T)
    got = 0
    try:
        while got < whole * rep_len:
            data = s.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except (socket.timeout, ConnectionResetError):
        pass
    check(got == whole * rep_len,
          f"then it reads: one reply for each of the {whole} requests it sent",
          f"{got} bytes, {got / rep_len:.1f} replies")
    s.close()

    # ---- idle connections of an event loop hold no input buffer ---------------------------
    # Each of 2 000 connections makes one request and then stays open, idle. A loop server
    # gives a connection's HTTP_BUF_SIZE input buffer back when it goes idle (server_uring:
    # its recvs take a provided buffer only when bytes arrive), so its memory (PSS) grows
    # by far less than one buffer per connection. A buffer kept per connection costs at
    # least the page its first bytes touched: over an eighth of HTTP_BUF_SIZE.
    if NAME in LOOP_SERVERS:
        answered, per_conn = idle_cost(p.pid, port)
        bound = idle_bound(p.pid)
        check(answered == IDLE_CONNS and per_conn < bound,
              f"{IDLE_CONNS} idle connections: each costs less than {bound} bytes of memory "
              f"(an input buffer is {BUF_SIZE})", f"{answered} answered, {per_conn:.0f} bytes each")

    # ---- SIGTERM with connections open ---------------------------------------------------
    held = connect(port)
    held.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    Reader(held).reply()             # an open keep-alive connection
    waiting = connect(port)
    waiting.sendall(b"GET /io?ms=30000 HTTP/1.1\r\nHost: t\r\n\r\n")
    kids = []
    for task in os.listdir(f"/proc/{p.pid}/task"):
        with open(f"/proc/{p.pid}/task/{task}/children") as f:
            kids += [int(c) for c in f.read().split()]
    rc, out, err = stop(p)
    # A server that starts processes dies of the signal once it has reaped them, so its
    # parent sees what stopped it (test_stop.py); the others exit 0.
    want = stop_rc(NAME)
    check(rc == want, f"SIGTERM: the server ends with {want}", f"exit {rc}\n{err[-1500:]}")
    check("open now 0 (expected 0)" in out, "every connection was closed at exit", out[-500:])
    if NAME == "server_uring":
        check("reads: a provided-buffer ring of " in err,
              "server_uring says on stderr that it reads into a provided-buffer ring", err[-500:])
    check(all(not os.path.exists(f"/proc/{k}") for k in kids),
          f"no child process is left ({len(kids)} before)")
    check("ERROR: AddressSanitizer" not in err and "runtime error" not in err
          and "ThreadSanitizer" not in err, "no sanitizer report", err[-1500:])
    held.close()
    waiting.close()
finally:
    if p.poll() is None:
        p.kill()
        p.wait()

# ---- the open-file limit ---------------------------------------------------------------------
# A soft limit below the hard one is raised to it, and the server says so on stderr: its
# stdout is for the lines that scripts and benches read.
_, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
if HARD == resource.RLIM_INFINITY or HARD > 64:
    def low_soft():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, HARD))

    p, port, said = start(preexec=low_soft)
    try:
        rc, out, err = stop(p)
        check(rc == stop_rc(NAME) and "open files: soft limit raised from 64 to the hard limit"
              in err and "open files" not in said + out,
              "a low soft open-file limit is raised, and said so on stderr",
              f"exit {rc}\n{said}{out[-500:]}\n{err[-800:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

# ---- out of file descriptors ---------------------------------------------------------------
# With only 64 descriptors, 100 clients at once: the ones beyond the limit are answered 503
# (or closed), none is left hanging, and the server serves normally once they are gone.
if NAME not in ("server_fork", "server_prefork"):    # those hold connections in children
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    p, port, said = start(preexec=low_limit)
    try:
        socks = [connect(port) for _ in range(100)]
        for s in socks:
            s.sendall(b"GET /io?ms=500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        got = outcomes(socks)
        check(got["hung"] == 0 and got["200"] > 0 and
              got["200"] + got["503"] + got["closed"] == 100,
              "64 descriptors, 100 clients: each answered 200, 503 or closed, none hangs",
              str(got))
        # The server closes its side of those connections as it notices them go; until
        # then it may still be full. Ask until it answers (bounded), as a client would.
        deadline, rep = time.monotonic() + T, None
        while (rep is None or rep[0] != 200) and time.monotonic() < deadline:
            try:
                rep = get(port, "/")
            except OSError:
                rep = None
        check(rep is not None and rep[0] == 200,
              "after running out of descriptors the server recovers")
        rc, out, err = stop(p)
        check(rc == 0 and "hard limit is 64" in err and "hard limit" not in said + out,
              "it warned about the low limit on stderr, exits 0",
              f"exit {rc}\n{said}{out[-500:]}\n{err[-800:]}")
        print(f"     (100 clients with 64 descriptors: {got})")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

# ---- at the descriptor limit with many idle connections ------------------------------------
# 256 descriptors (soft and hard, so the server cannot lift them) and 1 000 idle connections:
# the server holds what it can and must answer every further client at once, 503 or closed.
# The header timeout is long, so nothing closes by itself meanwhile: a client left queued
# would wait for it. Several loops share the spare descriptor (server_uv_multi), and losing
# it was a race, so the round runs several times.
if NAME in FDLIMIT_SERVERS:
    def limit_256():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        check(False, "the test can raise its own open-file limit to 1 200", f"hard limit {hard}")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
        p, port, _ = start(["--header-timeout", "600000"], preexec=limit_256)
        try:
            ROUNDS, IDLE, NEW = 6, 1000, 10
            total = {}
            for rnd in range(ROUNDS):
                idle = [socket.create_connection(("127.0.0.1", port), timeout=T)
                        for _ in range(IDLE)]
                new = [connect(port) for _ in range(NEW)]
                for s in new:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                for key, n in outcomes(new).items():   # the old code left them queued
                    total[key] = total.get(key, 0) + n
                for s in idle:
                    s.close()
            hung = total["hung"]
            check(hung == 0,
                  f"256 descriptors, {IDLE} idle connections: {ROUNDS} x {NEW} new clients each "
                  f"get a reply, a 503 or a close", str(total))
            rc, out, err = stop(p)
            check(rc == 0, "and it exits 0 after", f"exit {rc}\n{out[-500:]}\n{err[-800:]}")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
done()
