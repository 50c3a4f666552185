"""signals: each mode's exact outcome - sa_mask orders nested handlers; a blocked standard
signal sent N times is handled once, a real-time one N times in order; the self-pipe and
the signalfd deliver every signal sent when the sender waits for each to be taken (and
between 1 and N when it does not); SIGCHLDs of children exiting together coalesce into one
handler run that reaps one child or all of them; a read() interrupted by a handler fails
with EINTR without SA_RESTART and not with it. The unsafe mode always ends, in bounded
time, with one of its outcomes; no mode leaves a process behind, and signalling the
parent alone ends its children too."""
import re
import signal
import subprocess
from testlib import (become_subreaper, check, done, kill_all, program, reap_orphans,
                     session_processes, signal_parent_alone, wait_for)

SIGNALS = program("signals")


def run_alone(args, timeout=120):
    """Run signals in a session of its own; return (returncode, stdout, processes of the
    session still alive once it has ended). `timeout` is a hang guard: a run past it is
    killed and reported as returncode None."""
    p = subprocess.Popen([SIGNALS] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        rc = None
    wait_for(lambda: not session_processes(p.pid), deadline=10)
    left = session_processes(p.pid)
    kill_all(left)  # never leave them running, even on failure
    reap_orphans()
    return rc, out, left


def ends_clean(name, args, timeout=120):
    rc, out, left = run_alone(args, timeout)
    check(rc is not None, f"{name}: ends (no hang)", out[-1500:])
    check(rc == 0, f"{name}: exits 0 (exit {rc})", out[-1500:])
    check(not left, f"{name}: leaves no process behind ({len(left)} left)", out[-1500:])
    return out


def has(out, pattern, what):
    return check(re.search(pattern, out, re.M) is not None, what, out[-1500:])


check(become_subreaper(), "the test can adopt orphans (PR_SET_CHILD_SUBREAPER)")

# handler: sa_mask, immediate delivery, coalescing of standard signals, queued RT signals.
out = ends_clean("handler", ["--mode", "handler", "--signals", "500"])
has(out, r"sa_mask empty +: \(2\) ", "without SIGUSR2 in sa_mask, its handler runs inside SIGUSR1's")
has(out, r"sa_mask \{SIGUSR2\} : \(\)2 ", "with SIGUSR2 in sa_mask, its handler waits for SIGUSR1's")
blocks = re.findall(r"^  handler runs: (\d+) \(expected (\d+)\)", out, re.M)
check(len(blocks) == 3, "three handler counts are printed", out)
if len(blocks) == 3:
    check(blocks[0] == ("500", "500"), "500 unblocked SIGUSR1 to ourselves: 500 handler runs",
          out)
    check(blocks[1] == ("1", "1"), "500 SIGUSR1 while blocked: one handler run (coalesced)",
          out)
    queued = re.search(r"SIGRTMIN while blocked \((\d+) queued", out)
    check(queued and blocks[2][0] == queued.group(1) and int(queued.group(1)) >= 1,
          "every queued SIGRTMIN is handled", out)
has(out, r"pending: yes", "the blocked SIGUSR1 is pending before it is unblocked")
has(out, r"values in the order sent: yes", "real-time signals arrive in the order sent")

# selfpipe and signalfd: every signal sent is delivered when the sender waits for each.
for mode in ("selfpipe", "signalfd"):
    out = ends_clean(mode, ["--mode", mode, "--signals", "300"])
    has(out, r"^  signals delivered: 300 \(expected 300\)$",
        f"{mode}: 300 signals sent, 300 delivered")
    has(out, rf"^{mode}: the sender exited with status 0$", f"{mode}: the sender exits 0")
    if mode == "signalfd":
        m = re.search(r"the first came from pid (\d+) \(expected (\d+), the sender\); "
                      r"values in order: yes", out)
        check(m is not None and m.group(1) == m.group(2),
              "signalfd: ssi_pid names the sender; the sigqueue values come in order", out)
    # Without waiting, pending signals coalesce: at least one arrives, never more than sent.
    out = ends_clean(f"{mode} --no-wait", ["--mode", mode, "--signals", "2000", "--no-wait"])
    m = re.search(r"signals delivered: (\d+) of 2000 sent", out)
    check(m is not None and 1 <= int(m.group(1)) <= 2000,
          f"{mode} --no-wait: between 1 and 2000 of 2000 delivered", out)
    if mode == "signalfd":
        m = re.search(r"the first came from pid (\d+) \(expected (\d+), the sender\); "
                      r"values rising: yes", out)
        check(m is not None and m.group(1) == m.group(2),
              "signalfd --no-wait: the values that arrive still rise (gaps, no disorder)", out)

# sigchld: the held phases are exact; the live one reaps every child.
out = ends_clean("sigchld", ["--mode", "sigchld", "--children", "12"])
counts = re.findall(r"^    ([a-z ,()-]+): (\d+) \(expected (\d+)\)$", out, re.M)
check(len(counts) == 7, "sigchld prints seven counts", out)
check(all(got == want for _, got, want in counts), "every sigchld count is as expected", out)
if len(counts) == 7:
    check([c[1] for c in counts[:3]] == ["1", "1", "11"],
          "one waitpid per signal: 1 handler run, 1 child reaped, 11 zombies left", out)
    check([c[1] for c in counts[3:6]] == ["1", "12", "0"],
          "waitpid loop: 1 handler run reaps all 12 children, no zombie left", out)
    check(counts[6][1] == "12", "live: all 12 children reaped", out)
m = re.search(r"handler runs: (\d+) for 12 exits", out)
check(m is not None and 1 <= int(m.group(1)) <= 12, "live: between 1 and 12 handler runs", out)

# restart: EINTR without SA_RESTART, not with it; the data is read either way.
out = ends_clean("restart", ["--mode", "restart"])
without, _, with_ = out.partition("with SA_RESTART\n")
check("without SA_RESTART" in without and with_ != "", "restart runs both phases", out)
check("read() returned -1, errno EINTR" in without and "EINTR seen: yes (expected yes)" in
      without, "without SA_RESTART, the interrupted read() fails with EINTR", out)
check("errno EINTR" not in with_ and "EINTR seen: no (expected no)" in with_,
      "with SA_RESTART, the read() is restarted: no EINTR", out)
check(out.count("read() returned 5 bytes, 'hello'; the handler ran 1 time") == 2,
      "both children read the data after exactly one handler run", out)

# unsafe: whatever happens in the child, the mode ends with one outcome, reaps the child.
for i in range(3):
    out = ends_clean(f"unsafe run {i + 1}", ["--mode", "unsafe", "--ms", "200"])
    outcomes = re.findall(r"^unsafe: outcome: (finished|deadlocked|crashed)", out, re.M)
    check(len(outcomes) == 1, f"unsafe run {i + 1}: one outcome ({outcomes})", out)
    if outcomes == ["deadlocked"]:
        check("the child's stack" in out or "no stack" in out,
              f"unsafe run {i + 1}: a deadlocked child's stack is shown (or said missing)", out)

# The default runs every mode and exits 0.
out = ends_clean("all modes", ["--ms", "200"])
for mode in ("handler", "unsafe", "selfpipe", "signalfd", "sigchld", "restart"):
    check(re.search(rf"^{mode}: ", out, re.M) is not None, f"all modes: {mode} ran", out[-800:])

# Signalled in the parent alone, with its children at work, it leaves none behind. The
# unsafe child never notices on its own that its parent is gone (it loops, or sleeps on a
# lock for ever): only end_with_parent() ends it. The senders would also see their ack
# pipe close.
LONG = {"unsafe": ["--mode", "unsafe", "--ms", "600000"],
        "selfpipe": ["--mode", "selfpipe", "--signals", "1000000000"],
        "signalfd": ["--mode", "signalfd", "--signals", "1000000000"]}
for name, args in LONG.items():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        what = f"{name}, {sig.name} to the parent alone"
        rc, out, left, ready, _ = signal_parent_alone(
            [SIGNALS] + args, sig, lambda pid, out: len(session_processes(pid)) >= 2)
        if not check(ready, f"{what}: its child started", out[-800:]):
            continue
        check(rc == -sig, f"{what}: it dies of {sig.name} (exit {rc})", out[-800:])
        check(not left, f"{what}: no process of its session is left ({len(left)} left)",
              out[-800:])
done()
