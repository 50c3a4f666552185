"""Reading of the IPC latency chart: the fastest and slowest transport on one CPU, and what
putting the two tasks on different CPUs does to the same message."""
TITLE = "IPC latency: a 64-byte round trip, per transport, task kind and placement"


def _values(rows, metric, placement):
    return {r["label"]: r["value"] for r in rows
            if r["metric"] == metric and r["placement"] == placement}


def reading(rows, machine):
    same = _values(rows, "latency", "same-cpu")
    split = _values(rows, "latency", "split")
    if not same and not split:
        return "No latency points were measured in this run."
    text = ""
    if same:
        lo, hi = min(same, key=same.get), max(same, key=same.get)
        text = (f"On one CPU the quickest round trip is {lo} at {same[lo] / 1000:.1f} µs "
                f"and the slowest {hi} at {same[hi] / 1000:.1f} µs.")
    both = [k for k in same if k in split]
    if both:
        ratio = sorted(split[k] / same[k] for k in both)[len(both) // 2]
        text += (f" Split across two CPUs the same round trip takes {ratio:.0f}x longer on "
                 f"this machine (median over transports): the wake-ups, not the copying, set "
                 f"the price, and what a wake-up of an idle CPU costs depends on the machine "
                 f"(see docs/methodology.md, Placement).")
    return text.strip()
