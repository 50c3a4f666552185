"""pool: the process pool keeps its promises. map() equals the serial results, in order;
seed 000's picture holds (a worker runs one task at a time, the 5th task starts on a worker
that finished an earlier one); a task whose worker segfaults, calls _exit() or is SIGKILLed
ends as crashed with that signal or status and the pool replaces the worker; a task's own
error comes back through its handle; 2 000 tasks with workers SIGKILLed during the run all
end (done or crashed, none waits forever) and the worker count is restored; workers are
retired after max-tasks-per-child tasks; terminate() stops running tasks. No worker process
outlives the demo.

Argument: the transport, pipe (default) or ring; every check runs the same through both.
With ring, also: tasks far beyond the rings' 256 cells, one by one, each result exactly
once (ids and values), with one worker per CPU."""
import os
import random
import re
import signal
import subprocess
import sys
import time
from testlib import check, done, program
from testlib import run as run_program

POOL = program("pool")
TRANSPORT = sys.argv[1] if len(sys.argv) > 1 else "pipe"


# The pipe transport is the default: its run passes no flag, so the default is what is tested.
FLAGS = [] if TRANSPORT == "pipe" else ["--transport", TRANSPORT]


def run(args, **kw):
    """Run the demo with this test's transport."""
    return run_program(args + FLAGS, **kw)


def tasks(out):
    """{index: rest of its line} for every 'task i: ...' line."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"^task (\d+): (.*)$", out, re.M)}


def summary(out):
    m = re.search(r"tasks: (\d+) submitted, (\d+) done, (\d+) error, (\d+) crashed, "
                  r"(\d+) terminated, (\d+) still waiting", out)
    return tuple(int(x) for x in m.groups()) if m else None


def workers_alive(out):
    m = re.search(r"workers alive: (\d+) \(expected (\d+)\)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def worker_pids(out):
    """Every worker pid the run mentions: the first ones and each replacement."""
    pids = set()
    m = re.search(r"pool of \d+ workers: ([\d ]+)", out)
    if m:
        pids.update(int(x) for x in m.group(1).split())
    pids.update(int(x) for x in re.findall(r"started pid (\d+) in its place", out))
    return pids


def none_left(pids):
    """True when none of these pids is still a live process (it may be reused, rarely)."""
    left = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    left.append(pid)
        except OSError:
            pass
    return not left


# Seed 000's picture: 4 workers, 5 tasks; the 5th starts on a worker freed by an earlier task.
r = run([POOL, "--seed", "11", "--ms", "300"])
check(r.returncode == 0, "pool (default) exits 0", r.stderr)
t = tasks(r.stdout)
check(sorted(t) == [0, 1, 2, 3, 4] and all(x.startswith("done by worker") for x in t.values()),
      "all 5 tasks are done", r.stdout)
spans = {}
for i, line in t.items():
    m = re.search(r"\(pid (\d+)\) from ([\d.]+) s to ([\d.]+) s.*value (\d+) \(expected (\d+)\)",
                  line)
    if m:
        spans[i] = (int(m.group(1)), float(m.group(2)), float(m.group(3)))
        check(m.group(4) == m.group(5), f"task {i} returns its expected value", line)
by_pid = {}
for i, (pid, a, b) in spans.items():
    by_pid.setdefault(pid, []).append((a, b))
check(all(b1 <= a2 for runs in by_pid.values()
          for (a1, b1), (a2, b2) in zip(sorted(runs), sorted(runs)[1:])),
      "a worker runs one task at a time", r.stdout)
check(len(by_pid) <= 4, "at most 4 workers ran the 5 tasks", r.stdout)
edges = sorted([(a, 1) for _, a, b in spans.values()] + [(b, -1) for _, a, b in spans.values()])
running, most = 0, 0
for _, step in edges:       # ends sort before starts at the same instant
    running += step
    most = max(most, running)
check(most <= 4, "never more than 4 tasks run at once (the 5th waits)", r.stdout)
if len({spans[i][0] for i in range(4) if i in spans}) == 4:
    # Tasks 0-3 went to the 4 workers, so task 4 ran on one of them, after its task ended.
    check(re.search(r"task 4 waited [\d.]+ s for a free worker", r.stdout) is not None,
          "task 4 waits for a worker that finished an earlier task", r.stdout)
else:
    print("note: a worker started late and tasks 0-3 did not go to 4 different workers")
check("get(timeout=1) = 100 (expected 100)" in r.stdout, "apply_async().get() gives 100",
      r.stdout)
check("map(square, range(10)) = [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in r.stdout,
      "map(square, range(10)) in order", r.stdout)
check(workers_alive(r.stdout) == (4, 4), "4 workers alive before join", r.stdout)
check("joined: workers alive 0" in r.stdout, "no worker alive after join", r.stdout)

# map() equals the serial results, in input order.
r = run([POOL, "--map", "20000", "--workers", "3"])
check(r.returncode == 0 and "map: 20000 of 20000 results equal the serial ones" in r.stdout
      and "0 failed" in r.stdout, "map of 20 000 equals the serial results, in order",
      r.stdout + r.stderr)

# A crash in the middle of a task: the handle reports it, the pool replaces the worker.
for kind, expect in [("segv", "killed by signal 11 (SIGSEGV"), ("exit", "exited with status 3"),
                     ("kill", "killed by signal 9 (SIGKILL")]:
    r = run([POOL, "--crash", kind, "--ms", "100", "--seed", "5"], timeout=60)
    t = tasks(r.stdout)
    check(r.returncode == 0, f"pool --crash {kind} exits 0 (it does not hang)", r.stderr)
    check(t.get(1, "").startswith("crashed:") and expect in t.get(1, ""),
          f"--crash {kind}: task 1's handle says its worker {expect}", r.stdout)
    check(all(t.get(i, "").startswith("done") for i in (0, 2, 3, 4)),
          f"--crash {kind}: the other tasks are done", r.stdout)
    check(summary(r.stdout) == (5, 4, 0, 1, 0, 0), f"--crash {kind}: 4 done, 1 crashed",
          r.stdout)
    check(workers_alive(r.stdout) == (4, 4) and "1 replaced after a crash" in r.stdout,
          f"--crash {kind}: the dead worker was replaced", r.stdout)
    check(none_left(worker_pids(r.stdout)), f"--crash {kind}: no worker outlives the demo")

r = run([POOL, "--crash", "error", "--ms", "50"])
check(r.returncode == 0 and tasks(r.stdout).get(1, "").startswith("error 33 (")
      and summary(r.stdout) == (5, 4, 1, 0, 0, 0) and "0 replaced" in r.stdout,
      "--crash error: the task's error code comes back through its handle, nobody dies",
      r.stdout)

# 2 000 tasks, 20 workers SIGKILLed while they run: every handle ends, none waits.
r = run([POOL, "--tasks", "2000", "--ms", "1", "--kill", "20", "--workers", "4", "--seed", "9"],
        timeout=120)
s = summary(r.stdout)
check(r.returncode == 0, "2000 tasks with 20 kills: exits 0", r.stderr[-2000:])
check(s is not None and s[1] + s[3] == 2000 and s[2] == 0 and s[4] == 0 and s[5] == 0,
      "2000 tasks with 20 kills: every task done or crashed, none still waiting", str(s))
check(s is not None and 1 <= s[3] <= 20, "at most one crashed task per kill", str(s))
check("values: %d of %d" % (s[1], s[1]) in r.stdout if s else False,
      "every done task returned its expected value", r.stdout[-500:])
check("0 results came twice" in r.stdout, "no result came twice", r.stdout[-500:])
check(workers_alive(r.stdout) == (4, 4) and "20 replaced after a crash" in r.stdout,
      "the pool is back to 4 workers after 20 kills", r.stdout[-500:])
check(none_left(worker_pids(r.stdout)), "no worker outlives the demo")

# The same from really outside: this test SIGKILLs the demo's children at random.
p = subprocess.Popen([POOL, "--tasks", "20000", "--ms", "0", "--workers", "3"] + FLAGS,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
rng = random.Random(4)
kills = 0
while p.poll() is None and kills < 60:
    try:
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            kids = f.read().split()
        if kids:
            os.kill(int(rng.choice(kids)), signal.SIGKILL)
            kills += 1
    except (OSError, ProcessLookupError):
        pass
    time.sleep(0.005)       # pacing for the killer only; nothing waits on it
try:
    out, err = p.communicate(timeout=120)
except subprocess.TimeoutExpired:
    p.kill()
    out, err = p.communicate()
s = summary(out)
check(p.returncode == 0, f"outside SIGKILLs ({kills} sent): the demo exits 0", err[-2000:])
check(s is not None and s[1] + s[3] == 20000 and s[5] == 0,
      "outside SIGKILLs: every task done or crashed, none waiting", str(s))
check(none_left(worker_pids(out)), "outside SIGKILLs: no worker outlives the demo")

# max-tasks-per-child: no worker runs more than 3 tasks; the pool starts new ones.
r = run([POOL, "--tasks", "20", "--ms", "5", "--workers", "2", "--max-tasks-per-child", "3"])
per_pid = {}
for line in tasks(r.stdout).values():
    m = re.search(r"\(pid (\d+)\)", line)
    if m:
        per_pid[m.group(1)] = per_pid.get(m.group(1), 0) + 1
check(r.returncode == 0 and sum(per_pid.values()) == 20, "max-tasks-per-child 3: 20 tasks done",
      r.stdout)
check(max(per_pid.values(), default=99) <= 3, "no worker ran more than 3 tasks", str(per_pid))
check(len(per_pid) >= 7, "at least ceil(20/3) = 7 workers ran tasks", str(per_pid))
m = re.search(r"(\d+) retired", r.stdout)
check(m is not None and int(m.group(1)) >= 5, "retired workers are counted", r.stdout[-300:])

# terminate(): tasks that would run for minutes are stopped, not waited for.
r = run([POOL, "--tasks", "8", "--ms", "600000", "--workers", "4", "--terminate"], timeout=60)
check(r.returncode == 0, "terminate: exits 0 long before its tasks would end", r.stderr)
check("4 workers busy; terminate()" in r.stdout, "terminate: called with 4 tasks running",
      r.stdout)
check(summary(r.stdout) == (8, 0, 0, 0, 8, 0), "terminate: all 8 tasks end terminated",
      r.stdout)
check("joined: workers alive 0" in r.stdout and none_left(worker_pids(r.stdout)),
      "terminate: no worker left", r.stdout)
if TRANSPORT == "pipe":
    check("ring per worker" not in r.stdout, "pipe: the default transport is the pipes",
          r.stdout[:300])
if TRANSPORT == "ring":
    check("tasks and results go through a ring per worker" in r.stdout,
          "ring: the demo says which transport it uses", r.stdout[:300])
    # Far more tasks than ring cells (256 per worker), submitted one by one: every task
    # ends done, exactly once, with its own value (the value encodes its index).
    r = run([POOL, "--tasks", "100000", "--ms", "0", "--workers", "0", "--seed", "3"],
            timeout=120)
    check(r.returncode == 0 and summary(r.stdout) == (100000, 100000, 0, 0, 0, 0)
          and "values: 100000 of 100000 done tasks returned the expected value; 0 results "
          "came twice" in r.stdout,
          "ring: 100 000 one-by-one tasks through 256-cell rings, each result once and right",
          r.stdout[-500:] + r.stderr[-500:])
done()
