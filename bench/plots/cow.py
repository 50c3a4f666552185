"""Reading of the cow chart: what fork costs per GiB of touched memory, and what starting a
program costs with posix_spawn instead."""
TITLE = "Start and reap one child against the parent's touched memory"


def _series(rows, variant, metric="start_reap"):
    return sorted((r["x"], r["value"]) for r in rows
                  if r["variant"] == variant and r["metric"] == metric)


def _per_gib(points):
    """The least-squares slope of µs against MiB, in ms per GiB (None with < 2 points)."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / var   # µs per MiB
    return slope * 1024 / 1000


def reading(rows, machine):
    parts = []
    fork = _series(rows, "fork+exit")
    slope, call = _per_gib(fork), _per_gib(_series(rows, "fork+exit", "call"))
    if slope is not None and call is not None:
        parts.append(f"On 4 KiB pages a fork and its child's exit cost {slope:.1f} ms more per "
                     f"GiB the parent has touched (the fork() call alone {call:.1f} ms per "
                     f"GiB): page-table entries are copied, then freed, one per page")
    top = fork[-1][0] if fork else None
    if top is not None:
        at = {v: dict(_series(rows, v)).get(top) for v in
              ("fork+exit", "fork+exit/thp", "fork+exit/dontfork", "fork+exec",
               "vfork+exec", "posix_spawn")}
        if at["fork+exit"] is not None:
            more = [f"on huge pages {at['fork+exit/thp']:.0f} µs (one entry per 2 MiB)"
                    if at["fork+exit/thp"] is not None else None,
                    f"with the region under MADV_DONTFORK {at['fork+exit/dontfork']:.0f} µs"
                    if at["fork+exit/dontfork"] is not None else None]
            parts.append(f"at {top:g} MiB a fork+exit takes {at['fork+exit']:.0f} µs"
                         + "".join(f", {m}" for m in more if m))
        if at["fork+exec"] is not None and at["posix_spawn"] is not None:
            text = (f"starting /bin/true costs {at['fork+exec']:.0f} µs with fork+exec "
                    f"and {at['posix_spawn']:.0f} µs with posix_spawn"
                    + (f" ({at['vfork+exec']:.0f} µs with vfork+exec)"
                       if at["vfork+exec"] is not None else ""))
            if at["posix_spawn"] < at["fork+exec"]:
                text += (f", {at['fork+exec'] / at['posix_spawn']:.1f}x less: posix_spawn "
                         f"copies no page table, which is why it exists")
            parts.append(text)
    if not parts:
        return "No series of this chart were measured in this run."
    return "; ".join(parts) + "."
