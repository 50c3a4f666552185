"""Reading of the race chart: how often the balance drifts, C beside Python."""
TITLE = "How often the unprotected bank balance drifts: C and Python"

NAMES = {"c-pinned": "C (threads pinned apart)",
         "c-unpinned": "C (threads unpinned)", "c-1cpu": "C on one CPU",
         "py": "Python (the seed's code)", "py-call": "Python with a call between read and write"}


def reading(rows, machine):
    drift = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "drift_pct"}
    if not drift:
        return "No series ran."
    top = max(x for _, x in drift)
    parts = [f"{NAMES[v]} {drift[(v, top)]:.0f}%" for v in NAMES if (v, top) in drift]
    return (f"Share of runs whose balance ended off 0 with {top:g} rounds per thread: "
            + ", ".join(parts) + ". Threads that truly run at once (C pinned to separate CPUs) "
            "lose updates all the time; left to the scheduler they run together only some "
            "of the time; threads that take turns - on one CPU, or "
            "held to one at a time by Python's GIL - lose them only when a switch falls "
            "between a read and its write.")
