"""Reading of the false_sharing-cpu chart: one increment's CPU time, packed against padded,
with the threads spread over the CPUs."""
TITLE = "CPU time per increment: counters packed in one cache line vs padded"


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    ns = {(r["label"], r["placement"], r["x"]): r["value"] for r in rows
          if r["metric"] == "cpu_ns_per_inc"}
    xs = sorted({x for _, p, x in ns if x > 1})
    if not xs:
        return "No run with more than one thread was measured."
    x = cpus if cpus in xs else xs[-1]
    one = [ns.get((l, "split", 1)) for l in ("packed", "pad64")]
    at = [ns.get((l, "split", x)) for l in ("packed", "pad64", "pad128")]
    if not (at[0] and at[1]):
        return "No packed and padded pair was measured spread over the CPUs."
    text = (f"With {x:g} threads spread over the CPUs an increment took {at[0]:.2f} ns of CPU "
            f"time with the counters packed, {at[1]:.2f} ns padded to 64 bytes"
            + (f" and {at[2]:.2f} ns padded to 128" if at[2] else "") + ".")
    if all(one):
        text += f" One thread alone: {one[0]:.2f} ns packed, {one[1]:.2f} ns padded."
    if at[0] > 1.2 * at[1]:
        text += (" The packed layout's extra cost is the line's travel: it appears only "
                 "when another CPU writes the same line.")
    else:
        text += (" Here packed cost about what padded did: the threads seldom ran at the "
                 "same moment (a busy machine), or their CPUs share a cache (hyperthreads).")
    return text
