"""The broker's journal from the outside: a journal cut at random bytes (a crash in the
middle of a write) restarts with exactly the tasks of the whole records before the cut,
saying it dropped a torn record; a byte flipped in the middle makes the broker refuse to
start, naming the offset; the records the broker writes read back with a second
implementation of the format (tests/journalfmt.py, CRC included).

The cuts are random: the seed is printed, and JOURNAL_CUT_SEED=N repeats a run.
Needs the broker and tests/taskqwire.py; exits 77 (skipped) where they are not built yet."""
import os
import random
import signal
import sys
import tempfile
from testlib import check, done, program, run

try:
    from taskqwire import Client, broker_log, start_broker, stop_broker
except ImportError as e:
    print(f"SKIP: tests/taskqwire.py is missing ({e})")
    sys.exit(77)
from journalfmt import ACK, DELIVERED, PUT, records, replay

if not os.path.exists(program("broker")):
    print(f"SKIP: {program('broker')} is not built")
    sys.exit(77)

QUEUE = "cut"


def write_journal(tmp):
    """Run a broker on a fresh journal: puts, gets, acks (one request per loop turn, so one
    flush each); SIGKILL it; return the journal's bytes."""
    path = os.path.join(tmp, "source.journal")
    p, port, key = start_broker(tmp, ["--journal", path, "--fsync", "never"])
    c = Client(port, key, "writer")
    for i in range(12):
        ids = c.put(QUEUE, [f"task {i}a".encode(), f"task {i}b".encode()])
        if i % 3 == 1:
            got = c.get(QUEUE, max=1, lease_ms=60000)
            c.ack(QUEUE, [got[0][0]])
    c.close()
    stop_broker(p, signal.SIGKILL)
    with open(path, "rb") as f:
        data = f.read()
    recs = records(data)
    kinds = {r[2] for r in recs}
    check(recs and recs[-1][1] == len(data) and {PUT, ACK, DELIVERED} <= kinds,
          "the broker's journal reads back whole with journalfmt (every CRC matches)",
          f"{len(recs)} records, {len(data)} bytes, kinds {kinds}")
    check(max(r[3] for r in recs) == ids[-1], "its highest id is the last one answered")
    return data, recs


def restart_on(tmp, name, data):
    """Start a broker on a copy of data; return (tasks it serves, its log)."""
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    p, port, key = start_broker(tmp, ["--journal", path])
    c = Client(port, key, "reader")
    got = c.get(QUEUE, max=1000, lease_ms=60000)
    c.close()
    stop_broker(p)
    return got, broker_log(p)


def cut_at(tmp, data, recs, cut):
    """The journal cut at byte `cut`: the broker serves exactly the whole records' tasks."""
    whole = [r for r in recs if r[1] <= cut]
    torn = cut not in [0] + [r[1] for r in recs]
    want = [(ident, t[2] + 1, t[1]) for ident, t in replay(whole).items()]
    got, log = restart_on(tmp, f"cut-{cut}.journal", data[:cut])
    check(got == want, f"cut at byte {cut} of {len(data)}: the tasks of the {len(whole)} "
          "whole records before it, in order, deliveries kept", f"got {got}\nwant {want}")
    check(("dropped a torn last record" in log) == torn,
          f"cut at byte {cut}: the log says a torn record was dropped exactly when one was",
          log)


def corrupt_middle(tmp, data, recs):
    """A byte flipped inside a record with records after it: refused, the offset named."""
    start, end = recs[len(recs) // 2][:2]
    at = (start + end) // 2
    bad = bytearray(data)
    bad[at] ^= 0xFF
    path = os.path.join(tmp, "flipped.journal")
    with open(path, "wb") as f:
        f.write(bad)
    r = run([program("broker"), "--listen", "127.0.0.1:0", "--key",
             os.path.join(tmp, "taskq.key"), "--journal", path], timeout=30)
    check(r.returncode == 1 and "listening on" not in r.stdout
          and f"record at byte {start} " in r.stderr and "truncate -s" in r.stderr,
          f"a byte flipped at {at} (record at {start}): the broker refuses to start, naming it",
          f"exit {r.returncode}: {r.stderr}")


with tempfile.TemporaryDirectory() as tmp:
    seed = int(os.environ.get("JOURNAL_CUT_SEED", random.randrange(1 << 30)))
    print(f"JOURNAL_CUT_SEED={seed}")
    rng = random.Random(seed)
    data, recs = write_journal(tmp)
    last_start = recs[-1][0]
    cuts = {len(data), rng.randrange(last_start + 1, len(data))}
    cuts |= {rng.randrange(1, len(data)) for _ in range(4)}
    for cut in sorted(cuts):
        cut_at(tmp, data, recs, cut)
    corrupt_middle(tmp, data, recs)
done()
