"""Reading of the server_mem chart: memory per idle connection, per model, at the largest
count, and how many connections each model actually answered."""
TITLE = "Memory per idle keep-alive connection: event loop, threads, processes"


def reading(rows, machine):
    xs = sorted({r["x"] for r in rows if r["metric"] == "pss_mb"})
    lo, hi = xs[0], xs[-1]
    pss = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "pss_mb"}
    ans = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "answered"}
    parts, short = [], []
    for v in dict.fromkeys(r["variant"] for r in rows):
        if (v, hi) not in pss or (v, lo) not in pss:
            continue
        held = ans.get((v, hi), hi)
        if held < hi:
            short.append(f"{v} answered {held:g}")
        elif hi > lo:
            kib = (pss[(v, hi)] - pss[(v, lo)]) * 1024 / (hi - lo)
            parts.append(f"{v} {kib:.1f}")
    text = f"KiB per extra idle connection ({lo:g} to {hi:g}): " + ", ".join(parts) + "."
    if short:
        text += (f" Of {hi:g} connections, " + ", ".join(short) +
                 ": the rest wait unserved in a queue or the kernel's backlog.")
    return text
