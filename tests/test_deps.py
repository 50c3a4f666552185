"""The front door's set-up: plain `make` (and `make charts`) only check the packages and name
the missing ones with the command that installs them; `make deps`, `make test` and
`make bench` install them as root; a user who is not root is told the command.

Runs scripts/deps.sh and the Makefile with a PATH of stand-ins: every tool present except
gnuplot, an `id` that says which user we are, and an `apt-get` that only writes down how it
was called (and fails, so that no make target goes on to build)."""
import os
import shutil
import tempfile
from testlib import SRC, check, done, run

TOOLS = ["cc", "cmake", "pkg-config", "python3", "ps", "redis-server",   # required (not gnuplot)
         "curl", "strace", "nc", "ss", "wrk", "perf", "clang"]   # optional


def stub(folder, name, body):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)


with tempfile.TemporaryDirectory() as d:
    fake = os.path.join(d, "bin")
    os.mkdir(fake)
    log = os.path.join(d, "apt.log")
    for tool in TOOLS:
        stub(fake, tool, "exit 0")
    stub(fake, "apt-get", f'echo "apt-get $*" >> {log}; exit 1')
    make = shutil.which("make")             # absent when CTest runs without make
    if make:
        os.symlink(make, os.path.join(fake, "make"))

    def attempt(args, uid):
        """Run args with the stand-ins as user uid; return (result, apt-get calls)."""
        stub(fake, "id", f"echo {uid}")
        if os.path.exists(log):
            os.remove(log)
        env = {"PATH": fake, "HOME": d, "LANG": "C"}
        r = run(args, env=env, timeout=60)
        calls = open(log).read() if os.path.exists(log) else ""
        return r, calls

    deps = os.path.join(SRC, "scripts", "deps.sh")
    for uid in (0, 1000):
        who = "root" if uid == 0 else "a user"
        r, calls = attempt([deps, "--check", "build"], uid)
        check(r.returncode == 2, f"deps.sh --check as {who}: a missing package is exit 2",
              f"rc={r.returncode} {r.stderr}")
        check("gnuplot-nox" in r.stderr and "apt-get install" in r.stderr,
              f"deps.sh --check as {who} names the package and the command", r.stderr)
        check(calls == "", f"deps.sh --check as {who} installs nothing", calls)

    r, calls = attempt([deps, "build"], 0)
    check("install" in calls or "update" in calls, "deps.sh as root calls apt-get", calls)
    check(r.returncode == 1, "deps.sh as root fails when apt-get fails",
          f"rc={r.returncode} {r.stderr}")
    r, calls = attempt([deps, "build"], 1000)
    check(r.returncode == 2 and calls == "" and "gnuplot-nox" in r.stderr,
          "deps.sh as a user prints the command instead", f"rc={r.returncode} {r.stderr}")

    # The site's set: only its own packages (no gnuplot asked for), the browser optional.
    r, calls = attempt([deps, "--check", "docs"], 1000)
    check("chromium-headless-shell" in r.stderr and "gnuplot" not in r.stderr and calls == "",
          "deps.sh --check docs names the site's browser and nothing of the build", r.stderr)

    stub(fake, "gnuplot", "exit 0")
    r, calls = attempt([deps, "--check", "build"], 0)
    check(r.returncode == 0 and calls == "", "deps.sh --check with everything present: exit 0",
          f"rc={r.returncode} {r.stderr}")
    os.remove(os.path.join(fake, "gnuplot"))

    # The Makefile: which targets only check and which install. Each stops at the
    # dependency step (the check fails, or the stand-in apt-get does), before any build.
    for target, installs in (("build", False), ("all", False), ("charts", False),
                             ("deps", True), ("test", True), ("bench", True)) if make else ():
        r, calls = attempt(["make", "-s", "-C", SRC, target, "RESULTS=" + d], 0)
        check(r.returncode != 0, f"make {target} stops when gnuplot is missing",
              f"rc={r.returncode}")
        if installs:
            check(calls != "", f"make {target} as root installs what is missing", r.stderr)
        else:
            check(calls == "", f"make {target} as root installs nothing", calls)
            check("gnuplot-nox" in r.stderr and "apt-get install" in r.stderr,
                  f"make {target} names the missing package and the command", r.stderr)
done()
