"""Reading of the slowloris chart: each model's good-client req/s with the most slow
clients, as a share of its own req/s without any, and where prefork fell."""
TITLE = "Slowloris: good clients' requests per second beside slow clients"


def reading(rows, machine):
    rps = [r for r in rows if r["metric"] == "rps"]
    base = {r["variant"]: r["value"] for r in rps if r["x"] == 0}
    top = max(r["x"] for r in rps)
    at = {r["variant"]: r["value"] for r in rps if r["x"] == top}
    share = {v: at[v] / base[v] for v in at if base.get(v)}
    parts = [f"{v} {share[v]:.0%}" for v in sorted(share, key=share.get, reverse=True)]
    text = (f"With {top:g} slow clients, each model's good req/s as a share of its own "
            f"without them: " + ", ".join(parts) + ".")
    pre = sorted((r["x"], r["value"]) for r in rps if r["variant"] == "server_prefork")
    if pre and base.get("server_prefork"):
        fell = [x for x, v in pre if x > 0 and v < 0.1 * base["server_prefork"]]
        if fell:
            text += (f" server_prefork fell below a tenth of its own rate from {fell[0]:g} "
                     f"slow clients on: each slow client holds one of its workers until "
                     f"the rate check cuts it off, and reconnects at once.")
    return text
