# switching.gp - jobs per second against the number of tasks, log-log. CPU-bound work
# should flatten at K = CPUs (dotted line); IO-bound work (1 ms sleeps) should keep
# rising along the ideal K x 1000 jobs/s (dashed) until the wake-ups fill the cores.
load plots.'/common.gp'
file = data.'/switching.jobs_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Throughput of K tasks on %d CPUs: median of repeats, bars min..max', cpus)
set xlabel 'tasks K'
set ylabel 'jobs finished per second'
set logscale xy
set xrange [0.8:STATS_max * 1.25]
set key top left
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
plot 1000 * x with lines dt 2 lw 1.5 lc rgb '#555555' title 'IO ideal: K x 1000 jobs/s', \
     for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
