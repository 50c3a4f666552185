"""spin: every worker runs its loop (threads and processes), the program reports what it
did, and the CPU count it reports is the one the process may use. No timing is asserted:
cores used depends on what else the machine runs."""
import os
import re
import sys
from testlib import check, done, program, run

modes = sys.argv[1:] or ["threads", "processes"]
cpus = len(os.sched_getaffinity(0))
for mode in modes:
    r = run([program("spin"), f"--{mode}", "3", "--seconds", "0.05"])
    check(r.returncode == 0, f"spin --{mode} 3 exits 0", r.stderr)
    loops = [int(x) for x in re.findall(r"worker \d+: (\d+) loops", r.stdout)]
    check(len(loops) == 3, f"spin --{mode} 3 reports three workers", r.stdout)
    check(all(n > 0 for n in loops), f"every {mode[:-1]} worker ran its loop", r.stdout)
    total = re.search(r"total: (\d+) loops", r.stdout)
    check(total and int(total.group(1)) == sum(loops), "the total is the sum of the workers",
          r.stdout)
    check(f"on {cpus} CPU" in r.stdout, "spin reports the CPUs it may run on", r.stdout)
    check(re.search(r"cores used: \d+\.\d\d", r.stdout) is not None, "spin reports cores used",
          r.stdout)

r = run([program("spin"), "--threads", "2", "--processes", "2"])
check(r.returncode == 2, "--threads and --processes together are refused", r.stderr)
done()
