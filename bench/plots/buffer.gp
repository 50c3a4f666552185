# buffer.gp - items per second through a bounded buffer of 1024 slots against threads a
# side (P producers = C consumers = x): condition variables, semaphores, a pipe between
# threads, and the lock-free SPSC ring (1 x 1 only, one point). Log scales: they differ by
# orders of magnitude. bench/bench_buffer.c plans these four series first (blocks 0-3);
# the skewed 1xN and Nx1 series after them are buffer-skew.gp's.
load plots.'/common.gp'
file = data.'/buffer.items_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
last = blocks < 4 ? blocks - 1 : 3
set title sprintf("Bounded buffer, P producers = C consumers (%d CPUs)\nitems/s, median of repeats, bars min..max", cpus)
set xlabel 'threads a side (P = C)'
set ylabel 'items per second (log scale)'
set logscale xy
set format y '10^{%L}'
set xrange [0.8:STATS_max * 1.25]
set xtics (1, 2, 4, 8, 16)
set key outside right top box opaque noenhanced font ',10'
set rmargin 20
set arrow from cpus, graph 0 to cpus, graph 1 nohead dt 3 lc rgb '#888888'
plot for [i=0:last] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
