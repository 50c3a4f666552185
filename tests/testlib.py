"""testlib.py - the little every test script shares.

Each test is a plain Python script that CTest runs; it exits 0 when every check held and
1 (after printing what failed) otherwise. Programs come from $BIN_DIR (build/bin), sources
from $SRC_DIR. Tests check behaviour - exit codes, exact outputs, sums, formats - never
how long something took.
"""
import os
import subprocess
import sys

BIN = os.environ.get("BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
SRC = os.environ.get("SRC_DIR", os.path.join(os.path.dirname(__file__), ".."))
PYTHON = sys.executable or "python3"

sys.path.insert(0, os.path.join(SRC, "scripts"))
import csvformat  # noqa: E402  (scripts/csvformat.py: the result format, read from lib/core.h)

_failures = []


def program(name):
    """Path of a built program."""
    return os.path.join(BIN, name)


def run(args, timeout=60, input=None, env=None):
    """Run args (a list), return CompletedProcess with text stdout/stderr. Never hangs:
    a run past `timeout` seconds is killed and counted as a failure by the caller."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          input=input, env=env)


def check(cond, what, detail=""):
    """Record one check; print it either way so a failing log reads top to bottom."""
    status = "ok  " if cond else "FAIL"
    print(f"{status} {what}" + (f"\n     {detail}" if (detail and not cond) else ""))
    if not cond:
        _failures.append(what)
    return cond


def parse_csv(text):
    """Parse the suite's CSV format strictly (csvformat.parse: the exact header from
    lib/core.h, every field, finite x and value, a known stat). Returns a list of dicts;
    raises ValueError when malformed."""
    return csvformat.parse(text)


def metric(rows, name, variant=None):
    """The value of metric `name` (the only value row - stat median or raw - with that
    name, optionally in `variant`)."""
    found = [r["value"] for r in rows if r["metric"] == name
             and r["stat"] in csvformat.VALUE_STATS
             and (variant is None or r["variant"] == variant)]
    if len(found) != 1:
        raise KeyError(f"{len(found)} rows for metric {name!r}")
    return found[0]


def done():
    """Exit with the verdict of every check made."""
    if _failures:
        print(f"\n{len(_failures)} check(s) failed:")
        for f in _failures:
            print(f"  - {f}")
        sys.exit(1)
    print("\nall checks passed")
    sys.exit(0)


def interrupt_after_first_line(args, timeout=60, linger=10):
    """Start args in a new process group, wait for its first line of output, send SIGINT
    to the whole group (what Ctrl-C in a terminal does), and wait for it to end, then at
    most `linger` seconds for the group's processes to be gone (a child killed by its
    parent's death is still exiting for a moment after the parent has been reaped: under
    ASan, unmapping its shadow memory takes a while). Returns (returncode, stdout,
    processes of the group still alive afterwards), killing those by pid."""
    import signal
    import time
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    first = p.stdout.readline()
    os.killpg(p.pid, signal.SIGINT)
    try:
        rest, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rest, _ = p.communicate()
    left = group_processes(p.pid)
    until = time.monotonic() + linger
    while left and time.monotonic() < until:
        time.sleep(0.01)                   # polling interval, not synchronisation
        left = group_processes(p.pid)
    kill_all(left)  # never leave them running, even on failure
    return p.returncode, first + rest, left


def wait_for(cond, deadline=20):
    """Poll cond() until it is true or `deadline` seconds pass (a hang guard, not a
    timing); return its last value. The wait ends when the state is there."""
    import time
    end = time.monotonic() + deadline
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.01)                   # polling interval, not synchronisation


def finish(p, sig=None, timeout=20):
    """Send sig (if given and p still runs), then wait at most `timeout` seconds (a hang
    guard: SIGKILL after that, and say so in stderr); returns (returncode, stdout, stderr).
    The one way the tests end a server or client they started."""
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err = (err or "") + "\n(killed: no exit within the timeout)"
    return p.returncode, out, err


def dies_with_test():
    """A preexec_fn that makes the child get SIGKILL when this test process ends (prctl
    PR_SET_PDEATHSIG), so a server a failing test never reached the end to stop cannot
    outlive it. Use it for children started from the main thread: the signal follows the
    thread that forked."""
    import ctypes
    import signal
    libc = ctypes.CDLL(None, use_errno=True)

    def arm():
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)            # 1: PR_SET_PDEATHSIG
    return arm


def finish_reading(p, timeout=60):
    """The rest of p's stdout and all of its stderr (text mode), once a loop has read some
    of stdout line by line, and p's end. Not p.communicate(): it reads the pipe's
    descriptor directly and skips the lines the text wrapper has already buffered (seen as
    a master's result lines missing from what the test read). `timeout` kills p, as a hang
    guard, not a timing."""
    import threading
    err = []
    drain = threading.Thread(target=lambda: err.append(p.stderr.read() if p.stderr else ""),
                             daemon=True)
    drain.start()
    guard = threading.Timer(timeout, p.kill)
    guard.start()
    rest = p.stdout.read()
    p.wait()
    guard.cancel()
    drain.join(timeout)
    return rest, err[0] if err else ""


def kill_all(pids):
    """SIGKILL every pid of a list; those already gone are skipped (a process may end
    between the look in /proc and the kill)."""
    import signal
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def group_processes(pgid):
    """Pids of the live (not zombie) processes of process group `pgid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":     # field 5: the group
                found.append(int(entry))
    return found


def session_processes(sid):
    """Pids of the live (not zombie) processes whose session id is `sid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue                       # it ended while we looked
        if int(fields[3]) == sid and fields[0] != "Z":   # field 6 of stat: the session
            found.append(int(entry))
    return found


def become_subreaper():
    """Make this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER): an orphan of a
    program we start is then re-parented to us, not to init, so we can reap it and it
    cannot hide as someone else's child. Returns True when the kernel accepted."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0          # 36: PR_SET_CHILD_SUBREAPER


def reap_orphans():
    """Reap every child that has ended (orphans adopted as a subreaper); never blocks."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def signal_parent_alone(args, sig, ready, deadline=30, linger=10):
    """Start args in a session of its own, wait until ready(pid, output_so_far) is true
    (polled, bounded by `deadline` seconds: a hang guard, not a timing), send `sig` to
    the parent ALONE (what kill -INT PID does, unlike Ctrl-C, which signals the whole
    foreground group), and wait for the parent to end and then, at most `linger` seconds,
    for every process of its session to be gone (the program's children must work longer
    than that, or an orphan could pass by finishing on its own). Returns (returncode or None if it hung, output, survivors, was
    ready, the parent's pid). Whatever survives is SIGKILLed by pid before returning."""
    import threading
    import time
    out = []
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    drain = threading.Thread(target=lambda: out.extend(iter(p.stdout.readline, "")),
                             daemon=True)
    drain.start()
    until = time.monotonic() + deadline
    is_ready = False
    while time.monotonic() < until and p.poll() is None:
        if ready(p.pid, "".join(out)):
            is_ready = True
            break
        time.sleep(0.01)                   # polling interval, not synchronisation
    rc = None
    if p.poll() is None:
        os.kill(p.pid, sig)
    try:
        rc = p.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        pass                               # a hang: rc stays None
    survivors = session_processes(p.pid)
    until = time.monotonic() + linger
    while survivors and time.monotonic() < until:
        reap_orphans()
        time.sleep(0.01)
        survivors = session_processes(p.pid)
    kill_all(survivors + ([p.pid] if rc is None else []))
    if rc is None:
        p.wait()
    reap_orphans()
    drain.join(timeout=deadline)
    return rc, "".join(out), survivors, is_ready, p.pid
