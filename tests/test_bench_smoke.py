"""Every bench binary listed in bench/benches.txt runs with the smallest settings, exits 0
and prints well-formed CSV: the exact header, every field, finite numbers, a median, min
and max per point (the stat column) with min <= median <= max, and --raw holding one raw
row per repeat; every row says what its x is, and its variant's parts as fields."""
import os
import subprocess
import tempfile
from testlib import SRC, check, done, parse_csv, program, run

# The tiniest run of each bench: extra flags to keep it short (add a line per new bench).
TINY = {
    "spin": ["--seconds", "0.02"],
    "heap": ["--seconds", "0.02"],
    "locks": ["--seconds", "0.01"],
    "switching": ["--seconds", "0.01"],
    "race": ["--trials", "1"],
    "pool": ["--seconds", "0.002"],
    "ctxswitch": ["--rounds", "20", "--sizes", "0,4"],
    "create": ["--iterations", "2", "--heap-mib", "0,1"],
    "ipc": ["--rounds", "10", "--blocks", "4"],
    "server": ["--variant", "server_uv", "--connections", "4", "--seconds", "1"],
    "server_io": ["--variant", "server_threads", "--connections", "4", "--seconds", "1"],
    "server_mem": ["--variant", "server_uv", "--connections", "10"],
    "fileio": ["--variant", "uv-warm"],
    "fileio_size": ["--variant", "uring-cold"],
    "slowloris": ["--variant", "server_pool", "--connections", "10", "--seconds", "1"],
    "syscalls": ["--variant", "server_uv", "--requests", "200"],
    "tasks": ["--variant", "broker-p64", "--tasks", "200"],
    "tasks_latency": ["--variant", "broker", "--tasks", "20"],
    "tasks_journal": ["--variant", "fsync-batch", "--tasks", "200"],
    "buffer": ["--seconds", "0.01"],
    "cow": ["--mib", "2,4"],
    "cow_write": ["--mib", "4"],
    "false_sharing": ["--seconds", "0.01"],
    "pool_syscalls": ["--variant", "ring", "--tasks", "1000"],
}
# Units of measured times and rates: these must be strictly positive (counts may be 0).
POSITIVE_UNITS = ("ns", "MiB/s")

with open(os.path.join(SRC, "bench", "benches.txt")) as f:
    benches = [l.split()[0] for l in f if l.strip() and not l.startswith("#")]
check(len(benches) >= 1, "bench/benches.txt lists benches")

for b in benches:
    exe = program(f"bench_{b}")
    check(os.access(exe, os.X_OK), f"bench_{b} is built")
    r = run([exe, "--list"])
    check(r.returncode == 0 and r.stdout.strip(), f"bench_{b} --list plans points", r.stderr)
    with tempfile.NamedTemporaryFile("r", suffix=".csv") as raw:
        r = run([exe, "--repeat", "2", "--raw", raw.name] + TINY.get(b, []), timeout=300)
        check(r.returncode == 0, f"bench_{b} exits 0", r.stderr[-2000:])
        try:
            rows, raw_rows = parse_csv(r.stdout), parse_csv(raw.read())
        except ValueError as e:
            check(False, f"bench_{b} prints well-formed CSV", str(e))
            continue
    if not rows and "skipped" in r.stderr:
        # A bench whose peer (wrk, nginx) is not installed skips its points: not a failure.
        print(f"note bench_{b}: every point skipped here: {r.stderr.strip().splitlines()[0]}")
        continue
    check(len(rows) > 0 and all(row["bench"] == b for row in rows),
          f"bench_{b} rows are named {b}")
    medians = [row for row in rows if row["stat"] == "median"]
    ok = True
    for m in medians:
        same = [x for x in rows if x["metric"] == m["metric"] and x["variant"] == m["variant"]
                and x["x"] == m["x"]]
        lo = [x["value"] for x in same if x["stat"] == "min"]
        hi = [x["value"] for x in same if x["stat"] == "max"]
        ok &= len(same) == 3 and len(lo) == 1 and len(hi) == 1 and lo[0] <= m["value"] <= hi[0]
    check(ok, f"bench_{b}: every median has a min and max around it")
    check(len(raw_rows) == 2 * len(medians) and all(x["stat"] == "raw" for x in raw_rows),
          f"bench_{b} --raw holds every repeat",
          f"{len(raw_rows)} raw rows for {len(medians)} medians x 2 repeats")
    described = {(row["x_name"], row["x_unit"]) for row in rows + raw_rows}
    check(len(described) == 1 and "" not in next(iter(described)),
          f"bench_{b}: every row names what x is and its unit", str(described))
    parts_ok = all(row["variant"] == (f"{row['label']}/{row['placement']}" if row["placement"]
                                      else row["label"]) for row in rows + raw_rows)
    check(parts_ok, f"bench_{b}: label and placement are the variant's parts")
    check(all(row["value"] >= 0 for row in medians), f"bench_{b} values are non-negative")
    timed = [row for row in rows if row["unit"] in POSITIVE_UNITS]
    check(all(row["value"] > 0 for row in timed), f"bench_{b} times and rates are positive",
          str([row for row in timed if row["value"] <= 0][:3]))

# The harness's defaults: a bench that names no repeat counts gets 3 per point in quick
# mode, and every metric it names (nmetrics counted for it).
with tempfile.NamedTemporaryFile("r", suffix=".csv") as raw:
    r = run([program("bench_locks"), "--variant", "atomic", "--seconds", "0.005",
             "--raw", raw.name], timeout=120)
    rows, raw_rows = parse_csv(r.stdout), parse_csv(raw.read())
medians = [row for row in rows if row["stat"] == "median"]
check(r.returncode == 0 and {row["metric"] for row in medians} == {"ns_per_inc", "lost_pct"}
      and len(raw_rows) == 3 * len(medians),
      "a bench without repeat counts gets 3 repeats per point and all its metrics",
      f"{len(raw_rows)} raw rows for {len(medians)} medians\n{r.stderr[-1000:]}")

# The harness refuses what it cannot do.
r = run([program("bench_spin"), "--variant", "no-such-series"])
check(r.returncode == 2 and "no-such-series" in r.stderr, "an unknown --variant is refused",
      r.stderr)
r = run([program("bench_spin"), "--raw", "/no/such/dir/x.csv", "--seconds", "0.01"])
check(r.returncode == 1 and "/no/such/dir/x.csv" in r.stderr,
      "an unwritable --raw file is named with the reason", r.stderr)

# Placement (--placement) is the harness's: series per placement, a bad name refused, and
# only benches of two tasks take it.
r = run([program("bench_ctxswitch"), "--placement", "same-cpu", "--list"])
listed = [l.split()[0] for l in r.stdout.split("\n") if l.strip()]
check(r.returncode == 0 and listed and all(v.endswith("/same-cpu") for v in listed),
      "--placement same-cpu plans only same-cpu series", r.stdout + r.stderr)
r = run([program("bench_ipc"), "--list"])
names = {l.split()[0].rsplit("/", 1)[-1] for l in r.stdout.split("\n") if l.strip()}
want = {"same-cpu", "unpinned"} | ({"split"} if len(os.sched_getaffinity(0)) >= 2 else set())
check(names == want, f"ipc plans a series per placement ({sorted(want)})", str(sorted(names)))
r = run([program("bench_ipc"), "--placement", "nowhere"])
check(r.returncode == 2 and "nowhere" in r.stderr, "a bad --placement is refused", r.stderr)
r = run([program("bench_spin"), "--placement", "same-cpu"])
check(r.returncode == 2, "a bench of one task refuses --placement", r.stderr)
r = run([program("bench_ctxswitch"), "--sizes", "1,x"])
check(r.returncode == 2 and "--sizes" in r.stderr, "a bad --sizes list is refused", r.stderr)

# Conservation in ipc: B checks every message's sequence number; a run that lost or
# repeated one fails, so a clean exit over every transport says nothing went astray.
r = run([program("bench_ipc"), "--repeat", "1", "--warmup", "0", "--placement", "same-cpu",
         "--rounds", "50", "--blocks", "20"], timeout=120)
ipc_rows = parse_csv(r.stdout) if r.returncode == 0 else []
series = {row["label"] for row in ipc_rows if row["metric"] == "latency"
          and row["stat"] == "median" and row["placement"] == "same-cpu"}
check(r.returncode == 0 and len(series) == 10,
      "ipc: 10 series (5 transports x processes/threads) each deliver every message",
      r.stderr[-1500:])
done()
