"""Reading of the lost-updates chart: how much the unprotected counter loses."""
TITLE = "Increments lost on an unprotected shared counter"


def reading(rows, machine):
    lost = {(r["variant"], r["x"]): r["value"] for r in rows if r["metric"] == "lost_pct"}
    none = sorted((x, v) for (var, x), v in lost.items() if var == "none")
    others = max((v for (var, _), v in lost.items() if var != "none"), default=0.0)
    if not none:
        return "The unprotected variant did not run."
    parts = ", ".join(f"{v:.1f}% with {x:g}" for x, v in none)
    return (f"Unprotected, the counter lost {parts} thread(s) - a single thread loses nothing, "
            f"since nobody else writes between its load and its store. Every protected "
            f"variant lost {others:g}%.")
