#!/usr/bin/env python3
"""reduce.py - turn a bench's tidy CSV into the data files its charts plot.

Usage: scripts/reduce.py BENCH.csv OUTDIR

For every metric M in BENCH.csv (rows whose metric ends in _min or _max are folded into
their metric's rows) it writes OUTDIR/BENCH.M.dat: one block per variant, in the order the
variants first appear, blocks separated by two blank lines (gnuplot's `index`). Each block
starts with a header line naming its variant, then rows "x median min max" sorted by x:

    x c-threads min max
    1 1.00 0.99 1.00
    2 1.98 1.97 1.99

A chart plots block i with `index i using 1:2:3:4 with yerrorlines title columnhead(2)`.
"""
import csv
import os
import sys


def reduce(path, outdir):
    bench = os.path.basename(path)[:-len(".csv")]
    series = {}                          # metric -> variant -> x -> [median, min, max]
    with open(path) as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != ["bench", "variant", "x", "metric", "value", "unit"]:
            sys.exit(f"reduce: {path}: not the suite's CSV format ({reader.fieldnames})")
        for row in reader:
            metric, slot = row["metric"], 0
            for suffix, k in (("_min", 1), ("_max", 2)):
                if metric.endswith(suffix):
                    metric, slot = metric[:-len(suffix)], k
            point = series.setdefault(metric, {}).setdefault(row["variant"], {}) \
                          .setdefault(float(row["x"]), [None, None, None])
            point[slot] = float(row["value"])
    written = []
    for metric, variants in series.items():
        out = os.path.join(outdir, f"{bench}.{metric}.dat")
        with open(out, "w") as f:
            for i, (variant, points) in enumerate(variants.items()):
                if i:
                    f.write("\n\n")
                f.write(f"x {variant} min max\n")
                for x in sorted(points):
                    med, lo, hi = points[x]
                    lo = med if lo is None else lo
                    hi = med if hi is None else hi
                    f.write(f"{x:g} {med:.6g} {lo:.6g} {hi:.6g}\n")
        written.append(out)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/reduce.py BENCH.csv OUTDIR")
    os.makedirs(sys.argv[2], exist_ok=True)
    for p in reduce(sys.argv[1], sys.argv[2]):
        print(p)
