"""subprocess: communicate() moves stdin, stdout and stderr at once without deadlock - 10 MiB
each way through cat, 10 MiB on stderr, 10 MiB on both streams at once, byte for byte - and
reports exit statuses and signals as they were; a command that cannot be run is named."""
import os
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

r = run([SUB, "--", "no-such-command-here"])
check(r.returncode == 1 and "exec no-such-command-here: No such file" in r.stderr,
      "a missing command is named with the reason", r.stderr)
r = run([SUB, "--input", "x", "--input-bytes", "3"])
check(r.returncode == 2, "two inputs at once are refused", r.stderr)
done()
