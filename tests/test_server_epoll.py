"""server_epoll's own lessons, beyond the server matrix (test_servers.py runs it too):

- --drain short (the default: a read short of the room offered means drained) and
  --drain eagain (read until EAGAIN): a request that makes the loop wait (/io?ms=200)
  followed at once by 5 000 pipelined requests, which pile up in the kernel while the
  connection is not read (about 17 input buffers' worth): every one is answered, in order.
  The reads after the wait fill the buffer, so short reads on.
- --drain once makes one read per event: the first read after the wait fills the buffer,
  the rest stays in the kernel, and no edge ever announces it (the client sent everything
  already). The client gets fewer replies than requests, then the header timeout closes
  the connection. This is the bug the flag exists to show.
- --drain short, a client that sends a request and its FIN (shutdown) while the server is
  stopped (SIGSTOP, then SIGCONT once both are queued: one edge carries both): the read
  that takes the request comes back short, yet the end of file behind it makes no edge of
  its own; the server must read on (EPOLLRDHUP said the peer shut) and close the
  connection after the reply, long before the header timeout (60 s, beyond the test's
  hang guard).
- --workers 2: two loops on two threads besides the main one (no child process), one port; 20 clients served;
  SIGTERM stops both loops and every connection is closed; SIGKILL leaves no process and
  frees the port.
Waits are bounded by servertest.T (a hang guard); nothing is timed."""
import os
import signal
import socket
import threading
from servertest import T, Reader, connect, get, start, stop
from testlib import check, done, wait_for

REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
N = 5000


def pipelined(drain):
    """Send /io?ms=200 and N pipelined requests at once; return the replies read before
    the server closed the connection (or T passed)."""
    p, port, _ = start("server_epoll", ["--drain", drain, "--header-timeout", "1500"])
    try:
        s = connect(port)
        s.settimeout(T)
        sender = threading.Thread(
            target=lambda: s.sendall(b"GET /io?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n" + REQ * N))
        sender.start()
        r, bodies = Reader(s), []
        while len(bodies) < N + 1:
            try:
                rep = r.reply()
            except (socket.timeout, ConnectionResetError):
                rep = None
            if rep is None:
                break
            bodies.append(rep[2])
        sender.join(T)
        s.close()
        rc, out, err = stop(p)
        check(rc == 0 and "open now 0" in out, f"--drain {drain}: exits 0, every connection "
              "closed", f"exit {rc}\n{out[-300:]}\n{err[-800:]}")
        return bodies
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


for drain in ("short", "eagain"):
    bodies = pipelined(drain)
    check(len(bodies) == N + 1 and bodies[0] == "io: waited 200 ms\n"
          and all(b == "hello from server_epoll\n" for b in bodies[1:]),
          f"--drain {drain}: a wait, then {N} pipelined requests: {N + 1} replies, in order",
          f"{len(bodies)} replies")
bodies = pipelined("once")
check(0 < len(bodies) < N + 1,
      f"--drain once: one read per edge strands the rest: fewer than {N + 1} replies",
      f"{len(bodies)} replies")
print(f"     (--drain once answered {len(bodies)} of {N + 1} before the header timeout)")

# ---- --drain short and the end of file: EPOLLRDHUP means read on ------------------------
p, port, said = start("server_epoll", ["--header-timeout", "60000"])
try:
    check("drain short" in said, "--drain short is the default", said)
    b = connect(port)
    b.sendall(REQ)
    first = Reader(b).reply()           # b is accepted and idle: its next bytes make an edge

    def state():
        with open(f"/proc/{p.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    os.kill(p.pid, signal.SIGSTOP)      # the loop cannot look until both are queued
    stopped = wait_for(lambda: state() == "T")
    b.sendall(REQ)
    b.shutdown(socket.SHUT_WR)
    os.kill(p.pid, signal.SIGCONT)
    r = Reader(b)
    try:
        second, closed = r.reply(), r.at_eof()
    except socket.timeout:
        second, closed = "timed out", False
    check(stopped and first is not None and first[0] == 200 and second is not None
          and second[0] == 200 and closed, "--drain short, request + FIN in one edge: the "
          "reply, then the server closes (the end of file read, not left to the header timeout)",
          f"stopped={stopped} {first!r} {second!r} closed={closed}")
    b.close()
    rc, out, err = stop(p)
    check(rc == 0 and "open now 0" in out, "--drain short: exits 0, every connection closed",
          f"exit {rc}\n{out[-300:]}\n{err[-800:]}")
finally:
    if p.poll() is None:
        os.kill(p.pid, signal.SIGCONT)
        p.kill()
        p.wait()

# ---- --workers 2: threads, one port ----------------------------------------------------
p, port, said = start("server_epoll", ["--workers", "2"])
try:
    names = []
    for task in os.listdir(f"/proc/{p.pid}/task"):
        with open(f"/proc/{p.pid}/task/{task}/comm") as f:
            names.append(f.read().strip())
    check(names.count("epoll-loop") == 2 and "2 epoll loops" in said,
          "--workers 2: two loop threads (named epoll-loop) in the one process", str(names))
    ok = sum(1 for _ in range(20) if get(port, "/")[0] == 200)
    check(ok == 20, "--workers 2: 20 clients answered 200", f"{ok} of 20")
    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
        kids = f.read().split()
    check(kids == [], "no child process", str(kids))
    held = connect(port)
    held.sendall(REQ)
    Reader(held).reply()
    rc, out, err = stop(p)
    check(rc == 0 and "stopping 2 loops" in out and "open now 0 (expected 0)" in out,
          "--workers 2, SIGTERM: both loops stop, every connection closed, exit 0",
          f"exit {rc}\n{out[-400:]}\n{err[-800:]}")
    held.close()
finally:
    if p.poll() is None:
        p.kill()
        p.wait()

p, port, _ = start("server_epoll", ["--workers", "2"])
get(port, "/")
os.kill(p.pid, signal.SIGKILL)
rc = p.wait(T)
try:
    socket.create_connection(("127.0.0.1", port), timeout=T).close()
    freed = False
except ConnectionRefusedError:
    freed = True
check(rc == -signal.SIGKILL and not os.path.exists(f"/proc/{p.pid}") and freed,
      "--workers 2, SIGKILL: the process is gone with its threads, the port refuses")
done()
