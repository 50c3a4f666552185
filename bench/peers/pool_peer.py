#!/usr/bin/env python3
"""pool_peer.py - tasks per second through Python's multiprocessing.Pool, for bench/bench_pool.c.

Usage:    python3 bench/peers/pool_peer.py --mode apply_async|map --tasks N --work-us W
                                           [--workers P]
Observe:  the pool is started first and not timed; then N tasks that each spin W
          microseconds on the clock go through it, and the time from the first submission
          to the last result gives "tasks_per_s VALUE" on stdout. apply_async sends each
          task alone (a pickled message through the task pipe, one result back); map
          packs them into chunks (len // (4 * workers) tasks each), one message per chunk.
Compare:  demos/processes/procpool.c, the same mechanism in C; demos/processes/pool.c.
Python:   docs/seeds.md#seed-000 Pool(4); #seed-002 apply_async, map; #seed-004 inside Pool
"""
import argparse
import multiprocessing
import os
import sys
import time

import lifeline


def spin(work_ns):
    """The task: spin on the clock for work_ns nanoseconds, as the C task does."""
    end = time.monotonic_ns() + work_ns
    loops = 0
    while work_ns > 0 and time.monotonic_ns() < end:
        loops += 1
    return loops


def main():
    parser = argparse.ArgumentParser(description="tasks/s through multiprocessing.Pool")
    parser.add_argument("--mode", choices=["apply_async", "map"], required=True)
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--work-us", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    if args.tasks < 1 or args.workers < 1 or args.work_us < 0:
        parser.error("--tasks and --workers must be at least 1, --work-us not negative")

    lifeline.default_stop_signals()
    # Under strace (bench_pool_syscalls) our parent is strace, not the bench: end with it.
    lifeline.stop_with_parent(os.getppid())

    work_ns = int(args.work_us * 1000)
    # Each worker ends with us (the initializer runs first in every worker).
    with multiprocessing.Pool(args.workers, initializer=lifeline.stop_with_parent,
                              initargs=(os.getpid(),)) as pool:
        pool.map(spin, [0] * args.workers)          # every worker started and warm
        start = time.perf_counter()
        if args.mode == "apply_async":
            handles = [pool.apply_async(spin, (work_ns,)) for _ in range(args.tasks)]
            for h in handles:
                h.get()
        else:
            pool.map(spin, [work_ns] * args.tasks)
        elapsed = time.perf_counter() - start
    print(f"tasks_per_s {args.tasks / elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
