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

It also writes OUTDIR/BENCH.M.grid.dat, the same numbers as a table for bar charts. A
variant "ITEM/SERIES" (e.g. "pipe-processes/same-cpu", placements as series) is a row ITEM
and a column group SERIES; a variant without '/' is its own row, in the series "all". One
block per x value (sorted), each with a header line; a cell nobody measured is NaN:

    item x same-cpu same-cpu_min same-cpu_max split split_min split_max
    pipe-processes 0 2357 2353 2419 91164 52590 117700
    coroutine 0 374 361 396 NaN NaN NaN

A clustered histogram plots series s (from 0) with `using 3+3*s:4+3*s:5+3*s:xtic(1)`.
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
        out = os.path.join(outdir, f"{bench}.{metric}.grid.dat")
        write_grid(out, variants)
        written.append(out)
    return written


def write_grid(out, variants):
    """The table of write-up above: rows ITEM, column groups SERIES, a block per x."""
    items, series, cells = [], [], {}
    for variant, points in variants.items():
        item, _, ser = variant.partition("/")
        ser = ser or "all"
        if item not in items:
            items.append(item)
        if ser not in series:
            series.append(ser)
        for x, vals in points.items():
            cells[(x, item, ser)] = vals
    xs = sorted({x for x, _, _ in cells})
    with open(out, "w") as f:
        for i, x in enumerate(xs):
            if i:
                f.write("\n\n")
            f.write("item x " + " ".join(f"{s} {s}_min {s}_max" for s in series) + "\n")
            for item in items:
                if not any((x, item, s) in cells for s in series):
                    continue
                row = [item, f"{x:g}"]
                for s in series:
                    med, lo, hi = cells.get((x, item, s), [None, None, None])
                    if med is None:
                        row += ["NaN"] * 3
                    else:
                        row += [f"{v:.6g}" for v in (med, med if lo is None else lo,
                                                      med if hi is None else hi)]
                f.write(" ".join(row) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: scripts/reduce.py BENCH.csv OUTDIR")
    os.makedirs(sys.argv[2], exist_ok=True)
    for p in reduce(sys.argv[1], sys.argv[2]):
        print(p)
