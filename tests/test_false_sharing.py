"""false_sharing: every thread makes exactly its K increments and the counters add up to
N x K in every layout (packed, pad64, pad128) and placement - each thread is its counter's
only writer, so false sharing costs time, never increments. No rate is asserted: rates
depend on the machine and its load. Argument "tsan": the short runs only, for TSan."""
import re
import sys
from testlib import check, done, program, run

tsan = sys.argv[1:] == ["tsan"]
N, K = 3, 20000 if tsan else 200000
for place in ("spread",) if tsan else ("spread", "same-cpu", "unpinned"):
    r = run([program("false_sharing"), "--threads", str(N), "--count", str(K),
             "--placement", place])
    what = f"false_sharing --threads {N} --count {K} --placement {place}"
    check(r.returncode == 0, f"{what} exits 0", r.stderr)
    totals = re.findall(r"^\s+total (\d+) \(expected (\d+)\)$", r.stdout, re.M)
    check(len(totals) == 3, f"{what}: a total for each of the three layouts", r.stdout)
    for layout, (got, expect) in zip(("packed", "pad64", "pad128"), totals):
        check(int(got) == N * K and int(expect) == N * K,
              f"{what}: {layout} total {got} == {N} x {K}")
    for layout in ("packed", "pad64", "pad128"):
        check(re.search(rf"^  {layout} +\( *\d+ bytes apart\): +\d+\.\d M increments/s",
                        r.stdout, re.M) is not None, f"{what}: {layout} reports its rate",
              r.stdout)

# By time: each layout runs and reports a rate; one layout alone; one thread.
r = run([program("false_sharing"), "--threads", "2", "--seconds", "0.05"])
check(r.returncode == 0 and "packed counters made" in r.stdout and "padded to 64 bytes" in r.stdout,
      "false_sharing --seconds 0.05 compares packed with padded", r.stdout + r.stderr)
r = run([program("false_sharing"), "--threads", "1", "--layout", "pad128", "--count", "1000"])
check(r.returncode == 0 and "total 1000 (expected 1000)" in r.stdout
      and "packed" not in r.stdout, "false_sharing --layout pad128 runs that layout alone",
      r.stdout + r.stderr)
if not tsan:
    r = run([program("false_sharing"), "--seconds", "1", "--count", "5"])
    check(r.returncode == 2, "--seconds and --count together are refused", r.stderr)
done()
