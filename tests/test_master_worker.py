"""master and worker on the broker (seed 000): 1 000 tasks through 4 workers give the exact
sum with every task counted once; SIGKILL to 2 of 4 workers in the middle of a run (after
the master has printed results, read from its output) still gives every result exactly once;
SIGTERM ends a worker with exit 0, --exit-when-idle too; a worker whose broker is SIGKILLed
exits 1 with a message, and so does one facing a fake broker that closes mid-frame, announces
an oversized frame or says nothing at all; a lease shorter than the work makes duplicate
results, which the master counts and ignores; a poison task is nacked --max-deliveries times and
lands in tasks.dead; wrong, loose and missing keys are refused with exit 1.

Every wait is bounded (T seconds, a hang guard); none is a sleep."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
from testlib import check, done, finish_reading, program, run
from distlib import client_args, finish, start
from taskqwire import (CHALLENGE, DEAD, T, Client, frame, read_key, start_broker,
                       stop_broker, wait_until)

TASK_LINE = re.compile(r"^task (\d+): (\d+) \* (\d+) = (\d+) \(by (\S+)\)$")
DONE_LINE = re.compile(r"^done: (\d+) results, (\d+) duplicates ignored, "
                       r"sum of squares (\d+) \(expected (\d+)\)$")


def expected_sum(n, seed=1):
    """The master's splitmix64 numbers, computed again here: the expected value the
    master prints must be the right one, not merely equal to what it received."""
    state, total, mask = seed, 0, (1 << 64) - 1
    for _ in range(n):
        state = (state + 0x9e3779b97f4a7c15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & mask
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & mask
        z ^= z >> 31
        total += (1 + z % 10000) ** 2
    return total


def start_worker(port, key_file, *extra):
    return start("worker", port, key_file, *extra)


def check_master(what, rc, out, n):
    """Every task 0..n-1 printed exactly once with the right square, the done line exact."""
    ids = []
    for line in out.splitlines():
        m = TASK_LINE.match(line)
        if m:
            ids.append(int(m.group(1)))
            if int(m.group(2)) ** 2 != int(m.group(4)):
                check(False, f"{what}: a right square in {line!r}")
    d = [DONE_LINE.match(l) for l in out.splitlines() if l.startswith("done:")]
    check(rc == 0, f"{what}: master exits 0", f"exit {rc}\n{out[-2000:]}")
    check(sorted(ids) == list(range(n)), f"{what}: every task printed exactly once",
          f"{len(ids)} lines, {len(set(ids))} distinct")
    check(len(d) == 1 and d[0] and int(d[0].group(1)) == n
          and int(d[0].group(3)) == int(d[0].group(4)) == expected_sum(n),
          f"{what}: done line with {n} results and the exact sum {expected_sum(n)}",
          str(d and d[0] and d[0].group(0)))
    return int(d[0].group(2)) if d and d[0] else -1


def four_workers(port, key_file):
    workers = [start_worker(port, key_file, "--prefetch", "8") for _ in range(4)]
    r = run([program("master")] + client_args(port, key_file, "--tasks", "1000"),
            timeout=T * 3)
    check_master("1000 tasks, 4 workers", r.returncode, r.stdout, 1000)
    for w in workers:
        rc, _, err = finish(w, signal.SIGTERM)
        check(rc == 0 and "stopped by a signal" in err, "SIGTERM: a worker exits 0", err)


def kill_two_of_four(port, key_file):
    """Kill 2 of 4 workers once the master has printed 100 results: their tasks in hand go
    back to the queue (their connections closed) and the survivors finish them."""
    workers = [start_worker(port, key_file, "--prefetch", "4", "--lease-ms", "1000",
                            "--queue", "tasks2", "--results", "results2") for _ in range(4)]
    m = subprocess.Popen([program("master")] + client_args(port, key_file) +
                         ["--tasks", "1000", "--work-ms", "2", "--results", "results2",
                          "--queue", "tasks2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    timer = threading.Timer(T * 3, m.kill)   # hang guard for the reads below
    timer.start()
    head, printed = [], 0
    for line in m.stdout:
        head.append(line)
        printed += line.startswith("task ")
        if printed == 100:
            break
    for w in workers[:2]:
        w.send_signal(signal.SIGKILL)
    rest, err = finish_reading(m, T * 3)
    timer.cancel()
    dups = check_master("2 of 4 workers SIGKILLed at 100 results", m.returncode,
                        "".join(head) + rest, 1000)
    print(f"     ({dups} duplicates ignored)")
    for w in workers[:2]:
        w.wait()
        check(w.returncode == -signal.SIGKILL, "the killed workers died of SIGKILL")
    for w in workers[2:]:
        rc, _, err = finish(w, signal.SIGTERM)
        check(rc == 0, "the surviving workers exit 0 on SIGTERM", err)
    c = Client(port, read_key(key_file))
    st = c.stats("tasks2")
    check(st["ready"] == 0 and st["leased"] == 0, "no task of the run is left in the broker",
          str(st))
    print(f"     ({st['redelivered']} tasks redelivered after the kills)")
    st = c.stats("results2")
    check(st["put"] == 1000 + dups + st["ready"] and st["leased"] == 0,
          "every result is counted once, as a duplicate, or still queued (came after the end)",
          f"{st}, {dups} duplicates")
    c.close()


def slow_worker(port, key_file):
    """A lease shorter than the work: every task comes back while the worker still runs it,
    the worker's late FINISH still puts its result, and the master gets duplicates. Exactly
    once at the master, and every result the broker took is accounted for: counted once or
    counted as a duplicate, or still queued because it came after the master ended.
    (The workers are stopped before the broker is asked.)"""
    w = start_worker(port, key_file, "--lease-ms", "50", "--queue", "slow", "--results",
                     "slow.results")
    r = run([program("master")] + client_args(port, key_file, "--tasks", "4", "--work-ms",
            "100", "--queue", "slow", "--results", "slow.results"), timeout=T * 3)
    dups = check_master("lease 50 ms, work 100 ms", r.returncode, r.stdout, 4)
    finish(w, signal.SIGTERM)
    c = Client(port, read_key(key_file))
    st = c.stats("slow.results")
    check(st["put"] == 4 + dups + st["ready"] and st["leased"] == 0,
          "every result is counted once, as a duplicate, or still queued (came after the end)",
          f"{st}, {dups} duplicates")
    print(f"     ({dups} duplicates ignored)")
    c.close()


def idle_and_poison(port, key_file):
    r = run([program("worker")] + client_args(port, key_file) + ["--exit-when-idle", "300",
            "--queue", "idle"], timeout=T)
    check(r.returncode == 0 and "idle" in r.stderr, "--exit-when-idle: exit 0 on a quiet queue",
          f"exit {r.returncode}: {r.stderr}")
    r = run([program("producer")] + client_args(port, key_file) +
            ["--queue", "poison", "--name", "garbage", "--count", "1"], timeout=T)
    check(r.returncode == 0 and r.stdout == "put 1 items\n", "a producer puts garbage", r.stdout)
    r = run([program("worker")] + client_args(port, key_file) +
            ["--queue", "poison", "--exit-when-idle", "500"], timeout=T)
    nacks = r.stderr.count("nacked")
    check(r.returncode == 0 and nacks == 3, "the worker nacks the poison task 3 times "
          "(--max-deliveries 3) and lives", f"exit {r.returncode}: {r.stderr}")
    c = Client(port, read_key(key_file))
    entries = c.inspect("poison")
    check([(e[1], e[4]) for e in entries] == [(DEAD, b"garbage:0")],
          "the poison task is in poison.dead", str(entries))
    c.close()


def keys(tmp, port, key_file):
    other = os.path.join(tmp, "other.key")
    run([program("broker"), "--make-key", other])
    for what, key, msg in (("a wrong key", other, "broker refused the key"),
                           ("a missing key file", os.path.join(tmp, "none.key"), "open"),
                           ("a key file others can read", "LOOSE", "chmod 600")):
        if key == "LOOSE":
            key = os.path.join(tmp, "loose.key")
            with open(key_file) as src, open(key, "w") as dst:
                dst.write(src.read())
            os.chmod(key, 0o644)
        r = run([program("worker")] + client_args(port, key), timeout=T)
        check(r.returncode == 1 and msg in r.stderr and r.stderr.count("\n") == 1,
              f"{what}: one clear line, exit 1", f"exit {r.returncode}: {r.stderr}")


def broker_dies(tmp):
    p, port, _ = start_broker(tmp)
    key_file = os.path.join(tmp, "taskq.key")
    w = start_worker(port, key_file)
    c = Client(port, read_key(key_file), "watcher")
    wait_until(lambda: c.stats("tasks")["consumers"] >= 2)
    c.close()
    stop_broker(p, signal.SIGKILL)
    rc, _, err = finish(w)
    check(rc == 1 and "broker closed the connection" in err,
          "broker SIGKILLed: the waiting worker exits 1 saying so", f"exit {rc}: {err}")
    r = run([program("master")] + client_args(port, key_file), timeout=T)
    check(r.returncode == 1 and "connect" in r.stderr, "no broker: master exits 1 (connect)",
          r.stderr)


def fake_broker(behaviour, key_file):
    """A listening socket that misbehaves once: 'close' sends half a CHALLENGE and closes,
    'huge' announces a frame of 2 MB, 'silent' accepts and says nothing. A worker facing it
    must exit 1 with a message, never hang."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    w = start_worker(port, key_file)
    conn, _ = srv.accept()
    if behaviour == "close":
        conn.sendall(frame(CHALLENGE, b"\0" * 32)[:20])
        conn.close()
    elif behaviour == "huge":
        conn.sendall((2_000_000).to_bytes(4, "big") + b"\x01\x01")
    rc, _, err = finish(w)
    conn.close()
    srv.close()
    return rc, err


def fakes(key_file):
    for behaviour, msg in (("close", "broker closed the connection"),
                           ("huge", "bad length"), ("silent", "no reply from the broker")):
        rc, err = fake_broker(behaviour, key_file)
        check(rc == 1 and msg in err, f"a broker that does '{behaviour}': worker exits 1",
              f"exit {rc}: {err}")


with tempfile.TemporaryDirectory() as tmp:
    p, port, _ = start_broker(tmp, ["--max-deliveries", "3"])
    key_file = os.path.join(tmp, "taskq.key")
    try:
        four_workers(port, key_file)
        kill_two_of_four(port, key_file)
        slow_worker(port, key_file)
        idle_and_poison(port, key_file)
        keys(tmp, port, key_file)
    finally:
        rc, _, err = stop_broker(p)
    check(rc == 0, "the broker ends 0 on SIGTERM", err[-500:])
    with tempfile.TemporaryDirectory() as tmp2:
        broker_dies(tmp2)
    fakes(key_file)
done()
