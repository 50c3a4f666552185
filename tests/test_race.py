"""race: every protected mode (mutex, spin, atomic) ends at exactly the expected balance with
no update lost; the unprotected mode under a forced interleaving loses exactly the updates
the schedule predicts; every mode exits 0. With the argument `tsan` (the ThreadSanitizer
build) it checks the sanitizer's verdicts instead: `--lock none` is reported as a data
race, the protected modes and the forced schedule are clean.
By default each thread is pinned to a CPU of its own (two or more CPUs): then the unlocked
run loses updates (checked over a few trials, never on timing); with only one CPU the
program says it cannot pin and carries on; --pin off is accepted."""
import os
import re
import subprocess
import sys
from testlib import PYTHON, SRC, check, done, program, run


def outcome(out):
    """(balance, lost, total) from race's output, or None when the lines are missing."""
    b = re.search(r"^balance = (-?\d+) \(expected 0\)$", out, re.M)
    lost = re.search(r"^lost updates = (\d+) of (\d+)$", out, re.M)
    if not b or not lost:
        return None
    return int(b.group(1)), int(lost.group(1)), int(lost.group(2))


def race(*args, timeout=120):
    return run([program("race")] + [str(a) for a in args], timeout=timeout)


if sys.argv[1:] == ["tsan"]:
    r = race("--lock", "none", "--rounds", "20000")
    check(r.returncode == 66, "TSan: race --lock none exits with TSan's status 66",
          f"exit {r.returncode}\n{r.stderr[-1500:]}")
    check("WARNING: ThreadSanitizer: data race" in r.stderr,
          "TSan reports --lock none as a data race", r.stderr[-1500:])
    check("change_unlocked" in r.stderr, "the report points at change_unlocked()",
          r.stderr[-1500:])
    for lock in ("mutex", "spin", "atomic"):
        r = race("--lock", lock, "--rounds", "20000")
        check(r.returncode == 0 and "ThreadSanitizer" not in r.stderr,
              f"TSan: race --lock {lock} is clean", f"exit {r.returncode}\n{r.stderr[-1500:]}")
        check(outcome(r.stdout) == (0, 0, 80000), f"TSan: --lock {lock} still ends at 0",
              r.stdout)
    # Losses without a data race: the forced schedule orders every access through a mutex,
    # so TSan has nothing to report, yet updates are lost. A race detector finds
    # unsynchronised accesses, not wrong logic.
    r = race("--lock", "none", "--interleave", "--rounds", "20")
    check(r.returncode == 0 and "ThreadSanitizer" not in r.stderr,
          "TSan: the forced interleaving is clean (ordered, but still wrong)", r.stderr[-1500:])
    check(outcome(r.stdout) == (60, 40, 80), "TSan: the forced interleaving still loses 40",
          r.stdout)
    done()

# Protected modes: exact, whatever the timing, with 2 and with 4 threads.
for lock in ("mutex", "spin", "atomic"):
    for threads in (2, 4):
        r = race("--lock", lock, "--threads", threads, "--rounds", 20000)
        check(r.returncode == 0, f"race --lock {lock} --threads {threads} exits 0", r.stderr)
        check(outcome(r.stdout) == (0, 0, 2 * threads * 20000),
              f"--lock {lock}, {threads} threads: balance 0, nothing lost", r.stdout)
        check(re.search(r"^time per round: \d+\.\d ns", r.stdout, re.M) is not None,
              f"--lock {lock} reports the time per round", r.stdout)

# The forced interleaving: all threads read, then all write. Per round and thread count N,
# 2(N-1) updates are lost and the balance moves by n_last - n_first = 3(N-1).
for threads, rounds in ((2, 50), (3, 20), (1, 10)):
    r = race("--lock", "none", "--interleave", "--threads", threads, "--rounds", rounds)
    check(r.returncode == 0, f"race --interleave --threads {threads} exits 0", r.stderr)
    want = (3 * (threads - 1) * rounds, 2 * (threads - 1) * rounds, 2 * threads * rounds)
    check(outcome(r.stdout) == want,
          f"--interleave, {threads} threads x {rounds} rounds: balance {want[0]}, "
          f"{want[1]} of {want[2]} updates lost", r.stdout)
    check(f"predicts: balance = {want[0]}, lost updates = {want[1]}" in r.stdout,
          "the program states the prediction it meets", r.stdout)

# Unprotected, unforced: the outcome depends on timing, so only its shape is checked -
# it runs to the end, exits 0 and reports numbers that make sense.
for extra in ([], ["--window", "50", "--rounds", "20000"]):
    r = race("--lock", "none", *extra)
    o = outcome(r.stdout)
    check(r.returncode == 0 and o is not None, f"race --lock none {' '.join(extra)} exits 0 "
          "and reports balance and losses", r.stdout + r.stderr)
    if o:
        check(0 <= o[1] <= o[2], "lost updates lie between 0 and the total", r.stdout)

# Pinned (the default): the threads run at the same moment on two CPUs, so updates are lost.
# One trial could still be unlucky (a busy machine may stop one CPU for the whole run), so
# the check is over five: at least one must lose updates.
if len(os.sched_getaffinity(0)) >= 2:
    r = race("--lock", "none", "--trials", 5)
    lost = re.search(r"^drifted in \d+ of 5 trials; updates lost in (\d+)$", r.stdout, re.M)
    check(r.returncode == 0 and "pinned: thread i on CPU" in r.stdout,
          "race pins each thread to its own CPU by default", r.stdout)
    check(lost is not None and int(lost.group(1)) >= 1,
          "pinned, unlocked: updates are lost (in at least 1 of 5 trials)", r.stdout)
    for lock in ("mutex", "spin", "atomic"):
        r = race("--lock", lock, "--trials", 3, "--rounds", 20000)
        check(r.returncode == 0 and "pinned: thread i on CPU" in r.stdout
              and "drifted in 0 of 3 trials; updates lost in 0" in r.stdout,
              f"pinned, --lock {lock}: exact in every trial", r.stdout)
r = race("--lock", "none", "--pin", "off", "--rounds", 1000)
check(r.returncode == 0 and "threads not pinned" in r.stdout and outcome(r.stdout),
      "--pin off: runs with the scheduler placing the threads", r.stdout + r.stderr)
# One CPU: pinning to separate CPUs is impossible; the program says so and carries on.
cpu = min(os.sched_getaffinity(0))
p = subprocess.run([program("race"), "--lock", "none", "--rounds", "20000"],
                   capture_output=True, text=True, timeout=120,
                   preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
check(p.returncode == 0 and "cannot pin the threads to separate CPUs" in p.stdout
      and outcome(p.stdout) is not None, "one CPU: says it cannot pin, and carries on",
      p.stdout + p.stderr)
r = race("--pin", "sometimes")
check(r.returncode == 2 and "--pin" in r.stderr, "an unknown --pin is refused", r.stderr)

r = race("--lock", "mutex", "--trials", 3, "--rounds", 1000)
check(r.returncode == 0 and "drifted in 0 of 3 trials" in r.stdout,
      "--trials counts drifted runs (none with a mutex)", r.stdout)
check(len(re.findall(r"^trial \d+: balance = 0 \(expected 0\), lost updates = 0 of 4000$",
                     r.stdout, re.M)) == 3, "--trials prints one line per trial", r.stdout)
# The Python peer (bench/peers/race.py) keeps the same output contract as the C trials.
peer = os.path.join(SRC, "bench", "peers", "race.py")
for gap in ("none", "call"):
    r = run([PYTHON, peer, "--rounds", "200", "--trials", "3", "--gap", gap])
    trials = re.findall(r"^trial (\d+): balance = (-?\d+) \(expected 0\)$", r.stdout, re.M)
    summary = re.search(r"^drifted in (\d+) of 3 trials$", r.stdout, re.M)
    check(r.returncode == 0 and [k for k, _ in trials] == ["1", "2", "3"] and summary,
          f"race.py --gap {gap}: one line per trial and a summary", r.stdout + r.stderr)
    if summary:
        check(int(summary.group(1)) == sum(b != "0" for _, b in trials),
              f"race.py --gap {gap}: the summary counts the trials that drifted", r.stdout)
r = run([PYTHON, peer, "--trials", "0"])
check(r.returncode == 2, "race.py refuses --trials 0", r.stderr)

r = race("--lock", "mutex", "--interleave")
check(r.returncode == 2 and "--lock none" in r.stderr,
      "--interleave with a lock is refused (it would deadlock)", r.stderr)
r = race("--lock", "sometimes")
check(r.returncode == 2 and "sometimes" in r.stderr, "an unknown --lock is refused", r.stderr)
done()
