# locks.gp - ns per increment against threads: mutex, spinlock, atomic, per-thread, none.
# Log scale: the variants differ by orders of magnitude. The cost is wall time divided by
# all increments together, so a variant that scales perfectly falls as 1/threads.
load plots.'/common.gp'
file = data.'/locks.ns_per_inc.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Cost of one shared increment (%d CPUs): median of repeats, bars min..max', cpus)
set xlabel 'threads incrementing'
set ylabel 'ns per increment (wall time / all increments)'
set xrange [0.5:STATS_max + 0.5]
set xtics 1
set logscale y
set key top left
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
set label 'threads = CPUs' at cpus, graph 0.96 right offset -0.5, 0 tc rgb '#666666'
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
