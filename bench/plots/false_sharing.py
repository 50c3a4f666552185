"""Reading of the false_sharing chart: how much slower counters packed in one cache line
are than padded ones, with the threads spread over the CPUs and on one CPU."""
TITLE = "Threads incrementing counters of their own: packed in one cache line vs padded"


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    rate = {(r["label"], r["placement"], r["x"]): r["value"] for r in rows
            if r["metric"] == "incs_per_s"}
    xs = sorted({x for _, p, x in rate if x > 1})
    if not xs:
        return "No run with more than one thread was measured."
    x = cpus if cpus in xs else xs[-1]
    parts = []
    for place, how in (("split", "spread over the CPUs"), ("same-cpu", "all on one CPU")):
        packed, pad64 = rate.get(("packed", place, x)), rate.get(("pad64", place, x))
        if packed and pad64:
            text = (f"{x:g} threads {how}: packed counters {packed / 1e6:.0f} M increments/s, "
                    f"padded to 64 bytes {pad64 / 1e6:.0f} M ({pad64 / packed:.2f}x)")
            pad128 = rate.get(("pad128", place, x))
            if pad128:
                text += f", to 128 bytes {pad128 / 1e6:.0f} M"
            parts.append(text)
    if not parts:
        return "No packed and padded pair was measured at the same thread count."
    text = "With " + "; with ".join(parts) + "."
    spread = [rate.get((l, "split", x)) for l in ("packed", "pad64")]
    same = [rate.get((l, "same-cpu", x)) for l in ("packed", "pad64")]
    if all(spread) and spread[1] > spread[0] * 1.2:
        text += (" Spread over CPUs, the packed counters' shared line travels between caches "
                 "at every store.")
    elif all(spread):
        text += (" Here the layouts ran alike even spread over CPUs: on this machine the "
                 "line's travel was no slower than a store (a VM whose vCPUs share a core, "
                 "or a loaded machine where the threads rarely ran at once).")
    if all(same):
        ratio = same[1] / same[0]
        text += (" On one CPU there is one cache and no line travels: "
                 + ("the layouts ran alike." if 0.8 <= ratio <= 1.25 else
                    f"the {ratio:.2f}x between them there is run-to-run noise."))
    return text
