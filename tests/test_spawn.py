"""spawn: every child is started and joined, each exit status is reported and matches,
a crashing child is reported by its signal and the parent carries on, joining in order
follows the start order and joining 'any' follows the finish order."""
import re
from testlib import check, done, program, run

def joined(out):
    return [(int(m.group(1)), m.group(3)) for m in
            re.finditer(r"joined child (\d+) \(pid (\d+)\): (.*)", out)]

r = run([program("spawn"), "--children", "5", "--ms", "5"])
check(r.returncode == 0, "spawn exits 0", r.stderr)
j = joined(r.stdout)
check([i for i, _ in j] == [0, 1, 2, 3, 4], "join in order reaps children 0..4 in order", r.stdout)
check(all(how.startswith(f"exited with status {i} ") for i, how in j),
      "child i exits with status i", r.stdout)
pids = re.findall(r"started child \d+ as pid (\d+)", r.stdout)
check(len(set(pids)) == 5, "five distinct child pids", r.stdout)
check("0 did not exit normally" in r.stdout, "summary counts no failures", r.stdout)

# Child i works (N - i) * ms: with a step of 40 ms the finish order is the reverse of the
# start order. Even on a loaded machine the sleeps end in that order, since each child's
# sleep starts before the next one's and is 40 ms longer.
r = run([program("spawn"), "--children", "4", "--ms", "40", "--join", "any"])
check(r.returncode == 0, "spawn --join any exits 0", r.stderr)
check([i for i, _ in joined(r.stdout)] == [3, 2, 1, 0],
      "join any reaps in finish order (3, 2, 1, 0)", r.stdout)

r = run([program("spawn"), "--children", "3", "--ms", "5", "--crash", "1"])
check(r.returncode == 0, "spawn --crash 1 still exits 0 (the parent survives)", r.stderr)
j = dict(joined(r.stdout))
check(j.get(1, "").startswith("killed by signal 6 (SIGABRT"),
      "the crashed child is reported killed by SIGABRT", r.stdout)
check(j.get(0, "").startswith("exited with status 0") and
      j.get(2, "").startswith("exited with status 2"), "the other children exit normally",
      r.stdout)
check("1 did not exit normally" in r.stdout, "summary counts one failure", r.stdout)

r = run([program("spawn"), "--children", "2", "--crash", "2"])
check(r.returncode == 2 and "no child 2" in r.stderr, "--crash beyond the children is refused",
      r.stderr)
done()
