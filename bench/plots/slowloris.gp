# slowloris.gp - req/s of 8 good keep-alive clients (wrk, GET /) against the number of
# slow clients beside them (each drips a header byte every 2 s and reconnects when cut
# off), every server of demos/async and nginx. The x values are categories, evenly spaced.
load plots.'/common.gp'
rps = data.'/slowloris.rps.dat'
stats rps using 1 nooutput
blocks = STATS_blocks
set title sprintf("Good clients beside slowloris clients on the same %d CPUs: median, bars min..max\nserver\\_prefork runs 32 workers (its default)", cpus)
set xlabel 'slow clients (a header byte every 2 s each, reconnecting when closed)'
set ylabel 'good requests per second (wrk, 8 connections)'
set yrange [0:*]
set xrange [-0.3:*]
set offsets 0, 0.3, 0, 0
set key outside right top font ',9' spacing 0.9 noenhanced
plot for [i=0:blocks-1] rps index i using 0:2:3:4:xtic(1) with yerrorlines lt i+1 title columnhead(2)
