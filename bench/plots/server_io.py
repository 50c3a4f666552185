"""Reading of the server_io chart: req/s at the largest connection count against the ideal
connections / 10 ms, per model."""
TITLE = "GET /io?ms=10: where thread-per-connection, pools and the event loop part ways"


def reading(rows, machine):
    top = max(r["x"] for r in rows if r["metric"] == "rps")
    ideal = top / 0.010
    at = {r["variant"]: r["value"] for r in rows if r["metric"] == "rps" and r["x"] == top}
    parts = [f"{v} {at[v] / ideal:.0%}" for v in sorted(at, key=at.get, reverse=True)]
    return (f"Every request waits 10 ms, so {top:g} connections allow at most {ideal:,.0f} "
            f"req/s. Share of that reached: " + ", ".join(parts) + ". A pool or prefork "
            f"with fewer workers than connections stops at workers / 10 ms.")
