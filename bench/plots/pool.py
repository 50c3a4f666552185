"""Reading of the pool chart: the per-task cost of each pool, at the empty-task end."""
TITLE = "Tasks per second through a pool, against the work in each task"

NAMES = {"c-processes": "the C process pool one by one",
         "c-processes-batch": "the C process pool batched",
         "c-threads": "the C thread pool",
         "py-apply-async": "Python's apply_async",
         "py-map-chunked": "Python's chunked map",
         "c-ring": "the C process pool through rings one by one",
         "c-ring-batch": "the C process pool through rings batched"}


def reading(rows, machine):
    empty = {r["variant"]: r["value"] for r in rows
             if r["metric"] == "tasks_per_s" and r["x"] == 0}
    if not empty:
        return "No empty-task points were measured."
    parts = [f"{NAMES.get(v, v)} {empty[v]:,.0f}" for v in NAMES if v in empty]
    text = "Empty tasks per second: " + ", ".join(parts) + "."
    if "c-processes" in empty and "py-apply-async" in empty:
        text += (f" One by one, the C process pool moves "
                 f"{empty['c-processes'] / empty['py-apply-async']:.0f}x as many tasks as "
                 f"Python's apply_async (the issue's aim: 20x)")
        if "c-processes-batch" in empty and "py-map-chunked" in empty:
            text += (f"; batched, {empty['c-processes-batch'] / empty['py-map-chunked']:.1f}x "
                     f"Python's chunked map (aim: at least 1x)")
        text += "."
    if "c-ring" in empty and "py-apply-async" in empty:
        text += (f" Through shared-memory rings, one by one, the C pool moves "
                 f"{empty['c-ring'] / empty['py-apply-async']:.0f}x as many tasks as Python's "
                 f"apply_async (the issue's aim: 40x)")
        if "py-map-chunked" in empty:
            text += (f" and {empty['c-ring'] / empty['py-map-chunked']:.2f}x Python's chunked "
                     f"map without chunking (aim: at least 1x)")
        text += "."
    return text
