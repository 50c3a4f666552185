"""A bench tells "the program is missing" from "the program ran and failed", one way for
every program it starts (lib/spawn_capture.c: exec's errno through a close-on-exec pipe):
- a Python interpreter or wrk that does not exist: the points that need it are skipped,
  the bench exits 0 with no rows for them;
- one that exists, runs and exits 127 on its own: the run failed, the bench says FAILED and
  exits 1 (127 is the program's own status, not a sign that it is missing).
Each case is one quick variant, killed at 120 s if it ever hangs."""
import os
import stat
import tempfile
from testlib import check, done, parse_csv, program, run

tmp = tempfile.mkdtemp(prefix="bench-spawn-")
fake = os.path.join(tmp, "exits127")
with open(fake, "w") as f:
    f.write("#!/bin/sh\necho 'fake: exits 127 on purpose' >&2\nexit 127\n")
os.chmod(fake, stat.S_IRWXU)
os.symlink(fake, os.path.join(tmp, "wrk"))      # a "wrk" on PATH that runs and exits 127

PY_CASES = [("bench_heap", ["--variant", "py-manager", "--seconds", "0.02"]),
            ("bench_race", ["--variant", "py", "--trials", "1"]),
            ("bench_spin", ["--variant", "py-threads", "--seconds", "0.02"])]
for bench, args in PY_CASES:
    common = [program(bench)] + args + ["--repeat", "1", "--warmup", "0"]
    r = run(common + ["--python", os.path.join(tmp, "no-such-python")], timeout=120)
    rows = parse_csv(r.stdout)
    check(r.returncode == 0 and not rows and "skipped" in r.stderr,
          f"{bench}: a missing interpreter skips its points (exit 0, no rows)",
          f"exit {r.returncode}, {len(rows)} rows, stderr: {r.stderr[-300:]}")
    r = run(common + ["--python", fake], timeout=120)
    check(r.returncode == 1 and "FAILED" in r.stderr,
          f"{bench}: an interpreter that runs and exits 127 is a failure, not 'missing'",
          f"exit {r.returncode}, stderr: {r.stderr[-300:]}")

server = [program("bench_server"), "--variant", "server_uv", "--connections", "4",
          "--seconds", "1", "--repeat", "1"]
env = dict(os.environ, PATH=os.path.join(tmp, "empty"))
r = run(server, timeout=120, env=env)
check(r.returncode == 0 and not parse_csv(r.stdout) and "skipped" in r.stderr,
      "bench_server: wrk missing from PATH skips the point (exit 0, no rows)",
      f"exit {r.returncode}, stderr: {r.stderr[-300:]}")
r = run(server, timeout=120, env=dict(os.environ, PATH=tmp))
check(r.returncode == 1 and "FAILED" in r.stderr,
      "bench_server: a wrk that runs and exits 127 is a failure, not 'missing'",
      f"exit {r.returncode}, stderr: {r.stderr[-300:]}")

for name in ("wrk", "exits127"):
    os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
done()
