"""zombies: a child that has exited is state Z in /proc until it is reaped, and SIGKILL
does not remove it; an orphan is adopted by this program (a child subreaper) or, with
--no-subreaper, by the nearest subreaper above it - this test; the double-fork daemon has
a session of its own and no terminal; a pidfd waits for a non-child and waitid(P_PIDFD)
reaps a child. No process the program made is left when it ends, nor when its parent
alone is signalled (SIGINT, SIGTERM, SIGKILL) while it holds the orphan or the daemon -
the daemon included, which has left the program's session and so is followed by pid."""
import os
import re
import signal
from testlib import (become_subreaper, check, done, program, reap_orphans, run,
                     session_processes, signal_parent_alone, wait_for)


def alive(pid):
    """pid runs (exists and is no zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone(pids):
    """Every pid has ended (orphans adopted by this test are reaped while we wait)."""
    def cond():
        reap_orphans()
        return not any(alive(p) for p in pids)
    return wait_for(cond)


def pids_in(out):
    """Every pid the program names: its own and those of what it made."""
    return {int(p) for p in re.findall(r"(?:child|orphan|daemon|grandchild|forked) (\d+)",
                                       out)}


check(become_subreaper(), "the test can adopt orphans (PR_SET_CHILD_SUBREAPER)")

# The whole lesson, every mode, with the program as subreaper.
r = run([program("zombies")], timeout=120)
out = r.stdout
check(r.returncode == 0, "zombies exits 0", r.stderr)
me = re.search(r"zombies: pid (\d+), a child subreaper", out)
check(me is not None, "it says it is a child subreaper", out)
top = int(me.group(1)) if me else -1

z = re.search(r"child (\d+) has exited \(status 7\) and is not reaped: /proc/\d+/stat says "
              r"state (\w)", out)
check(z is not None and z.group(2) == "Z", "the exited, unreaped child is state Z in /proc",
      out)
check(re.search(r"kill\(\d+, SIGKILL\) returned 0, and the state is still Z", out) is not None,
      "SIGKILL does not remove a zombie", out)
if z:
    check(re.search(rf"waitpid\({z.group(1)}\): exited with status 7; /proc/{z.group(1)} is "
                    r"gone", out) is not None, "waitpid() reaps it: status 7, /proc entry gone",
          out)

o = re.search(r"grandchild (\d+): its parent, the middle child (\d+), has exited\n"
              r"/proc/\d+/stat: ppid (\d+)", out)
check(o is not None and int(o.group(3)) == top != int(o.group(2)),
      "the orphan's new parent is the program, its subreaper", out)
check(re.search(r"orphan \d+: killed by signal 15 .*reaped by us", out) is not None,
      "the program kills the orphan and reaps it", out)

d = re.search(r"daemon (\d+): the middle child (\d+) called setsid\(\).*\n/proc/\d+/stat: "
              r"ppid (\d+) \(.*\), session (\d+) \(ours is (\d+)\), process group (\d+), "
              r"controlling terminal none", out)
check(d is not None, "the daemon's ppid, session, group and terminal are shown", out)
if d:
    check(int(d.group(3)) == top, "the daemon's parent is the subreaper", out)
    check(d.group(4) == d.group(2) == d.group(6) != d.group(5),
          "the daemon is in the middle child's new session and group, not ours", out)
    check(d.group(1) != d.group(4), "the daemon is no session leader", out)
check(re.search(r"daemon \d+: killed by signal 15 .*reaped by us", out) is not None,
      "the program kills the daemon and reaps it", out)

p = re.search(r"child (\d+) forked (\d+), which is not our child", out)
check(p is not None, "the pidfd lesson names its child and the non-child", out)
if p:
    n = p.group(2)
    check(f"poll(): the pidfd of {n} is readable: it has exited" in out,
          "poll() on the non-child's pidfd reports its exit", out)
    check(re.search(rf"waitid\(P_PIDFD, {n}\): No child processes", out) is not None,
          "waitid() on a non-child's pidfd fails with ECHILD", out)
    check(re.search(rf"waitid\(P_PIDFD, {p.group(1)}\): exited with status 5 ", out)
          is not None, "waitid(P_PIDFD) reaps the child: status 5, passed on from the non-child",
          out)
made = pids_in(out) - {top}
check(len(made) >= 7, f"the run names what it made ({len(made)} pids)", out)
check(gone(made), "nothing the program made is left running", out)

# Without its own subreaper flag, the orphan goes to the nearest subreaper above it: us.
r = run([program("zombies"), "--mode", "orphan", "--no-subreaper"])
o = re.search(r"/proc/(\d+)/stat: ppid (\d+)", r.stdout)
check(r.returncode == 0 and o is not None and int(o.group(2)) == os.getpid(),
      "with --no-subreaper the orphan is adopted by the test, the subreaper above",
      r.stdout + r.stderr)
check(re.search(r"orphan \d+ has ended \(SIGTERM through its pidfd\)", r.stdout) is not None,
      "the program still ends the orphan it no longer parents", r.stdout)
if o:
    check(gone([int(o.group(1))]), "the orphan is gone")

# The parent alone is signalled while it holds the orphan or the daemon.
for mode in ("orphan", "daemon"):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        what = f"--mode {mode}, {sig.name} to the parent alone"
        rc, out, left, ready, pid = signal_parent_alone(
            [program("zombies"), "--mode", mode, "--hold", "600000"], sig,
            lambda pid, out: f"holding the {mode}" in out)
        if not check(ready, f"{what}: it holds the {mode}", out[-800:]):
            continue
        check(rc == -sig, f"{what}: it dies of {sig.name} (exit {rc})", out[-800:])
        check(not left, f"{what}: no process of its session is left", out[-800:])
        held = re.search(rf"{'grandchild' if mode == 'orphan' else 'daemon'} (\d+):", out)
        check(held is not None and gone([int(held.group(1))]),
              f"{what}: the {mode} has ended too", out[-800:])
        if held and alive(int(held.group(1))):
            os.kill(int(held.group(1)), signal.SIGKILL)
reap_orphans()
done()
