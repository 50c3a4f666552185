# false_sharing.gp - increments/s of threads each incrementing its own counter, against
# threads: the counters packed 8 bytes apart (one cache line for eight), padded to 64 and
# to 128 bytes. Colour: the layout; line style: the placement (solid: threads spread over
# the CPUs, dashed: all on one CPU, dotted: unpinned). The series come three layouts to a
# placement, in that order (bench_false_sharing's plan).
load plots.'/common.gp'
file = data.'/false_sharing.incs_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf("Threads incrementing counters of their own (%d CPUs)\nmedian of repeats, bars min..max", cpus)
set xlabel 'threads, one counter each'
set ylabel 'increments/s, all threads (millions)'
set xrange [0.5:STATS_max + 0.5]
if (STATS_max <= 8) { set xtics 1 }
set yrange [0:*]
set key outside right top box opaque noenhanced
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
plot for [i=0:blocks-1] file index i using 1:($2/1e6):($3/1e6):($4/1e6) with yerrorlines \
     lt 1+i%3 dashtype 1+i/3 title columnhead(2)
