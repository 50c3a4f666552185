"""The driver's own steps, run tiny: the utilization timeline (scripts/timeline.sh) writes
per-CPU samples for the C and the Python run in the suite's CSV format, with a total per
sample that is the sum of the CPUs; the perf cross-check (scripts/perfcheck.py) keeps
perf's output and finds its usecs/op figure in it, or says perf is missing."""
import os
import shutil
import tempfile
from testlib import BIN, PYTHON, SRC, check, done, parse_csv, run

build = os.path.dirname(os.path.abspath(BIN))
with tempfile.TemporaryDirectory() as d:
    r = run([os.path.join(SRC, "scripts", "timeline.sh"), build, d, "0.35", "2"], timeout=60)
    check(r.returncode == 0, "timeline.sh exits 0", r.stderr)
    with open(os.path.join(d, "timeline.csv")) as f:
        try:
            rows = parse_csv(f.read())
        except ValueError as e:
            rows = []
            check(False, "timeline.csv is well-formed CSV", str(e))
    metrics = {r_["metric"] for r_ in rows}
    check(metrics == {"busy_c_threads", "busy_py_threads", "cores_c_threads", "cores_py_threads"},
          "timeline.csv has the C run and the Python run", str(metrics))
    own = [r_ for r_ in rows if r_["variant"] == "own-cpu-time"]
    check(len(own) == 2 and all(r_["value"] > 0 and r_["unit"] == "cores" for r_ in own),
          "each run's own cores used is kept", str(own))
    cpu_rows = [r_ for r_ in rows if r_["variant"].startswith("cpu")]
    check(cpu_rows and all(0 <= r_["value"] <= 100 and r_["x"] > 0 for r_ in cpu_rows),
          "every per-CPU sample is a busy % between 0 and 100 at a time after the start")
    ok = True
    for t in [r_ for r_ in rows if r_["variant"] == "total"]:
        parts = [c["value"] for c in cpu_rows if c["x"] == t["x"] and c["metric"] == t["metric"]]
        ok &= bool(parts) and abs(sum(parts) - t["value"]) < 1e-6 * max(1, t["value"])
    check(ok and any(r_["variant"] == "total" for r_ in rows),
          "each total is the sum of that sample's CPUs")

    r = run([PYTHON, os.path.join(SRC, "scripts", "perfcheck.py"), "run", d, "--loops", "x"])
    check(r.returncode == 2, "perfcheck.py refuses a bad --loops", r.stderr)
    if shutil.which("perf"):
        r = run([PYTHON, os.path.join(SRC, "scripts", "perfcheck.py"), "run", d,
                 "--loops", "200", "--repeats", "1"], timeout=120)
        check(r.returncode == 0, "perfcheck.py run exits 0", r.stderr)
        text = open(os.path.join(d, "perf-sched-pipe.txt")).read()
        check(text.count("### tasks=") == 4 and text.count("usecs/op") == 4,
              "perf's output is kept for all four runs (processes/threads x placements)", text)
        r = run([PYTHON, os.path.join(SRC, "scripts", "perfcheck.py"), "table", d])
        check(r.returncode == 0 and "| threads | same-cpu |" in r.stdout,
              "the kept output is read back into the report's table", r.stdout)
    else:
        print("skip perf run: perf is not installed here")
    r = run([PYTHON, os.path.join(SRC, "scripts", "perfcheck.py"), "run", d],
            env=dict(os.environ, PATH="/nonexistent"))
    text = open(os.path.join(d, "perf-sched-pipe.txt")).read()
    check(r.returncode == 0 and "perf not found" in text,
          "without perf the kept file says perf was not found", text)
done()
