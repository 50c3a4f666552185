"""crash: a bad task in a process worker kills only that worker - the master reports the
signal and exits 0 with the other results; in a thread worker it kills the whole program,
which the demo shows by running that program as a child and reporting its death.

ASan catches SIGSEGV itself (it reports and exits 1 instead of dying by the signal), so
the segv runs set ASAN_OPTIONS=handle_segv=0: the same verdict in plain and ASan builds.
SIGABRT ASan leaves alone, so the abort runs need nothing."""
import os
import re
from testlib import check, done, program, run

env = dict(os.environ)
env["ASAN_OPTIONS"] = "handle_segv=0"
env["UBSAN_OPTIONS"] = env.get("UBSAN_OPTIONS", "") + " handle_segv=0"

for fault, sig, name in (("segv", 11, "SIGSEGV"), ("abort", 6, "SIGABRT")):
    r = run([program("crash"), "--workers", "process", "--fault", fault, "--ms", "1"], env=env)
    check(r.returncode == 0, f"{fault}: the process master exits 0", r.stderr)
    check(re.search(rf"task 2: worker \d+ killed by signal {sig} \({name}", r.stdout),
          f"{fault}: the master reports task 2's worker killed by {name}", r.stdout)
    for i in (0, 1, 3, 4):
        n = 1000 * (i + 1)
        check(f"task {i}: {n * (n + 1) // 2} (expected" in r.stdout,
              f"{fault}: good task {i} returned its exact result", r.stdout)
    check("tasks done: 4 of 5" in r.stdout, f"{fault}: 4 of 5 tasks done", r.stdout)

    r = run([program("crash"), "--workers", "thread", "--fault", fault, "--ms", "1"], env=env)
    check(r.returncode == 0, f"{fault}: the observer of the threaded program exits 0", r.stderr)
    check(re.search(rf"the program \(pid \d+\) killed by signal {sig} \({name}", r.stdout),
          f"{fault}: the threaded program is reported killed by {name}", r.stdout)
    check("all 5 tasks done" not in r.stdout, f"{fault}: the threaded program never finished",
          r.stdout)

r = run([program("crash"), "--ms", "1", "--tasks", "3", "--bad", "0"], env=env)
check(r.returncode == 0 and "process workers:" in r.stdout and "thread workers:" in r.stdout,
      "the default runs both variants", r.stdout + r.stderr)
r = run([program("crash"), "--tasks", "2", "--bad", "2"])
check(r.returncode == 2 and "no task 2" in r.stderr, "--bad beyond the tasks is refused",
      r.stderr)
done()
