"""threads: N named threads run in one process (one pid, N + 1 distinct tids, the main
thread's tid is the pid), the kernel lists exactly N + 1 tasks under their names while they
exist, each thread counts every step in order, and all are joined. Threads only: the test
also runs under ThreadSanitizer."""
import os
import re
from testlib import check, done, program, run

for n, steps in ((2, 3), (5, 4)):
    r = run([program("threads"), "--threads", str(n), "--steps", str(steps)])
    check(r.returncode == 0, f"threads --threads {n} exits 0", r.stderr)
    main = re.search(r"^main thread '([^']+)': pid (\d+), tid (\d+)", r.stdout, re.M)
    check(main is not None and main.group(2) == main.group(3),
          "the main thread's tid is the pid", r.stdout)
    if not main:
        continue
    pid = main.group(2)
    ids = re.findall(r"^LoopThread-(\d+): pid (\d+), tid (\d+)$", r.stdout, re.M)
    check(sorted(int(i) for i, _, _ in ids) == list(range(1, n + 1)),
          f"LoopThread-1 .. LoopThread-{n} report in", r.stdout)
    check(all(p == pid for _, p, _ in ids), "every thread reports the process's pid", r.stdout)
    tids = {t for _, _, t in ids} | {pid}
    check(len(tids) == n + 1, "every thread has its own tid", r.stdout)
    tasks = dict(re.findall(r"^  task (\d+): (\S+)$", r.stdout, re.M))
    # A sanitizer's runtime may start a helper thread of its own (ThreadSanitizer does);
    # it inherits main's name. Any other extra task would be a bug.
    extra = {t: name for t, name in tasks.items() if t not in tids}
    check(tids <= set(tasks) and all(name == tasks.get(pid) for name in extra.values()),
          "the kernel's task list is main and the threads (and at most a runtime helper)",
          r.stdout)
    check(all(tasks.get(t) == f"LoopThread-{i}" for i, _, t in ids),
          "the kernel knows each thread by the name it gave itself", r.stdout)
    check(tasks.get(pid) == os.path.basename(program("threads"))[:15],
          "the main thread's name is the program's", r.stdout)
    check(f"main: {len(tasks)} tasks (expected {n + 1}" in r.stdout,
          "main counts the tasks it listed", r.stdout)
    for i in range(1, n + 1):
        counted = [int(c) for c in re.findall(rf"^LoopThread-{i} >>> (\d+)$", r.stdout, re.M)]
        check(counted == list(range(1, steps + 1)), f"LoopThread-{i} counts 1..{steps} in order",
              r.stdout)
    check(f"{n * steps} steps in all (expected {n * steps})" in r.stdout,
          "main sums every thread's steps after joining", r.stdout)
done()
