"""tls: a _Thread_local value never crosses threads (each thread checks its own many times,
and each has its own address); the key's destructor runs exactly once for each thread that
opened a connection, in that thread, after its last line and before main joins it; none runs
for idle threads or for the main thread, which closes its own by hand. Threads only: the
test also runs under ThreadSanitizer."""
import re
from testlib import check, done, program, run

for threads, idle in ((3, 1), (6, 2), (4, 0)):
    r = run([program("tls"), "--threads", str(threads), "--idle", str(idle), "--checks", "300"])
    check(r.returncode == 0, f"tls --threads {threads} --idle {idle} exits 0", r.stderr)
    lines = r.stdout.splitlines()
    checks = re.findall(r"^(\S+): 300 checks, (\d+) saw another thread's value", r.stdout, re.M)
    check(len(checks) == threads and all(m == "0" for _, m in checks),
          f"all {threads} threads ran their checks and none saw another's value", r.stdout)
    addrs = re.findall(r"current_student lives at (0x[0-9a-f]+)", r.stdout)
    main_addr = re.search(r"main: current_student = the teacher \(expected the teacher\), "
                          r"at (0x[0-9a-f]+)", r.stdout)
    check(main_addr is not None, "main still sees its own student after the threads ran",
          r.stdout)
    check(len(set(addrs + [main_addr.group(1) if main_addr else ""])) == threads + 1,
          "every thread, main included, has its own copy (distinct addresses)", r.stdout)

    opened = dict(re.findall(r"^(\S+): opened connection (\d+)$", r.stdout, re.M))
    closed = re.findall(r"^destructor: closing connection (\d+) of (\S+)$", r.stdout, re.M)
    check(len(closed) == threads - idle,
          f"the destructor ran {threads - idle} times: once per thread that opened a "
          "connection", r.stdout)
    check(sorted(owner for _, owner in closed) == sorted(opened),
          "each destructor closed the connection of a thread that opened one, once",
          r.stdout)
    check(all(opened.get(owner) == cid for cid, owner in closed),
          "each destructor closed the connection its own thread opened", r.stdout)
    check(f"closed by the destructor: {threads - idle} (expected {threads - idle})" in r.stdout,
          "the program's own count agrees", r.stdout)
    # When: after the thread's "returning" line, before main's "joined" line.
    ordered = True
    for _, owner in closed:
        try:
            ret = lines.index(f"{owner}: returning (its connection is still open)")
            dtor = next(k for k, l in enumerate(lines)
                        if l.startswith("destructor:") and l.endswith(f" of {owner}"))
            joined = lines.index(f"main: joined {owner}")
            ordered &= ret < dtor < joined
        except (ValueError, StopIteration):
            ordered = False
    check(ordered, "each destructor runs after its thread returns and before the join ends",
          r.stdout)
    check("main: closing connection 1 of the teacher by hand" in r.stdout and
          "of the teacher\n" not in "\n".join(l for l in lines if l.startswith("destructor")),
          "no destructor runs for the main thread: it closes its connection itself", r.stdout)

r = run([program("tls"), "--threads", "2", "--idle", "3"])
check(r.returncode == 2, "more idle threads than threads is refused", r.stderr)
done()
