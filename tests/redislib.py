"""redislib.py - a private redis-server for a test: free loopback port, temporary dir.

    with RedisServer() as r:          # or RedisServer.start_or_skip() in a test's main
        url = r.url                   # "redis://127.0.0.1:PORT"
        ...
        r.kill()                      # SIGKILL, to test what clients do when Redis dies

The server binds 127.0.0.1 only, keeps nothing on disk (--save '' --appendonly no) and
works in its own temporary directory; it is stopped by pid when the block ends, whatever
happens inside. Readiness is a PING answered, polled with a deadline (a hang guard, not a
timing assumption). A test on a machine without redis-server exits 77 (CTest: skipped).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from testlib import dies_with_test

SKIP = 77


def free_port():
    """A loopback port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port):
    """True if a Redis on port answers PING with PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self):
        self.exe = shutil.which("redis-server")
        self.proc = None
        self.dir = None
        self.port = None

    @classmethod
    def start_or_skip(cls):
        """Start one, or print why not and exit 77 (skipped) where there is no
        redis-server."""
        r = cls()
        if not r.exe:
            print("SKIP: redis-server is not installed (make deps installs it)")
            sys.exit(SKIP)
        return r.start()

    def start(self, deadline=30):
        # Another process may take the port between free_port() and the bind: try a few.
        for _ in range(5):
            self.dir = tempfile.mkdtemp(prefix="taskq-redis-")
            self.port = free_port()
            self.proc = subprocess.Popen(
                [self.exe, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir,
                 "--logfile", os.path.join(self.dir, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                preexec_fn=dies_with_test())
            end = time.monotonic() + deadline
            while time.monotonic() < end and self.proc.poll() is None:
                if ping(self.port):
                    return self
                time.sleep(0.02)          # polling for readiness, bounded by the deadline
            self.stop()
        raise RuntimeError("redis-server did not answer PING")

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def command(self, *args):
        """Send one command, return its reply: int, bytes, None, a list, or an Exception
        for an error reply. Enough RESP for a test to look inside Redis."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            req = b"*%d\r\n" % len(args) + b"".join(
                b"$%d\r\n%s\r\n" % (len(a), a) for a in
                (x if isinstance(x, bytes) else str(x).encode() for x in args))
            s.sendall(req)
            return _parse(s.makefile("rb"))

    def kill(self):
        """SIGKILL the server (its clients see the connection drop) and reap it."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc:
            self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self if self.proc else self.start()

    def __exit__(self, *exc):
        self.stop()


def _parse(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return Exception(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_parse(f) for _ in range(n)]
    raise ValueError(f"not RESP: {line!r}")
