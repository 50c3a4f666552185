# tasks.gp - tasks per second through a task queue against the number of workers: this
# chapter's broker, Redis Streams and Redis lists, each at prefetch 1 and 64, and seed
# 000's BaseManager design in Python. Log scale: they differ by orders of magnitude.
load plots.'/common.gp'
file = data.'/tasks.tasks_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf("Tasks per second against workers, on loopback (%d CPUs)\nmedian of repeats, bars min..max", cpus)
set xlabel 'workers W (each a process, like the master and the backend)'
set ylabel 'tasks per second (log scale)'
set logscale xy
set format y '10^{%L}'
set xrange [0.8:STATS_max * 1.25]
set xtics (1, 2, 4, 8)
set key outside right top box opaque noenhanced font ',10'
set rmargin 24
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
