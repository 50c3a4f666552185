#!/bin/bash
# bench.sh - the driver behind `make bench`: run every bench, then chart and report.
#
# Usage: FULL=0|1 scripts/bench.sh BUILD_DIR
# Steps: describe the machine -> each bench in bench/benches.txt (CSV, raw CSV, log) ->
# the perf cross-check (scripts/perfcheck.py: perf bench sched pipe, its output kept in
# perf-sched-pipe.txt) -> the utilization timeline (scripts/timeline.sh: timeline.csv) ->
# charts (scripts/charts.sh) -> report (scripts/report.py). A progress line per step says
# step k of n, what, and the time so far. Results go to results/<machine>/, a folder named
# for this machine (scripts/machine.py), which is emptied first: a run replaces this
# machine's previous results and never touches another machine's.
set -uo pipefail
build=${1:?usage: scripts/bench.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mode=quick; [ "${FULL:-0}" = 1 ] && mode=full

name=$(python3 scripts/machine.py name results) || exit 1
dir=results/$name
mkdir -p "$dir"
find "$dir" -mindepth 1 -maxdepth 1 \( -name '*.csv' -o -name '*.svg' -o -name '*.png' \
    -o -name '*.log' -o -name '*.txt' -o -name 'report.md' -o -name 'run.json' -o -name 'data' \) \
    -exec rm -rf {} +
python3 scripts/machine.py write "$dir/machine.json" "$mode" || exit 1

mapfile -t benches < <(grep -v '^\s*#' bench/benches.txt | awk 'NF {print $1}')
total=$(( ${#benches[@]} + 4 ))
start=$(date +%s)
step=0
steps_json=""
failed=0

progress() {   # progress WHAT: "[k/n] WHAT (elapsed)"
    step=$((step + 1))
    printf '[%d/%d] %-44s (%ds elapsed)\n' "$step" "$total" "$1" "$(( $(date +%s) - start ))" >&2
}
record() {     # record NAME STATUS
    steps_json="$steps_json${steps_json:+,}{\"name\":\"$1\",\"status\":\"$2\"}"
}

echo "bench: $mode mode, results in $dir/" >&2
for b in "${benches[@]}"; do
    progress "bench $b"
    exe=$build/bin/bench_$b
    if [ ! -x "$exe" ]; then
        echo "bench: $exe is not built" >&2
        record "$b" "not built"; failed=1; continue
    fi
    if "$exe" "--$mode" --raw "$dir/$b.raw.csv" >"$dir/$b.csv" 2> >(tee "$dir/$b.log" >&2); then
        record "$b" ok
    else
        echo "bench: $b failed (log: $dir/$b.log)" >&2
        record "$b" "failed"; failed=1
    fi
done

progress "perf cross-check (perf bench sched pipe)"
if ! command -v perf >/dev/null; then
    echo "bench: perf not found (apt-get install linux-perf): no cross-check" >&2
    python3 scripts/perfcheck.py run "$dir" >/dev/null && record "perf cross-check" "perf not found"
elif python3 scripts/perfcheck.py run "$dir" --loops "$([ $mode = full ] && echo 50000 || echo 10000)" \
        --repeats "$([ $mode = full ] && echo 7 || echo 5)"; then
    record "perf cross-check" ok
else
    record "perf cross-check" failed; failed=1
fi

progress "utilization timeline (C vs Python threads)"
if scripts/timeline.sh "$build" "$dir" "$([ $mode = full ] && echo 5 || echo 2)"; then
    record timeline ok
else
    echo "bench: timeline failed" >&2
    record timeline failed; failed=1
fi

end=$(date +%s)
printf '{"seconds": %d, "mode": "%s", "steps": [%s]}\n' "$((end - start))" "$mode" "$steps_json" >"$dir/run.json"

progress "charts (gnuplot)"
if ! command -v gnuplot >/dev/null; then
    # A machine without gnuplot (a borrowed one, say) still measures; the folder is drawn
    # later, anywhere, from its files alone.
    echo "bench: gnuplot not found: charts and report skipped;" \
         "draw them elsewhere with: make charts RESULTS=$dir" >&2
    progress "report (skipped)"
else
    scripts/charts.sh "$dir" || failed=1
    progress "report"
    python3 scripts/report.py "$dir" || failed=1
fi

echo "bench: done in $(( $(date +%s) - start )) s: results in $dir/" >&2
exit $failed
