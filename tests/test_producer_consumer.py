"""producer and consumer on the broker (seed 003): 3 producers x 1000 items and 2 consumers
running at the same time - every item consumed exactly once, by content; SIGTERM ends a
consumer with exit 0 after the items in hand; 2 consumers with --exit-when-idle share a
full queue and both end 0; a consumer on an empty queue says "nothing within" and lives;
--max N takes exactly N; a queue at --max-queue makes a producer wait, not fail.

Every wait is bounded (T seconds, a hang guard); none is a sleep."""
import collections
import os
import re
import signal
import subprocess
import tempfile
from testlib import check, done, program, run
from taskqwire import T, Client, read_key, start_broker, stop_broker, wait_until

GOT = re.compile(r"^(\S+) got (\S+)$")


def args(port, key_file, *extra):
    return ["--backend", f"tcp://127.0.0.1:{port}", "--key", key_file] + list(extra)


def start(name, port, key_file, *extra):
    return subprocess.Popen([program(name)] + args(port, key_file, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p, sig=None):
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=T)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += "\n(killed: no exit within the timeout)"
    return p.returncode, out, err


def items_of(outs):
    """Every item the consumers printed, and each consumer's own count line."""
    got, counted = [], []
    for out in outs:
        mine = [m.group(2) for m in map(GOT.match, out.splitlines()) if m]
        got += mine
        counted.append(f"consumed {len(mine)} items" in out.splitlines())
    return got, counted


def conservation(what, got, want):
    c = collections.Counter(got)
    check(set(c) == set(want) and all(v == 1 for v in c.values()) and len(got) == len(want),
          f"{what}: every item consumed exactly once ({len(want)})",
          f"{len(got)} got, {len(c)} distinct, missing {len(set(want) - set(c))}, "
          f"strangers {sorted(set(c) - set(want))[:5]}")


def concurrent(port, key_file, c):
    consumers = [start("consumer", port, key_file, "--name", f"c{i}", "--wait-ms", "200")
                 for i in range(2)]
    producers = [start("producer", port, key_file, "--name", f"p{i}", "--count", "1000")
                 for i in range(3)]
    for i, p in enumerate(producers):
        rc, out, err = finish(p)
        check(rc == 0 and out == "put 1000 items\n", f"producer p{i} puts 1000 and exits 0",
              f"exit {rc}: {out} {err}")
    wait_until(lambda: c.stats("items")["acked"] >= 3000)
    results = [finish(p, signal.SIGTERM) for p in consumers]
    check(all(r[0] == 0 for r in results), "SIGTERM: both consumers exit 0",
          str([(r[0], r[2]) for r in results]))
    got, counted = items_of(r[1] for r in results)
    conservation("3 producers x 1000, 2 consumers at once", got,
                 [f"p{i}:{k}" for i in range(3) for k in range(1000)])
    check(all(counted), "each consumer's count line matches what it printed")
    st = c.stats("items")
    check(st["ready"] == 0 and st["leased"] == 0 and st["acked"] == 3000,
          "the broker holds nothing back, 3000 acked", str(st))


def idle_pair(port, key_file):
    r = run([program("producer")] + args(port, key_file, "--name", "q", "--count", "1000",
                                          "--size", "100"), timeout=T)
    check(r.returncode == 0, "producer --size 100 puts 1000", r.stderr)
    consumers = [start("consumer", port, key_file, "--name", f"i{i}", "--wait-ms", "300",
                       "--exit-when-idle") for i in range(2)]
    results = [finish(p) for p in consumers]
    check(all(r[0] == 0 for r in results), "--exit-when-idle: both consumers end 0",
          str([(r[0], r[2]) for r in results]))
    got, _ = items_of(r[1] for r in results)
    check(all(len(g) == 100 for g in got), "each item is 100 bytes (padded)")
    conservation("2 idle-ending consumers", [g.rstrip(".") for g in got],
                 [f"q:{k}" for k in range(1000)])


def empty_and_max(port, key_file, c):
    r = run([program("consumer")] + args(port, key_file, "--queue", "empty", "--wait-ms", "100",
                                          "--exit-when-idle"), timeout=T)
    check(r.returncode == 0 and r.stdout == "nothing within 100 ms\nconsumed 0 items\n",
          "an empty queue: 'nothing within 100 ms', exit 0", f"exit {r.returncode}: {r.stdout}")
    p = start("consumer", port, key_file, "--queue", "empty", "--wait-ms", "50")
    seen = [p.stdout.readline() for _ in range(3)]     # three empty answers in a row
    rc, out, err = finish(p, signal.SIGINT)
    check(seen == ["nothing within 50 ms\n"] * 3 and rc == 0 and err == "",
          "empty again and again: no crash; SIGINT ends it 0", f"{seen} exit {rc}: {err}")
    run([program("producer")] + args(port, key_file, "--queue", "some", "--count", "10"),
        timeout=T)
    r = run([program("consumer")] + args(port, key_file, "--queue", "some", "--max", "3"),
            timeout=T)
    got, counted = items_of([r.stdout])
    check(r.returncode == 0 and len(got) == 3 and counted == [True],
          "--max 3: three items, then 'consumed 3 items'", r.stdout)
    st = c.stats("some")
    check(st["ready"] == 7 and st["leased"] == 0, "--max takes no more than it consumes",
          str(st))


def full_queue(tmp):
    p, port, key = start_broker(tmp, ["--max-queue", "100"])
    key_file = os.path.join(tmp, "taskq.key")
    try:
        prod = start("producer", port, key_file, "--count", "1000", "--name", "f")
        c = Client(port, key)
        wait_until(lambda: c.stats("items")["ready"] == 100)
        cons = start("consumer", port, key_file, "--wait-ms", "500", "--exit-when-idle")
        rc, out, err = finish(prod)
        check(rc == 0 and "full" in err and out == "put 1000 items\n",
              "--max-queue 100: the producer says the queue is full once, waits, puts all",
              f"exit {rc}: {out} {err}")
        rc, out, _ = finish(cons)
        got, _ = items_of([out])
        conservation("through a queue bounded at 100", got, [f"f:{k}" for k in range(1000)])
        c.close()
    finally:
        stop_broker(p)


with tempfile.TemporaryDirectory() as tmp:
    p, port, key = start_broker(tmp)
    key_file = os.path.join(tmp, "taskq.key")
    try:
        c = Client(port, key)
        concurrent(port, key_file, c)
        idle_pair(port, key_file)
        empty_and_max(port, key_file, c)
        c.close()
    finally:
        rc, _, err = stop_broker(p)
    check(rc == 0, "the broker ends 0 on SIGTERM", err[-500:])
with tempfile.TemporaryDirectory() as tmp:
    full_queue(tmp)
done()
