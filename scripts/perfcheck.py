#!/usr/bin/env python3
"""perfcheck.py - cross-check the suite's pipe round trip against `perf bench sched pipe`.

Usage:
  scripts/perfcheck.py run RESULTS_DIR [--loops N] [--repeats R]
      run perf bench sched pipe (processes, and -T threads; pinned to one CPU, and
      unpinned) R times each and keep perf's own output in RESULTS_DIR/perf-sched-pipe.txt.
      Where perf is missing or fails, the file says so; the run still succeeds.
  scripts/perfcheck.py table RESULTS_DIR
      print the report's section: perf's figures beside the ctxswitch bench's own.

perf's figure is "usecs/op", one op being a round trip: the parent writes a token into one
pipe, the child reads it and writes it back through the other, the parent reads it - the
same round trip as ctxswitch's pipe-processes (and pipe-threads for -T). The suite adds
what perf does not: the same pipe work done inside one task, subtracted, and the switches
counted, which gives the pure cost of one switch.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csvformat  # noqa: E402  (beside this file)

FILE = "perf-sched-pipe.txt"
CONFIGS = [("processes", "same-cpu"), ("threads", "same-cpu"),
           ("processes", "unpinned"), ("threads", "unpinned")]


def run(d, loops, repeats):
    out = [f"# perf bench sched pipe, run by scripts/perfcheck.py: loops={loops} "
           f"repeats={repeats}"]
    perf = shutil.which("perf")
    if perf is None:
        out.append("# perf not found: install linux-perf (Debian) for the cross-check")
    else:
        cpu0 = min(os.sched_getaffinity(0))
        for tasks, placement in CONFIGS:
            cmd = [perf, "bench", "sched", "pipe", "-l", str(loops)]
            if tasks == "threads":
                cmd.append("-T")
            pin = placement == "same-cpu"
            shown = (f"taskset -c {cpu0} " if pin else "") + " ".join(["perf"] + cmd[1:])
            for k in range(1, repeats + 1):
                try:
                    r = subprocess.run(
                        cmd, capture_output=True, text=True, timeout=120,
                        preexec_fn=(lambda: os.sched_setaffinity(0, {cpu0})) if pin else None)
                    text, ok = r.stdout, r.returncode == 0
                    err = r.stderr.strip()
                except (OSError, subprocess.SubprocessError) as e:
                    text, ok, err = "", False, str(e)
                out.append(f"### tasks={tasks} placement={placement} repeat={k} "
                           f"command: {shown}")
                out.append(text.rstrip("\n") if ok else f"FAILED: {err or 'no output'}")
                print(f"  perf {tasks} {placement} #{k}: "
                      + (f"{parse_usecs(text)} usecs/op" if ok else "failed"), file=sys.stderr)
    with open(os.path.join(d, FILE), "w") as f:
        f.write("\n".join(out) + "\n")


def parse_usecs(text):
    m = re.search(r"([0-9.]+)\s+usecs/op", text)
    return float(m.group(1)) if m else None


def load(d):
    """None if the folder has no perf file; else (note, {(tasks, placement): [usecs...]})."""
    path = os.path.join(d, FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    note = ""
    m = re.search(r"^# perf not found.*$", text, re.M)
    if m:
        note = m.group(0)[2:]
    found = {}
    for block in text.split("\n### ")[1:]:
        head, _, body = block.partition("\n")
        fields = dict(re.findall(r"(\w+)=(\S+)", head.split(" command:")[0]))
        us = parse_usecs(body)
        if us is not None:
            found.setdefault((fields.get("tasks"), fields.get("placement")), []).append(us)
    return note, found


def suite_rows(d):
    """ctxswitch medians at working set 0: {(label, placement, metric): value in ns}."""
    path = os.path.join(d, "ctxswitch.csv")
    rows = {}
    if os.path.exists(path):
        for r in csvformat.read(path, values_only=True):
            if r["x"] == 0:
                rows[(r["label"], r["placement"], r["metric"])] = r["value"]
    return rows


def table(d):
    """The report's section as a list of markdown lines."""
    lines = ["## Cross-check: the pipe round trip against `perf bench sched pipe`", ""]
    loaded = load(d)
    if loaded is None:
        return lines + ["No perf cross-check in this results folder (the run did not reach "
                        "it, or predates it).", ""]
    note, found = loaded
    if not found:
        why = note or "perf ran but printed no usecs/op figure; see " + FILE
        return lines + [f"Not available in this run: {why}.", ""]
    suite = suite_rows(d)
    lines += [
        "perf's usecs/op is one round trip through a pair of pipes, the same round trip as "
        "the ctxswitch bench's `pipe-*` series, so the two should agree (aim: within 15%). "
        "The suite adds the same pipe work done inside one task (subtracted) and the switches "
        "counted with getrusage, which leaves the pure cost of one switch. Unpinned figures "
        "depend on where the scheduler put the tasks in each run and spread widely.",
        "",
        "| tasks | placement | perf (median of runs) | suite round trip | suite vs perf "
        "| in one task | pure switch |",
        "|---|---|---|---|---|---|---|",
    ]
    for tasks, placement in CONFIGS:
        runs = found.get((tasks, placement))
        if not runs:
            continue
        p = statistics.median(runs)
        label = f"pipe-{tasks}"
        rt = suite.get((label, placement, "round_trip"))
        cells = [tasks, placement, f"{p:.2f} µs ({len(runs)} runs, {min(runs):.2f}–"
                 f"{max(runs):.2f})"]
        if rt is None:
            cells += ["not measured", "", "", ""]
        else:
            diff = (rt / 1000 - p) / p * 100
            cells += [f"{rt / 1000:.2f} µs", f"{diff:+.0f}%",
                      f"{suite.get((label, placement, 'in_task'), float('nan')) / 1000:.2f} µs",
                      f"{suite.get((label, placement, 'switch'), float('nan')) / 1000:.2f} µs"]
        lines.append("| " + " | ".join(cells) + " |")
    verdict = []
    for tasks in ("processes", "threads"):
        runs = found.get((tasks, "same-cpu"))
        rt = suite.get((f"pipe-{tasks}", "same-cpu", "round_trip"))
        if runs and rt is not None:
            diff = abs(rt / 1000 - statistics.median(runs)) / statistics.median(runs) * 100
            verdict.append((f"{tasks} {diff:.0f}% apart "
                            f"({'within' if diff <= 15 else 'outside'} the 15% aim)", diff <= 15))
    if verdict:
        lines += ["", "On one CPU, the suite against perf: " + ", ".join(v for v, _ in verdict)
                  + "." + ("" if all(ok for _, ok in verdict) else
                     " A gap this size usually means the machine was busy with other work "
                     "while one of the two ran (they do not run at the same moment).")]
    lines += ["", f"perf's own output: [{FILE}]({FILE}).", ""]
    return lines


def main(argv):
    if len(argv) >= 3 and argv[1] == "run":
        loops, repeats, rest = 10000, 3, argv[3:]
        while rest:
            if len(rest) < 2 or rest[0] not in ("--loops", "--repeats") or not rest[1].isdigit() \
                    or int(rest[1]) < 1:
                sys.stderr.write(__doc__)
                return 2
            if rest[0] == "--loops":
                loops = int(rest[1])
            else:
                repeats = int(rest[1])
            rest = rest[2:]
        run(argv[2], loops, repeats)
        return 0
    if len(argv) == 3 and argv[1] == "table":
        print("\n".join(table(argv[2])))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
