"""Reading of the cow_write chart: what a copy-on-write fault costs per page, and that the
child takes exactly one per page it writes."""
TITLE = "A forked child writes a fraction of its shared pages"


def reading(rows, machine):
    def at(variant, metric):
        return {r["x"]: r["value"] for r in rows
                if r["variant"] == variant and r["metric"] == metric}
    parts = []
    for variant, name in (("small", "4 KiB pages"), ("thp", "huge pages")):
        first, again, faults = (at(variant, m) for m in ("write_ms", "rewrite_ms", "faults"))
        xs = [x for x in first if x > 0 and faults.get(x)]
        if not xs:
            continue
        x = max(xs)
        per_page = first[x] * 1000 / faults[x]
        text = (f"on {name}, writing {x:g}% of the pages took {first[x]:.0f} ms, "
                f"{per_page:.2f} µs per fault ({faults[x]:.0f} faults)")
        if x in again and again[x] > 0:
            text += (f", and the same pages again {again[x]:.1f} ms "
                     f"({first[x] / again[x]:.0f}x less: no fault, no copy)")
        parts.append(text)
    small = at("small", "faults")
    if 50 in small and 100 in small and small[50] > 0:
        parts.append(f"the faults double from 50% to 100% ({small[100] / small[50]:.2f}x): "
                     f"one per page written")
    if not parts:
        return "No series of this chart were measured in this run."
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
