"""test_redis.py - the task queue on Redis: Streams (redis://) and the lists pattern
(redis-lists://), against a redis-server this test starts on a free loopback port.

1. The backends' contract, in C (tests/unit/test_taskq_redis.c): exact contents, FIFO,
   finish all-or-nothing, lease expiry and redelivery, poison task to the dead stream after
   K deliveries, nack, stats, inspect, an empty wait answering 0, a refused connection.
2. Redis killed under a client that waits: the client gets an error at once, not a hang.
3. The chapter's programs on both: master and 4 workers, exact sum; 2 of 4 workers killed
   with SIGKILL mid-run (short lease), every result still counted exactly once; producers
   and consumers, every item consumed exactly once. On Streams only: poison tasks nacked by
   the worker end in the dead stream after exactly 5 deliveries each, and a bound set in
   Redis stops a producer until a consumer makes room. (The lists pattern
   counts no deliveries, so a poison task there is delivered for ever: no such test.)
Without redis-server it exits 77 (CTest: skipped) and says why.
"""
import os
import re
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
from redislib import RedisServer  # noqa: E402
from testlib import check, done, finish, program, wait_for as testlib_wait_for  # noqa: E402

BUILD = os.path.dirname(os.environ.get("BIN_DIR", os.path.join(os.path.dirname(__file__),
                                                                "..", "build", "bin")))
UNIT = os.path.join(BUILD, "tests", "unit", "unit_taskq_redis")


def lists_url(url):
    return url.replace("redis://", "redis-lists://")


def unit_contract(redis):
    if not check(os.path.exists(UNIT), f"{UNIT} is built"):
        return
    for url in (redis.url, lists_url(redis.url)):
        p = subprocess.run([UNIT, url], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"unit contract on {url.split(':')[0]}",
              p.stderr[-3000:])


def killed_redis():
    """A client blocked in a get sees Redis die: taskq_get returns -1 (exit 3) promptly,
    long before its ten-minute wait would end (the timeout below is only a hang guard)."""
    if not os.path.exists(UNIT):
        return
    for scheme in ("redis", "redis-lists"):
        with RedisServer() as r:
            p = subprocess.Popen([UNIT, "block", r.url.replace("redis", scheme, 1)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                ready = p.stdout.readline().strip()
                r.kill()
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            check(ready == "waiting" and p.returncode == 3,
                  f"{scheme}: Redis killed under a waiting get -> error (exit 3)",
                  f"rc={p.returncode} {err}")
            check("redis: " in err, f"{scheme}: the error names Redis", err)


class Group:
    """Programs started in the background, each stopped by pid at the end, whatever
    happened (SIGTERM, then SIGKILL if it does not go)."""
    def __init__(self):
        self.procs = []

    def start(self, args, stderr=subprocess.PIPE):
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.procs.append(p)
        return p

    def finish(self, p, timeout=120):
        """Wait for p; (returncode, stdout, stderr); killed if it outlives the guard."""
        return finish(p, None, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()


DONE = re.compile(r"^done: (\d+) results, (\d+) duplicates ignored, "
                  r"sum of squares (\d+) \(expected (\d+)\)$", re.M)


def check_master(scheme, what, rc, out, err, tasks):
    m = DONE.search(out)
    check(rc == 0 and m and int(m[1]) == tasks and m[3] == m[4],
          f"{scheme}: {what}: master got all {tasks} results, sums equal",
          f"rc={rc} {out[-500:]} {err[-1000:]}")


def master_workers(url, scheme, redis):
    with Group() as g:
        workers = [g.start([program("worker"), "--backend", url, "--name", f"w{i}",
                            "--prefetch", "8"]) for i in range(4)]
        rc, out, err = g.finish(g.start([program("master"), "--backend", url,
                                         "--tasks", "1000", "--quiet", "--seed", "3"]))
        check_master(scheme, "1000 tasks, 4 workers", rc, out, err, 1000)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [g.finish(w)[0] for w in workers]
        check(codes == [0] * 4, f"{scheme}: workers exit 0 on SIGTERM", str(codes))


def wait_for(cond, deadline=60):
    """testlib.wait_for() with this test's deadline."""
    return testlib_wait_for(cond, deadline)


def held(redis, scheme, name):
    """How many tasks of queue "tasks" the consumer `name` holds now."""
    if scheme == "redis":
        summary = redis.command("XPENDING", "taskq:tasks", "taskq")
        return dict((c, int(n)) for c, n in summary[3] or []).get(name.encode(), 0)
    return redis.command("LLEN", f"taskq-list:tasks.processing:{name}")


def kill_two_workers(url, scheme, redis):
    """Workers with a short lease; two die by SIGKILL holding tasks; the survivors take
    those tasks over when the lease runs out. Each task is counted once by the master."""
    tasks = 400
    with Group() as g:
        workers = [g.start([program("worker"), "--backend", url, "--name", f"k{i}",
                            "--prefetch", "4", "--lease-ms", "500"]) for i in range(4)]
        master = g.start([program("master"), "--backend", url, "--tasks", str(tasks),
                          "--work-ms", "5", "--seed", "11"], stderr=subprocess.STDOUT)
        guard = threading.Timer(120, master.kill)     # a hang guard, not a timing check
        guard.start()
        lines = []
        for line in master.stdout:
            lines.append(line)
            if len(lines) == 40:
                # Kill them while each holds tasks (asked of Redis, not guessed from time),
                # so those tasks can only reach the master by being delivered again.
                holding = [0, 0]

                def both_hold():
                    holding[:] = [held(redis, scheme, f"k{i}") for i in range(2)]
                    return all(holding)
                wait_for(both_hold)
                for w in workers[:2]:
                    w.kill()
                check(all(holding), f"{scheme}: the 2 workers killed held tasks", str(holding))
        rc = master.wait()
        guard.cancel()
        out, err = "".join(lines), ""
        check_master(scheme, "2 of 4 workers killed", rc, out, err, tasks)
        ids = re.findall(r"^task (\d+): ", out, re.M)
        check(len(ids) == tasks and len(set(ids)) == tasks,
              f"{scheme}: each of the {tasks} tasks printed exactly once",
              f"{len(ids)} lines, {len(set(ids))} distinct")


def producers_consumers(url, scheme, redis):
    """2 producers x 300 items, 3 consumers: every item consumed exactly once."""
    with Group() as g:
        consumers = [g.start([program("consumer"), "--backend", url, "--name", f"c{i}",
                              "--wait-ms", "3000", "--exit-when-idle"]) for i in range(3)]
        producers = [g.start([program("producer"), "--backend", url, "--name", f"P{i}",
                              "--count", "300"]) for i in range(2)]
        pres = [g.finish(p) for p in producers]
        check(all(r[0] == 0 and r[1] == "put 300 items\n" for r in pres),
              f"{scheme}: producers put 300 items each", str(pres))
        got, rcs = [], []
        for i, c in enumerate(consumers):
            rc, out, err = g.finish(c)
            rcs.append(rc)
            got += re.findall(rf"^c{i} got (P\d:\d+)$", out, re.M)
        want = {f"P{p}:{i}" for p in range(2) for i in range(300)}
        check(rcs == [0] * 3, f"{scheme}: consumers exit 0 when idle", str(rcs))
        check(len(got) == 600 and set(got) == want,
              f"{scheme}: 600 items put, each consumed exactly once",
              f"{len(got)} got, {len(set(got))} distinct, missing {len(want - set(got))}")
    key = "taskq:items" if scheme == "redis" else "taskq-list:items"
    left = redis.command("XLEN" if scheme == "redis" else "LLEN", key)
    check(left == 0, f"{scheme}: nothing left in {key}", str(left))


def full_queue(url, redis):
    """Streams: a bound set in Redis (taskq:items.max) makes put answer FULL; the producer
    waits, and every item still arrives exactly once when a consumer makes room."""
    redis.command("SET", "taskq:items.max", "5")
    with Group() as g:
        producer = g.start([program("producer"), "--backend", url, "--name", "F",
                            "--count", "20"])
        wait_for(lambda: redis.command("XLEN", "taskq:items") == 5)
        check(redis.command("XLEN", "taskq:items") == 5 and producer.poll() is None,
              "redis: a producer stops at the bound of 5 and waits")
        rc, out, err = g.finish(g.start([program("consumer"), "--backend", url, "--name",
                                         "c", "--max", "20"]))
        got = re.findall(r"^c got (F:\d+)$", out, re.M)
        check(rc == 0 and sorted(got) == sorted(f"F:{i}" for i in range(20)),
              "redis: the consumer got all 20, each once", f"rc={rc} {out[-300:]}")
        prc, pout, perr = g.finish(producer)
        check(prc == 0 and pout == "put 20 items\n" and perr.count("full") == 1,
              "redis: the producer put all 20, said once that the queue was full",
              f"rc={prc} {pout!r} {perr!r}")


def poison(url, redis):
    """Streams: a task the worker cannot read is nacked; after 5 deliveries it is in the
    dead stream, not delivered again."""
    with Group() as g:
        p = g.finish(g.start([program("producer"), "--backend", url, "--queue", "tasks",
                              "--name", "bad", "--count", "3"]))
        check(p[0] == 0, "redis: 3 poison tasks put", str(p))
        rc, out, err = g.finish(g.start([program("worker"), "--backend", url,
                                         "--exit-when-idle", "2000"]))
        nacks = len(re.findall(r"nacked", err))
        check(rc == 0 and nacks == 15, "redis: each poison task nacked 5 times (15)",
              f"rc={rc} nacks={nacks} {err[-600:]}")
    dead = redis.command("XRANGE", "taskq:tasks.dead", "-", "+")
    payloads = sorted(dict(zip(e[1][::2], e[1][1::2]))[b"d"] for e in dead)
    check(payloads == [b"bad:0", b"bad:1", b"bad:2"], "redis: the 3 are in taskq:tasks.dead",
          str(payloads))
    check(redis.command("XLEN", "taskq:tasks") == 0, "redis: and no longer in taskq:tasks")


def programs():
    built = all(os.path.exists(program(p)) for p in ("master", "worker", "producer",
                                                      "consumer"))
    if not check(built, "master, worker, producer and consumer are built"):
        return
    for scheme in ("redis", "redis-lists"):
        for case in (master_workers, kill_two_workers, producers_consumers):
            with RedisServer() as r:
                url = r.url.replace("redis", scheme, 1)
                case(url, scheme, r)
    for case in (poison, full_queue):
        with RedisServer() as r:
            case(r.url, r)


def main():
    redis = RedisServer.start_or_skip()
    try:
        unit_contract(redis)
    finally:
        redis.stop()
    killed_redis()
    programs()
    done()


if __name__ == "__main__":
    main()
