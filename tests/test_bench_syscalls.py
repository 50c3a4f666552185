"""bench_syscalls counts what a server does per request: with strace present, every request
of a keep-alive client costs the server at least one read and one write (a count below 1
means strace missed threads or processes), the families it names add up to no more than
the total, and an event loop on epoll makes no io_uring_enter. server_uv is one process;
server_prefork's workers (one per connection, 64 by default: server_prefork_64w) exist
before strace attaches, so they must each be named with -p (strace -f alone follows only
children started later). Skipped (77) without strace."""
import shutil
import sys
from testlib import check, done, metric, parse_csv, program, run

if not shutil.which("strace"):
    print("strace is not installed: skipped")
    sys.exit(77)

FAMILIES = ("read", "write", "wait", "uring_enter", "accept", "other")
for model in ("server_uv", "server_prefork_64w"):
    r = run([program("bench_syscalls"), "--variant", model, "--requests", "300",
             "--repeat", "1"], timeout=120)
    check(r.returncode == 0, f"bench_syscalls --variant {model} exits 0", r.stderr[-1500:])
    rows = parse_csv(r.stdout) if r.returncode == 0 else []
    if not rows:
        continue
    per = {m: metric(rows, f"{m}_per_req", model) for m in ("syscalls", "ctxsw") + FAMILIES}
    check(per["syscalls"] > 0, f"{model}: system calls per request > 0", str(per))
    check(per["read"] >= 1 and per["write"] >= 1,
          f"{model}: at least one read and one write per request (every process traced)",
          str(per))
    named = sum(per[m] for m in FAMILIES)
    check(abs(named - per["syscalls"]) < 1e-6 and per["other"] >= 0,
          f"{model}: the families add up to the total", str(per))
    check(per["uring_enter"] == 0, f"{model}: no io_uring_enter on epoll", str(per))
    check(per["ctxsw"] >= 0, f"{model}: context switches counted", str(per))
r = run([program("bench_syscalls"), "--requests", "0"])
check(r.returncode == 2 and "--requests" in r.stderr, "--requests 0 is refused", r.stderr)
done()
