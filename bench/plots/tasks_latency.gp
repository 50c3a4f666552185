# tasks_latency.gp - one task end to end (put, a worker squares it, the result back), one
# at a time: p50 and p99 per backend, one worker at prefetch 1. Log scale: the Python
# design's tail is far above the rest.
load plots.'/common.gp'
p50 = data.'/tasks_latency.p50_us.grid.dat'
p99 = data.'/tasks_latency.p99_us.grid.dat'
set title "One task end to end, one at a time (1 worker)\nmedian of repeats, whiskers min..max"
set ylabel 'put to result (µs, log scale)'
set logscale y
set format y '%g'
set key top left
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics nomirror noenhanced
plot p50 index 0 skip 1 using 3:4:5:xtic(1) lt 1 title 'p50', \
     p99 index 0 skip 1 using 3:4:5 lt 2 title 'p99'
