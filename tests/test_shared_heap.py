"""shared_heap: after N workers x K pop+push rounds the records are the same multiset as at
the start and the heap is in order - also when worker 0 kills itself in the middle of a
pop, holding the robust lock (the others repair the heap and carry on). Checked from the
program's own dump files, not only from its summary. A worker killed from outside
(kill -9 PID) is reported as killed, by which signal, with what was recovered - not as
"workers died: 1 (expected 0)"."""
import collections
import os
import re
import signal
import subprocess
import tempfile
import time
from testlib import check, done, interrupt_after_first_line, program, run


def records(path, final):
    """The (id, tag) pairs in a dump file, and for the final dump the (key, id) per slot."""
    pairs, keys = [], []
    with open(path) as f:
        for line in f:
            fields = [int(x) for x in line.split()]
            if final:
                pos, rid, tag, key = fields
                if pos != len(keys):
                    raise ValueError(f"slot {pos} out of order in {path}")
                keys.append((key, rid))
            else:
                rid, tag = fields
            pairs.append((rid, tag))
    return pairs, keys


def heap_ordered(keys):
    return all(keys[(i - 1) // 2] <= keys[i] for i in range(1, len(keys)))


def trial(name, extra, records_n=20000, workers=3, ops=5000):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "heap")
        r = run([program("shared_heap"), "--workers", str(workers), "--records",
                 str(records_n), "--ops", str(ops), "--seconds", "60", "--dump", prefix]
                + extra, timeout=90)
        check(r.returncode == 0, f"{name}: exits 0", r.stdout + r.stderr)
        try:
            before, _ = records(prefix + ".initial", False)
            after, keys = records(prefix + ".final", True)
        except (OSError, ValueError) as e:
            check(False, f"{name}: dump files readable", str(e))
            return r
    check(len(before) == records_n and len(set(before)) == records_n,
          f"{name}: {records_n} distinct records at the start")
    check(collections.Counter(after) == collections.Counter(before),
          f"{name}: the final multiset of records equals the initial one",
          f"{len(after)} records after, {len(set(after) ^ set(before))} differ")
    check(heap_ordered(keys), f"{name}: heap property holds on the final array")
    check("each record exactly once, heap in order: yes" in r.stdout,
          f"{name}: the program's own check agrees", r.stdout)
    m = re.search(r"visits counted on records: (\d+) \(expected (\d+)", r.stdout)
    check(m is not None and m.group(1) == m.group(2), f"{name}: no round lost or doubled",
          r.stdout)
    return r


# N workers x K rounds, each key, with and without the refresher.
r = trial("volume, no refresh", ["--refresh-ms", "0"])
m = re.search(r"pop\+push rounds: (\d+)", r.stdout)
check(m is not None and int(m.group(1)) == 3 * 5000, "3 workers x 5000 rounds all counted",
      r.stdout)
trial("timestamp, refresh", ["--key", "timestamp", "--refresh-ms", "1"])

# Worker 0 dies holding the lock, halfway through its 1000th pop.
r = trial("killed in lock", ["--kill-in-lock", "1000", "--refresh-ms", "0"])
check(re.search(r"parent: worker 0 \(pid \d+\) killed by signal 9", r.stdout) is not None,
      "killed in lock: the parent reports worker 0 killed by SIGKILL", r.stdout)
check(re.search(r"(worker [12]|parent): the lock's owner died holding it \(EOWNERDEAD\)",
                r.stdout) is not None, "killed in lock: someone got EOWNERDEAD and repaired",
      r.stdout)
check("lock repairs: 1 (expected 1)" in r.stdout, "killed in lock: exactly one repair",
      r.stdout)
m = re.search(r"pop\+push rounds: (\d+)", r.stdout)
check(m is not None and int(m.group(1)) == 2 * 5000 + 999,
      "killed in lock: the other workers finish all their rounds (2 x 5000 + 999)", r.stdout)

# A worker killed from outside: start a long run in its own group, SIGKILL one worker once
# they are all started, then Ctrl-C the group.
def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                pass
    return sorted(found)


p = subprocess.Popen([program("shared_heap"), "--workers", "3", "--records", "20000",
                      "--seconds", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     text=True, start_new_session=True)
out = p.stdout.readline()
deadline = time.monotonic() + 30                # a hang guard, not a timing assumption
workers = children(p.pid)
while len(workers) < 3 and time.monotonic() < deadline:
    workers = children(p.pid)
victim = workers[-1] if workers else None
if victim:
    os.kill(victim, signal.SIGKILL)             # it is dead before Ctrl-C can reach it, and
                                                # the parent reaps every worker before its summary
os.killpg(p.pid, signal.SIGINT)
try:
    rest, _ = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    rest, _ = p.communicate()
out += rest
check(victim is not None and p.returncode == -signal.SIGINT,
      "killed from outside: the checks pass and the run still ends by the Ctrl-C (-SIGINT)",
      f"victim {victim}, exit {p.returncode}\n{out}")
check(re.search(r"workers killed from outside: 1 \(the last: worker \d, killed by signal 9 "
                r"\(SIGKILL", out) is not None,
      "killed from outside: reported as killed, and by which signal", out)
check("(expected 0)" not in "".join(l for l in out.splitlines(True) if "workers" in l),
      "killed from outside: no 'workers died: 1 (expected 0)'", out)
check(re.search(r"recovered: [01] records? given back .*every record kept: yes", out)
      is not None and "each record exactly once, heap in order: yes" in out,
      "killed from outside: what was recovered is said, and every record is kept", out)

# The default run ends by itself and leaves no shared-memory object behind.
before = set(os.listdir("/dev/shm"))
r = run([program("shared_heap"), "--seconds", "0.3", "--records", "50000"], timeout=60)
check(r.returncode == 0, "a timed run exits 0", r.stderr)
leftover = [n for n in set(os.listdir("/dev/shm")) - before if n.startswith("shared_heap")]
check(leftover == [], "no shared-memory object left in /dev/shm", str(leftover))

# Ctrl-C: the whole group gets SIGINT; every process finishes its round, the parent reaps
# the workers, checks the heap and dies of the SIGINT - no process and no shared memory
# left behind.
before = set(os.listdir("/dev/shm"))
code, out, left = interrupt_after_first_line(
    [program("shared_heap"), "--seconds", "60", "--records", "50000"])
check(code == -2 and "- interrupted" in out, "Ctrl-C: the run stops early and cleanly", out)
check("each record exactly once, heap in order: yes" in out, "Ctrl-C: the heap is intact", out)
check(left == [], "Ctrl-C: no process of the group is left", str(left))
leftover = [n for n in set(os.listdir("/dev/shm")) - before if n.startswith("shared_heap")]
check(leftover == [], "Ctrl-C: no shared-memory object left in /dev/shm", str(leftover))
done()
