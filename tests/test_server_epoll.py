"""server_epoll's own lessons, beyond the server matrix (test_servers.py runs it too):

- --drain eagain (the default) reads until EAGAIN: a request that makes the loop wait
  (/io?ms=200) followed at once by 5 000 pipelined requests, which pile up in the kernel
  while the connection is not read (about 17 input buffers' worth): every one is answered,
  in order.
- --drain short makes one read per event: the first read after the wait fills the buffer,
  the rest stays in the kernel, and no edge ever announces it (the client sent everything
  already). The client gets fewer replies than requests, then the header timeout closes
  the connection. This is the bug the flag exists to show.
- --workers 2: two loops on two threads besides the main one (no child process), one port; 20 clients served;
  SIGTERM stops both loops and every connection is closed; SIGKILL leaves no process and
  frees the port.
Waits are bounded by servertest.T (a hang guard); nothing is timed."""
import os
import signal
import socket
import threading
from servertest import T, Reader, connect, get, start, stop
from testlib import check, done

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


bodies = pipelined("eagain")
check(len(bodies) == N + 1 and bodies[0] == "io: waited 200 ms\n"
      and all(b == "hello from server_epoll\n" for b in bodies[1:]),
      f"--drain eagain: a wait, then {N} pipelined requests: {N + 1} replies, in order",
      f"{len(bodies)} replies")
bodies = pipelined("short")
check(0 < len(bodies) < N + 1,
      f"--drain short: one read per edge strands the rest: fewer than {N + 1} replies",
      f"{len(bodies)} replies")
print(f"     (--drain short answered {len(bodies)} of {N + 1} before the header timeout)")

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
