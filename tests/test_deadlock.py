"""deadlock: locking in opposite orders is detected within its timeout instead of hanging
(timed lock: the cycle is reported and the program exits 3; watchdog: the holders and
waiters are named and the process ends with 3), the global order completes every transfer
with exit 0, and money is conserved either way. With the argument `tsan` (the
ThreadSanitizer build) it checks that TSan flags the opposite order as a lock-order
inversion and finds nothing wrong with the global order."""
import re
import sys
from testlib import check, done, program, run


def deadlock(*args):
    # The timeouts below are 200 ms; 60 s is the bound that says "it hung".
    return run([program("deadlock"), "--timeout-ms", "200"] + list(args), timeout=60)


if sys.argv[1:] == ["tsan"]:
    r = deadlock("--order", "global", "--rounds", "2000")
    check(r.returncode == 0 and "ThreadSanitizer" not in r.stderr,
          "TSan: the global lock order is clean", r.stderr[-1500:])
    # TSan builds its lock-order graph from blocking lock calls (a timed lock may give up,
    # so it adds no edge): use the watchdog mode, whose threads block for real. TSan
    # reports the cycle when the second order is first attempted, hang or no hang.
    r = deadlock("--order", "opposite", "--unforced", "--detect", "watchdog",
                 "--rounds", "2000")
    check(r.returncode == 66 and "lock-order-inversion" in r.stderr,
          "TSan: the opposite order is reported as a lock-order inversion", r.stderr[-1500:])
    done()

r = deadlock("--order", "opposite")
check(r.returncode == 3, "opposite order: exits 3 (deadlock detected)", r.stdout + r.stderr)
check(re.search(r"^thread [12]: holds [AB], waited 200 ms for [AB]: deadlock detected",
                r.stdout, re.M) is not None, "a thread reports the cycle it is caught in",
      r.stdout)
check("opposite order: DEADLOCK detected" in r.stdout, "the phase is reported deadlocked",
      r.stdout)
check("total = 2000 (expected 2000)" in r.stdout, "no money is created or lost", r.stdout)

r = deadlock("--order", "global", "--rounds", "20000")
check(r.returncode == 0, "global order: exits 0", r.stdout + r.stderr)
check("global order: completed; 40000 of 40000 transfers done; A = 1000, B = 1000, "
      "total = 2000 (expected 2000)" in r.stdout,
      "global order: every transfer completes and the balances are exact", r.stdout)

r = deadlock("--rounds", "20000")
check(r.returncode == 3, "both phases: exits 3, since the first deadlocked", r.stdout)
out = r.stdout
check(out.find("opposite order: DEADLOCK detected") < out.find("global order: completed")
      and "global order: completed" in out,
      "the default run shows the deadlock, then the fixed order completing", out)

r = deadlock("--order", "opposite", "--detect", "watchdog")
check(r.returncode == 3, "watchdog: the hung process ends with status 3", r.stdout + r.stderr)
holds = set(re.findall(r"^watchdog: thread ([12]) holds ([AB]) and waits for ([AB])$",
                       r.stdout, re.M))
check(holds == {("1", "A", "B"), ("2", "B", "A")},
      "watchdog: names who holds and who waits for which lock", r.stdout)

r = run([program("deadlock"), "--order", "global", "--detect", "watchdog", "--rounds", "20000",
         "--timeout-ms", "5000"], timeout=60)
check(r.returncode == 0 and "40000 of 40000 transfers done" in r.stdout,
      "watchdog: the global order completes and the watchdog stays quiet", r.stdout)
check("watchdog:" not in r.stdout, "watchdog: no false alarm", r.stdout)

r = deadlock("--order", "sideways")
check(r.returncode == 2, "an unknown --order is refused", r.stderr)
done()
