"""Reading of the switching switches chart: what kind of switch each kind of work causes."""
TITLE = "Context switches of K tasks: voluntary vs involuntary"


def reading(rows, machine):
    def at(metric, variant):
        s = {r["x"]: r["value"] for r in rows
             if r["metric"] == metric and r["variant"] == variant}
        return s, max(s) if s else None

    text = []
    vol, top = at("vcsw_per_s", "io-threads")
    inv, _ = at("ivcsw_per_s", "io-threads")
    if top is not None and top in inv:
        text.append(f"IO-bound, {top:g} threads: {vol[top]:.0f} voluntary switches/s against "
                    f"{inv[top]:.0f} involuntary - every 1 ms sleep gives the CPU away.")
    inv, top = at("ivcsw_per_s", "cpu-threads")
    if top is not None and 1 in inv:
        text.append(f"CPU-bound threads never wait, so they leave the CPU when preempted: "
                    f"{inv[1]:.0f} involuntary "
                    f"switches/s with 1 task, {inv[top]:.0f} with {top:g}.")
    return " ".join(text) or "No thread series ran."
