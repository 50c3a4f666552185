"""Across hosts on one machine: the broker on one "host", workers on two others.

scripts/netns.sh makes three network namespaces joined by a bridge (198.18.0.1, .2, .3).
The broker listens on 198.18.0.1 in host 0 (--listen, the address another machine would
use), the master runs in host 1, and a worker in each of hosts 1 and 2 reaches the broker
by that address over the bridge, as it would over a real network. 1 000 tasks must come
back with the right sum of squares, and afterwards no namespace and no process may be
left - on failure too: every process is stopped by its pid, `ip netns pids` finds any
straggler, `netns.sh down` removes the namespaces.

Without root or iproute2, or where the kernel refuses namespaces, it exits 77 with the
reason, which CTest reports as skipped (SKIP_RETURN_CODE), never as a pass.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from testlib import SRC, check, done, program

SKIP = 77
NETNS = os.path.join(SRC, "scripts", "netns.sh")
TASKS = 1000
DEADLINE = 120          # seconds: a hang guard for every wait, not a timing


def ctl(*args):
    return subprocess.run(["bash", NETNS, *args], capture_output=True, text=True,
                          timeout=60)


def die_with_us():
    """In each child: SIGKILL when this test dies, even by SIGKILL (a CTest timeout), so
    nothing runs on in a namespace nobody will remove. It survives `ip netns exec`'s exec."""
    import ctypes
    ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)   # 1: PR_SET_PDEATHSIG


class Hosts:
    """The namespaces PREFIX-0..N-1 and everything started in them."""

    def __init__(self, prefix, logs):
        self.prefix, self.logs, self.procs = prefix, logs, []

    def start(self, host, args, piped=True):
        """Start args on `host`; stdout piped (text) or, unless `piped`, into its log with
        stderr: a file of its own (read at any time with stderr_of: a pipe nobody reads
        could fill and stop the program)."""
        p_log = os.path.join(self.logs, f"{len(self.procs)}-{os.path.basename(args[0])}.log")
        with open(p_log, "a") as err:
            p = subprocess.Popen(["ip", "netns", "exec", f"{self.prefix}-{host}", *args],
                                 stdout=subprocess.PIPE if piped else err, stderr=err,
                                 text=True,
                                 preexec_fn=die_with_us)
        p.log = p_log
        self.procs.append(p)
        return p

    @staticmethod
    def stderr_of(p):
        with open(p.log) as f:
            return f.read()

    def stop_all(self):
        """SIGKILL whatever we started that still runs, by pid, and reap it."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()

    def stragglers(self):
        """{host: [pids]} of processes still inside the namespaces (ip netns pids)."""
        found = {}
        for line in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                   text=True).stdout.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(self.prefix + "-"):
                pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True,
                                      text=True).stdout.split()
                if pids:
                    found[name] = [int(x) for x in pids]
        return found

    def left(self):
        """The namespaces of this prefix that still exist."""
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [ln.split()[0] for ln in out.splitlines()
                if ln.split() and ln.split()[0].startswith(self.prefix + "-")]


def remove_stale(pattern):
    """Namespaces an earlier run left when it was killed (its pid, in the prefix, is gone)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for prefix in {m.group(1) for m in re.finditer(pattern, out)}:
        if not os.path.exists(f"/proc/{prefix[3:]}"):
            ctl("down", prefix)


def wait_for_log(hosts, p, patterns):
    """Poll p's stderr until every pattern is in it (a hang guard of DEADLINE seconds);
    True when they all came."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and p.poll() is None:
        log = hosts.stderr_of(p)
        if all(re.search(pat, log) for pat in patterns):
            return True
        time.sleep(0.01)               # polling interval, not synchronisation
    return False


def read_line_with(p, pattern):
    """Read p's stdout until a line matches pattern (bounded by the process ending)."""
    for line in p.stdout:
        m = re.search(pattern, line)
        if m:
            return m
    return None


# The plumbing first, with nothing of ours: a few lines of Python listen on host 0 and
# say back to each caller the address it came from, so a broken bridge is told apart from
# a broken broker, and the addresses are checked to be the ones the hosts were given.
ECHO_SERVER = """
import socket, sys
s = socket.create_server(("198.18.0.1", 0))
print("listening on %s:%d" % s.getsockname(), flush=True)
for _ in range(int(sys.argv[1])):
    c, peer = s.accept()
    with c:
        c.sendall(("from %s\\n" % peer[0]).encode())
"""
ECHO_CLIENT = """
import socket, sys
with socket.create_connection(("198.18.0.1", int(sys.argv[1])), timeout=30) as c:
    print(c.makefile().readline().strip())
"""


def check_plumbing(hosts):
    server = hosts.start(0, [sys.executable, "-c", ECHO_SERVER, "2"])
    m = read_line_with(server, r"listening on 198\.18\.0\.1:(\d+)")
    if not check(m is not None, "a server on host 0 listens on 198.18.0.1",
                 hosts.stderr_of(server)):
        return False
    ok = True
    for host in (1, 2):
        c = hosts.start(host, [sys.executable, "-c", ECHO_CLIENT, m.group(1)])
        out, _ = c.communicate(timeout=DEADLINE)
        ok &= check(out.strip() == f"from 198.18.0.{host + 1}",
                    f"host {host} reaches 198.18.0.1 from its own address 198.18.0.{host + 1}",
                    f"got {out.strip()!r}; {hosts.stderr_of(c)}")
    server.wait(timeout=DEADLINE)
    return ok


def check_tasks(hosts, tmp):
    """The broker on host 0, the master and worker w1 on host 1, worker w2 on host 2."""
    missing = [n for n in ("broker", "master", "worker") if not os.access(program(n), os.X_OK)]
    if not check(not missing, "broker, master and worker are built", f"missing: {missing}"):
        return
    key = os.path.join(tmp, "taskq.key")
    r = subprocess.run([program("broker"), "--make-key", key], capture_output=True,
                       text=True, timeout=DEADLINE)
    if not check(r.returncode == 0, "broker --make-key writes the shared key", r.stderr):
        return
    broker = hosts.start(0, [program("broker"), "--listen", "198.18.0.1:0", "--key", key,
                             "--verbose"])
    m = read_line_with(broker, r"listening on ([\d.]+):(\d+)")
    if not check(m is not None and m.group(1) == "198.18.0.1",
                 "the broker listens on 198.18.0.1 (--listen)", hosts.stderr_of(broker)):
        return
    url = f"tcp://198.18.0.1:{m.group(2)}"
    workers = [hosts.start(h, [program("worker"), "--backend", url, "--key", key,
                               "--name", f"w{h}"], piped=False) for h in (1, 2)]
    # Both workers in, each seen by the broker coming from its own host's address, before
    # the master puts anything: then both are waiting when the tasks arrive.
    seen = wait_for_log(hosts, broker, [rf'198\.18\.0\.{h + 1}:\d+: "w{h}" authenticated'
                                        for h in (1, 2)])
    if not check(seen, "the broker sees w1 from 198.18.0.2 and w2 from 198.18.0.3",
                 hosts.stderr_of(broker)):
        return
    # 1 ms of work a task: a few hundred ms of work, so both workers get a share of it.
    master = hosts.start(1, [program("master"), "--backend", url, "--key", key,
                             "--tasks", str(TASKS), "--work-ms", "1", "--seed", "12"])
    out, _ = master.communicate(timeout=DEADLINE)
    check(master.returncode == 0, "the master exits 0", hosts.stderr_of(master))
    check_master_output(out)
    for w, h in zip(workers, (1, 2)):
        w.send_signal(signal.SIGTERM)
        w.wait(timeout=DEADLINE)
        check(w.returncode == 0, f"worker w{h} on host {h} stops on SIGTERM with exit 0",
              f"returncode {w.returncode}; {hosts.stderr_of(w)}")
    broker.send_signal(signal.SIGTERM)
    broker.wait(timeout=DEADLINE)
    check(broker.returncode == 0, "the broker stops on SIGTERM with exit 0",
          f"returncode {broker.returncode}; {hosts.stderr_of(broker)}")


def check_master_output(out):
    """Every result line right, each task once, and the closing line's sums equal."""
    results = re.findall(r"^task (\d+): (\d+) \* (\d+) = (\d+) \(by (\S+)\)$", out, re.M)
    ids = {int(t) for t, *_ in results}
    wrong = [r for r in results if int(r[1]) != int(r[2]) or int(r[1]) ** 2 != int(r[3])]
    check(len(results) == TASKS and len(ids) == TASKS,
          f"{TASKS} result lines, one per task id", f"{len(results)} lines, {len(ids)} ids")
    check(not wrong, "every result is n * n", f"first wrong: {wrong[:3]}")
    names = {r[4] for r in results}
    check(names == {"w1", "w2"}, "the results came from both workers, on hosts 1 and 2",
          names)
    print("     results by worker: " +
          ", ".join(f"{n} {sum(r[4] == n for r in results)}" for n in sorted(names)))
    m = re.search(r"^done: (\d+) results, (\d+) duplicates ignored, sum of squares (\d+) "
                  r"\(expected (\d+)\)$", out, re.M)
    check(m is not None, "the master prints its done: line", out[-300:])
    if m:
        check(int(m.group(1)) == TASKS, f"done: {TASKS} results", m.group(0))
        check(m.group(3) == m.group(4), "sum of squares as expected", m.group(0))
        check(int(m.group(3)) == sum(int(r[3]) for r in results),
              "the sum is the sum of the printed squares", m.group(0))


def main():
    prefix = f"tqn{os.getpid()}"
    remove_stale(r"\b(tqn\d+)-\w+")
    up = ctl("up", prefix, "3")
    if up.returncode == SKIP:
        print(f"SKIP: {up.stderr.strip()}")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory() as tmp:
        hosts = Hosts(prefix, tmp)
        try:
            check(up.returncode == 0, "netns.sh up makes three hosts", up.stderr)
            if up.returncode == 0 and check_plumbing(hosts) and "plumbing" not in sys.argv:
                check_tasks(hosts, tmp)
        finally:
            hosts.stop_all()
            left = hosts.stragglers()
            check(not left, "no process is left in any namespace (ip netns pids)", left)
            down = ctl("down", prefix)          # also stops any straggler, by pid
            check(down.returncode == 0, "netns.sh down succeeds", down.stderr)
            check(not hosts.left(), "no namespace is left", hosts.left())
            again = ctl("down", prefix)
            check(again.returncode == 0, "netns.sh down again is harmless", again.stderr)
    done()


if __name__ == "__main__":
    main()
