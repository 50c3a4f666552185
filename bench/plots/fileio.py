"""Reading of the fileio chart: each method's best MiB/s, warm and cold, and where."""
TITLE = "Random 4 KiB reads against concurrency: threads, libuv's pool, io_uring"

METHODS = ["blocking", "threads", "uv", "uring", "uring-fixed"]


def reading(rows, machine):
    best = {}
    for r in rows:
        if r["metric"] != "mib_per_s":
            continue
        v = r["variant"]
        if v not in best or r["value"] > best[v][0]:
            best[v] = (r["value"], r["x"])
    if not best:
        return "No fileio points were measured."
    parts = []
    for cache in ("warm", "cold"):
        got = [f"{m} {best[f'{m}-{cache}'][0]:,.0f} MiB/s (at {best[f'{m}-{cache}'][1]:g})"
               for m in METHODS if f"{m}-{cache}" in best]
        if got:
            parts.append(f"Best {cache}: " + ", ".join(got) + ".")
    for cache in ("warm", "cold"):
        u, t = best.get(f"uring-{cache}"), best.get(f"uv-{cache}")
        if u and t:
            parts.append(f"{cache.capitalize()}, io_uring's best is {u[0] / t[0]:.2f}x "
                         f"libuv's pool at its best.")
    return " ".join(parts)
