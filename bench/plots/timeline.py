"""Reading of the utilization timeline: how many CPUs' worth the spinning threads kept busy,
on average over the run, C against Python."""
TITLE = "Utilization over time: N C threads vs N Python threads spinning"


def _mean_total(rows, metric):
    vals = [r["value"] for r in rows if r["metric"] == metric and r["variant"] == "total"]
    return sum(vals) / len(vals) if vals else None


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    c, py = _mean_total(rows, "busy_c_threads"), _mean_total(rows, "busy_py_threads")
    parts = []
    if c is not None:
        parts.append(f"while C threads spun, the CPUs together were {c:.0f}% busy on average "
                     f"({c / 100:.2f} CPUs' worth of {cpus})")
    if py is not None:
        parts.append(f"while as many Python threads spun, {py:.0f}% ({py / 100:.2f} CPUs' "
                     f"worth): the GIL lets one thread run at a time, whatever the CPU")
    if not parts:
        return "No timeline samples in this run."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ". The samples cover the whole machine, so other " \
        "work running at the same time shows up too."
