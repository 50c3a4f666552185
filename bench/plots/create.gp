# create.gp - time to start and reap one unit of concurrency, one bar per series (fork+wait
# once per touched-heap size). Log scale: a process costs hundreds of microseconds, a
# thread tens, a pool job or a loop turn far less.
load plots.'/common.gp'
file = data.'/create.latency.grid.dat'
# The grid has a block per x (touched heap): x = 0 holds every series, later blocks only
# fork+wait. Bars go left to right, block after block.
stats file using 3 nooutput
nb = STATS_blocks
array start[nb]
n = 0
do for [b=1:nb] {
    start[b] = n
    stats file index b-1 using 3 nooutput
    n = n + STATS_records
}
set title "Start and reap one: process, thread, libuv pool job, libuv timer callback\nmedian of repeats, whiskers min..max"
set ylabel 'time per start + reap (µs, log scale)'
set logscale y
set format y '%g'
set style fill solid 0.85 border -1
set xtics rotate by -25 nomirror noenhanced
set bmargin 5
unset key
set datafile columnheaders   # the header line of each block is not a row ($0 counts rows)
set xrange [0.3:n + 0.7]
label(x, name) = x > 0 ? sprintf('%s, %g MiB heap', name, x) : name
plot for [b=1:nb] file index b-1 \
     using (start[b] + $0 + 1):($3/1000):($4/1000):($5/1000):(0.7):xtic(label($2, strcol(1))) \
     with boxerrorbars lt b
