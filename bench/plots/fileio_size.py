"""Reading of the fileio_size chart: each method from the smallest files to the largest."""
TITLE = "Whole files against their size: threads, libuv's pool, io_uring"

METHODS = ["blocking", "threads", "uv", "uring", "uring-fixed"]


def reading(rows, machine):
    pts = {}
    for r in rows:
        if r["metric"] == "mib_per_s":
            pts.setdefault(r["variant"], {})[r["x"]] = r["value"]
    if not pts:
        return "No fileio_size points were measured."
    parts = []
    for cache in ("warm", "cold"):
        got = []
        for m in METHODS:
            by_x = pts.get(f"{m}-{cache}")
            if by_x:
                lo, hi = min(by_x), max(by_x)
                got.append(f"{m} {by_x[lo]:,.0f} MiB/s at {lo:g} KiB, "
                           f"{by_x[hi]:,.0f} at {hi:g} KiB")
        if got:
            parts.append(f"{cache.capitalize()}: " + "; ".join(got) + ".")
    return " ".join(parts)
