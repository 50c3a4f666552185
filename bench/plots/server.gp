# server.gp - GET / under wrk: req/s (left) and p99 latency (right) against concurrent
# connections, every server of demos/async and nginx with 1 worker and one per CPU; the
# event loops (epoll, io_uring, libuv) with one loop and one per CPU: NAME_Nw ran N.
load plots.'/common.gp'
set linetype 11 lc rgb '#393b79' lw 2 pt 12 ps 1.0
set linetype 12 lc rgb '#637939' lw 2 pt 14 ps 1.0
rps = data.'/server.rps.dat'
p99 = data.'/server.p99_ms.dat'
stats rps using 1 nooutput
blocks = STATS_blocks
set multiplot layout 1,2 title sprintf('GET / under wrk on the same %d CPUs: median of repeats, bars min..max', cpus)
set logscale x 2
set xlabel 'concurrent connections'
set xrange [STATS_min * 0.7:STATS_max * 1.4]
set ylabel 'requests per second'
set yrange [0:*]
# Twelve series: the key goes below both plots, where it hides no line.
set bmargin 7
set key at screen 0.5, screen 0.01 center bottom vertical maxrows 3 width -1 font ',9' noenhanced
plot for [i=0:blocks-1] rps index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
set ylabel 'p99 latency (ms, log scale)'
set logscale y 10
set yrange [*:*]
unset key
plot for [i=0:blocks-1] p99 index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
unset multiplot
