"""csvformat.py - the suite's result format, for the Python side.

The header has one copy, CSV_HEADER in lib/core.h, which the C programs print; FIELDS is
read from there, so a column added in C is a column here. A row says what it is about:

    bench,variant,label,placement,x,x_name,x_unit,metric,stat,value,unit
    ipc,pipe-threads/split,pipe-threads,split,0,none,none,latency,median,51234,ns

label and placement are the variant's parts as fields (placement empty for a bench of
one task), x_name and x_unit say what x counts, and stat says which number of a point
the value is: the median, min or max of its repeats, or a raw measurement on its own (a
repeat in BENCH.raw.csv, one run of measure, one timeline sample).
"""
import csv
import io
import math
import os
import re

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _header():
    with open(os.path.join(HERE, "lib", "core.h")) as f:
        found = re.search(r'#define CSV_HEADER "([^"]+)"', f.read())
    if not found:
        raise RuntimeError("lib/core.h: no CSV_HEADER")
    return found.group(1)


HEADER = _header()
FIELDS = HEADER.split(",")
NUMBERS = ("x", "value")
# stat: a point's value (the median of its repeats, or the one raw measurement), and the
# spread around it.
VALUE_STATS = ("median", "raw")
STATS = ("median", "min", "max", "raw")


def parse(text, where="CSV"):
    """Rows of text in the suite's format, strictly: the exact header, every field there,
    x and value finite numbers, a known stat. Returns dicts (x and value as floats);
    raises ValueError naming `where` when the text is not in the format."""
    lines = text.strip("\n").split("\n")
    if not lines or lines[0] != HEADER:
        raise ValueError(f"{where}: not the suite's CSV format: header "
                         f"{lines[0] if lines else '(empty)'!r}, not {HEADER!r}")
    rows = []
    for rec in csv.reader(io.StringIO("\n".join(lines[1:]))):
        if len(rec) != len(FIELDS):
            raise ValueError(f"{where}: row has {len(rec)} fields, not {len(FIELDS)}: {rec}")
        row = dict(zip(FIELDS, rec))
        for key in NUMBERS:
            row[key] = float(row[key])
            if not math.isfinite(row[key]):
                raise ValueError(f"{where}: {key} is not finite: {rec}")
        for key in ("bench", "variant", "label", "x_name", "x_unit", "metric", "unit"):
            if not row[key]:
                raise ValueError(f"{where}: empty {key}: {rec}")
        if row["stat"] not in STATS:
            raise ValueError(f"{where}: unknown stat {row['stat']!r}: {rec}")
        rows.append(row)
    return rows


def read(path, values_only=False):
    """The rows of the CSV file at path (see parse()); with values_only, only each
    point's value (stat median or raw), not the min and max around it."""
    with open(path) as f:
        rows = parse(f.read(), path)
    return [r for r in rows if r["stat"] in VALUE_STATS] if values_only else rows
