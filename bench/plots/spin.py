"""Reading of the spin chart: cores used at N = CPU count, per series."""
TITLE = "Cores used by N busy loops: C vs Python, threads vs processes"

NAMES = {"c-threads": "C threads", "c-processes": "C processes",
         "py-threads": "Python threads", "py-processes": "Python processes"}


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    at = {r["variant"]: r["value"] for r in rows
          if r["metric"] == "cores_used" and r["x"] == cpus}
    top = {}
    for r in rows:
        if r["metric"] == "cores_used":
            top[r["variant"]] = max(top.get(r["variant"], 0), r["value"])
    parts = [f"{NAMES.get(v, v)} {at[v]:.2f}" for v in NAMES if v in at]
    text = f"With one worker per CPU (N = {cpus}): " + ", ".join(parts) + " cores used."
    if "py-threads" in top and "c-threads" in top:
        text += (f" However many threads it starts, Python never used more than "
                 f"{top['py-threads']:.2f} cores with threads (the GIL lets one run at a "
                 f"time); C threads reached {top['c-threads']:.2f} of {cpus}.")
    if "py-processes" in at and "c-processes" in at and at["py-processes"] < at["c-processes"]:
        text += (" Python processes fall a little short of C because each run's interpreter "
                 "start-up, on one core, is counted in its wall time.")
    return text
