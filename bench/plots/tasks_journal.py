"""Reading of the tasks_journal chart: the broker's rate at each fsync policy against no
journal at all."""
TITLE = "What the journal costs: the broker's tasks/s at each fsync policy"


def reading(rows, machine):
    rate = {r["variant"]: r["value"] for r in rows if r["metric"] == "tasks_per_s"}
    base = rate.get("no-journal")
    if not base:
        return "The broker without a journal was not measured, so there is nothing to compare."
    parts = [f"fsync {v[len('fsync-'):]} {rate[v]:,.0f} ({rate[v] / base:.0%})"
             for v in ("fsync-never", "fsync-batch", "fsync-always") if v in rate]
    if not parts:
        return (f"Without a journal the broker did {base:,.0f} tasks/s; the journal's series "
                f"were not measured (the bench's log says why: a broker without --journal).")
    return (f"Without a journal the broker did {base:,.0f} tasks/s; with one: " +
            ", ".join(parts) + " of that. never and batch pay for the writes; always also waits for the disk "
            "to confirm before puts are acknowledged, so it shows what this machine's disk "
            "(or virtual disk) takes per fsync.")
