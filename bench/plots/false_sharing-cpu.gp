# false_sharing-cpu.gp - what one increment costs while its thread runs: the threads' CPU
# time over their increments, against threads, per layout (colour) and placement (solid:
# spread over the CPUs, dashed: one CPU, dotted: unpinned). Time a thread spends waiting for
# a CPU is not in it, so other load on the machine disturbs it less than the rate.
load plots.'/common.gp'
file = data.'/false_sharing.cpu_ns_per_inc.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf("CPU time per increment, threads with counters of their own (%d CPUs)\nmedian of repeats, bars min..max", cpus)
set xlabel 'threads, one counter each'
set ylabel 'ns of CPU time per increment'
set xrange [0.5:STATS_max + 0.5]
if (STATS_max <= 8) { set xtics 1 }
set yrange [0:*]
set key outside right top box opaque noenhanced
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines \
     lt 1+i%3 dashtype 1+i/3 title columnhead(2)
