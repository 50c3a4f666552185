#!/usr/bin/env python3
"""manager_heap.py - seed 001's design: a BaseManager server process owns a heap of records
ordered by a key function; N worker processes pop a record and push it back with a new key,
each call a round trip to the server through a proxy.

Usage:    python3 bench/peers/manager_heap.py [--processes N] [--seconds S] [--records N]
Prints:   one line "pairs_per_s=<rate>" (push+pop pairs per second, all workers together)
          after a line saying what ran.
Compare:  demos/processes/shared_heap.c and demos/processes/shheap.c, where the heap lives in shared
          memory and each process works on it directly under a robust lock.
Python:   docs/seeds.md#seed-001, a BaseManager serving the heap
"""
import argparse
import heapq
import multiprocessing
import os
import random
import sys
import threading
import time
from multiprocessing.managers import BaseManager

import lifeline


def volume(record):
    """The key function: a record is (length, width, height, id)."""
    return record[0] * record[1] * record[2]


class Heap:
    """A min-heap ordered by a key function. It lives in the manager's server process, which
    serves each connected worker from its own thread - hence the lock."""

    def __init__(self, records, seed=1):
        rng = random.Random(seed)
        self.lock = threading.Lock()
        self.data = []
        for i in range(records):
            rec = (rng.randint(1, 100), rng.randint(1, 100), rng.randint(1, 100), i)
            self.data.append((volume(rec), i, rec))
        heapq.heapify(self.data)

    def pop(self):
        with self.lock:
            return heapq.heappop(self.data)[2] if self.data else None

    def push(self, rec):
        with self.lock:
            heapq.heappush(self.data, (volume(rec), rec[3], rec))

    def size(self):
        with self.lock:
            return len(self.data)


class HeapManager(BaseManager):
    pass


HeapManager.register("Heap", Heap)


def worker(parent, heap, go, seconds, counts, index):
    lifeline.stop_with_parent(parent)       # a killed peer leaves no worker behind
    rng = random.Random(index)
    heap.size()          # connect to the server before the clock starts
    go.wait()
    deadline = time.monotonic() + seconds
    pairs = 0
    while time.monotonic() < deadline:
        rec = heap.pop()
        if rec is not None:
            heap.push((rng.randint(1, 100), rng.randint(1, 100), rng.randint(1, 100), rec[3]))
        pairs += 1
    counts[index] = pairs


def bounded(kind, lo, hi):
    def parse(text):
        value = kind(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lo}..{hi})")
        return value
    return parse


def main():
    parser = argparse.ArgumentParser(
        description="Push+pop pairs per second on a heap served by a multiprocessing manager "
                    "(seed 001's design).")
    parser.add_argument("--processes", type=bounded(int, 1, 1024), default=2, metavar="N")
    parser.add_argument("--seconds", type=bounded(float, 0.01, 3600), default=1.0, metavar="S")
    parser.add_argument("--records", type=bounded(int, 1, 10_000_000), default=300_000,
                        metavar="N")
    args = parser.parse_args()
    lifeline.default_stop_signals()

    # The manager's server process, too, ends with us (its initializer runs there first).
    manager = HeapManager()
    manager.start(lifeline.stop_with_parent, (os.getpid(),))
    with manager:
        heap = manager.Heap(args.records)
        go = multiprocessing.Event()
        counts = multiprocessing.Array("q", args.processes, lock=False)
        procs = [multiprocessing.Process(target=worker,
                                         args=(os.getpid(), heap, go, args.seconds, counts,
                                               i))
                 for i in range(args.processes)]
        for p in procs:
            p.start()
        go.set()
        for p in procs:
            p.join()
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        size = heap.size()
    print(f"manager_heap: {args.processes} processes, {args.records} records, "
          f"{args.seconds:g} s; heap size at the end {size} (expected {args.records})")
    print(f"pairs_per_s={sum(counts) / args.seconds:.1f}")
    return 1 if failed or size != args.records else 0


if __name__ == "__main__":
    sys.exit(main())
