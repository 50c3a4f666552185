# switching-switches.gp - context switches per second against tasks: voluntary (solid:
# the task had to wait) and involuntary (dashed: the scheduler preempted it). Zero counts
# have no place on a log axis and are left out.
load plots.'/common.gp'
vol = data.'/switching.vcsw_per_s.dat'
invol = data.'/switching.ivcsw_per_s.dat'
stats vol using 1 nooutput
blocks = STATS_blocks
set title sprintf('Context switches of K tasks on %d CPUs (solid: voluntary, dashed: involuntary)', cpus)
set xlabel 'tasks K'
set ylabel 'switches per second'
set logscale xy
set xrange [0.8:STATS_max * 1.25]
set key top left
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
plot for [i=0:blocks-1] vol index i using 1:($2 > 0 ? $2 : 1/0) with linespoints lt i+1 \
         title columnhead(2).' voluntary', \
     for [i=0:blocks-1] invol index i using 1:($2 > 0 ? $2 : 1/0) with linespoints lt i+1 dt 2 \
         title columnhead(2).' involuntary'
