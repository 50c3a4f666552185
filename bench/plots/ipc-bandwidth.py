"""Reading of the IPC bandwidth chart: which transport streams fastest, and how much the
copies through the kernel cost against a shared-memory ring."""
TITLE = "IPC bandwidth: 64 KiB blocks, per transport, task kind and placement"


def reading(rows, machine):
    best = {}
    for r in rows:
        if r["metric"] == "bandwidth":
            item = r["label"]
            if r["value"] > best.get(item, (0, ""))[0]:
                best[item] = (r["value"], r["placement"])
    if not best:
        return "No bandwidth points were measured in this run."
    top = max(best, key=lambda k: best[k][0])
    text = (f"The fastest stream is {top} at {best[top][0] / 1024:.1f} GiB/s "
            f"({best[top][1]}).")
    pipe, shm = best.get("pipe-processes"), best.get("shm-futex-processes")
    if pipe and shm:
        text += (f" Between processes a pipe peaks at {pipe[0] / 1024:.1f} GiB/s and the "
                 f"shared-memory ring at {shm[0] / 1024:.1f} GiB/s: both copy each byte in "
                 f"and out, the ring in user space with one futex call per block.")
    return text
