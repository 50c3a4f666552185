"""Reading of the locks chart: the cost of each protection at threads = CPUs."""
TITLE = "Cost of a shared increment: mutex, spinlock, atomic, per-thread counters"

NAMES = {"mutex": "mutex", "spin": "spinlock", "atomic": "atomic add",
         "per-thread": "per-thread counters", "none": "no protection"}


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    med = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "ns_per_inc"}
    xs = sorted({x for _, x in med})
    x = cpus if cpus in xs else xs[-1]
    at = {v: med[(v, x)] for v in NAMES if (v, x) in med}
    parts = [f"{NAMES[v]} {ns:.3g} ns" for v, ns in at.items()]
    text = f"With {x:g} threads incrementing one counter: " + ", ".join(parts) + "."
    if "mutex" in at and "per-thread" in at and at["per-thread"] > 0:
        text += (f" Giving each thread its own counter and adding them up at the end is "
                 f"{at['mutex'] / at['per-thread']:.0f}x cheaper than a mutex here: the "
                 f"cheapest lock is the one you do not need.")
    top = xs[-1]
    if ("spin", top) in med and ("mutex", top) in med and top > cpus:
        spin, mutex = med[("spin", top)], med[("mutex", top)]
        text += (f" With more threads than CPUs ({top:g}) the spinlock costs {spin:.3g} ns "
                 f"against the mutex's {mutex:.3g} ns"
                 + (": a spinner may burn its time slice waiting for a holder that is not "
                    "running, where a mutex waiter sleeps." if spin > mutex else "."))
    return text
