"""Reading of the utilization timeline: how many CPUs' worth the spinning threads kept busy,
on average over the run, C against Python."""
TITLE = "Utilization over time: N C threads vs N Python threads spinning"


def _mean_total(rows, metric):
    vals = [r["value"] for r in rows if r["metric"] == metric and r["variant"] == "total"]
    return sum(vals) / len(vals) if vals else None


def _own(rows, metric):
    for r in rows:
        if r["variant"] == "own-cpu-time" and r["metric"] == metric:
            return r["value"]
    return None


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    c, py = _mean_total(rows, "busy_c_threads"), _mean_total(rows, "busy_py_threads")
    c_own, py_own = _own(rows, "cores_c_threads"), _own(rows, "cores_py_threads")
    if c is None and py is None:
        return "No timeline samples in this run."
    parts = []
    for name, busy, own in (("C threads", c, c_own), ("Python threads", py, py_own)):
        if busy is not None:
            parts.append(f"while {name} spun the CPUs were {busy:.0f}% busy together"
                         + (f" and the program itself used {own:.2f} of {cpus} cores"
                            if own is not None else ""))
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    if c_own is not None and py_own is not None:
        if py_own < 0.75 * c_own:
            text += (" The GIL lets one Python thread run at a time, so however many spin "
                     "they share about one CPU's worth, moving between CPUs.")
        else:
            text += (" Here Python kept up with C, which the GIL should prevent for "
                     "CPU-bound threads: check the Python version (a free-threaded build?).")
    return text + " The per-CPU samples cover the whole machine, other work included."
