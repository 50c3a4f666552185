"""subprocess: communicate() moves stdin, stdout and stderr at once without deadlock - 10 MiB
each way through cat, 10 MiB on stderr, 10 MiB on both streams at once, byte for byte - and
reports exit statuses and signals as they were; a command that cannot be run is named.
Output is bounded: past --max-output (default 128 MiB) the command is killed and reaped and
we exit 3, with our memory bounded (ru_maxrss) and no process left behind."""
import os
import resource
import tempfile
import zlib
from testlib import check, done, program, run

SUB = program("subprocess")
MiB = 1 << 20

r = run([SUB])
check(r.returncode == 0, "subprocess (default) exits 0", r.stderr)
check("stdout: 15 bytes" in r.stdout and "apple\nfig\npear\n" in r.stdout,
      "the default script's sorted stdout comes back", r.stdout)
check("sh: sorted my input; now I exit with status 3" in r.stdout,
      "its stderr comes back too", r.stdout)
check("status: exited with status 3" in r.stdout, "and its exit status 3", r.stdout)

with tempfile.TemporaryDirectory() as tmp:
    data = os.urandom(10 * MiB)
    src = os.path.join(tmp, "in.bin")
    with open(src, "wb") as f:
        f.write(data)

    def through(cmd, name):
        prefix = os.path.join(tmp, name)
        r = run([SUB, "--input-file", src, "--save", prefix, "--"] + cmd, timeout=120)
        check(r.returncode == 0, f"{name}: exits 0", r.stderr)
        with open(prefix + ".stdout", "rb") as f:
            out = f.read()
        with open(prefix + ".stderr", "rb") as f:
            err = f.read()
        return r, out, err

    r, out, err = through(["cat"], "cat")
    check(out == data, "10 MiB through cat comes back byte for byte", f"{len(out)} bytes")
    check(err == b"" and "status: exited with status 0" in r.stdout, "cat: no stderr, status 0",
          r.stdout)
    check(f"stdout: {10 * MiB} bytes, crc32 {zlib.crc32(data):08x}" in r.stdout,
          "the printed CRC-32 is zlib's", r.stdout)

    r, out, err = through(["sh", "-c", "cat >&2"], "stderr")
    check(err == data and out == b"", "10 MiB to stderr comes back byte for byte",
          f"{len(err)} bytes")

    r, out, err = through(["tee", "/dev/stderr"], "both")
    check(out == data and err == data, "10 MiB on stdout and stderr at once, both byte for byte",
          f"{len(out)} and {len(err)} bytes")

for code in (0, 7, 255):
    r = run([SUB, "--", "sh", "-c", f"exit {code}"])
    check(r.returncode == 0 and f"status: exited with status {code}" in r.stdout,
          f"exit status {code} is reported", r.stdout)
for sig, name in ((9, "SIGKILL"), (15, "SIGTERM"), (11, "SIGSEGV")):
    r = run([SUB, "--", "sh", "-c", f"kill -{sig} $$"])
    check(r.returncode == 0 and f"status: killed by signal {sig} ({name}" in r.stdout,
          f"death by {name} is reported as a signal", r.stdout)

# A child that stops reading early: no SIGPIPE death for us, the status still comes back.
r = run([SUB, "--input-bytes", str(4 * MiB), "--", "head", "-c", "10"])
check(r.returncode == 0 and "stdout: 10 bytes" in r.stdout and "stopped reading" in r.stdout
      and "status: exited with status 0" in r.stdout,
      "a child that reads only 10 bytes: we see EPIPE, not SIGPIPE", r.stdout + r.stderr)

# Nothing without bound. A command that never stops writing is cut at the cap: exit 3, the
# cap named on stderr, exactly the cap's worth of bytes kept.
r = run([SUB, "--max-output", "1000000", "--", "yes"])
check(r.returncode == 3 and "more than 1000000 bytes (--max-output)" in r.stderr,
      "yes past --max-output 1000000: exit 3 and the cap named", f"exit {r.returncode}: {r.stderr}")
check("stdout: 1000000 bytes" in r.stdout and "killed by signal 9 (SIGKILL" in r.stdout,
      "exactly the cap is kept and the command dies by our SIGKILL", r.stdout[-300:])
r = run([SUB, "--max-output", "11", "--", "echo", "0123456789"])
check(r.returncode == 0 and "stdout: 11 bytes" in r.stdout, "output of exactly the cap is kept",
      r.stdout + r.stderr)
r = run([SUB, "--max-output", "10", "--", "echo", "0123456789"])
check(r.returncode == 3, "one byte over the cap is refused", r.stdout + r.stderr)
r = run([SUB, "--max-output", "6", "--", "sh", "-c", "echo abc; echo def >&2"])
check(r.returncode == 3, "the cap counts stdout and stderr together", r.stdout + r.stderr)

# The default cap, and the memory it bounds: a 1 GiB writer (finite, so an unbounded
# build ends too, with a failed check rather than a hang) leaves our memory below 512 MiB.
r = run([SUB, "--", "head", "-c", str(1 << 30), "/dev/zero"], timeout=120)
maxrss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
check(r.returncode == 3 and f"more than {128 * MiB} bytes" in r.stderr,
      "1 GiB of output with no flag: cut at the default 128 MiB, exit 3",
      f"exit {r.returncode}: {r.stderr}")
check(maxrss_mib < 512, "and our memory stayed bounded (ru_maxrss < 512 MiB)",
      f"ru_maxrss {maxrss_mib:.0f} MiB")

# Killed and reaped: a command that writes past the cap and then would sleep (it does not
# die of SIGPIPE) is gone when we return.
with tempfile.TemporaryDirectory() as tmp:
    pidfile = os.path.join(tmp, "pid")
    r = run([SUB, "--max-output", "100000", "--", "sh", "-c",
             f"echo $$ > {pidfile}; head -c 1000000 /dev/zero; exec sleep 300"])
    pid, alive = None, False
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pid = int(f.read())
        try:
            os.kill(pid, 9)                     # a survivor: count it, and end it
            alive = True
        except ProcessLookupError:
            pass
    check(r.returncode == 3 and pid is not None and not alive,
          "a writer past the cap that would sleep on is killed, no process left behind",
          f"exit {r.returncode}, pid {pid} alive: {alive}")

r = run([SUB, "--", "no-such-command-here"])
check(r.returncode == 1 and "exec no-such-command-here: No such file" in r.stderr,
      "a missing command is named with the reason", r.stderr)
r = run([SUB, "--input", "x", "--input-bytes", "3"])
check(r.returncode == 2, "two inputs at once are refused", r.stderr)
done()
