#!/usr/bin/env python3
"""race.py - the seed's bank-balance race in Python, run many times: how often does it drift?

Usage:    python3 bench/peers/race.py [--rounds N] [--trials T] [--gap none|call]
Observe:  two threads share a global balance; thread 1 deposits and withdraws 5, thread 2
          deposits and withdraws 8, N times each, without a lock, so the balance should
          end at 0 and drifts when an update is lost. In C (demos/threads/race.c) the
          drift shows on most runs of a multi-core machine. In CPython it is rare: only
          one thread runs bytecode at a time (the GIL), and the interpreter switches
          threads only at points where it checks for a pending switch, which
          `balance = balance + n` seldom straddles. --gap call puts a function call
          between the read and the write - a point where a switch may happen - and the
          drift comes back.
Compare:  build/bin/race --lock none --trials 20
Python:   docs/seeds.md#seed-000, the bank balance, change_it(n) run by two threads
Prints one line per trial, "trial K: balance = B (expected 0)", then
"drifted in D of T trials".
"""
import argparse
import sys
import threading

balance = 0


def change_it(n):
    """The seed's update: read the balance, add, write it back (no lock)."""
    global balance
    balance = balance + n
    balance = balance - n


def pause():
    """Does nothing; calling it is the point (a place where the thread may be switched)."""


def change_it_with_gap(n):
    """The same update with a function call between reading and writing."""
    global balance
    new = balance + n
    pause()
    balance = new
    new = balance - n
    pause()
    balance = new


def run_thread(change, n, rounds, start):
    start.wait()                        # both threads begin together
    for _ in range(rounds):
        change(n)


def trial(rounds, gap):
    """One experiment from a zero balance; returns the final balance."""
    global balance
    balance = 0
    change = change_it_with_gap if gap == "call" else change_it
    start = threading.Barrier(2)
    threads = [threading.Thread(target=run_thread, args=(change, n, rounds, start))
               for n in (5, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return balance


def count(text, low, high):
    value = int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is out of range ({low}..{high})")
    return value


def main():
    parser = argparse.ArgumentParser(
        description="The seed's unprotected bank balance in two Python threads, run T "
                    "times: how often does the balance drift from 0?")
    parser.add_argument("--rounds", type=lambda s: count(s, 1, 100_000_000), default=100_000,
                        metavar="N", help="deposit-and-withdraw rounds per thread "
                        "(default 100000)")
    parser.add_argument("--trials", type=lambda s: count(s, 1, 10_000), default=10,
                        metavar="T", help="how many times to run the experiment (default 10)")
    parser.add_argument("--gap", choices=("none", "call"), default="none",
                        help="none: the seed's code; call: a function call between the "
                        "read and the write")
    args = parser.parse_args()

    drifted = 0
    for k in range(1, args.trials + 1):
        b = trial(args.rounds, args.gap)
        drifted += b != 0
        print(f"trial {k}: balance = {b} (expected 0)")
    print(f"drifted in {drifted} of {args.trials} trial{'s' if args.trials != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
