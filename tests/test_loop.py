"""loop: every callback runs, all on the one thread that runs the loop; the timers fire in
the order of their lengths, not the order they were started; the child's exit status and
the file's byte count are right; a missing file is named with the reason."""
import re
from testlib import check, done, program, run

r = run([program("loop"), "--ms", "40"])
check(r.returncode == 0, "loop exits 0", r.stderr)
events = re.findall(r"^\[ *[\d.]+ ms\] (\d)\. (.*)$", r.stdout, re.M)
check([int(n) for n, _ in events] == [1, 2, 3, 4, 5], "five completions, numbered 1..5",
      r.stdout)
timers = [w.split(":")[0] for _, w in events if w.startswith("timer")]
check(timers == ["timer B", "timer C", "timer A"],
      "timers complete B (1 step), C (2), A (3), though started A, B, C", r.stdout)
check(any("exited with status 3 (expected 3), signal 0" in w for _, w in events),
      "the child's exit status 3 arrives as a callback", r.stdout)
check("5 of 5 callbacks ran, 5 of them on thread" in r.stdout,
      "every callback ran on the loop's thread", r.stdout)
m = re.search(r"file bytes read = (\d+) \(expected (\d+)\)", r.stdout)
check(m and m.group(1) == m.group(2), "the whole file was read", r.stdout)

r = run([program("loop"), "--file", "/no/such/file"])
check(r.returncode == 1 and "/no/such/file" in r.stderr and "No such file" in r.stderr,
      "a missing file is named with the reason", r.stderr)
done()
