#!/usr/bin/env python3
"""gil_spin.py - the spin demo in Python: N busy loops as threads or as processes.

Usage:    python3 bench/peers/gil_spin.py [--threads N | --processes N] [--seconds S]
Observe:  run it under build/bin/measure. N threads use about one core in total, however
          large N is: a CPython thread must hold the global interpreter lock (GIL) to run
          bytecode, and one thread holds it at a time. N processes use N cores (up to the
          CPU count): each has its own interpreter and its own GIL.
Compare:  demos/threads/spin.c, where N C threads use N cores.
Python:   docs/seeds.md#seed-000, "one dead loop per core"
"""
import argparse
import multiprocessing
import os
import resource
import sys
import threading
import time

import lifeline


def spin_until(deadline, result, index):
    """Spin on arithmetic until the monotonic clock passes deadline; record the rounds."""
    x, rounds = 88172645463325252, 0
    while time.monotonic() < deadline:
        for _ in range(1000):
            x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        rounds += 1000
    result[index] = rounds


def positive_int(text):
    value = int(text)
    if not 1 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1..4096)")
    return value


def positive_seconds(text):
    value = float(text)
    if not 0.001 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value} is out of range (0.001..3600)")
    return value


def spin_in_child(parent, deadline, result, index):
    lifeline.stop_with_parent(parent)       # a killed peer leaves no loop spinning
    spin_until(deadline, result, index)


def main():
    parser = argparse.ArgumentParser(
        description="N busy loops as Python threads or processes: the GIL lets threads "
                    "use about one core, processes use many.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--threads", type=positive_int, metavar="N",
                       help="spin in N threads (default: the CPU count)")
    group.add_argument("--processes", type=positive_int, metavar="N",
                       help="spin in N processes instead")
    parser.add_argument("--seconds", type=positive_seconds, default=1.0, metavar="S",
                        help="how long each loop spins (default 1)")
    args = parser.parse_args()
    lifeline.default_stop_signals()

    cpus = len(os.sched_getaffinity(0))
    use_processes = args.processes is not None
    n = args.processes or args.threads or cpus
    kind = "processes" if use_processes else "threads"
    print(f"gil_spin: {n} Python {kind} spinning for {args.seconds:g} s on {cpus} CPUs",
          flush=True)

    who = resource.RUSAGE_CHILDREN if use_processes else resource.RUSAGE_SELF
    before = resource.getrusage(who)
    start = time.monotonic()
    deadline = start + args.seconds
    if use_processes:
        rounds = multiprocessing.Array("q", n, lock=False)
        workers = [multiprocessing.Process(target=spin_in_child,
                                           args=(os.getpid(), deadline, rounds, i))
                   for i in range(n)]
    else:
        rounds = [0] * n
        workers = [threading.Thread(target=spin_until, args=(deadline, rounds, i))
                   for i in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.monotonic() - start
    after = resource.getrusage(who)
    used = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall

    failed = [i for i, w in enumerate(workers) if use_processes and w.exitcode != 0]
    for i in range(n):
        print(f"  worker {i}: {rounds[i]} loops")
    print(f"cores used: {used:.2f} (C would use about {min(n, cpus)}; "
          f"{'processes reach it too' if use_processes else 'the GIL holds threads near 1'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
