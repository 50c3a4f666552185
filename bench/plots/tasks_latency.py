"""Reading of the tasks_latency chart: p50 and p99 of one task end to end, per backend."""
TITLE = "One task end to end (put, worker, result), one at a time: p50 and p99"

NAMES = {"broker": "the broker", "redis-streams": "Redis Streams",
         "redis-lists": "Redis lists", "python-manager": "the Python BaseManager design"}


def reading(rows, machine):
    p50 = {r["variant"]: r["value"] for r in rows if r["metric"] == "p50_us"}
    p99 = {r["variant"]: r["value"] for r in rows if r["metric"] == "p99_us"}
    if not p50:
        return "No points were measured."
    return ("p50 / p99 in microseconds: " +
            ", ".join(f"{NAMES.get(v, v)} {p50[v]:,.0f} / {p99.get(v, float('nan')):,.0f}"
                      for v in NAMES if v in p50) +
            ". Each includes two trips through the backend (the task to the worker, the "
            "result back) and the wake-ups of the worker and the client.")
