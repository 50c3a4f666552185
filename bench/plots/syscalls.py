"""Reading of the syscalls chart: system calls and context switches per request, per server,
and what the fewest and the most spend theirs on."""
TITLE = "System calls per request: event loops, threads, processes, io_uring, nginx"


def _per(rows, metric):
    return {r["variant"]: r["value"] for r in rows if r["metric"] == metric}


def reading(rows, machine):
    total, ctx = _per(rows, "syscalls_per_req"), _per(rows, "ctxsw_per_req")
    if not total:
        return "No server was measured in this run (strace missing?)."
    order = sorted(total, key=total.get)
    parts = [f"{v} {total[v]:.2f}" for v in order]
    text = "System calls per request, fewest first: " + ", ".join(parts) + "."
    fam = {m: _per(rows, f"{m}_per_req") for m in ("read", "write", "wait", "other")}
    most = order[-1]
    text += (f" {most} spends {fam['other'].get(most, 0):.2f} of its {total[most]:.2f} on calls "
             f"beyond read, write and the wait (futex hand-offs, epoll_ctl, ...).")
    if ctx:
        c = sorted(ctx, key=ctx.get)
        text += (f" Context switches per request (measured without strace): {c[0]} "
                 f"{ctx[c[0]]:.3f} to {c[-1]} {ctx[c[-1]]:.2f}.")
    return text
