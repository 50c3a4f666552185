"""Reading of the ctxswitch chart: a switch on one CPU, a wake-up across CPUs, and the two
hand-offs that need no kernel switch."""
TITLE = "One context switch: kernel processes and threads, coroutine, event loop"


def _at(rows, variant, metric="switch"):
    for r in rows:
        if r["variant"] == variant and r["metric"] == metric and r["x"] == 0:
            return r["value"] / 1000
    return None


def reading(rows, machine):
    parts = []
    proc, thr = _at(rows, "pipe-processes/same-cpu"), _at(rows, "pipe-threads/same-cpu")
    if proc is not None and thr is not None:
        parts.append(f"On one CPU a switch costs {proc:.2f} µs between processes and "
                     f"{thr:.2f} µs between threads (pipe token, its own cost subtracted)")
    fproc, fthr = _at(rows, "futex-processes/same-cpu"), _at(rows, "futex-threads/same-cpu")
    if fproc is not None and fthr is not None:
        parts.append(f"{fproc:.2f} and {fthr:.2f} µs with a futex")
    text = "; ".join(parts) + "." if parts else ""
    split = _at(rows, "pipe-processes/split")
    if split is not None and proc:
        text += (f" With the two tasks on different CPUs each hand-off takes {split:.1f} µs "
                 f"on this machine, {split / proc:.0f}x the same-CPU switch: the cost is now "
                 f"waking the other CPU, not switching, and how fast an idle CPU wakes depends "
                 f"on the machine (a halted vCPU of a VM is slow to wake; see "
                 f"docs/methodology.md, Placement).")
    co, loop = _at(rows, "coroutine/same-cpu"), _at(rows, "event-loop/same-cpu")
    if co is not None:
        text += f" A swapcontext coroutine switch costs {co:.2f} µs"
        if loop is not None:
            text += f" and an event-loop dispatch {loop:.2f} µs"
        sw = _at(rows, "coroutine/same-cpu", "switches")
        text += (f", with {sw:.2f} kernel switches per round trip." if sw is not None else ".")
    return text.strip() or "No same-CPU points were measured in this run."
