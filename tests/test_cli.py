"""Every built program keeps the suite's flag conventions: --help prints purpose and usage
on stdout and exits 0; an unknown flag or a bad value is named on stderr and exits 2.
New programs are covered as soon as they are built into build/bin."""
import os
from testlib import BIN, check, done, run

# A flag no program has, and for each program one value that must be refused.
BAD_VALUES = {
    "spin": ["--threads", "0"],
    "spawn": ["--children", "many"],
    "measure": ["--interval", "-5", "--", "true"],
    "fork": ["extra-argument"],
    "shared_heap": ["--key", "weight"],
    "crash": ["--fault", "fpe"],
    "queue": ["--via", "socket"],
    "threads": ["--threads", "0"],
    "race": ["--lock", "sometimes"],
    "tls": ["--checks", "-1"],
    "deadlock": ["--timeout-ms", "soon"],
    "switching": ["--kind", "gpu"],
    "pool": ["--crash", "sometimes"],
    "subprocess": ["--input-bytes", "lots"],
    "loop": ["--ms", "0"],
    "server_uv": ["--port", "70000"],
    "server_uv_multi": ["--workers", "0"],
    "server_threads": ["--bind", "localhost:80"],
    "server_pool": ["--workers", "many"],
    "server_fork": ["--header-timeout", "-1"],
    "server_prefork": ["--workers", "5000"],
}

programs = sorted(p for p in os.listdir(BIN) if os.access(os.path.join(BIN, p), os.X_OK))
check(len(programs) >= 5, f"found programs in {BIN}", f"only {programs}")
for name in programs:
    path = os.path.join(BIN, name)
    r = run([path, "--help"])
    check(r.returncode == 0, f"{name} --help exits 0", f"exit {r.returncode}: {r.stderr}")
    check("Usage" in r.stdout, f"{name} --help prints a Usage line", r.stdout[:200])
    check(len(r.stdout.splitlines()[0]) > 10, f"{name} --help starts with its purpose",
          r.stdout[:200])

    r = run([path, "--no-such-flag"])
    check(r.returncode == 2, f"{name} --no-such-flag exits 2", f"exit {r.returncode}")
    check("no-such-flag" in r.stderr, f"{name} names the bad flag on stderr", r.stderr)
    check(r.stdout == "", f"{name} prints nothing on stdout for a bad flag", r.stdout)

    bad = BAD_VALUES.get(name) or (["--repeat", "0"] if name.startswith("bench_") else None)
    if bad:
        r = run([path] + bad)
        check(r.returncode == 2, f"{name} {' '.join(bad)} exits 2", f"exit {r.returncode}")
        check("--help" in r.stderr and len(r.stderr.splitlines()) >= 2,
              f"{name} explains the bad value and points at --help", r.stderr)
done()
