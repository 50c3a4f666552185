"""The CSV -> chart -> report path of `make bench`, on fixture CSV files: every chart of a
bench that ran is drawn as SVG and PNG and listed in report.md with its reading; a chart
that cannot be drawn makes the report fail; a folder whose machine.json is another
machine's is never reused."""
import json
import os
import re
import shutil
import subprocess
import tempfile
from testlib import PYTHON, SRC, check, done, run

FIX = os.path.join(SRC, "tests", "fixtures", "results-2c")
charts = os.path.join(SRC, "scripts", "charts.sh")
report = os.path.join(SRC, "scripts", "report.py")

with tempfile.TemporaryDirectory() as tmp:
    d = os.path.join(tmp, "vm-2c-test")
    shutil.copytree(FIX, d)
    r = run([charts, d])
    check(r.returncode == 0, "charts.sh draws the fixture results", r.stderr)
    benches = [f[:-4] for f in os.listdir(FIX) if f.endswith(".csv") and not f.endswith(".raw.csv")]
    plots = [p[:-3] for p in os.listdir(os.path.join(SRC, "bench", "plots"))
             if p.endswith(".gp") and p != "common.gp"]
    expected = [p for p in plots if p.split("-")[0] in benches]
    check(len(expected) >= 1, "the fixture has data for at least one chart")
    for chart in expected:
        for ext in ("svg", "png"):
            path = os.path.join(d, f"{chart}.{ext}")
            check(os.path.exists(path) and os.path.getsize(path) > 1000,
                  f"{chart}.{ext} is drawn")
        with open(os.path.join(d, f"{chart}.svg")) as f:
            check("<svg" in f.read(2000), f"{chart}.svg is an SVG file")
    r = run(["python3", report, d])
    check(r.returncode == 0, "report.py writes the report", r.stderr)
    with open(os.path.join(d, "report.md")) as f:
        md = f.read()
    for chart in expected:
        check(f"]({chart}.svg)" in md, f"report.md shows {chart}")
    check("Intel" in md and "6.1.0-test" in md, "report.md describes the machine", md[:800])
    check("reached" in md, "report.md has the spin reading computed from the data", md)
    for words, chart in (("coroutine switch costs", "ctxswitch"), ("KiB per task", "ctxswitch-wss"),
                         ("pthread_create+join", "create"), ("Split across two CPUs", "ipc-latency"),
                         ("fastest stream", "ipc-bandwidth"), ("the GIL", "timeline"),
                         ("as a share of its own without them", "slowloris")):
        check(words in md, f"report.md has the {chart} reading", words)
    # A cross-CPU hand-off costs what this machine's idle CPUs take to wake (a halted vCPU
    # is slow): the report says whose figure it is.
    for words, chart in (("hand-off takes", "ctxswitch"), ("Split across two CPUs", "ipc-latency")):
        line = next((l for l in md.splitlines() if words in l), "")
        check("on this machine" in line and "docs/methodology.md" in line,
              f"the {chart} reading gives its cross-CPU figure as this machine's", line)
    check("quick mode" in md and "the whole run took" not in md,
          "report.md states the mode (no run.json: no wall time claimed)")

    # The perf cross-check: perf's figure beside the suite's, read from the stored output.
    row = re.search(r"\| processes \| same-cpu \| ([0-9.]+) µs \([0-9]+ runs.*?\| ([0-9.]+) µs \| "
                    r"([+-][0-9]+)% \| ([0-9.]+) µs \| ([0-9.]+) µs \|", md)
    check(row is not None, "report.md puts perf's pipe round trip beside the suite's", md[:3000])
    if row:
        perf_us, suite_us = float(row.group(1)), float(row.group(2))
        check(abs(perf_us - 2.81) < 0.01, "perf's figure is the median of its runs (2.81 µs)",
              row.group(0))
        check(abs(suite_us - 2.36) < 0.01, "the suite's figure is ctxswitch's pipe-processes "
              "same-cpu round trip (2.36 µs)", row.group(0))
        check(row.group(3) == "-16", "the difference is computed ((2.36-2.81)/2.81)",
              row.group(0))
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump({"seconds": 75, "mode": "quick",
                   "steps": [{"name": "ipc", "status": "failed"}]}, f)
    os.remove(os.path.join(d, "perf-sched-pipe.txt"))
    r = run(["python3", report, d])
    md = open(os.path.join(d, "report.md")).read()
    check(r.returncode == 0 and "No perf cross-check in this results folder" in md,
          "without perf's output the report says there is no cross-check", md[:2000])
    check("the whole run took 1 min 15 s" in md and "step `ipc`: failed" in md,
          "report.md gives the run's wall time and the steps that failed", md[:1500])
    r = run([PYTHON, os.path.join(SRC, "scripts", "perfcheck.py"), "run", d, "--loops", "10",
             "--repeats", "1"], env=dict(os.environ, PATH="/nonexistent"))
    r = run(["python3", report, d])
    md = open(os.path.join(d, "report.md")).read()
    check(r.returncode == 0 and "perf not found" in md,
          "where perf is missing the report says so", md[:2000])

    # A CSV in another shape (here the old one, before x_name, x_unit and stat) is
    # refused by name, not drawn wrong.
    old = os.path.join(tmp, "old.csv")
    with open(old, "w") as f:
        f.write("bench,variant,x,metric,value,unit\nspin,c-threads,1,cores_used,0.99,cores\n")
    r = run([PYTHON, os.path.join(SRC, "scripts", "reduce.py"), old, tmp])
    check(r.returncode != 0 and "not the suite's CSV format" in r.stderr,
          "reduce.py refuses a CSV without the suite's header", r.stderr)

    # A missing chart is an error, not a shorter report.
    os.remove(os.path.join(d, f"{expected[0]}.png"))
    r = run(["python3", report, d])
    check(r.returncode == 1 and f"{expected[0]}.png is missing" in r.stderr,
          "report.py fails when a chart is missing", r.stderr)

    # Another machine's folder is never reused.
    name = subprocess.run(["python3", os.path.join(SRC, "scripts", "machine.py"), "name", tmp],
                          capture_output=True, text=True).stdout.strip()
    os.makedirs(os.path.join(tmp, name))
    with open(os.path.join(tmp, name, "machine.json"), "w") as f:
        json.dump({"fingerprint": "someone-else"}, f)
    other = subprocess.run(["python3", os.path.join(SRC, "scripts", "machine.py"), "name", tmp],
                           capture_output=True, text=True).stdout.strip()
    check(other == name + "-2", f"a folder holding another machine's results is not reused "
          f"({name} -> {other})")
done()
