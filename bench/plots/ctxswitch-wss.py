"""Reading of the working-set chart: how much a switch grows when each task's data must be
brought back into the cache after the other task ran."""
TITLE = "A switch on one CPU against each task's working set"


def reading(rows, machine):
    out, grew = [], False
    for variant in sorted({r["variant"] for r in rows if r["metric"] == "switch"}):
        pts = sorted((r["x"], r["value"]) for r in rows
                     if r["variant"] == variant and r["metric"] == "switch")
        if len(pts) > 1:
            (x0, v0), (x1, v1) = pts[0], pts[-1]
            grew = grew or v1 > 1.2 * v0
            out.append(f"{variant}: {v0 / 1000:.2f} µs at {x0:g} KiB, {v1 / 1000:.2f} µs "
                       f"at {x1:g} KiB per task")
    if not out:
        return "Only one working-set size was measured in this run (see --sizes)."
    text = "; ".join(out) + "."
    if grew:
        text += (" The growth is cache refill: what one task read is evicted by the other "
                 "before its next turn.")
    else:
        text += (" No clear growth at these sizes in this run: both working sets still fit "
                 "in the caches, or the spread hides it (compare the whiskers).")
    return text
