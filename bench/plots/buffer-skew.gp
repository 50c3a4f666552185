# buffer-skew.gp - items per second through a bounded buffer of 1024 slots with one
# producer and x consumers (NAME-1xN: consumers wait for work) or x producers and one
# consumer (NAME-Nx1: producers wait for room), for the condition-variable ring, the
# semaphore ring and a pipe between threads. bench/bench_buffer.c plans these after the
# four balanced series (blocks 4 on); buffer.gp draws those.
load plots.'/common.gp'
file = data.'/buffer.items_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf("Bounded buffer, one side crowded (%d CPUs): 1xN = 1 producer, N consumers;\nNx1 = N producers, 1 consumer. items/s, median of repeats, bars min..max", cpus)
set xlabel 'threads on the crowded side (N)'
set ylabel 'items per second (log scale)'
set logscale xy
set format y '10^{%L}'
set xrange [1.6:STATS_max * 1.25]
set xtics (2, 4, 8, 16)
set key outside right top box opaque noenhanced font ',10'
set rmargin 24
# One colour per buffer (condvar, semaphores, pipe-threads), solid for 1xN, dashed for Nx1.
plot for [i=4:blocks-1] file index i using 1:2:3:4 with yerrorlines lt 1+(i-4)%3 \
     dt 1+(i-4)/3 title columnhead(2)
