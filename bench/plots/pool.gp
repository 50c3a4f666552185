# pool.gp - tasks per second through a pool against the work in each task (log-log).
# The dashed line is the ceiling set by the work alone, CPUs / work: a pool that costs
# nothing per task would sit on it. The empty task is drawn at x = 0.1 and labelled 'empty'.
load plots.'/common.gp'
file = data.'/pool.tasks_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Tasks per second through a pool of %d workers: median of repeats, bars min..max', cpus)
set xlabel 'work per task (microseconds of spinning)'
set ylabel 'tasks per second'
set logscale xy
set format y '10^{%L}'
set xrange [0.07:1500]
set xtics ('empty' 0.1, '1' 1, '10' 10, '100' 100, '1000' 1000)
set key top right box opaque
at(x) = x > 0 ? x : 0.1
ideal(x) = x >= 1 ? cpus * 1e6 / x : 1/0
plot ideal(x) with lines dt 2 lw 1.5 lc rgb '#555555' title 'ceiling: CPUs / work', \
     for [i=0:blocks-1] file index i using (at($1)):2:3:4 with yerrorlines lt i+1 title columnhead(2)
