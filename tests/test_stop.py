"""Stopping: every program that starts processes, signalled in its PARENT ALONE (as
`kill -INT PID` does, unlike Ctrl-C, which signals the whole foreground group), ends
without a hang, leaves no process of its session behind, frees its port or shared object,
and dies of the signal it was sent (returncode -signal; a shell shows 128+signal).

Each case starts the program in a session of its own, waits (bounded polling) until its
children exist, sends SIGINT, SIGTERM and SIGKILL in turn, then counts the survivors by
session id in /proc. The test is a child subreaper, so an orphan is re-parented to it and
cannot hide. Arguments: case names to run (default: all)."""
import os
import signal
import socket
import sys
from testlib import (become_subreaper, check, done, program, session_processes,
                     signal_parent_alone)


def children(n):
    """Ready when the session holds the parent and at least n descendants."""
    return lambda pid, out: len(session_processes(pid)) >= 1 + n


def kids(n):
    """A readiness check factory (a fresh one for every run, as for Server)."""
    return lambda: children(n)


def traced(name):
    """Ready when a process `name` of the session is traced: strace is past its start-up
    (its own probes, its signal handlers) and attached."""
    def ready(pid, out):
        for p in session_processes(pid):
            try:
                with open(f"/proc/{p}/status") as f:
                    status = f.read()
            except OSError:
                continue
            if status.startswith(f"Name:\t{name}\n") and "\nTracerPid:\t0\n" not in status:
                return True
        return False
    return ready


def port_of(out):
    for line in out.splitlines():
        if line.startswith("listening on "):
            return int(line.split()[2].rsplit(":", 1)[1])
    return None


class Server:
    """Ready when the server has said its port and has `n` children; with `connect`, it
    first opens a connection (server_fork forks a child per connection)."""
    def __init__(self, n, connect=False):
        self.n, self.connect, self.port, self.conn = n, connect, None, None

    def __call__(self, pid, out):
        if self.port is None:
            self.port = port_of(out)
            if self.port is None:
                return False
            if self.connect:
                self.conn = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return children(self.n)(pid, out)

    def released(self):
        """The port is free: nobody accepts there, and it can be bound again."""
        if self.conn:
            self.conn.close()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=10).close()
            return False
        except ConnectionRefusedError:
            pass
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", self.port))
            s.listen()
            return True
        except OSError:
            return False
        finally:
            s.close()


def no_ipc_names(pid):
    """No named shared-memory object or message queue of that pid is left."""
    return (not os.path.exists(f"/dev/shm/shared_heap.{pid}")
            and not os.path.exists(f"/dev/mqueue/queue.{pid}"))


BENCH = ["--repeat", "1", "--warmup", "0"]
# name: (program, arguments, a factory for the readiness check of one run). Children work
# for longer than the 10 s a survivor is given to disappear.
CASES = {
    "spawn": ("spawn", ["--children", "10", "--ms", "10000"], kids(10)),
    "pool": ("pool", ["--workers", "2", "--tasks", "50", "--ms", "5000", "--seed", "1"],
             kids(2)),
    "pool-ring": ("pool", ["--workers", "2", "--tasks", "50", "--ms", "5000", "--seed", "1",
                           "--transport", "ring"], kids(2)),
    "subprocess": ("subprocess", ["--", "sleep", "60"], kids(1)),
    "queue-pipe": ("queue", ["--records", "2000000"], kids(4)),
    "queue-mq": ("queue", ["--via", "mq", "--records", "2000000"], kids(4)),
    "shared_heap": ("shared_heap", ["--workers", "2", "--records", "1000", "--seconds", "60"],
                    kids(2)),
    "crash": ("crash", ["--workers", "process", "--tasks", "3", "--bad", "0", "--ms", "10000"],
              kids(2)),
    "spin": ("spin", ["--processes", "2", "--seconds", "3600"], kids(2)),
    # Ready once the child has reported and holds its copy (before that, a dead parent's
    # pipe would end it with SIGPIPE, whatever it asked the kernel).
    "cow": ("cow", ["--mib", "16", "--hold", "60"],
            lambda: lambda pid, out: "holds its copy" in out and children(1)(pid, out)),
    "switching": ("switching", ["--processes", "--kind", "cpu", "--tasks", "2",
                                "--seconds", "60"], kids(2)),
    "server_fork": ("server_fork", ["--port", "0"], lambda: Server(1, connect=True)),
    "server_prefork": ("server_prefork", ["--port", "0", "--workers", "2"],
                       lambda: Server(2)),
    "measure": ("measure", ["--", "sleep", "60"], kids(1)),
    "bench_spin": ("bench_spin", ["--variant", "c-processes", "--seconds", "30"] + BENCH,
                   kids(2)),
    "bench_switching": ("bench_switching", ["--variant", "cpu-processes", "--seconds", "30"]
                        + BENCH, kids(1)),
    "bench_ctxswitch": ("bench_ctxswitch", ["--variant", "pipe-processes/unpinned",
                                            "--rounds", "3000000"] + BENCH, kids(1)),
    "bench_ipc": ("bench_ipc", ["--variant", "pipe-processes/unpinned",
                                "--rounds", "3000000"] + BENCH, kids(1)),
    "bench_heap": ("bench_heap", ["--variant", "c-shm", "--seconds", "30"] + BENCH,
                   kids(1)),
    "bench_pool": ("bench_pool", ["--variant", "c-processes", "--seconds", "30"] + BENCH,
                   kids(1)),
    "bench_pool-ring": ("bench_pool", ["--variant", "c-ring", "--seconds", "30"] + BENCH,
                        kids(1)),
    # Under strace: strace, the pool (or Python's) and its workers.
    "bench_pool_syscalls": ("bench_pool_syscalls", ["--variant", "ring", "--tasks",
                                                    "100000000"] + BENCH, kids(4)),
    "bench_pool_syscalls-py": ("bench_pool_syscalls", ["--variant", "py-apply-async",
                                                       "--tasks", "100000000"] + BENCH,
                               kids(4)),
    # The Python peers: the bench runs python3, which starts processes of its own.
    "bench_heap-py": ("bench_heap", ["--variant", "py-manager", "--seconds", "30"] + BENCH,
                      kids(3)),
    "bench_pool-py": ("bench_pool", ["--variant", "py-apply-async", "--seconds", "30"]
                      + BENCH, kids(3)),
    "bench_spin-py": ("bench_spin", ["--variant", "py-processes", "--seconds", "30"] + BENCH,
                      kids(2)),
    # The distributed bench: a broker, a worker and the master (the first point, 1 worker);
    # the Python design: the peer, its manager's server process and a worker.
    "bench_tasks": ("bench_tasks", ["--variant", "broker-p1", "--tasks", "10000000"] + BENCH,
                    kids(3)),
    "bench_tasks-py": ("bench_tasks", ["--variant", "python-manager", "--tasks", "10000000"]
                       + BENCH, kids(3)),
    # The syscalls bench: the server, then strace attached to it (the traced pass).
    "bench_syscalls": ("bench_syscalls", ["--variant", "server_uv", "--requests", "100000"]
                       + BENCH, lambda: traced("server_uv")),
}

check(become_subreaper(), "the test can adopt orphans (PR_SET_CHILD_SUBREAPER)")
for name in sys.argv[1:] or CASES:
    prog, args, ready = CASES[name]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        r = ready()
        what = f"{name}, {sig.name} to the parent alone"
        rc, out, left, was_ready, pid = signal_parent_alone([program(prog)] + args, sig, r)
        if not check(was_ready, f"{what}: its children started", out[-800:]):
            continue
        check(rc is not None, f"{what}: the parent ends (no hang)", out[-800:])
        check(rc == -sig, f"{what}: it dies of {sig.name} (exit {rc}, expected {-sig})",
              out[-800:])
        check(not left, f"{what}: no process of its session is left ({len(left)} left)",
              out[-800:])
        if isinstance(r, Server):
            check(r.released(), f"{what}: its port {r.port} is free again")
        if prog in ("queue", "shared_heap"):
            check(no_ipc_names(pid), f"{what}: no named shared object is left")
done()
