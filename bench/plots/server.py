"""Reading of the server chart (GET /): the best req/s of each model at the largest
connection count, and the event loops against nginx with the same number of loops or
workers: one, and one per CPU (series NAME_Nw ran N)."""
TITLE = "GET /: requests per second and p99 latency against concurrent connections"


def peak(rows, metric="rps"):
    top = max(r["x"] for r in rows if r["metric"] == metric)
    return top, {r["variant"]: r["value"] for r in rows if r["metric"] == metric and r["x"] == top}


def against(at, peer, names):
    """'a 1.21x, b 0.95x' of nginx's req/s for the names measured, or '' without the peer."""
    if peer not in at or not at[peer]:
        return ""
    return ", ".join(f"{n} {at[n] / at[peer]:.2f}x" for n in names if n in at)


def reading(rows, machine):
    top, at = peak(rows)
    order = sorted(at, key=at.get, reverse=True)
    text = (f"At {top:g} connections: " +
            ", ".join(f"{v} {at[v] / 1000:.0f} k" for v in order) + " req/s.")
    one = against(at, "nginx_1w", ("server_epoll", "server_uring", "server_uv"))
    if one:
        text += f" One loop against nginx_1w: {one}."
    cpus = machine["cpus_allowed"]
    many = against(at, f"nginx_{cpus}w", (f"server_epoll_{cpus}w", f"server_uring_{cpus}w",
                                          f"server_uv_multi_{cpus}w"))
    if many:
        text += (f" One loop per CPU against nginx_{cpus}w: {many} (wrk shares the CPUs with "
                 f"the server).")
    return text
