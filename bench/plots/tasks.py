"""Reading of the tasks chart: every series at the largest worker count, the broker against
Redis Streams at the same prefetch, and the broker at prefetch 64 against the Python design."""
TITLE = "Tasks per second through a task queue, against the number of workers"

NAMES = {"broker-p1": "the broker at prefetch 1", "broker-p64": "the broker at prefetch 64",
         "redis-streams-p1": "Redis Streams at prefetch 1",
         "redis-streams-p64": "Redis Streams at prefetch 64",
         "redis-lists-p1": "Redis lists at prefetch 1",
         "redis-lists-p64": "Redis lists at prefetch 64",
         "python-manager": "the Python BaseManager design"}


def reading(rows, machine):
    at = {}
    for r in rows:
        if r["metric"] == "tasks_per_s":
            at.setdefault(r["variant"], {})[r["x"]] = r["value"]
    if not at:
        return "No points were measured."
    top = max(x for pts in at.values() for x in pts)
    here = {v: pts[top] for v, pts in at.items() if top in pts}
    text = (f"With {top:g} workers: " +
            ", ".join(f"{NAMES.get(v, v)} {here[v]:,.0f}" for v in NAMES if v in here) +
            " tasks/s.")
    for p in ("1", "64"):
        b, r = at.get(f"broker-p{p}", {}), at.get(f"redis-streams-p{p}", {})
        both = sorted(x for x in b if x in r and r[x] > 0)
        if both:
            ratios = ", ".join(f"{b[x] / r[x]:.2f}x at {x:g}" for x in both)
            text += (f" At prefetch {p} the broker did {ratios} what Redis Streams did "
                     f"(aim: at least 1x).")
    b, py = at.get("broker-p64", {}), at.get("python-manager", {})
    both = sorted(x for x in b if x in py and py[x] > 0)
    if both:
        best = max(both, key=lambda x: b[x] / py[x])
        text += (f" The broker at prefetch 64 moved up to {b[best] / py[best]:.0f}x as many "
                 f"tasks as the Python design ({best:g} worker{'s' if best != 1 else ''}; "
                 f"aim: 30x).")
    return text
