"""Reading of the server chart (GET /): the best req/s of each model at the largest
connection count, and server_uv_multi against nginx with one worker per CPU."""
TITLE = "GET /: requests per second and p99 latency against concurrent connections"


def peak(rows, metric="rps"):
    top = max(r["x"] for r in rows if r["metric"] == metric)
    return top, {r["variant"]: r["value"] for r in rows if r["metric"] == metric and r["x"] == top}


def reading(rows, machine):
    top, at = peak(rows)
    order = sorted(at, key=at.get, reverse=True)
    text = (f"At {top:g} connections: " +
            ", ".join(f"{v} {at[v] / 1000:.0f} k" for v in order) + " req/s.")
    nginx = f"nginx_{machine['cpus_allowed']}w"
    if "server_uv_multi" in at and nginx in at:
        ratio = at["server_uv_multi"] / at[nginx]
        text += (f" server_uv_multi reached {ratio:.0%} of {nginx} with the same number of "
                 f"workers (wrk shares the CPUs with both).")
    return text
