"""Reading of the create chart: a process against a thread against work handed to threads
that already exist."""
TITLE = "Start and reap one: process, thread, libuv pool job, libuv timer callback"


def _us(rows, variant, x=0):
    for r in rows:
        if r["variant"] == variant and r["metric"] == "latency" and r["x"] == x:
            return r["value"] / 1000
    return None


def reading(rows, machine):
    fork, thread = _us(rows, "fork+wait"), _us(rows, "pthread_create+join")
    parts = []
    if fork is not None and thread is not None:
        parts.append(f"A fork+wait takes {fork:.0f} µs and a pthread_create+join "
                     f"{thread:.1f} µs, {fork / thread:.0f}x less")
    big = [(r["x"], r["value"] / 1000) for r in rows
           if r["variant"] == "fork+wait" and r["metric"] == "latency" and r["x"] > 0]
    if big and fork is not None:
        x, v = max(big)
        parts.append(f"with {x:g} MiB of touched heap a fork takes {v:.0f} µs "
                     f"(page tables are copied, {(v - fork) / x:.1f} µs per MiB)")
    spawn = _us(rows, "posix_spawn")
    if spawn is not None:
        parts.append(f"starting /bin/true with posix_spawn costs {spawn:.0f} µs, most of it "
                     f"the exec")
    work, timer = _us(rows, "uv_queue_work"), _us(rows, "uv_timer")
    if work is not None and timer is not None:
        parts.append(f"handing a job to libuv's existing pool threads costs {work:.1f} µs and "
                     f"a timer callback on the loop {timer:.2f} µs")
    if not parts:
        return "No series of this chart were measured in this run."
    return "; ".join(parts) + "."
