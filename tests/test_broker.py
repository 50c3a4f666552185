"""The broker, spoken to in Python (tests/taskqwire.py: a second implementation of the
frames and the handshake): exact replies to PUT/GET/ACK/NACK/RENEW/FINISH/STATS/INSPECT,
FIFO and prefetch, pipelining, redelivery after a nack, an expired lease and a vanished
consumer, dead letters after --max-deliveries, --max-queue refusing whole batches, FINISH
all or none, GET that waits (woken by a PUT, or answered empty), backpressure on a client
that does not read; the key (made 0600, refused when loose, wrong key refused and
logged); bad input of every kind closing only its own connection while another client
carries on; a client silent after the challenge cut off after 10 s; hundreds of idle
connections; --journal: answered puts survive SIGKILL under each fsync policy, and the
journal is compacted; SIGTERM and SIGKILL.

Waits poll the broker's state with a generous deadline (wait_until); none is a sleep."""
import os
import signal
import socket
import stat
import subprocess
import tempfile
from testlib import check, done, program, run
from taskqwire import (ACK, DEAD, E_AUTH, E_FULL, E_MALFORMED, E_UNKNOWN_OP, ENTRIES, ERROR, GET,
                       INSPECT, LEASED, PUT, PUT_OK, READY, STATS, STATS_REPLY, TASKS, Body,
                       BrokerError, Client, Conn, broker_log, frame, s, start_broker,
                       stop_broker, u32, u64, wait_until)

K = 3                        # --max-deliveries
MAXQ = 200                   # --max-queue


def error_of(call):
    """The BrokerError a call raised (None if it did not)."""
    try:
        call()
    except BrokerError as e:
        return e
    return None


def basics(c):
    ids = c.put("basic", [b"alpha", b"", b"\x00gamma"])
    check(len(ids) == 3 and ids[1] == ids[0] + 1 and ids[2] == ids[0] + 2,
          "PUT_OK gives consecutive ids", str(ids))
    got = c.get("basic", max=2)
    check(got == [(ids[0], 1, b"alpha"), (ids[1], 1, b"")],
          "GET max 2 gives the first two, FIFO, deliveries 1, exact payloads", str(got))
    st = c.stats("basic")
    check(st["ready"] == 1 and st["leased"] == 2 and st["put"] == 3,
          "STATS counts ready and leased", str(st))
    check(c.ack("basic", [ids[0], ids[1], 999999]) == 2, "ACK counts only known ids")
    check(c.ack("basic", [ids[0]]) == 0, "a second ACK of the same id is unknown")
    check(c.get("basic", max=5) == [(ids[2], 1, b"\x00gamma")], "the third comes next")
    check(c.renew("basic", [ids[2]], 60000) == 1, "RENEW by the holder counts 1")
    check(c.ack("basic", [ids[2]]) == 1 and c.stats("basic")["acked"] == 3,
          "acked counts every ack")
    check(c.get("basic", max=5) == [], "an empty queue answers TASKS 0 at once")


def prefetch_and_pipeline(c):
    payloads = [f"p{i}".encode() for i in range(100)]
    ids = c.put("pre", payloads)
    first, second = c.get("pre", max=64), c.get("pre", max=64)
    check([t[2] for t in first] == payloads[:64] and [t[2] for t in second] == payloads[64:],
          "prefetch 64: 64 then 36, in order", f"{len(first)} {len(second)}")
    check(c.ack("pre", ids) == 100, "one ACK of 100 ids")
    # ten PUTs in one write: ten replies, in order
    c.send(b"".join(frame(PUT, Client.put_body("pipe", [bytes([i])])) for i in range(10)))
    got = [Client.ids(c.reply(PUT_OK))[0] for _ in range(10)]
    check(got == list(range(got[0], got[0] + 10)), "pipelined PUTs answered in order", str(got))


def redelivery(port, key, c):
    ids = c.put("re", [b"one", b"two"])
    (tid, d, _), = c.get("re", max=1)
    check(c.nack("re", [tid]) == 1, "NACK by the holder counts 1")
    check(c.get("re", max=1) == [(tid, 2, b"one")],
          "a nacked task comes back first, deliveries 2")
    other = Client(port, key, "other")
    check(other.ack("re", [tid]) == 0 and other.nack("re", [tid]) == 0
          and other.renew("re", [tid], 1000) == 0, "only the holder may settle a lease")
    check(c.ack("re", [tid]) == 1, "the holder acks it")
    # a lease that runs out: 100 ms asked for, then the task is ready again
    (tid, d, _), = c.get("re", max=1, lease_ms=100)
    check(tid == ids[1] and d == 1, "the second task")
    check(wait_until(lambda: c.stats("re")["ready"] == 1), "an expired lease: ready again")
    check(other.get("re", max=1) == [(tid, 2, b"two")], "redelivered with deliveries 2")
    check(c.ack("re", [tid]) == 0, "the old holder's late ack is ignored")
    check(other.ack("re", [tid]) == 1, "the new holder's ack counts")
    check(c.stats("re")["redelivered"] == 2, "redelivered counts the nack and the expiry")
    # a consumer that disconnects holding three tasks
    ids = c.put("gone", [b"a", b"b", b"c", b"d"])
    quitter = Client(port, key, "quitter")
    check([t[0] for t in quitter.get("gone", max=3)] == ids[:3], "the quitter holds three")
    check(c.inspect("gone")[1][1:4] == (LEASED, 1, "quitter"),
          "INSPECT names who holds a lease", str(c.inspect("gone")))
    quitter.close()
    check(wait_until(lambda: c.stats("gone")["ready"] == 4), "its three are ready again")
    check(other.get("gone", max=4) == [(ids[0], 2, b"a"), (ids[1], 2, b"b"),
                                       (ids[2], 2, b"c"), (ids[3], 1, b"d")],
          "back at the front, in their order, deliveries 2")
    other.close()


def dead_letters(c):
    ids = c.put("poison", [b"bad", b"good"])
    for k in range(1, K + 1):
        got = c.get("poison", max=1)
        check(got == [(ids[0], k, b"bad")], f"delivery {k} of the poison task", str(got))
        c.nack("poison", [ids[0]])
    st = c.stats("poison")
    check(st["dead"] == 1 and st["dead_lettered"] == 1 and st["ready"] == 1,
          f"after {K} nacks the task is in poison.dead", str(st))
    entries = c.inspect("poison")
    check([(e[0], e[1], e[2]) for e in entries] == [(ids[1], READY, 0), (ids[0], DEAD, K)],
          "INSPECT: the ready task, then the dead one", str(entries))
    check(c.inspect("poison.dead")[0][:3] == (ids[0], READY, K), "poison.dead is a queue")
    check(c.get("poison", max=5) == [(ids[1], 1, b"good")], "the good task is served")
    check(c.inspect("poison", max=1) == [(ids[1], LEASED, 1, "main", b"good")],
          "INSPECT max 1 gives one entry")


def full_and_finish(c):
    e = error_of(lambda: c.put("small", [b"x"] * (MAXQ + 1)))
    check(e is not None and e.code == E_FULL, f"PUT of {MAXQ + 1} is refused FULL", str(e))
    check(c.stats("small")["put"] == 0 and c.stats("small")["ready"] == 0,
          "nothing of the refused batch was put")
    c.put("small", [b"x"] * MAXQ)
    e = error_of(lambda: c.put("small", [b"y"]))
    check(e is not None and e.code == E_FULL and "max-queue" in e.message,
          "one more is refused, and the message says why", str(e))
    check(c.stats("small")["ready"] == MAXQ, "the connection carries on after FULL")

    tid = c.put("jobs", [b"7"])[0]
    c.get("jobs", max=1)
    rid = c.finish("jobs", [tid], "results", [b"49"])
    check(len(rid) == 1 and rid[0] > tid, "FINISH answers the result's id")
    check(c.stats("jobs")["acked"] == 1 and c.stats("jobs")["leased"] == 0
          and c.get("results", max=5) == [(rid[0], 1, b"49")],
          "FINISH acked the task and put the result")
    tid = c.put("jobs", [b"8"])[0]
    c.get("jobs", max=1)
    e = error_of(lambda: c.finish("jobs", [tid], "small", [b"64"]))
    check(e is not None and e.code == E_FULL, "FINISH into a full queue is refused", str(e))
    check(c.stats("jobs")["leased"] == 1 and c.stats("small")["ready"] == MAXQ,
          "and nothing happened: the task is still leased, no result was put")
    check(c.ack("jobs", [tid]) == 1, "the task can still be acked")


def waiting(port, key, c):
    check(c.get("idle", max=1, wait_ms=300) == [], "GET that waits for nothing: TASKS 0")
    waiter = Client(port, key, "waiter")
    waiter.send(frame(GET, Client.get_body("later", max=5, wait_ms=60000)) +
                frame(STATS, s("later")))        # pipelined behind the waiting GET
    # a few round trips of c: the broker has read the waiter's GET by then (it came first)
    check(all(c.stats("later")["consumers"] == 2 for _ in range(5)), "the waiter is there")
    ids = c.put("later", [b"woken"])
    got = Client.tasks(waiter.reply(TASKS))
    check(got == [(ids[0], 1, b"woken")], "a PUT wakes the waiting GET", str(got))
    r = waiter.reply(STATS_REPLY)
    check(r.u64() == 0 and r.u64() == 1, "the request behind it is answered after it")
    waiter.close()
    check(wait_until(lambda: c.stats("later")["ready"] == 1), "the waiter's task came back")


def backpressure(port, key, c):
    """A client that asks for 128 MiB of replies and reads none: the broker stops reading
    its requests (its memory stays far below that), serves everyone else, and the client
    gets every reply once it reads."""
    c.put("big", [b"z" * 200000] * 4)
    pid_rss = lambda: int(open(f"/proc/{broker.pid}/status").read()
                          .split("VmRSS:")[1].split()[0]) * 1024
    before = pid_rss()
    hog = Client(port, key, "hog")
    n = 160
    hog.send(frame(INSPECT, s("big") + u32(10)) * n)
    # Round trips of another client: the loop has turned many times since the hog's
    # requests arrived, so the broker has answered all of them it is going to.
    served = all(c.stats("big")["ready"] == 4 for _ in range(20))
    check(served, "another client is served while the hog reads nothing")
    grown = pid_rss() - before
    check(grown < 48 << 20, "the broker held back (RSS grew by less than 48 MiB)",
          f"grew {grown >> 20} MiB")
    replies = sum(len(Client.tasks_entries(hog.reply(ENTRIES))) == 4 for _ in range(n))
    check(replies == n, f"all {n} replies arrive once the client reads", str(replies))
    hog.close()


def bad_inputs(port, key, c):
    """Each bad input closes only its own connection, with a logged reason; c, holding a
    lease throughout, carries on after each."""
    held = c.put("steady", [b"held", b"x"])
    c.get("steady", max=1)

    def round_trip(what):
        i = c.put("steady", [what.encode()])
        got = c.get("steady", max=5)
        check(got == [(held[1], 1, b"x"), (i[0], 1, what.encode())] or
              got == [(i[0], 1, what.encode())], f"after {what}: another client is served")
        c.ack("steady", [t[0] for t in got])

    def raw_authed(name):
        x = Client(port, key, name)
        return x, x.sock.getsockname()[1]

    def expect_closed(conn, code, logged, what):
        got = conn.recv()
        if code is not None:
            ok = got is not None and got[0] == ERROR and Body(got[1]).u16() == code
            check(ok, f"{what}: ERROR {code}", str(got))
        check(conn.closed(), f"{what}: the connection is closed")
        port_ = conn.sock.getsockname()[1]
        line = f"127.0.0.1:{port_}: {logged}"
        check(wait_until(lambda: line in broker_log(broker)), f"{what}: logged '{line}'",
              broker_log(broker)[-500:])
        conn.close()
        round_trip(what)

    e = error_of(lambda: Client(port, os.urandom(32), "intruder"))
    check(e is not None and e.code == E_AUTH, "a wrong key is refused with ERROR AUTH", str(e))
    check(wait_until(lambda: 'wrong key (client "intruder")' in broker_log(broker)),
          "and logged")
    round_trip("wrong key")
    x, _ = raw_authed("m1")
    x.send(frame(PUT, s("q") + u32(2) + u32(3) + b"abc"))           # says 2, has 1
    expect_closed(x, E_MALFORMED, "malformed PUT", "a short PUT body")
    x, _ = raw_authed("m2")
    x.send(u32(2000000) + b"\x01\x0a" + b"x" * 1000)
    expect_closed(x, E_MALFORMED, "frame of 2000000 bytes is over the 1048576 limit",
                  "an oversized length prefix")
    x, _ = raw_authed("m3")
    x.send(frame(99, b"hello"))
    expect_closed(x, E_UNKNOWN_OP, "unknown op 99", "an unknown op")
    x, _ = raw_authed("m4")
    x.send(frame(STATS, s("q"), version=7))
    expect_closed(x, E_MALFORMED, "version 7, this broker speaks 1", "a wrong version")
    x, _ = raw_authed("m5")
    x.send(frame(ACK, s("q") + u32(1) + u64(1))[:9])
    x.sock.shutdown(socket.SHUT_WR)
    expect_closed(x, None, "closed in the middle of a frame", "a frame cut in the middle")
    x = Conn(port)
    x.recv()                                                          # CHALLENGE
    x.send(frame(PUT, Client.put_body("q", [b"sneak"])))
    expect_closed(x, E_AUTH, "PUT before the handshake", "a PUT before the handshake")
    check(c.stats("q")["put"] == 0, "nothing was put by the unauthenticated client")
    x = Conn(port)
    x.recv()
    x.send(b"GET / HTTP/1.1\r\n\r\n")
    expect_closed(x, E_MALFORMED, "frame of 1195725856 bytes is over", "an HTTP request")
    check(c.ack("steady", [held[0]]) == 1, "the steady client's lease survived all of it")


def many_connections(port, key, c):
    idle = []
    for _ in range(600):
        x = Conn(port)
        idle.append(x)
    ok = all(x.recv()[0] == 1 for x in idle)                         # each got CHALLENGE
    check(ok, "600 idle connections each got a CHALLENGE")
    late = Client(port, key, "late")
    check(late.put("many", [b"1"]) and late.get("many") != [], "a 601st client is served")
    for x in idle:
        x.close()
    late.close()


def key_files(tmp):
    loose = os.path.join(tmp, "loose.key")
    r = run([program("broker"), "--make-key", loose])
    mode = stat.S_IMODE(os.stat(loose).st_mode) if os.path.exists(loose) else None
    check(r.returncode == 0 and mode == 0o600, "--make-key writes a key, mode 0600",
          f"exit {r.returncode}, mode {mode}: {r.stderr}")
    r = run([program("broker"), "--make-key", loose])
    check(r.returncode == 1 and "exists" in r.stderr, "--make-key never overwrites a key",
          r.stderr)
    os.chmod(loose, 0o644)
    r = run([program("broker"), "--listen", "127.0.0.1:0", "--key", loose], timeout=30)
    check(r.returncode == 1 and "chmod 600" in r.stderr and r.stdout == "",
          "a key file others can read: refused, exit 1, the message says chmod 600",
          f"exit {r.returncode}: {r.stderr}")


def journal(tmp, policy):
    """--journal: what was answered survives SIGKILL; what was acked stays gone; counts of
    deliveries and dead letters survive; ids never go back."""
    path = os.path.join(tmp, f"journal-{policy}.log")
    args = ["--journal", path, "--fsync", policy, "--max-deliveries", "2"]
    p, port, key = start_broker(tmp, args)
    c = Client(port, key, "j")
    ids = c.put("jq", [b"a", b"b", b"c", b"d"])
    c.get("jq", max=2)                                   # a, b leased
    c.ack("jq", [ids[0]])                                # a gone
    c.put("jq", [b"e"])
    c.get("jq", max=1)                                   # c: nacked twice: dead
    c.nack("jq", [ids[2]])
    c.get("jq", max=1)
    c.nack("jq", [ids[2]])
    last = c.put("jq", [b"f"])[0]
    c.close()
    rc, _, _ = stop_broker(p, signal.SIGKILL)
    p, port, key = start_broker(tmp, args)
    check(wait_until(lambda: "5 tasks outstanding (1 dead)" in broker_log(p)),
          f"--fsync {policy}: the restarted broker says what it replayed", broker_log(p))
    c = Client(port, key, "j2")
    got = c.get("jq", max=10)
    check(got == [(ids[1], 2, b"b"), (ids[3], 1, b"d"), (last - 1, 1, b"e"),
                  (last, 1, b"f")],
          f"--fsync {policy}: after SIGKILL every answered put is back, the acked one is "
          "not, deliveries kept", str(got))
    check([e[:3] for e in c.inspect("jq.dead")] == [(ids[2], READY, 2)],
          f"--fsync {policy}: the dead letter is still dead", str(c.inspect("jq.dead")))
    check(c.ack("jq", [t[0] for t in got]) == 4 and c.put("jq", [b"g"])[0] == last + 1,
          f"--fsync {policy}: ids go on from where they were")
    c.close()
    rc, _, err = stop_broker(p)
    check(rc == 0, f"--fsync {policy}: SIGTERM with a journal: exit 0", err)
    p, port, key = start_broker(tmp, args)
    c = Client(port, key, "j3")
    check(c.stats("jq")["ready"] == 1 and c.put("jq", [b"h"])[0] == last + 2,
          f"--fsync {policy}: a clean restart: one ready, ids still going up")
    c.close()
    stop_broker(p)


def compaction(tmp):
    """20 puts of 1 MB, each acked: past 16 MiB the journal is rewritten with only what is
    outstanding (nothing), and a restart still gives ids above every one given before."""
    path = os.path.join(tmp, "journal-compact.log")
    p, port, key = start_broker(tmp, ["--journal", path, "--fsync", "never", "--verbose"])
    c = Client(port, key, "big")
    for _ in range(20):
        last = c.put("bigq", [b"x" * 1000000])[0]
        c.get("bigq", max=1)
        c.ack("bigq", [last])
    size = os.path.getsize(path)
    check("journal rewritten: " in broker_log(p) and size < 8 << 20,
          "a journal past 16 MiB that doubled is rewritten with what is outstanding",
          f"{size} bytes; {broker_log(p)[-300:]}")
    c.close()
    stop_broker(p, signal.SIGKILL)
    p, port, key = start_broker(tmp, ["--journal", path])
    c = Client(port, key, "big2")
    check(c.stats("bigq")["ready"] == 0 and c.put("bigq", [b"y"])[0] == last + 1,
          "after the rewrite and a SIGKILL: nothing outstanding, ids go on")
    c.close()
    rc, _, err = stop_broker(p, signal.SIGINT)
    check(rc == 0 and "signal 2: closing" in err and "stats:" in err,
          "SIGINT (Ctrl-C): stats on stderr, exit 0", f"{rc}: {err[-300:]}")


with tempfile.TemporaryDirectory() as tmp:
    key_files(tmp)
    broker, port, key = start_broker(tmp, ["--max-deliveries", str(K), "--max-queue",
                                           str(MAXQ), "--lease-ms", "60000"])
    key_path = os.path.join(tmp, "taskq.key")
    check(stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
          and "made a new key" in broker_log(broker),
          "a missing key file is made, mode 0600, and said so")
    silent = Conn(port)                   # says nothing after the CHALLENGE
    main = Client(port, key, "main")
    basics(main)
    prefetch_and_pipeline(main)
    redelivery(port, key, main)
    dead_letters(main)
    full_and_finish(main)
    waiting(port, key, main)
    bad_inputs(port, key, main)
    backpressure(port, key, main)
    many_connections(port, key, main)
    check(silent.recv()[0] == 1, "the silent client got its CHALLENGE")
    got = silent.recv()                  # waits (at most T seconds) for the 10 s timeout
    check(got is not None and got[0] == ERROR and Body(got[1]).u16() == E_AUTH
          and silent.closed(), "a client silent for 10 s is refused and closed", str(got))
    check(f"127.0.0.1:{silent.sock.getsockname()[1]}: no HELLO within 10000 ms"
          in broker_log(broker), "and logged")
    main.close()
    rc, out, err = stop_broker(broker)
    check(rc == 0 and "stats:" in err, "SIGTERM: stats on stderr, exit 0", f"{rc}: {err}")

    r = run([program("broker"), "--fsync", "always"])
    check(r.returncode == 2 and "--journal" in r.stderr, "--fsync without --journal: exit 2",
          r.stderr)
    for policy in ("never", "batch", "always"):
        journal(tmp, policy)
    compaction(tmp)

    # SIGKILL: nothing survives it (the broker has no children), and the port is free again
    broker, port, key = start_broker(tmp)
    pid = broker.pid
    rc, _, _ = stop_broker(broker, signal.SIGKILL)
    check(rc == -signal.SIGKILL and not os.path.exists(f"/proc/{pid}"),
          "SIGKILL: the broker is gone")
    p = subprocess.Popen([program("broker"), "--listen", f"127.0.0.1:{port}", "--key",
                          key_path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    check(line == f"listening on 127.0.0.1:{port}\n", "a new broker binds the same port",
          line)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    check(p.returncode == 0, "and stops on SIGTERM", str(p.returncode))
done()
