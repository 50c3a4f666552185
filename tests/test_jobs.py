"""jobs (seed 002's scheduler) on the broker: jobs submitted, run by workers and listed with
the right states and results; `fail` fails; a shell command is refused without
--allow-commands (and not run: the file it would make is absent) and run with it (file
present, exit status recorded); a worker that crashes on a job has it redelivered to
another (attempts 2), and a job that crashes every worker ends dead-lettered after the
broker's --max-deliveries; a worker killed by SIGKILL while its command runs leaves no
process behind (not even what the shell forked), and one stopped by SIGTERM hands its
job back; watch --until-idle exits 0 when all is over; a lost broker is an error (exit 1),
never a hang.

`test_jobs.py redis [PART...]` runs the same programs, unchanged, on Redis Streams (a
redis-server of its own, tests/redislib.py; exit 77, skipped, where there is none). There a
dead worker's job comes back when its lease runs out, not when it disconnects, so workers
use a short --lease-ms, and the broker-only parts (dead letters by the broker's flag, the
job queued again at disconnect) are left out.

Each part starts its own broker or redis-server (port 0 or a free port, a temp dir) and
stops it by pid. Waits are polls bounded by a generous deadline (hang guards), never
sleeps."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from testlib import (program, check, done, run, session_processes, become_subreaper,
                     reap_orphans, finish_reading, kill_all)
from taskqwire import start_broker, stop_broker, wait_until

JOBS = program("jobs")
T = 60
REDIS = sys.argv[1:2] == ["redis"]
LEASE = ["--lease-ms", "500"] if REDIS else []   # Redis: the lease brings a job back


class Scheduler:
    """A broker (or a redis-server) of our own and the jobs commands pointed at it."""

    def __init__(self, tmp, broker_args=()):
        self.tmp = tmp
        if REDIS:
            import redislib
            self.redis = redislib.RedisServer.start_or_skip()
            self.flags = ["--backend", self.redis.url]
        else:
            self.broker, self.port, _ = start_broker(tmp, list(broker_args))
            self.flags = ["--backend", f"tcp://127.0.0.1:{self.port}",
                          "--key", os.path.join(tmp, "taskq.key")]

    def cmd(self, sub, *args):
        return [JOBS, sub] + self.flags + list(args)

    def jobs(self, sub, *args):
        return run(self.cmd(sub, *args), timeout=T)

    def submit(self, *command):
        r = self.jobs("submit", "--", *command)
        m = re.fullmatch(r"submitted (j[0-9a-f]{8})\n", r.stdout)
        check(r.returncode == 0 and m, f"jobs submit {' '.join(command)} prints its id",
              f"exit {r.returncode}: {r.stdout!r} {r.stderr!r}")
        return m.group(1) if m else None

    def work(self, name, *args, idle="1000"):
        """Run a worker that exits once idle; (returncode, stdout, stderr)."""
        r = run(self.cmd("work", "--name", name, "--exit-when-idle", idle, *LEASE, *args),
                timeout=T)
        return r.returncode, r.stdout, r.stderr

    def start_worker(self, name, *args, idle="5000", **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.cmd("work", "--name", name, "--exit-when-idle", idle,
                                         *LEASE, *args), text=True, **kw)

    def listing(self):
        """{job id: row} from jobs list --json (None if it failed)."""
        r = self.jobs("list", "--json")
        if r.returncode != 0:
            print(f"     jobs list --json: exit {r.returncode}: {r.stderr}")
            return None
        return {row["id"]: row for row in map(json.loads, r.stdout.splitlines())}

    def kill_backend(self):
        if REDIS:
            self.redis.kill()
        else:
            stop_broker(self.broker, signal.SIGKILL)

    def stop(self):
        if REDIS:
            self.redis.stop()
            return
        rc, _, err = stop_broker(self.broker)
        check(rc == 0, "the broker stops on SIGTERM with exit 0", f"exit {rc}: {err}")


def row_is(rows, job, what, **want):
    row = (rows or {}).get(job, {})
    got = {k: row.get(k) for k in want}
    check(got == want, f"{what}: {want}", f"got {row}")


def wait_for_state(s, job, state):
    """The listing once `job` is in `state` (polled, bounded: a hang guard), else the last."""
    last = {}

    def there():
        last["rows"] = s.listing()
        return (last["rows"] or {}).get(job, {}).get("state") == state
    wait_until(there, f"job {state}")
    return last["rows"]


def basic(tmp):
    """5 built-in jobs, 2 workers: every job done (or failed) once, with its result."""
    s = Scheduler(tmp)
    ids = [s.submit("square", "3"), s.submit("square", "-12"), s.submit("sleep", "50"),
           s.submit("fail"), s.submit("square", "3037000499")]
    check(len(set(ids)) == 5, "5 submissions get 5 different ids", str(ids))
    r = s.jobs("list")
    check(r.returncode == 0 and "5 jobs: 5 queued, 0 running, 0 done" in r.stdout,
          "before any worker: 5 jobs queued", r.stdout)
    workers = [s.start_worker(n, idle="1500") for n in ("w1", "w2")]
    outs = [w.communicate(timeout=T) for w in workers]
    check(all(w.returncode == 0 for w in workers), "both workers exit 0 once idle",
          str([(w.returncode, o[1]) for w, o in zip(workers, outs)]))
    counts = [re.search(r"^w\d: (\d+) done, (\d+) failed$", out, re.M) for out, _ in outs]
    check(all(counts) and sum(int(m[1]) + int(m[2]) for m in counts if m) == 5,
          "the workers ran 5 jobs between them, each once", str([o[0] for o in outs]))
    rows = s.listing()
    for job, out in zip(ids, ["9", "144", "slept 50 ms", None, "9223372030926249001"]):
        if out is not None:
            row_is(rows, job, f"job {job} done", state="done", status="exit 0", output=out,
                   attempts=1)
    row_is(rows, ids[3], "`fail` is failed", state="failed", status="exit 1", attempts=1)
    check(rows is not None and all(r["worker"] in ("w1", "w2") and r["user"] for r in
                                   rows.values()), "each record names its worker and user")
    check(rows is not None and [r["id"] for r in rows.values()] == ids,
          "listed in submission order", str(rows and list(rows)))
    r = s.jobs("list")
    check("5 jobs: 0 queued, 0 running, 4 done, 1 failed, 0 dead-lettered" in r.stdout
          and re.search(r"^ID +USER +STATE +WORKER +ATTEMPTS +COMMAND/RESULT$", r.stdout, re.M)
          and re.search(rf"^{ids[0]} +\S+ +done +w[12] +1 +square 3 => exit 0: 9$", r.stdout,
                        re.M), "the table shows the same", r.stdout)
    s.stop()


def commands(tmp):
    """Commands off: refused and not run. On: run through sh, status and output kept."""
    s = Scheduler(tmp)
    made = os.path.join(tmp, "made-by-job")
    job = s.submit("touch", made)
    rc, out, _ = s.work("off")
    rows = s.listing()
    row_is(rows, job, "a command on a worker without --allow-commands fails",
           state="failed", status="not run",
           output="commands are off on this worker; start it with --allow-commands")
    check(rc == 0 and "commands are off on this worker" in out,
          "the worker says why it refused", out)
    check(not os.path.exists(made), "the refused command did not run (no file)")

    job = s.submit(f"touch {made}; echo made it; exit 3")
    ok = s.submit("echo", "hello", "there")
    rc, out, err = s.work("on", "--allow-commands")
    rows = s.listing()
    check(rc == 0 and os.path.exists(made), "with --allow-commands the command ran (file)",
          f"exit {rc}: {out} {err}")
    row_is(rows, job, "its exit status and first line are recorded", state="failed",
           status="exit 3", output="made it", worker="on")
    row_is(rows, ok, "a command that exits 0 is done", state="done", status="exit 0",
           output="hello there")
    r = s.jobs("submit", "--", "a\tb")
    check(r.returncode == 2 and "tab" in r.stderr, "a tab in a command is refused (exit 2)",
          f"exit {r.returncode}: {r.stderr}")
    s.stop()


def crash(tmp):
    """A worker dies holding a job: the job comes back and another worker finishes it."""
    s = Scheduler(tmp)
    job = s.submit("crash")
    rc, _, err = s.work("first")
    check(rc == -signal.SIGABRT and "aborts now" in err,
          "the first worker dies by abort() on `crash`", f"exit {rc}: {err}")
    if not REDIS:                           # on Redis it comes back when its lease ends
        row_is(wait_for_state(s, job, "queued"), job,
               "the job is queued again after 1 attempt", state="queued", attempts=1)
    rc, out, _ = s.work("second", idle="10000")
    row_is(s.listing(), job, "the second worker finishes it on attempt 2", state="done",
           worker="second", attempts=2, output="attempt 2 got past the crash")
    s.stop()
    if REDIS:
        return                              # the dead-letter count is the broker's flag

    s = Scheduler(tmp, ["--max-deliveries", "2"])
    job = s.submit("crash", "9")
    for name in ("a", "b"):
        wait_for_state(s, job, "queued")    # back on the queue before the next one starts
        rc, _, _ = s.work(name)
        check(rc == -signal.SIGABRT, f"worker {name} dies on `crash 9`", f"exit {rc}")
    row_is(wait_for_state(s, job, "dead-lettered"), job, "after --max-deliveries 2 the job is dead-lettered",
           state="dead-lettered", attempts=2)
    rc, out, _ = s.work("c")
    check(rc == 0 and "c: 0 done, 0 failed" in out, "a third worker gets nothing to run", out)
    r = s.jobs("list")
    check(re.search(rf"^{job} .* dead-lettered +- +2 +crash 9$", r.stdout, re.M)
          and "1 dead-lettered" in r.stdout, "jobs list shows it dead-lettered", r.stdout)
    s.stop()


def sigkill(tmp):
    """SIGKILL a worker while `sleep 300; echo never` runs: sh and sleep die too; the job
    goes back to the queue."""
    s = Scheduler(tmp)
    job = s.submit("sleep 300; echo never")    # longer than any wait here: no passing by time
    # Output to a file, not a pipe: waiting for a pipe's end would wait for survivors too.
    log = open(os.path.join(tmp, "doomed.log"), "w")
    w = s.start_worker("doomed", "--allow-commands", start_new_session=True, stdout=log,
                       stderr=log)
    # worker, guard, sh and sleep: all four up before we kill the worker
    ready = wait_until(lambda: len(session_processes(w.pid)) >= 4, "the command runs")
    check(ready, "the worker runs the command (4 processes in its session)",
          str(session_processes(w.pid)))
    row_is(s.listing(), job, "the job is running on the worker", state="running",
           worker="doomed")
    w.kill()
    w.wait(timeout=T)
    log.close()
    left = wait_until(lambda: reap_orphans() or not session_processes(w.pid), "no survivor")
    survivors = session_processes(w.pid)
    check(left and not survivors, "no process of the killed worker survives", str(survivors))
    kill_all(survivors)
    if not REDIS:
        row_is(wait_for_state(s, job, "queued"), job,
               "the killed worker's job is queued again", state="queued", attempts=1)
    s.stop()


def stop(tmp):
    """SIGTERM to a worker while its command runs: the command's processes end, the job is
    handed back (queued again at once) and the worker exits 0."""
    s = Scheduler(tmp)
    job = s.submit("sleep 300; echo never")
    log = open(os.path.join(tmp, "stopped.log"), "w")
    w = s.start_worker("stopped", "--allow-commands", start_new_session=True, stdout=log,
                       stderr=log)
    check(wait_until(lambda: len(session_processes(w.pid)) >= 4, "the command runs"),
          "the worker runs the command", str(session_processes(w.pid)))
    w.terminate()
    try:
        w.wait(timeout=T)
    except subprocess.TimeoutExpired:
        w.kill()
        w.wait()
    log.close()
    out = open(os.path.join(tmp, "stopped.log")).read()
    check(w.returncode == 0 and "handed back" in out, "the worker exits 0 and says so",
          f"exit {w.returncode}: {out}")
    survivors = session_processes(w.pid)
    check(not survivors, "nothing of its command is left", str(survivors))
    kill_all(survivors)
    row_is(s.listing(), job, "the job is queued again", state="queued", attempts=1)
    s.stop()


def watch(tmp):
    """watch prints the table as it changes and, with --until-idle, exits 0 when no job is
    queued or running."""
    s = Scheduler(tmp)
    s.submit("sleep", "200")
    s.submit("square", "2")
    p = subprocess.Popen(s.cmd("watch", "--interval-ms", "50", "--until-idle"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = ""
    for line in p.stdout:               # the first table, before any worker starts
        first += line
        if re.match(r"\d+ jobs:", line):
            break
    check("2 jobs: 2 queued, 0 running" in first, "watch shows the queued jobs first", first)
    rc, _, _ = s.work("w")
    rest, err = finish_reading(p, T)
    check(p.returncode == 0, "watch --until-idle exits 0 once all jobs are over",
          f"exit {p.returncode}: {err}")
    check(rest.rstrip().endswith("2 jobs: 0 queued, 0 running, 2 done, 0 failed, "
                                 "0 dead-lettered"), "its last table shows them done", rest)
    check("\033[" not in first + rest, "no screen clearing into a pipe")
    s.stop()


def lost(tmp):
    """No broker, or a broker that dies: exit 1 with a message, never a hang."""
    scheme = "redis" if REDIS else "tcp"
    r = run([JOBS, "list", "--backend", f"{scheme}://127.0.0.1:1", "--key",
             os.path.join(tmp, "none.key")], timeout=T)
    check(r.returncode == 1 and r.stderr, "jobs list with no backend exits 1 with a message",
          f"exit {r.returncode}: {r.stderr}")
    s = Scheduler(tmp)
    w = s.start_worker("orphan", idle="60000")
    line = w.stdout.readline()             # blocks until it is connected and waiting
    check("waiting for jobs" in line, "the worker is up", line)
    s.kill_backend()
    try:
        _, err = w.communicate(timeout=T)
    except subprocess.TimeoutExpired:
        w.kill()
        _, err = w.communicate()
    check(w.returncode == 1 and err, "a worker whose backend dies exits 1 with a message",
          f"exit {w.returncode}: {err}")


become_subreaper()
parts = (basic, commands, crash, sigkill, stop, watch, lost)
wanted = sys.argv[1 + REDIS:]               # test_jobs.py [redis] [PART...]: some parts
if REDIS:
    try:
        import redislib                     # noqa: F401 (comes with the Redis backends)
    except ImportError:
        print("SKIP: tests/redislib.py is not in this tree (no Redis backend yet)")
        sys.exit(77)
    r = run([JOBS, "list", "--backend", "redis://127.0.0.1:1"], timeout=T)
    if "no backend" in r.stderr:
        print(f"SKIP: this build has no Redis backend: {r.stderr.strip()}")
        sys.exit(77)
for part in [p for p in parts if not wanted or p.__name__ in wanted]:
    print(f"--- {part.__name__}: {part.__doc__.splitlines()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        part(tmp)
done()
