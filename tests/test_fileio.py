"""fileio: every method reads exactly the bytes on disk (sequential runs: the sum of what was
read equals the files' own, and equals the sum this test computes from the bytes it wrote);
random runs read the same number of bytes every way; each method reports its threads
(blocking 1, threads N+1, uv its pool + the loop thread); a regular file under epoll fails
with EPERM; io_uring refused -> those methods say skipped with the reason and the others
run; bad flags exit 2; a missing file is named."""
import os
import re
import tempfile
from testlib import check, done, program, run

LINE = re.compile(r"^  (\S+) +[\d.]+ MiB/s +\d+ bytes/s +threads (\d+) +(.*)$", re.M)
SKIP = re.compile(r"^  (\S+) +skipped: (.*)$", re.M)
METHODS = ["blocking", "threads", "uv", "uring", "uring-fixed"]
M64 = (1 << 64) - 1


def file_sum(data, index, block=4096):
    """fio_checksum over the file's blocks: words weighted by their odd position."""
    s = 0
    for off in range(0, len(data), block):
        chunk = data[off:off + block]
        s += (index + 1) * len(chunk)
        words = len(chunk) // 8
        for i in range(words):
            w = int.from_bytes(chunk[8 * i:8 * i + 8], "little")
            s += w * (2 * (off + 8 * i) + 1)
        for i in range(8 * words, len(chunk)):
            s += chunk[i] * (2 * (off + i) + 1)
    return s & M64


def results(out):
    """{method: (threads, rest-of-line)} and {method: skip reason}, per cache section."""
    got = {}
    for section in re.split(r"^(?=(?:cold|warm) cache:)", out, flags=re.M)[1:]:
        cache = section.split()[0]
        got[cache] = ({m: (int(t), rest) for m, t, rest in LINE.findall(section)},
                      dict(SKIP.findall(section)))
    return got


env = dict(os.environ, UV_THREADPOOL_SIZE="3")
env.pop("FILEIO_REFUSE_URING", None)

# Sequential, files the program makes (a size that is not a multiple of the block).
r = run([program("fileio"), "--files", "3", "--size", "300001", "--threads", "3"], env=env)
check(r.returncode == 0, "fileio exits 0", r.stderr + r.stdout)
check("UV_THREADPOOL_SIZE 3" in r.stdout, "the pool size in effect is shown", r.stdout)
got = results(r.stdout)
check(sorted(got) == ["cold", "warm"], "a cold and a warm section", r.stdout)
uring_ok = True
for cache, (ran, skipped) in got.items():
    for m in METHODS:
        if m in skipped and m.startswith("uring"):
            uring_ok = False
            check("io_uring" in skipped[m], f"{cache} {m}: skipped with io_uring's reason",
                  skipped[m])
            continue
        check(m in ran and re.search(r"sum (\w+) \(expected \1\) ok", ran[m][1]),
              f"{cache} {m}: the sum of what was read equals the files'", r.stdout)
    threads = {m: t for m, (t, _) in ran.items()}
    check(threads.get("blocking") == 1, f"{cache}: blocking used 1 thread", r.stdout)
    check(threads.get("threads") == 4, f"{cache}: threads used 3 + the main thread", r.stdout)
    check(threads.get("uv") == 4, f"{cache}: uv used its pool of 3 + the loop thread",
          r.stdout)
m = re.search(r"cache warm by .*: (\d+) of (\d+) pages cached", r.stdout)
check(m and m.group(1) == m.group(2) and int(m.group(2)) > 0,
      "warm: mincore finds every page cached", r.stdout)
check(re.search(r"cache cold by posix_fadvise\(DONTNEED\) per file: \d+ of \d+ pages",
                r.stdout), "cold: says how (fadvise) and how many pages stayed", r.stdout)

# Given files: the expected sum is this test's, from the bytes it wrote.
with tempfile.TemporaryDirectory() as d:
    paths, want = [], 0
    for i, size in enumerate([5000, 8192, 1]):
        data = os.urandom(size)
        paths.append(os.path.join(d, f"in{i}"))
        with open(paths[-1], "wb") as f:
            f.write(data)
        want = (want + file_sum(data, i)) & M64
    r = run([program("fileio"), "--cache", "warm"] + paths, env=env)
    sums = re.findall(r"^  (\S+) .* sum (\w+) \(expected (\w+)\)", r.stdout, re.M)
    check(r.returncode == 0 and len(sums) == (5 if uring_ok else 3),
          "every method read the given files", r.stdout + r.stderr)
    check(all(int(s, 16) == want and int(e, 16) == want for _, s, e in sums),
          f"every method's sum is the bytes written ({want:016x})", r.stdout)

# Random reads: the same reads every way, so the same byte count.
r = run([program("fileio"), "--files", "2", "--size", "200000", "--pattern", "random",
         "--cache", "warm"], env=env)
counts = set(re.findall(r"bytes (\d+) \(random", r.stdout))
check(r.returncode == 0 and len(counts) == 1, "random: every method read as many bytes",
      r.stdout)

# io_uring refused: those two say why, the others still run.
r = run([program("fileio"), "--files", "1", "--size", "10000", "--cache", "warm"],
        env=dict(env, FILEIO_REFUSE_URING="1"))
ran, skipped = results(r.stdout).get("warm", ({}, {}))
check(r.returncode == 0 and sorted(skipped) == ["uring", "uring-fixed"] and
      all("io_uring_queue_init: Operation not permitted" in s for s in skipped.values()),
      "io_uring refused: uring and uring-fixed skipped with the reason", r.stdout)
check(sorted(ran) == ["blocking", "threads", "uv"], "the other methods still ran", r.stdout)

r = run([program("fileio"), "--show-epoll"])
check(r.returncode == 0 and "EPERM" in r.stdout and "Operation not permitted" in r.stdout,
      "--show-epoll: epoll_ctl on a regular file fails with EPERM", r.stdout)

for bad in (["--pattern", "zigzag"], ["--files", "0"], ["--block", "100"],
            ["--method", "aio"], ["--cache", "lukewarm"]):
    r = run([program("fileio")] + bad)
    check(r.returncode == 2 and bad[0] in r.stderr, f"{' '.join(bad)}: exit 2", r.stderr)
r = run([program("fileio"), "/no/such/file"])
check(r.returncode == 1 and "/no/such/file" in r.stderr, "a missing file is named", r.stderr)
done()
