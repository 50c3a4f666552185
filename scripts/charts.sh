#!/bin/sh
# charts.sh - draw every chart whose data is in a results folder (SVG and PNG).
#
# Usage: scripts/charts.sh RESULTS_DIR
# A chart is bench/plots/NAME.gp; its data is the bench named by NAME up to the first
# '-' (spin-foo.gp plots spin.csv). Each bench CSV is reduced to data/*.dat first, then
# gnuplot runs the script twice, once per format. Charts of benches that did not run
# are left out; the report lists what was drawn.
set -eu
dir=${1:?usage: scripts/charts.sh RESULTS_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$dir/machine.json" ] || { echo "charts: $dir/machine.json missing: not a results folder" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "charts: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }

rm -rf "$dir/data"
mkdir -p "$dir/data"
for csv in "$dir"/*.csv; do
    case $csv in *.raw.csv) continue;; esac
    [ -f "$csv" ] || continue
    python3 "$here/scripts/reduce.py" "$csv" "$dir/data" >/dev/null
done

cpus=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cpus_allowed"])' "$dir/machine.json")
status=0
for gp in "$here"/bench/plots/*.gp; do
    chart=$(basename "$gp" .gp)
    case $chart in common|common-*) continue;; esac
    bench=${chart%%-*}
    [ -f "$dir/$bench.csv" ] || continue
    for fmt in svg png; do
        if ! gnuplot -e "data='$dir/data'; out='$dir/$chart'; fmt='$fmt'; cpus=$cpus; plots='$here/bench/plots'" \
                "$gp" 2>"$dir/data/$chart.$fmt.log"; then
            echo "charts: $chart.$fmt failed:" >&2
            cat "$dir/data/$chart.$fmt.log" >&2
            status=1
        fi
        # Keep gnuplot's messages only when it had something to say.
        [ -s "$dir/data/$chart.$fmt.log" ] || rm -f "$dir/data/$chart.$fmt.log"
    done
done
exit $status
