"""taskqwire.py - the broker's protocol in Python (stdlib only), for the tests: frames,
the handshake, a small blocking client, and starting/stopping a broker on a free port.

A second implementation of demos/distributed/wire.h and auth.h: when the C broker and this
file agree, both follow the text of the headers, not merely each other. Every wait is
bounded by T seconds (a hang guard, not a timing check).

    p, port, key = start_broker(tmpdir, ["--lease-ms", "500"])
    c = Client(port, key, "worker-1")
    ids = c.put("tasks", [b"a", b"b"])
    tasks = c.get("tasks", max=10)           # [(id, deliveries, payload), ...]
    c.ack("tasks", [t[0] for t in tasks])
    rc, out, err = stop_broker(p)
"""
import hashlib
import hmac
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time
from testlib import dies_with_test, program, wait_for

T = 20

VERSION = 1
MAX_FRAME = 1 << 20
NONCE = 32
CHALLENGE, HELLO, WELCOME = 1, 2, 3
PUT, GET, ACK, NACK, RENEW, FINISH, STATS, INSPECT = 10, 11, 12, 13, 14, 15, 16, 17
PUT_OK, TASKS, OK, STATS_REPLY, ENTRIES, ERROR = 40, 41, 42, 43, 44, 45
E_AUTH, E_MALFORMED, E_FULL, E_UNKNOWN_OP, E_INTERNAL = 1, 2, 3, 4, 5
READY, LEASED, DEAD = 1, 2, 3
CLIENT_LABEL = b"taskq client->broker"
BROKER_LABEL = b"taskq broker->client"
STATS_FIELDS = ("ready", "leased", "dead", "put", "acked", "redelivered", "dead_lettered")


# ---- fields and frames ---------------------------------------------------------------

def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def s(text): return u16(len(text)) + (text.encode() if isinstance(text, str) else text)
def b(data): return u32(len(data)) + data


def frame(op, body=b"", version=VERSION):
    """One frame: u32 length (of what follows), version, op, body."""
    return u32(2 + len(body)) + bytes([version, op]) + body


class Body:
    """Reads a frame body field by field; raises ValueError past the end."""
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("frame body ends early")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]
    def s(self): return self.take(self.u16()).decode()
    def b(self): return self.take(self.u32())

    def end(self):
        if self.pos != len(self.data):
            raise ValueError(f"{len(self.data) - self.pos} bytes left over in the body")


def mac(key, label, ns, nc, name):
    """HMAC-SHA-512 cut to 256 bits: libsodium's crypto_auth (auth.h)."""
    return hmac.new(key, label + ns + nc + name.encode(), hashlib.sha512).digest()[:32]


# ---- a blocking client ---------------------------------------------------------------

class BrokerError(Exception):
    """An ERROR reply: .code (E_*) and .message."""
    def __init__(self, code, message):
        super().__init__(f"ERROR {code}: {message}")
        self.code, self.message = code, message


class Conn:
    """A raw connection: send bytes, receive whole frames, see the close."""
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=T)
        self.sock.settimeout(T)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        self.buf += data
        return bool(data)

    def recv(self):
        """(op, body) of the next frame, or None when the broker closed first."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    if f[0] != VERSION:
                        raise ValueError(f"reply with version {f[0]}")
                    return f[1], f[2:]
            if not self._more():
                return None

    def closed(self):
        """True when the broker has closed this connection (EOF after anything it sent)."""
        while self._more():
            pass
        return True

    def close(self):
        self.sock.close()


class Client(Conn):
    """An authenticated client: the handshake in the constructor, one method per op."""
    def __init__(self, port, key, name="pytest"):
        super().__init__(port)
        self.name = name
        op, body = self.recv()
        assert op == CHALLENGE, f"first frame is op {op}, not CHALLENGE"
        self.ns = Body(body).take(NONCE)
        nc = os.urandom(NONCE)
        self.send(frame(HELLO, nc + s(name) + mac(key, CLIENT_LABEL, self.ns, nc, name)))
        reply = self.recv()
        if reply is None:
            raise BrokerError(0, "closed during the handshake")
        op, body = reply
        if op == ERROR:
            r = Body(body)
            raise BrokerError(r.u16(), r.s())
        assert op == WELCOME, f"handshake answered op {op}"
        if not hmac.compare_digest(body, mac(key, BROKER_LABEL, self.ns, nc, name)):
            raise BrokerError(0, "the broker's MAC is wrong")

    def call(self, op, body, want):
        """Send one request, read its reply; raise BrokerError on ERROR."""
        self.send(frame(op, body))
        return self.reply(want)

    def reply(self, want):
        got = self.recv()
        if got is None:
            raise BrokerError(0, "connection closed")
        op, body = got
        r = Body(body)
        if op == ERROR:
            raise BrokerError(r.u16(), r.s())
        assert op == want, f"reply op {op}, expected {want}"
        return r

    @staticmethod
    def put_body(queue, payloads):
        return s(queue) + u32(len(payloads)) + b"".join(b(p) for p in payloads)

    @staticmethod
    def ids_body(queue, ids):
        return s(queue) + u32(len(ids)) + b"".join(u64(i) for i in ids)

    @staticmethod
    def get_body(queue, max=1, wait_ms=0, lease_ms=0):
        return s(queue) + u32(max) + u32(wait_ms) + u32(lease_ms)

    def put(self, queue, payloads):
        return self.ids(self.call(PUT, self.put_body(queue, payloads), PUT_OK))

    @staticmethod
    def ids(r):
        out = [r.u64() for _ in range(r.u32())]
        r.end()
        return out

    @staticmethod
    def tasks(r):
        out = [(r.u64(), r.u32(), r.b()) for _ in range(r.u32())]
        r.end()
        return out

    def get(self, queue, max=1, wait_ms=0, lease_ms=0):
        """[(id, deliveries, payload), ...]"""
        return self.tasks(self.call(GET, self.get_body(queue, max, wait_ms, lease_ms), TASKS))

    def _ok(self, op, body):
        r = self.call(op, body, OK)
        n = r.u32()
        r.end()
        return n

    def ack(self, queue, ids): return self._ok(ACK, self.ids_body(queue, ids))
    def nack(self, queue, ids): return self._ok(NACK, self.ids_body(queue, ids))

    def renew(self, queue, ids, lease_ms):
        return self._ok(RENEW, self.ids_body(queue, ids) + u32(lease_ms))

    def finish(self, queue, ids, to, results):
        body = self.ids_body(queue, ids) + self.put_body(to, results)
        return self.ids(self.call(FINISH, body, PUT_OK))

    def stats(self, queue):
        r = self.call(STATS, s(queue), STATS_REPLY)
        out = {k: r.u64() for k in STATS_FIELDS}
        out["consumers"] = r.u32()
        r.end()
        return out

    def inspect(self, queue, max=1000):
        """[(id, state, deliveries, consumer, payload), ...]"""
        return self.tasks_entries(self.call(INSPECT, s(queue) + u32(max), ENTRIES))

    @staticmethod
    def tasks_entries(r):
        out = [(r.u64(), r.u8(), r.u32(), r.s(), r.b()) for _ in range(r.u32())]
        r.end()
        return out


# ---- the broker process --------------------------------------------------------------

def read_key(path):
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def start_broker(tmpdir, args=(), key=None):
    """Start build/bin/broker on 127.0.0.1 port 0 with its key in tmpdir (made by the
    broker unless given); return (process, port, key bytes) once it said where it
    listens. Its stderr goes to a file (broker_log(p) reads it at any time: a pipe nobody
    reads while the test runs could fill and stop the broker). Raises RuntimeError (after
    killing it) if it does not start."""
    key_file = key or os.path.join(tmpdir, "taskq.key")
    log_path = os.path.join(tmpdir, f"broker-{time.monotonic_ns()}.log")
    with open(log_path, "wb") as log:
        p = subprocess.Popen([program("broker"), "--listen", "127.0.0.1:0", "--key",
                              key_file] + list(args), stdout=subprocess.PIPE, stderr=log,
                             preexec_fn=dies_with_test())
    p.log_path = log_path
    deadline = time.monotonic() + T
    out = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([p.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        data = os.read(p.stdout.fileno(), 4096)
        if not data:
            break
        out += data
        m = re.search(rb"^listening on 127\.0\.0\.1:(\d+)\n", out, re.M)
        if m:
            return p, int(m.group(1)), read_key(key_file)
    p.kill()
    p.communicate()
    raise RuntimeError(f"broker did not say where it listens: {out!r} {broker_log(p)!r}")


def broker_log(p):
    """What the broker has written on stderr so far."""
    with open(p.log_path, "rb") as f:
        return f.read().decode(errors="replace")


def stop_broker(p, sig=signal.SIGTERM):
    """Send sig, then (returncode, stdout, stderr) as text; SIGKILL after T seconds."""
    if p.poll() is None:
        p.send_signal(sig)
    note = ""
    try:
        out, _ = p.communicate(timeout=T)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        note = "\n(killed: no exit within the timeout)"
    return p.returncode, out.decode(errors="replace"), broker_log(p) + note


def wait_until(cond, what="condition"):
    """Poll cond() until it is true, for at most T seconds (a hang guard); return its last
    value. Polling, not sleeping a guessed time: the wait ends when the state is there."""
    return wait_for(cond, T)
