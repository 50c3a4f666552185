"""servertest.py - what the server tests share: start a server of demos/async on a free
port and stop it by its pid, connect, read HTTP replies, count a server's descriptors,
and a slowloris crowd. Every wait is bounded by T seconds (a hang guard, not a timing
check)."""
import os
import re
import select
import signal
import sys
import socket
import subprocess
import threading
import time
from testlib import finish, program

T = 20                      # seconds any single client waits before the test gives up


def start(name, args=(), preexec=None):
    """Start build/bin/NAME --port 0 ARGS..., return (process, port, its output) once it
    has printed its listening line."""
    p = subprocess.Popen([program(name), "--port", "0"] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
    deadline = time.monotonic() + T
    out = ""
    while time.monotonic() < deadline:      # raw reads: no buffer hides a line from select
        ready, _, _ = select.select([p.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        data = os.read(p.stdout.fileno(), 4096).decode()
        if not data:
            break
        out += data
        m = re.search(r"^listening on 127\.0\.0\.1:(\d+) \(", out, re.M)
        if m:
            return p, int(m.group(1)), out
    p.kill()
    _, err = p.communicate()
    if "io_uring is refused" in err:            # server_uring where the kernel says no
        print(f"SKIP: {err.strip()}")
        sys.exit(77)
    raise RuntimeError(f"{name} did not say where it listens: {out!r} {err!r}")


def stop_rc(name):
    """How a server ends on SIGTERM: the process models reap their children and then die
    of the signal (a shell sees 128+15); the thread and loop models exit 0."""
    return -signal.SIGTERM if name in ("server_fork", "server_prefork") else 0


def stop(p):
    """SIGTERM, then everything it printed; kill if it does not go within T seconds."""
    return finish(p, signal.SIGTERM, T)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=T)
    s.settimeout(T)
    return s


class Reader:
    """Replies from a socket: status, headers (lower-case names), body; None at EOF."""
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _more(self):
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        self.buf += data
        return bool(data)

    def reply(self):
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            if not self._more():
                return None
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body.decode("latin-1")

    def at_eof(self):
        """True when the server has closed (nothing more arrives)."""
        return not self.buf and not self._more()


def get(port, target, headers="", version="1.1"):
    with connect(port) as s:
        s.sendall(f"GET {target} HTTP/{version}\r\nHost: t\r\n{headers}\r\n".encode())
        return Reader(s).reply()


def outcomes(socks):
    """Read one reply on each socket (all within T seconds in all), close it, and count
    the outcomes: {"200": n, "503": n, ... "closed": n, "hung": n}."""
    counts = {"200": 0, "503": 0, "closed": 0, "hung": 0}
    deadline = time.monotonic() + T
    for s in socks:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            rep = Reader(s).reply()
            key = "closed" if rep is None else str(rep[0])
            counts[key] = counts.get(key, 0) + 1
        except socket.timeout:
            counts["hung"] += 1
        except OSError:                     # refused or reset: the server closed it
            counts["closed"] += 1
        s.close()
    return counts


def open_fds(pid):
    """Descriptors held by pid and every process below it (children serve connections)."""
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        try:
            total += len(os.listdir(f"/proc/{q}/fd"))
            for task in os.listdir(f"/proc/{q}/task"):
                with open(f"/proc/{q}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class Slowloris:
    """n connections that each send one more byte of a head that never ends every `every`
    seconds, and reconnect as soon as the server closes one, as the real slowloris does.
    Runs in a thread until stop(); `cut` counts the connections the server closed, and
    `said` keeps what the server sent on each of them before closing."""
    HEAD = b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X-Slow: 1\r\n" * 10000

    def __init__(self, port, n, every):
        self.port, self.every = port, every
        self.cut, self.said = 0, []
        self.lock = threading.Lock()
        self.quit = threading.Event()
        self.socks = {}                      # socket -> [bytes sent, bytes received]
        for _ in range(n):
            self._open()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _open(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=T)
        s.setblocking(False)
        self.socks[s] = [0, b""]

    def _drop(self, s):
        with self.lock:
            self.cut += 1
            self.said.append(self.socks[s][1])
        del self.socks[s]
        s.close()
        if not self.quit.is_set():
            self._open()

    def _run(self):
        next_byte = time.monotonic()
        while not self.quit.is_set():
            readable, _, _ = select.select(list(self.socks), [], [],
                                           max(0, next_byte - time.monotonic()))
            for s in readable:
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    self.socks[s][1] += data
                else:
                    self._drop(s)
            if time.monotonic() >= next_byte:
                next_byte += self.every
                for s in list(self.socks):
                    pos = self.socks[s][0]
                    try:
                        s.send(self.HEAD[pos:pos + 1])
                        self.socks[s][0] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self._drop(s)

    def stop(self):
        self.quit.set()
        self.thread.join(T)
        for s in list(self.socks):
            s.close()
