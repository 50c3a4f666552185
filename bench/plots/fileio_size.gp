# fileio_size.gp - MiB/s reading whole files against their size (the same total bytes,
# 4 KiB reads, concurrency 16): blocking, threads, uv, uring, uring-fixed. Warm cache
# solid, cold cache dashed (the variants alternate warm, cold). Log scales.
load plots.'/common.gp'
file = data.'/fileio_size.mib_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title 'Whole files, 4 KiB reads: median of repeats, bars min..max (solid warm, dashed cold)'
set xlabel 'file size (KiB; the same total bytes at every size)'
set ylabel 'MiB/s'
set logscale xy 2
set format y '%g'
set xrange [10:STATS_max * 1.6]
set xtics (16, 256, 4096, 65536)
set key outside right top box opaque
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt (i/2)+1 \
     dashtype 1+i%2 title columnhead(2)
