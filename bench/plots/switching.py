"""Reading of the switching throughput chart: CPU-bound flattens, IO-bound keeps rising."""
TITLE = "Throughput of K tasks: CPU-bound vs IO-bound, threads vs processes"


def _series(rows, metric, variant):
    return {r["x"]: r["value"] for r in rows if r["metric"] == metric and r["variant"] == variant}


def reading(rows, machine):
    cpus = machine["cpus_allowed"]
    text = []
    cpu = _series(rows, "jobs_per_s", "cpu-threads")
    if cpu and cpus in cpu:
        top = max(cpu)
        text.append(f"CPU-bound threads: {cpu[cpus]:.0f} jobs/s with {cpus} tasks and "
                    f"{cpu[top]:.0f} with {top:g} - past the CPU count more tasks only take "
                    f"turns ({cpu[top] / cpu[cpus]:.2f}x).")
    io = _series(rows, "jobs_per_s", "io-threads")
    if io and 1 in io:
        top = max(io)
        text.append(f"IO-bound threads: {io[1]:.0f} jobs/s with 1 task, {io[top]:.0f} with "
                    f"{top:g} ({io[top] / io[1]:.0f}x, against an ideal of {top:g}x): "
                    f"a waiting task needs no core.")
    return " ".join(text) or "No thread series ran."
