"""Reading of the heap chart: the shared-memory heap against the manager-served one."""
TITLE = "One heap shared by P processes: shared memory vs a Python manager (seed 001)"


def reading(rows, machine):
    best = {}
    at = {}
    for r in rows:
        if r["metric"] != "pairs_per_s":
            continue
        v = r["variant"]
        best[v] = max(best.get(v, 0), r["value"])
        at.setdefault(v, {})[r["x"]] = r["value"]
    if "c-shm" not in best:
        return "No shared-memory heap points were measured."
    c = at["c-shm"]
    text = (f"The shared-memory heap did {c.get(1.0, best['c-shm']):,.0f} pairs/s with one "
            f"process and {min(c.values()):,.0f} at its slowest P: one lock serialises "
            f"every operation, so more processes do not add throughput.")
    if "py-manager" in best and best["py-manager"] > 0:
        py = at["py-manager"]
        common = [x for x in c if x in py and py[x] > 0]
        ratios = [c[x] / py[x] for x in common]
        if ratios:
            text += (f" The manager-served Python heap peaked at {best['py-manager']:,.0f} "
                     f"pairs/s; at equal P the shared-memory heap was "
                     f"{min(ratios):,.0f}x to {max(ratios):,.0f}x faster (aim: at least 100x).")
    return text
