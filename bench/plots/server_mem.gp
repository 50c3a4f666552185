# server_mem.gp - memory of each server (PSS summed over its processes) holding idle
# keep-alive connections. A pool or prefork holds only as many as it has workers (the rest
# wait in a queue or in the kernel), so its line stays flat: see the reading.
load plots.'/common.gp'
file = data.'/server_mem.pss_mb.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title 'Server memory (PSS, all its processes) with N idle keep-alive connections'
set logscale x 10
set logscale y 10
set xlabel 'idle connections N'
set ylabel 'PSS (MiB, log scale)'
set xrange [STATS_min * 0.5:STATS_max * 2]
set key top left font ',10' noenhanced
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
