#!/usr/bin/env python3
"""report.py - write results/<machine>/report.md from a results folder alone.

Usage: scripts/report.py RESULTS_DIR

Lists every chart drawn from the folder's CSV files with a one-line reading under it,
computed from the data by bench/plots/CHART.py (a function reading(rows, machine) that
returns a sentence; rows are the bench's CSV rows as csvformat.py reads them, one per
point and metric: its value, the median of the repeats). Also: the machine description, the mode, how long the run took and
what was skipped, and the cross-check against perf (scripts/perfcheck.py, from the
perf-sched-pipe.txt the run kept). A chart whose bench ran but whose SVG or PNG is missing, or that has no
reading, is an error (exit 1): a report must never silently leave a chart out.
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLOTS = os.path.join(HERE, "bench", "plots")
sys.path.insert(0, os.path.join(HERE, "scripts"))
import csvformat  # noqa: E402  (beside this file)
import perfcheck  # noqa: E402


def load_rows(path):
    """A reading's rows: each point's value (median or raw), not the spread around it."""
    return csvformat.read(path, values_only=True)


def load_reading(chart):
    path = os.path.join(PLOTS, chart + ".py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location(f"reading_{chart}".replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def registry():
    """The benches `make bench` runs, in order: (name, description) from bench/benches.txt."""
    out = []
    with open(os.path.join(HERE, "bench", "benches.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, desc = line.partition(" ")
                out.append((name, desc.strip()))
    return out


def fmt_seconds(s):
    s = int(round(s))
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    d = argv[1]
    with open(os.path.join(d, "machine.json")) as f:
        m = json.load(f)
    run = {}
    if os.path.exists(os.path.join(d, "run.json")):
        with open(os.path.join(d, "run.json")) as f:
            run = json.load(f)

    errors, sections = [], []
    charts = sorted(c[:-3] for c in os.listdir(PLOTS)
                    if c.endswith(".gp") and not c.startswith("common"))   # common*: shared
    for chart in charts:
        bench = chart.split("-")[0]
        csv_path = os.path.join(d, bench + ".csv")
        if not os.path.exists(csv_path):
            continue
        for ext in ("svg", "png"):
            if not os.path.exists(os.path.join(d, f"{chart}.{ext}")):
                errors.append(f"{chart}.{ext} is missing (bench {bench} ran; charts.sh failed?)")
        mod = load_reading(chart)
        if mod is None or not hasattr(mod, "reading"):
            errors.append(f"bench/plots/{chart}.py with reading(rows, machine) is missing")
            continue
        try:
            rows = load_rows(csv_path)
            text = mod.reading(rows, m)
        except Exception as e:          # a reading that breaks must not hide the chart
            errors.append(f"reading for {chart} failed: {e!r}")
            continue
        title = getattr(mod, "TITLE", chart)
        raw = f" (median, min, max), every repeat in [{bench}.raw.csv]({bench}.raw.csv)" \
            if os.path.exists(os.path.join(d, bench + ".raw.csv")) else ""
        sections.append(f"## {title}\n\n![{title}]({chart}.svg)\n\n{text}\n\n"
                        f"Data: [{bench}.csv]({bench}.csv){raw}.\n")

    if errors:
        for e in errors:
            print(f"report: {e}", file=sys.stderr)
        return 1

    missing = [(n, desc) for n, desc in registry() if not os.path.exists(os.path.join(d, n + ".csv"))]
    lines = [
        f"# What processes, threads and an event loop cost on `{m['name']}`",
        "",
        f"Measured by `make bench{' FULL=1' if m.get('mode') == 'full' else ''}` "
        f"({m.get('mode', '?')} mode) on {m.get('date', '?')}"
        + (f"; the whole run took {fmt_seconds(run['seconds'])}." if "seconds" in run else "."),
        "",
        "| | |", "|---|---|",
        f"| CPU | {m['cpu_model']}, {m['cpus_allowed']} CPUs usable ({m['cpus_online']} online) |",
        f"| frequency governor | {m['governor']} |",
        f"| virtualization | {m.get('virtualization', '?')} |",
        f"| kernel | {m['kernel']} ({m['os']}) |",
        f"| compiler | {m['compiler']} |",
        f"| libuv | {m['libuv']} |",
        f"| Python | {m['python']} |",
        f"| perf | {m.get('perf', '?')} |",
        "",
        "Every figure is the median of several repeats; error bars span min to max. "
        "How each is measured: [docs/methodology.md](../../docs/methodology.md).",
        "",
    ]
    for step in run.get("steps", []):
        if step.get("status") not in ("ok", None):
            lines.append(f"- step `{step['name']}`: {step['status']}")
    for name, desc in missing:
        lines.append(f"- `{name}` ({desc}) did not produce results in this run.")
    if lines[-1] != "":
        lines.append("")
    if os.path.exists(os.path.join(d, "ctxswitch.csv")) or \
            os.path.exists(os.path.join(d, perfcheck.FILE)):
        lines += perfcheck.table(d)
    lines += sections
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"report: {os.path.join(d, 'report.md')} ({len(sections)} charts)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
