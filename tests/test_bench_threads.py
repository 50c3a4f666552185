"""The thread-only series of the benches, one tiny run each, so that ThreadSanitizer (make
test SANITIZE=thread) checks the harness's peer threads, the futex hand-off, the shared-
memory ring, the libuv hand-offs and the bounded buffers: each run exits 0 with its rows.
(The process series fork, which TSan cannot follow; the coroutine series switches stacks,
which it does not support.)"""
from testlib import check, done, parse_csv, program, run

RUNS = [("ctxswitch", v, ["--rounds", "20", "--sizes", "0"]) for v in
        ("pipe-threads/same-cpu", "futex-threads/same-cpu", "futex-threads/unpinned",
         "event-loop/same-cpu")]
RUNS += [("ipc", f"{t}-threads/same-cpu", ["--rounds", "10", "--blocks", "8"]) for t in
         ("pipe", "socketpair", "tcp", "shm-futex", "mqueue")]
RUNS += [("create", v, ["--iterations", "3"]) for v in
         ("pthread_create+join", "uv_queue_work", "uv_timer")]
RUNS += [("buffer", v, ["--seconds", "0.01"]) for v in
         ("condvar", "semaphores", "pipe-threads", "spsc", "condvar-1xN", "semaphores-Nx1")]

for bench, variant, extra in RUNS:
    r = run([program(f"bench_{bench}"), "--variant", variant, "--repeat", "1", "--warmup", "0"]
            + extra, timeout=120)
    ok = r.returncode == 0
    try:
        rows = parse_csv(r.stdout) if ok else []
    except ValueError:
        rows = []
    check(ok and rows and all(x["variant"] == variant for x in rows),
          f"bench_{bench} --variant {variant} runs clean", r.stderr[-2000:])
done()
