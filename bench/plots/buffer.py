"""Reading of the buffer chart: items/s of each bounded buffer at 1 x 1 and at the most
threads a side, and what the lock-free ring gains at 1 x 1."""
TITLE = "Bounded buffer: items/s against producers = consumers"

NAMES = {"condvar": "condition variables", "semaphores": "semaphores",
         "pipe-threads": "a pipe between threads"}


def reading(rows, machine):
    med = {(r["variant"], r["x"]): r["value"] for r in rows
           if r["metric"] == "items_per_s" and r["variant"] in list(NAMES) + ["spsc"]}
    if not med:
        return "No balanced series ran."
    xs = sorted({x for v, x in med if v in NAMES})
    text = []
    for x in (xs[0], xs[-1]) if len(xs) > 1 else xs[:1]:
        parts = [f"{NAMES[v]} {med[(v, x)]:.3g}" for v in NAMES if (v, x) in med]
        text.append(f"P = C = {x:g}, items/s: " + ", ".join(parts)
                    + ".")
    if ("spsc", 1) in med and ("condvar", 1) in med and med[("condvar", 1)] > 0:
        ratio = med[("spsc", 1)] / med[("condvar", 1)]
        text.append(f"With one producer and one consumer the lock-free ring moves "
                    f"{med[('spsc', 1)]:.3g} items/s, {ratio:.2g}x the condition-variable ring: "
                    f"no lock, and no system call unless a side has to yield.")
    if ("condvar", 1) in med and ("pipe-threads", 1) in med and med[("pipe-threads", 1)] > 0:
        ratio = med[("condvar", 1)] / med[("pipe-threads", 1)]
        text.append(f"The pipe pays a write() and a read() per item, the rings a futex call "
                    f"only when a thread must sleep: at 1 x 1 the condition-variable ring is "
                    f"{ratio:.2g}x the pipe.")
    return " ".join(text)
