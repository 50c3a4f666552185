"""test_redis.py - the task queue on Redis: Streams (redis://) and the lists pattern
(redis-lists://), against a redis-server this test starts on a free loopback port.

1. The backends' contract, in C (tests/unit/test_taskq_redis.c): exact contents, FIFO,
   finish all-or-nothing, lease expiry and redelivery, poison task to the dead stream after
   K deliveries, nack, stats, inspect, an empty wait answering 0, a refused connection.
2. Redis killed under a client that waits: the client gets an error at once, not a hang.
3. The chapter's programs on Redis (when they are built).
Without redis-server it exits 77 (CTest: skipped) and says why.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from redislib import RedisServer  # noqa: E402
from testlib import check, done  # noqa: E402

BUILD = os.path.dirname(os.environ.get("BIN_DIR", os.path.join(os.path.dirname(__file__),
                                                                "..", "build", "bin")))
UNIT = os.path.join(BUILD, "tests", "unit", "unit_taskq_redis")


def lists_url(url):
    return url.replace("redis://", "redis-lists://")


def unit_contract(redis):
    for url in (redis.url, lists_url(redis.url)):
        p = subprocess.run([UNIT, url], capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, f"unit contract on {url.split(':')[0]}",
              p.stderr[-3000:])


def killed_redis():
    """A client blocked in a get sees Redis die: taskq_get returns -1 (exit 3) promptly,
    long before its ten-minute wait would end (the timeout below is only a hang guard)."""
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


def main():
    redis = RedisServer.start_or_skip()
    try:
        unit_contract(redis)
    finally:
        redis.stop()
    killed_redis()
    done()


if __name__ == "__main__":
    main()
