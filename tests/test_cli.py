"""Every built program keeps the suite's flag conventions: --help prints purpose and usage
on stdout and exits 0; an unknown flag or a bad value is named on stderr and exits 2.
New programs are covered as soon as they are built into build/bin.

Numbers are decimal: no '+', no spaces, no hex, no exponents ("0x10" and "1e1" are refused;
"010" is ten). Lists are single-comma separated: an empty item ("1,,2", ",1", "1,") is
refused. An unknown flag is called unknown even when it comes last (not "needs a value").
Each bad value is followed by --no-such-flag, so a build that wrongly took the value
still exits 2 at once - but names the other flag, and the check fails without a hang."""
import os
import subprocess
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
    "fileio": ["--pattern", "zigzag"],
    "server_uv": ["--port", "70000"],
    "server_uv_multi": ["--workers", "0"],
    "server_epoll": ["--drain", "sometimes"],
    "server_uring": ["--ring-flags", "sideways"],
    "server_threads": ["--bind", "localhost:80"],
    "server_pool": ["--workers", "many"],
    "server_fork": ["--header-timeout", "-1"],
    "server_prefork": ["--workers", "5000"],
    "broker": ["--max-deliveries", "0"],
    "master": ["--tasks", "0"],
    "worker": ["--prefetch", "5000"],
    "producer": ["--size", "0"],
    "consumer": ["--wait-ms", "soon"],
    "jobs": ["work", "--lease-ms", "0"],
    "bounded_buffer": ["--wrong", "while"],
    "signals": ["--mode", "sometimes"],
    "cow": ["--touch", "1.5"],
    "false_sharing": ["--layout", "diagonal"],
    "zombies": ["--mode", "ghost"],
    "fork_threads": ["--timeout-ms", "0"],
}

# For each program, one whole-number flag; decimal flags (seconds) and list flags where it
# has them. Every bench also has --repeat (whole) from the harness.
WHOLE = {
    "spin": "--threads", "spawn": "--children", "measure": "--interval",
    "shared_heap": "--workers", "crash": "--tasks", "queue": "--writers",
    "threads": "--threads", "race": "--rounds", "tls": "--checks", "deadlock": "--rounds",
    "switching": "--tasks", "pool": "--workers", "subprocess": "--max-output",
    "loop": "--ms", "server_uv": "--port", "server_uv_multi": "--workers",
    "server_epoll": "--workers",
    "server_uring": "--workers",
    "fileio": "--files",
    "server_threads": "--header-timeout", "server_pool": "--workers",
    "server_fork": "--header-timeout", "server_prefork": "--workers", "broker": "--lease-ms",
    "master": "--tasks", "worker": "--exit-when-idle", "producer": "--count",
    "consumer": "--max",
    "bench_create": "--iterations", "bench_ctxswitch": "--rounds", "bench_ipc": "--blocks",
    "bench_race": "--trials", "bench_server": "--connections",
    "bench_server_io": "--connections", "bench_server_mem": "--connections",
    "bench_syscalls": "--requests",
    "bench_tasks": "--tasks", "bench_tasks_latency": "--tasks", "bench_tasks_journal": "--tasks",
    "bounded_buffer": "--capacity",
    "signals": "--signals",
    "cow": "--mib", "false_sharing": "--count", "bench_cow_write": "--mib",
    "zombies": "--hold", "fork_threads": "--forks",
    "bench_pool_syscalls": "--tasks",
}
DECIMAL = {
    "spin": "--seconds", "shared_heap": "--seconds", "switching": "--seconds",
    "bench_heap": "--seconds", "bench_locks": "--seconds", "bench_pool": "--seconds",
    "bench_spin": "--seconds", "bench_switching": "--seconds", "bench_server_io": "--seconds",
    "bench_buffer": "--seconds",
    "cow": "--touch", "false_sharing": "--seconds", "bench_false_sharing": "--seconds",
}
LISTS = {
    "switching": ["--tasks"], "bench_create": ["--heap-mib"],
    "bench_ctxswitch": ["--sizes", "--placement"], "bench_ipc": ["--placement"],
    "bench_cow": ["--mib"], "bench_false_sharing": ["--placement"],
}
BAD_WHOLE = ["+2", " 2", "0x10", "2.5"]
BAD_DECIMAL = ["0x10", "1e1", "+1", "inf"]
BAD_LISTS = {"--placement": ["split,,same-cpu", ",split", "split,"],
             None: ["1,,2", ",1", "1,"]}


def refused(name, args, why):
    """name args... --no-such-flag must exit 2 naming the flag and its bad value."""
    flag, value = args[-2], args[-1]
    try:
        r = run([os.path.join(BIN, name)] + args + ["--no-such-flag"], timeout=30)
    except subprocess.TimeoutExpired:
        check(False, f"{name} {flag} '{value}' is refused ({why})", "it ran on: timeout")
        return
    check(r.returncode == 2 and flag in r.stderr and value in r.stderr
          and "no-such-flag" not in r.stderr,
          f"{name} {flag} '{value}' is refused ({why})", f"exit {r.returncode}: {r.stderr}")


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
    check(("unknown" in r.stderr or "unrecognized" in r.stderr)
          and "needs a value" not in r.stderr,
          f"{name} calls a last, unknown flag unknown", r.stderr)

    whole = [WHOLE[name]] if name in WHOLE else []
    if name.startswith("bench_"):
        whole.append("--repeat")
    for flag in whole:
        for value in BAD_WHOLE:
            refused(name, [flag, value], "whole numbers are decimal digits")
    if name in DECIMAL:
        for value in BAD_DECIMAL:
            refused(name, [DECIMAL[name], value], "numbers are decimal")
    for flag in LISTS.get(name, []):
        for value in BAD_LISTS.get(flag, BAD_LISTS[None]):
            refused(name, [flag, value], "no empty list items")

    # The queue programs check their --backend before they connect: a typo is a usage
    # error, not a failed connection (exit 1).
    if name in ("master", "worker", "producer", "consumer"):
        for url in ("nowhere", "ftp://host:1", "tcp://host:99999"):
            refused(name, ["--backend", url], "not a queue URL this build serves")
    if name == "jobs":
        refused(name, ["list", "--backend", "nowhere"], "not a queue URL this build serves")

    bad = BAD_VALUES.get(name) or (["--repeat", "0"] if name.startswith("bench_") else None)
    if bad:
        r = run([path] + bad)
        check(r.returncode == 2, f"{name} {' '.join(bad)} exits 2", f"exit {r.returncode}")
        check("--help" in r.stderr and len(r.stderr.splitlines()) >= 2,
              f"{name} explains the bad value and points at --help", r.stderr)
done()
