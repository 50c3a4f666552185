"""Reading of the pool_syscalls chart: system calls per task through each pool, and what
the ring transport saves against the pipes."""
TITLE = "System calls per task through a pool: pipes, shared-memory rings, Python's Pool"


def _per(rows, metric):
    return {r["variant"]: r["value"] for r in rows if r["metric"] == metric}


def reading(rows, machine):
    total = _per(rows, "syscalls_per_task")
    if not total:
        return "No pool was measured in this run (strace missing?)."
    order = sorted(total, key=total.get)
    parts = [f"{v} {max(total[v], 0):.3f}" for v in order]
    text = "System calls per empty task, fewest first: " + ", ".join(parts) + "."
    rw, futex = _per(rows, "rw_per_task"), _per(rows, "futex_per_task")
    if "pipe" in total:
        text += (f" One by one through the pipes, {rw.get('pipe', 0):.2f} of the "
                 f"{total['pipe']:.2f} are reads and writes (a write and a read each way per "
                 f"task) and {futex.get('pipe', 0):.2f} futex calls of the contended locks.")
    if "ring" in total and "pipe" in total and total["ring"] > 0:
        text += (f" Through the rings, one by one: {total['ring']:.3f}, "
                 f"{total['pipe'] / total['ring']:.0f}x fewer - a futex pair only when a "
                 f"side ran dry and slept.")
    elif "ring" in total:
        text += f" Through the rings, one by one: {total['ring']:.3f}."
    return text
