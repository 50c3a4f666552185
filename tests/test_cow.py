"""cow: the child of a fork takes one minor fault per page it writes - no fewer (every page
it writes is shared with the parent, read-only, until copied) and only a few more (its own
stack) - and none when it writes the same pages again; MADV_DONTFORK leaves the region out
of the child. Fault counts are exact kernel counters, not timings: no time is asserted."""
import re
from testlib import check, done, program, run

SLACK = 64          # faults the child may take besides its pages: its stack, libc's data
MIB = 16            # 4096 pages of 4 KiB: enough to tell one fault per page from none


def field(pattern, text):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


for touch in ("0", "0.5", "1"):
    r = run([program("cow"), "--mib", str(MIB), "--touch", touch])
    what = f"cow --mib {MIB} --touch {touch}"
    if not check(r.returncode == 0, f"{what} exits 0", r.stderr):
        continue
    m = re.search(r"child wrote (\d+) of (\d+) pages", r.stdout)
    if not check(m is not None, f"{what}: says how many pages the child wrote", r.stdout):
        continue
    touched, pages = int(m.group(1)), int(m.group(2))
    check(pages * 4096 >= MIB << 20 and pages > 0, f"{what}: the region has {pages} pages")
    check(touched == round(float(touch) * pages),
          f"{what}: the child wrote {touched} pages (expected {round(float(touch) * pages)})")
    faults = field(r"child minor faults: (\d+)", r.stdout)
    check(faults is not None and touched <= faults <= touched + SLACK,
          f"{what}: {faults} minor faults, within [{touched}, {touched} + {SLACK}]", r.stdout)
    if touched:
        again = field(r"child wrote them again: (\d+) faults", r.stdout)
        check(again is not None and again <= SLACK,
              f"{what}: writing the same pages again faults at most {SLACK} times ({again})",
              r.stdout)
    check(re.search(r"fork\(\): \d+ µs", r.stdout) is not None, f"{what}: fork() is timed",
          r.stdout)
    for how in ("fork+exec", "vfork+exec", "posix_spawn"):
        check(re.search(rf"^  {re.escape(how)} +\d+ µs$", r.stdout, re.M) is not None,
              f"{what}: {how} is timed for comparison", r.stdout)

# MADV_DONTFORK: the child has no region, so it cannot write one; it says so.
r = run([program("cow"), "--mib", str(MIB), "--region", "dontfork"])
check(r.returncode == 0, "cow --region dontfork exits 0", r.stderr)
check("not mapped in the child" in r.stdout,
      "cow --region dontfork: the region is not mapped in the child", r.stdout)
r = run([program("cow"), "--region", "dontfork", "--touch", "0.5"])
check(r.returncode == 2 and "--touch" in r.stderr,
      "cow --region dontfork --touch 0.5 is refused (the child has nothing to write)", r.stderr)

# Huge pages: asked for with MADV_HUGEPAGE; the program says how much of the region got them
# (none where THP is off) and the child still writes what it was told to.
r = run([program("cow"), "--mib", str(MIB), "--region", "huge", "--touch", "1"])
check(r.returncode == 0, "cow --region huge exits 0", r.stderr)
check(re.search(r"huge pages map \d+ of 16 MiB", r.stdout) is not None,
      "cow --region huge says how much of the region huge pages map", r.stdout)
m = re.search(r"child wrote (\d+) of (\d+) pages", r.stdout)
check(m is not None and m.group(1) == m.group(2), "cow --region huge --touch 1 writes every page",
      r.stdout)
done()
