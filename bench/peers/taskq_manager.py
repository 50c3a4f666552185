#!/usr/bin/env python3
"""taskq_manager.py - seed 000's distributed design, written fresh and fixed, for bench/bench_tasks.c

Usage:    python3 bench/peers/taskq_manager.py --mode throughput|latency [--tasks N]
                                                [--workers W] [--seed S]
Design:   a BaseManager server process serves two queue.Queue objects over TCP on
          127.0.0.1 (a free port), guarded by a random authkey: "tasks" and "results".
          W worker processes each connect to it as a client would from another machine,
          and loop: take a task (id, n) with a blocking get and a timeout (queue.Empty is an
          ordinary answer: look again; None means stop), put (id, n, n*n, name) back.
          The master (this process) puts the tasks and collects the results, counting each
          id once and checking the sum of squares.
Prints:   throughput: "tasks_per_s VALUE", N tasks put at once and all results taken, timed
          from the first put to the last result (the workers connected and waiting first).
          latency: "p50_us VALUE" and "p99_us VALUE", one task at a time: put one, wait for
          its result, N times.
Fixed:    the seed imports queue.Empty where it catches it, never tests empty() before get()
          (another worker may take the task in between), and stops its workers with one
          None each instead of ending in EOFError when the manager goes away.
Compare:  demos/distributed/broker.c (leases, acks, batches, a C event loop).
Python:   docs/seeds.md#seed-000, the task and result queues behind a BaseManager
"""
import argparse
import multiprocessing
import os
import queue
import random
import sys
import time
from multiprocessing.managers import BaseManager

import lifeline

GET_TIMEOUT = 1.0          # seconds a worker waits before it looks again
DEADLINE = 300.0           # seconds the master waits for one result before it gives up

# The queues live in the manager's server process (forked from this one, so it has its own
# copy of these two objects); everyone else reaches them through proxies over TCP.
task_queue = queue.Queue()
result_queue = queue.Queue()


class QueueManager(BaseManager):
    pass


QueueManager.register("tasks", callable=lambda: task_queue)
QueueManager.register("results", callable=lambda: result_queue)


def worker(parent, address, authkey, name):
    lifeline.stop_with_parent(parent)       # a killed peer leaves no worker behind
    m = QueueManager(address=address, authkey=authkey)
    m.connect()                             # as a worker on another machine would
    tasks, results = m.tasks(), m.results()
    results.put(("ready", name))
    while True:
        try:
            task = tasks.get(timeout=GET_TIMEOUT)
        except queue.Empty:                 # nothing yet: an ordinary answer
            continue
        if task is None:                    # the master's stop
            return
        task_id, n = task
        results.put((task_id, n, n * n, name))


def collect(results, want, seen):
    """Take results until `want` new task ids are in; returns the sum of their squares."""
    total = 0
    while want > 0:
        try:
            task_id, n, square, _ = results.get(timeout=DEADLINE)
        except queue.Empty:
            sys.exit(f"taskq_manager: no result for {DEADLINE:g} s: a worker died?")
        if task_id in seen:                 # cannot happen here (no redelivery); counted once
            continue
        seen.add(task_id)
        total += square
        want -= 1
    return total


def run_master(args, tasks, results):
    """Put the tasks, collect the results; returns (sum, expected, latencies in us)."""
    rng = random.Random(args.seed)
    numbers = [rng.randint(1, 10000) for _ in range(args.tasks)]
    seen, lat = set(), []
    if args.mode == "throughput":
        start = time.perf_counter()
        for i, n in enumerate(numbers):
            tasks.put((i, n))
        total = collect(results, args.tasks, seen)
        lat.append((time.perf_counter() - start) * 1e6)
    else:
        total = 0
        for i, n in enumerate(numbers):
            start = time.perf_counter()
            tasks.put((i, n))
            total += collect(results, 1, seen)
            lat.append((time.perf_counter() - start) * 1e6)
    return total, sum(n * n for n in numbers), lat


def main():
    parser = argparse.ArgumentParser(
        description="Tasks/s (or one task's latency) through a task queue and a result queue "
                    "served by a BaseManager (seed 000's design).")
    parser.add_argument("--mode", choices=["throughput", "latency"], required=True)
    parser.add_argument("--tasks", type=int, default=10_000, metavar="N")
    parser.add_argument("--workers", type=int, default=2, metavar="W")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not (1 <= args.tasks <= 10_000_000 and 1 <= args.workers <= 256):
        parser.error("--tasks must be 1..10000000 and --workers 1..256")
    lifeline.default_stop_signals()

    authkey = os.urandom(16)
    manager = QueueManager(address=("127.0.0.1", 0), authkey=authkey)
    manager.start(lifeline.stop_with_parent, (os.getpid(),))   # its server ends with us too
    with manager:
        tasks, results = manager.tasks(), manager.results()
        procs = [multiprocessing.Process(target=worker, args=(os.getpid(), manager.address,
                                                              authkey, f"py-worker-{i}"))
                 for i in range(args.workers)]
        for p in procs:
            p.start()
        for _ in procs:                     # every worker connected before the clock starts
            results.get(timeout=DEADLINE)
        total, expected, lat = run_master(args, tasks, results)
        for _ in procs:
            tasks.put(None)
        for p in procs:
            p.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    print(f"taskq_manager: {args.mode}, {args.tasks} tasks, {args.workers} workers; "
          f"sum of squares {total} (expected {expected}); workers failed: {len(failed)}")
    if failed or total != expected:
        return 1
    if args.mode == "throughput":
        print(f"tasks_per_s {args.tasks / (lat[0] / 1e6):.1f}")
    else:
        lat.sort()
        print(f"p50_us {lat[len(lat) // 2]:.1f}")
        print(f"p99_us {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
