"""A bench whose peer process dies never hangs: the peer of a two-process run is killed with
SIGKILL mid-run, and the bench must stop with exit status 1 and say what happened - at
once where the channel reports end-of-file (pipes), within its 10 s peer timeout where
nothing does (a futex word in shared memory). Bounded: each run is killed at 60 s."""
import os
import signal
import subprocess
import time
from testlib import check, done, program


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


CASES = [("ipc", "pipe-processes/same-cpu"), ("ipc", "shm-futex-processes/same-cpu"),
         ("ctxswitch", "pipe-processes/same-cpu")]
for bench, variant in CASES:
    # Rounds enough to outlast the kill (ctxswitch first times its in-task rounds alone).
    rounds = "2000000" if bench == "ctxswitch" else "100000000"
    p = subprocess.Popen([program(f"bench_{bench}"), "--variant", variant, "--repeat", "1",
                          "--warmup", "0", "--rounds", rounds]
                         + (["--sizes", "0"] if bench == "ctxswitch" else []),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Wait (bounded) for the peer process to exist, then kill it.
    deadline, kids = time.monotonic() + 20, []
    while not kids and time.monotonic() < deadline and p.poll() is None:
        kids = children(p.pid)
        time.sleep(0.01)
    check(bool(kids), f"{bench} {variant}: the peer process started")
    for k in kids:
        os.kill(k, signal.SIGKILL)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        check(False, f"{bench} {variant}: stops after its peer is killed (it hung)")
        continue
    check(p.returncode == 1, f"{bench} {variant}: exits 1 after its peer is killed",
          f"exit {p.returncode}: {err[-800:]}")
    check("FAILED" in err and ("stopped answering" in err or "killed by signal" in err),
          f"{bench} {variant}: says the peer stopped", err[-800:])
done()
