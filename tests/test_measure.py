"""measure: the figures on known workloads, as invariants that hold on a busy machine
running tests in parallel - a sleeping child uses almost no CPU, a child doing fixed
work is charged at least the CPU time it reports itself, counts are whole and non-negative, the exit status passes through, a
missing command is reported, and the CSV is well-formed."""
import os
import sys
import tempfile
from testlib import check, done, metric, parse_csv, program, run

M = program("measure")

def measured(cmd, *opts):
    with tempfile.NamedTemporaryFile("r", suffix=".csv") as f:
        r = run([M, "--csv", "-o", f.name, *opts, "--", *cmd])
        return r, parse_csv(f.read())

r, rows = measured(["sleep", "0.3"])
check(r.returncode == 0, "measure -- sleep exits 0", r.stderr)
check(metric(rows, "wall") >= 0.3, "a 0.3 s sleep takes at least 0.3 s of wall time")
sleep_cores = metric(rows, "cores_used")
check(sleep_cores < 0.1, f"a sleeping child uses < 0.1 core (got {sleep_cores:.3f})")
for name in ("vcsw", "ivcsw", "maxrss"):
    v = metric(rows, name)
    check(v >= 0 and v == int(v), f"{name} is a non-negative whole number ({v})")
busy = [r for r in rows if r["metric"].endswith("_busy")]
check(len(busy) == os.cpu_count(), "one busy row per CPU of the machine",
      f"{len(busy)} rows for {os.cpu_count()} CPUs")
check(all(0 <= r["value"] <= 100 for r in busy), "CPU busy values are percentages")

# A child with a fixed amount of work (not a fixed time: on a loaded machine a timed spin
# may get little CPU) reports its own CPU time; measure, reaping it with wait4, must
# account at least that much, and cores used must be that CPU time over the wall time.
work = ("import resource, sys; sum(i * i for i in range(3_000_000)); "
        "u = resource.getrusage(resource.RUSAGE_SELF); print(u.ru_utime + u.ru_stime)")
r, rows = measured([sys.executable, "-c", work])
check(r.returncode == 0, "measure -- a CPU-bound child exits 0", r.stderr)
own = float(r.stdout.split()[-1])
cpu = metric(rows, "user") + metric(rows, "sys")
check(cpu >= own - 0.002, f"measure accounts at least the CPU time the child reports for "
      f"itself ({cpu:.3f} s vs {own:.3f} s)")
check(cpu > 5 * sleep_cores * metric(rows, "wall") and cpu > 0.05,
      "a working child is charged far more CPU than a sleeping one", f"{cpu:.3f} s")
check(abs(metric(rows, "cores_used") - cpu / metric(rows, "wall")) < 0.02,
      "cores used is (user + system) / wall", str(rows))
check(metric(rows, "cores_used") <= len(os.sched_getaffinity(0)) + 0.05,
      "cores used never exceeds the CPUs available")

# Exit statuses pass through, as with time(1) or env(1).
r = run([M, "--", "sh", "-c", "exit 7"])
check(r.returncode == 7, "the command's exit status passes through", f"exit {r.returncode}")
check("exited with status 7" in r.stderr, "the prose report names the exit status", r.stderr)
r = run([M, "--", "sh", "-c", "kill -TERM $$"])
check(r.returncode == 128 + 15, "a command killed by SIGTERM gives 128+15", f"{r.returncode}")
check("SIGTERM" in r.stderr, "the report names the signal", r.stderr)
r = run([M, "--", "/no/such/program"])
check(r.returncode == 127, "a missing command gives 127", f"exit {r.returncode}")
check("execvp" in r.stderr and "No such file" in r.stderr,
      "a missing command names execvp and the reason", r.stderr)

# The command's own output is left alone; the prose report goes to stderr.
r = run([M, "--", "echo", "hello"])
check(r.stdout == "hello\n", "the command's stdout passes through untouched", r.stdout)
check("cores used" in r.stderr and "context switches" in r.stderr,
      "the prose report is on stderr", r.stderr)

# A timeline is sampled while the command runs: rows per CPU, time increasing.
with tempfile.NamedTemporaryFile("r", suffix=".csv") as t:
    r = run([M, "--interval", "50", "--timeline", t.name, "--", "sleep", "0.3"])
    tl = parse_csv(t.read())
check(r.returncode == 0, "measure --timeline exits 0", r.stderr)
times = sorted({row["x"] for row in tl})
check(len(times) >= 3, f"at least 3 samples of a 0.3 s run at 50 ms ({len(times)})")
check(all(row["metric"] == "busy" and row["unit"] == "%" for row in tl),
      "timeline rows are busy percentages")
check(all(len([row for row in tl if row["x"] == t]) == os.cpu_count() for t in times),
      "every sample has one row per CPU")

r = run([M, "--interval", "0", "--timeline", "/dev/null", "--", "true"])
check(r.returncode == 2, "--timeline without sampling is refused", r.stderr)
r = run([M])
check(r.returncode == 2 and "no command" in r.stderr, "no command is a usage error", r.stderr)
done()
