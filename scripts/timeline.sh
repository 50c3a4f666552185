#!/bin/bash
# timeline.sh - what htop shows, kept as data: per-CPU busy % over time while N C threads
# spin, then while N Python threads spin (the C threads fill every CPU; the Python threads
# share one CPU's worth between them, the GIL, wherever the scheduler puts them).
#
# Usage: scripts/timeline.sh BUILD_DIR RESULTS_DIR [SECONDS] [N]
#   SECONDS  how long each spins (default 2); N workers (default: the CPUs usable here)
# Writes RESULTS_DIR/timeline.csv in the suite's format, one row per CPU per sample, the
# metric naming the run (busy_c_threads, busy_py_threads), plus a "total" row per sample
# (the CPUs' sum: 100 = one CPU's worth), and the cores the command itself used by its own
# CPU time (variant own-cpu-time, metric cores_c_threads / cores_py_threads):
#   timeline,cpu0,cpu0,,0.3,elapsed,s,busy_c_threads,raw,99.1,%   (x: seconds since start)
# from `measure --timeline` (/proc/stat sampled every 100 ms). The samples cover the whole
# machine, not only the command: run it on an otherwise idle machine. A missing python3
# leaves the Python half out (said on stderr), not a failure.
set -uo pipefail
build=${1:?usage: scripts/timeline.sh BUILD_DIR RESULTS_DIR [SECONDS] [N]}
dir=${2:?usage: scripts/timeline.sh BUILD_DIR RESULTS_DIR [SECONDS] [N]}
seconds=${3:-2}
n=${4:-$(nproc)}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

out=$dir/timeline.csv
# The header is measure's (the suite's one copy, lib/core.h); the rows below are measure's
# rows, renamed, and found by column name so that a column added there is carried along.
"$build/bin/measure" --csv -- true 2>/dev/null | head -n 1 >"$out"
[ -s "$out" ] || { echo "timeline: $build/bin/measure --csv printed no header" >&2; exit 1; }
status=0
# Awk helpers: col[NAME] is the column of NAME, from each input's header line; put(NAME, V)
# sets a field of the current row.
cols='NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
      function put(name, v) { $col[name] = v }'
# sample LABEL CMD...: measure CMD with a timeline; its rows get metric busy_LABEL, and a
# total per sample is added.
sample() {
    label=$1; shift
    if ! "$build/bin/measure" --csv --interval 100 --timeline "$tmp/$label.csv" \
            -o "$tmp/$label.measure.csv" -- "$@" >/dev/null; then
        echo "timeline: $label: $* failed" >&2
        return 1
    fi
    # The command's own CPU time / wall (what it used, whatever else ran), one row.
    awk -F, -v OFS=, -v m="cores_$label" "$cols"'
        $col["metric"] == "cores_used" {
            put("bench", "timeline"); put("variant", "own-cpu-time"); put("label", "own-cpu-time")
            put("metric", m); print }' "$tmp/$label.measure.csv" >>"$out"
    # Every sample, then per sample time the total over the CPUs (a copy of its last row).
    awk -F, -v OFS=, -v m="busy_$label" "$cols"'
        { put("metric", m); print; x = $col["x"]; sum[x] += $col["value"]; last[x] = $0
          if (!(x in seen)) { seen[x] = 1; order[++n] = x } }
        END { for (i = 1; i <= n; i++) {
                  $0 = last[order[i]]; put("variant", "total"); put("label", "total")
                  put("value", sprintf("%.10g", sum[order[i]])); print } }' \
        "$tmp/$label.csv" >>"$out"
}
sample c_threads "$build/bin/spin" --threads "$n" --seconds "$seconds" || status=1
if command -v python3 >/dev/null; then
    sample py_threads python3 "$here/bench/peers/gil_spin.py" --threads "$n" --seconds "$seconds" || status=1
else
    echo "timeline: python3 not found: the Python half is left out" >&2
fi
exit $status
