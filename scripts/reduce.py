#!/usr/bin/env python3
"""reduce.py - turn a bench's tidy CSV into the data files its charts plot.

Usage: scripts/reduce.py BENCH.csv OUTDIR

For every metric M in BENCH.csv (its rows of stat min and max are folded into the rows of
its value, stat median or raw; see csvformat.py) it writes OUTDIR/BENCH.M.dat: one block
per variant, in the order the
variants first appear, blocks separated by two blank lines (gnuplot's `index`). Each block
starts with a header line naming its variant, then rows "x median min max" sorted by x:

    x c-threads min max
    1 1.00 0.99 1.00
    2 1.98 1.97 1.99

A chart plots block i with `index i using 1:2:3:4 with yerrorlines title columnhead(2)`.

It also writes OUTDIR/BENCH.M.grid.dat, the same numbers as a table for bar charts: a
row per label (e.g. "pipe-processes") and a column group per placement (e.g. "same-cpu");
a bench without placements has the one series "all". One block per x value (sorted),
each with a header line; a cell nobody measured is NaN:

    item x same-cpu same-cpu_min same-cpu_max split split_min split_max
    pipe-processes 0 2357 2353 2419 91164 52590 117700
    coroutine 0 374 361 396 NaN NaN NaN

A clustered histogram plots series s (from 0) with `using 3+3*s:4+3*s:5+3*s:xtic(1)`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csvformat  # noqa: E402  (beside this file)

SLOT = {"median": 0, "raw": 0, "min": 1, "max": 2}     # where a stat goes in [value, min, max]


def reduce(path, outdir):
    bench = os.path.basename(path)[:-len(".csv")]
    series = {}                          # metric -> variant -> x -> [median, min, max]
    cell = {}                            # variant -> (label, placement)
    try:
        rows = csvformat.read(path)
    except ValueError as e:
        sys.exit(f"reduce: {e}")
    for row in rows:
        point = series.setdefault(row["metric"], {}).setdefault(row["variant"], {}) \
                      .setdefault(row["x"], [None, None, None])
        point[SLOT[row["stat"]]] = row["value"]
        cell[row["variant"]] = (row["label"], row["placement"] or "all")
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
        write_grid(out, variants, cell)
        written.append(out)
    return written


def write_grid(out, variants, cell):
    """The table of write-up above: a row per label, a column group per placement, a
    block per x. cell[variant] is the variant's (label, placement)."""
    items, series, cells = [], [], {}
    for variant, points in variants.items():
        item, ser = cell[variant]
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
