# fileio.gp - MiB/s of random 4 KiB reads against concurrency (threads, libuv pool size or
# io_uring queue depth): blocking, threads, uv, uring, uring-fixed. Warm cache solid, cold
# cache dashed (odd blocks: the variants alternate warm, cold). Log scales: warm and cold
# differ by an order of magnitude or more.
load plots.'/common.gp'
file = data.'/fileio.mib_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title 'Random 4 KiB reads: median of repeats, bars min..max (solid warm, dashed cold)'
set xlabel 'concurrency (threads, libuv pool size, io\_uring queue depth)'
set ylabel 'MiB/s'
set logscale xy 2
set format y '%g'
set xrange [0.8:80]
set xtics (1, 4, 16, 64)
set key outside right top box opaque
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt (i/2)+1 \
     dashtype 1+i%2 title columnhead(2)
