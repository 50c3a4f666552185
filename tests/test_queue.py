"""queue: N writers x M readers through a framed pipe and through a POSIX message queue -
every record received exactly once, each reader sees each writer's records in the order
written, every reader stops on its sentinel (exit 0), and no process or queue is left.
Checked from the records the readers print, not only from the program's summary."""
import collections
import os
import re
from testlib import check, done, interrupt_after_first_line, program, run

WRITERS, READERS, RECORDS = 3, 4, 400


def alive(pid):
    """True if pid still exists as a process that is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def mqueues():
    try:
        return {n for n in os.listdir("/dev/mqueue") if n.startswith("queue.")}
    except OSError:
        return set()     # /dev/mqueue not mounted: nothing to look at


for via in ("pipe", "mq"):
    before = mqueues()
    r = run([program("queue"), "--via", via, "--writers", str(WRITERS), "--readers",
             str(READERS), "--records", str(RECORDS), "--print"], timeout=60)
    check(r.returncode == 0, f"{via}: exits 0", r.stderr[-2000:])
    got = [tuple(int(x) for x in m.groups()) for m in
           re.finditer(r"^reader (\d+): writer (\d+) record (\d+)$", r.stdout, re.M)]
    counts = collections.Counter((w, s) for _, w, s in got)
    expected = {(w, s) for w in range(WRITERS) for s in range(RECORDS)}
    check(set(counts) == expected, f"{via}: every record received",
          f"{len(expected - set(counts))} missing, {len(set(counts) - expected)} unknown")
    check(all(n == 1 for n in counts.values()), f"{via}: no record received twice",
          str([k for k, n in counts.items() if n > 1][:5]))
    ordered = True
    for reader in range(READERS):
        for w in range(WRITERS):
            seqs = [s for rd, ww, s in got if rd == reader and ww == w]
            ordered &= seqs == sorted(seqs)
    check(ordered, f"{via}: each reader saw each writer's records in order")
    stopped = re.findall(r"^reader \d+ \(pid (\d+)\): \d+ records, stopped on its sentinel$",
                         r.stdout, re.M)
    check(len(stopped) == READERS, f"{via}: all {READERS} readers stopped on a sentinel",
          r.stdout[-1000:])
    check(not any(alive(int(p)) for p in stopped), f"{via}: no reader process is left")
    check(f"received: {WRITERS * RECORDS} (expected {WRITERS * RECORDS}); exactly once: "
          f"{WRITERS * RECORDS}, duplicated: 0" in r.stdout, f"{via}: the summary agrees",
          r.stdout[-500:])
    check(mqueues() == before, f"{via}: no message queue left in /dev/mqueue")

# One writer, one reader, records of every length 0..199: framing keeps each one whole.
r = run([program("queue"), "--writers", "1", "--readers", "1", "--records", "1000"])
check(r.returncode == 0 and "corrupt: 0 (expected 0)" in r.stdout,
      "pipe: 1000 records of varying length arrive intact", r.stdout + r.stderr)

# Ctrl-C in the middle of a long run: every process of the group ends, nothing is left.
for via in ("pipe", "mq"):
    code, out, left = interrupt_after_first_line(
        [program("queue"), "--via", via, "--records", "10000000"])
    check(code == -2, f"{via}: Ctrl-C stops the run (by SIGINT)", f"exit {code}: {out[-500:]}")
    check(left == [], f"{via}: Ctrl-C leaves no process of the group behind", str(left))
done()
