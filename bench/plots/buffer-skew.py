"""Reading of the buffer-skew chart: one producer feeding many consumers against many
producers feeding one consumer, at the largest N measured."""
TITLE = "Bounded buffer with one side crowded: 1 producer x N consumers, N producers x 1"

NAMES = {"condvar": "condition variables", "semaphores": "semaphores",
         "pipe-threads": "the pipe"}


def reading(rows, machine):
    med = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "items_per_s"}
    xs = sorted({x for v, x in med if v.endswith("-1xN") or v.endswith("-Nx1")})
    if not xs:
        return "No skewed series ran."
    n = xs[-1]
    parts = []
    for v, name in NAMES.items():
        one, many = med.get((f"{v}-1xN", n)), med.get((f"{v}-Nx1", n))
        if one is not None and many is not None:
            parts.append(f"{name} {one:.3g} with 1 producer x {n:g} consumers, {many:.3g} with "
                         f"{n:g} producers x 1 consumer")
    text = f"Items/s at N = {n:g}: " + "; ".join(parts) + "."
    return text + (" The single thread on the lone side sets the pace: the crowd on the "
                   "other side mostly waits, and every extra waiter is one more thread to "
                   "wake and to contend for the lock.")
