# common-bars.gp - clustered bars from a grid file of scripts/reduce.py (BENCH.METRIC.grid.dat):
# one cluster per item (e.g. "pipe-processes"), one bar per series (e.g. the placements
# same-cpu, split, unpinned), whiskers from min to max. Only the first block (the smallest
# x) is drawn. Set `file` and `div` (values are divided by it, e.g. 1000 for ns -> µs),
# title and axis labels, then load this after common.gp.
stats file index 0 using 3 nooutput
nseries = int((STATS_columns - 2) / 3)
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -35 nomirror noenhanced
set bmargin 5
plot for [s=0:nseries-1] file index 0 \
     using (column(3+3*s)/div):(column(4+3*s)/div):(column(5+3*s)/div):xtic(1) \
     lt s+1 title columnhead(3+3*s)
