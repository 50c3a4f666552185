# server_io.gp - GET /io?ms=10 under wrk: req/s (left, with the ideal line: every
# connection answered every 10 ms) and p99 latency (right) against concurrent connections.
load plots.'/common.gp'
rps = data.'/server_io.rps.dat'
p99 = data.'/server_io.p99_ms.dat'
stats rps using 1 nooutput
blocks = STATS_blocks
set multiplot layout 1,2 title sprintf('GET /io?ms=10 under wrk on the same %d CPUs: median, bars min..max', cpus)
set logscale x 2
set logscale y 10
set xlabel 'concurrent connections'
set xrange [STATS_min * 0.7:STATS_max * 1.4]
set ylabel 'requests per second (log scale)'
set key top left font ',9' spacing 0.9 noenhanced
plot x / 0.010 with lines dt 2 lw 1.5 lc rgb '#555555' title 'ideal: connections / 10 ms', \
     for [i=0:blocks-1] rps index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
set ylabel 'p99 latency (ms, log scale)'
unset key
plot for [i=0:blocks-1] p99 index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
unset multiplot
