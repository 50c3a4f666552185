#!/usr/bin/env python3
"""machine.py - describe this machine, and name its results folder.

Usage:
  scripts/machine.py name RESULTS_ROOT    print the folder name for this machine's results
  scripts/machine.py write FILE MODE      write machine.json (MODE: quick or full)

The name is hostname, CPU count and CPU model (hostnames alone are often just "vm"), e.g.
"vm-2c-intel-xeon-processor". A folder of that name whose machine.json has another
machine's fingerprint is never reused: the name gets -2, -3, ... instead, so results
committed from another machine are never overwritten.
"""
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "not found"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown-cpu"


def read(path, default="unreadable"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def fingerprint():
    """Tells machines apart: the systemd machine id, else this boot's id."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id",
                 "/proc/sys/kernel/random/boot_id"):
        value = read(path, "")
        if value:
            return hashlib.sha256(value.encode()).hexdigest()[:16]
    return hashlib.sha256(platform.node().encode()).hexdigest()[:16]


def slug(text):
    text = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:40] or "unknown"


def base_name():
    return f"{slug(platform.node())}-{len(os.sched_getaffinity(0))}c-{slug(cpu_model())}"


def folder_name(root):
    base, mine = base_name(), fingerprint()
    for k in range(1, 1000):
        name = base if k == 1 else f"{base}-{k}"
        meta = os.path.join(root, name, "machine.json")
        if not os.path.exists(meta):
            return name
        try:
            with open(meta) as f:
                if json.load(f).get("fingerprint") == mine:
                    return name
        except (OSError, ValueError):
            continue            # unreadable: not ours to overwrite
    sys.exit("machine.py: no free results folder name")


def describe(mode):
    release = {}
    for line in read("/etc/os-release", "").splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            release[key] = value.strip('"')
    return {
        "name": base_name(),
        "fingerprint": fingerprint(),
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "cpus_online": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "governor": read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
                         "not exposed (typical in a VM)"),
        "virtualization": first_line(["systemd-detect-virt"]),
        "kernel": platform.release(),
        "os": release.get("PRETTY_NAME", platform.platform()),
        "compiler": first_line(["cc", "--version"]),
        "libuv": first_line(["pkg-config", "--modversion", "libuv"]),
        "python": first_line(["python3", "--version"]),
        "gnuplot": first_line(["gnuplot", "--version"]),
        "perf": first_line(["perf", "--version"]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "mode": mode,
    }


def main(argv):
    if len(argv) == 3 and argv[1] == "name":
        print(folder_name(argv[2]))
    elif len(argv) == 4 and argv[1] == "write" and argv[3] in ("quick", "full"):
        with open(argv[2], "w") as f:
            json.dump(describe(argv[3]), f, indent=2)
            f.write("\n")
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
