"""switching: every run reports its jobs and context switches, and the switch counts move
the way the kind of work says they must - an invariant, never a timing: an IO-bound job is
a sleep, so each one costs at least one switch and voluntary switches outnumber
involuntary ones; a CPU-bound job never waits, so with no more tasks than CPUs its tasks
give up the CPU voluntarily far less often than they finish jobs. Checked for threads and
for processes (with the argument `threads` only the thread runs, for ThreadSanitizer)."""
import os
import re
import sys
from testlib import check, done, program, run

ROW = re.compile(r"^(cpu|io)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)$", re.M)
cpus = len(os.sched_getaffinity(0))
modes = [[]] if sys.argv[1:] == ["threads"] else [[], ["--processes"]]
for extra in modes:
    how = "processes" if extra else "threads"
    r = run([program("switching"), "--tasks", f"1,{cpus},{4 * cpus}", "--seconds", "0.1"]
            + extra)
    check(r.returncode == 0, f"switching ({how}) exits 0", r.stderr)
    rows = [(m[0], int(m[1]), int(m[2]), int(m[5]), int(m[6])) for m in ROW.findall(r.stdout)]
    check([(k, t) for k, t, _, _, _ in rows] ==
          [(k, t) for k in ("cpu", "io") for t in (1, cpus, 4 * cpus)],
          f"({how}) one row per kind and task count, in order", r.stdout)
    for kind, tasks, jobs, vol, invol in rows:
        check(jobs >= tasks, f"({how}) {kind} x {tasks}: every task finished a job", r.stdout)
        if kind == "io":
            # Each sleep leaves the CPU: voluntarily, or - if the task was preempted just
            # before it blocked and the timer expired meanwhile - involuntarily.
            check(vol + invol >= jobs, f"({how}) io x {tasks}: at least one switch per job "
                  f"({vol} + {invol} for {jobs})", r.stdout)
            check(vol > invol, f"({how}) io x {tasks}: voluntary ({vol}) > involuntary "
                  f"({invol})", r.stdout)
        elif tasks <= cpus:
            check(vol < jobs, f"({how}) cpu x {tasks}: fewer voluntary switches ({vol}) than "
                  f"jobs ({jobs}): the work never waits", r.stdout)

r = run([program("switching"), "--tasks", "1,0"])
check(r.returncode == 2 and "--tasks" in r.stderr, "a task count of 0 is refused", r.stderr)
done()
