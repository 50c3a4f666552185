"""bounded_buffer: every correct ring - condition variables waited on in a while loop (signal
and broadcast wakeups), semaphores, the lock-free single-producer single-consumer ring -
delivers every item exactly once, also with more producers and consumers than slots, and
exits 0; `--wrong if` loses and repeats items (the stolen wakeup), says so and exits 1;
contradictory flags exit 2. The outcome lines are checked exactly, and add up: taken =
items - missing + duplicated + nothing. Threads only: the test also runs under
ThreadSanitizer, whose verdict on every mode must be clean (the wrong `if` is a logic bug
with every access under the lock, not a data race)."""
import re
from testlib import check, done, program, run


def bounded_buffer(*args):
    # A hang guard only: every run here is small and ends in well under a second when idle.
    return run([program("bounded_buffer")] + [str(a) for a in args], timeout=120)


def outcome(out):
    """(taken, expected, duplicated, missing, nothing) from the output, or None."""
    m = re.search(r"^consumed (\d+) \(expected (\d+)\): duplicated (\d+), missing (\d+), "
                  r"nothing (\d+) \(expected 0 each\)$", out, re.M)
    return tuple(int(g) for g in m.groups()) if m else None


def ring_faults(out):
    """(empty takes, full puts) of the condition-variable ring, or None."""
    m = re.search(r"^took from an empty ring (\d+), put into a full ring (\d+)", out, re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


# Correct rings: more producers and consumers than slots, so every thread waits often.
CORRECT = [
    ("condvar, signal", ["--producers", 3, "--consumers", 5, "--capacity", 2]),
    ("condvar, broadcast", ["--producers", 5, "--consumers", 3, "--capacity", 1,
                            "--wake", "broadcast"]),
    ("semaphores", ["--semaphores", "--producers", 4, "--consumers", 6, "--capacity", 2]),
    ("semaphores, 1 slot", ["--semaphores", "--producers", 6, "--consumers", 2,
                            "--capacity", 1]),
    ("spsc", ["--spsc", "--producers", 1, "--consumers", 1, "--capacity", 3]),
]
for name, args in CORRECT:
    items = 5000
    r = bounded_buffer(*args, "--items", items, "--rounds", 2)
    producers = int(args[args.index("--producers") + 1])
    total = producers * items
    check(r.returncode == 0, f"{name}: exits 0", f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    check(outcome(r.stdout) == (total, total, 0, 0, 0),
          f"{name}: all {total} items consumed exactly once, nothing lost or repeated",
          r.stdout)
    check("conservation holds: every item consumed exactly once in every round" in r.stdout,
          f"{name}: says conservation holds", r.stdout)
    if name.startswith("condvar"):
        check(ring_faults(r.stdout) == (0, 0), f"{name}: no take from empty, no put into full",
              r.stdout)
        check(re.search(r"^woken to find the ring still empty or full, and waited again: "
                        r"\d+ times?$", r.stdout, re.M) is not None,
              f"{name}: counts the wakeups the while loop absorbed", r.stdout)
    check("ThreadSanitizer" not in r.stderr, f"{name}: no sanitizer report", r.stderr[-1500:])

# The stolen wakeup. One slot, four consumers woken all at once for each item: all but the
# first find the item gone, and with `if` they take anyway. Rounds repeat (at most 1000)
# until one breaks, so the check does not depend on one lucky schedule.
for wake in ("broadcast", "signal"):
    r = bounded_buffer("--wrong", "if", "--wake", wake, "--producers", 1, "--consumers", 4,
                       "--capacity", 1, "--items", 2000)
    name = f"--wrong if --wake {wake}"
    check(r.returncode == 1, f"{name}: exits 1 (conservation failed)",
          f"exit {r.returncode}\n{r.stdout}{r.stderr}")
    o, faults = outcome(r.stdout), ring_faults(r.stdout)
    check(o is not None and faults is not None, f"{name}: prints the outcome", r.stdout)
    if o and faults:
        taken, total, dup, missing, nothing = o
        check(total == 2000 and (dup > 0 or missing > 0 or nothing > 0),
              f"{name}: items were lost or repeated", r.stdout)
        check(faults[0] > 0, f"{name}: consumers took from an empty ring", r.stdout)
        check(taken == total - missing + dup + nothing,
              f"{name}: the tallies add up (taken = items - missing + duplicated + nothing)",
              r.stdout)
    check(re.search(r"^round \d+ of at most 1000 \(the first that broke\):$", r.stdout, re.M)
          is not None, f"{name}: names the round that broke", r.stdout)
    check(re.search(r"^conservation FAILED in round \d+", r.stdout, re.M) is not None,
          f"{name}: says conservation failed", r.stdout)
    check("ThreadSanitizer" not in r.stderr,
          f"{name}: no data race (every access is under the lock; the bug is logic)",
          r.stderr[-1500:])

# The wrong `if` on the producer side: two producers, one slot, one consumer: a producer
# woken for a free slot that the other producer filled first puts into a full ring.
r = bounded_buffer("--wrong", "if", "--wake", "broadcast", "--producers", 2, "--consumers", 1,
                   "--capacity", 1, "--items", 2000)
faults = ring_faults(r.stdout)
check(r.returncode == 1 and faults is not None and faults[1] > 0,
      "--wrong if with 2 producers: puts into a full ring, exits 1", r.stdout + r.stderr)

# Flags that contradict each other are usage errors.
for args in (["--spsc", "--producers", 2], ["--semaphores", "--wrong", "if"],
             ["--semaphores", "--wake", "broadcast"], ["--producers", 64, "--items", 2000000]):
    r = bounded_buffer(*args)
    check(r.returncode == 2 and "--help" in r.stderr and r.stdout == "",
          f"bounded_buffer {' '.join(map(str, args))} exits 2 and says why",
          f"exit {r.returncode}: {r.stderr}")
done()
