# syscalls.gp - system calls the server makes per `GET /` request (strace -f -c over a fixed
# request count), one bar per server, stacked by family: read/recv, write/send, the wait
# (epoll_wait, poll), io_uring_enter, accept, and everything else (futex, epoll_ctl, ...).
# The bar's height is the total. Counted under strace: counts, never times.
load plots.'/common.gp'
g(m) = data.'/syscalls.'.m.'_per_req.grid.dat'
stats g('syscalls') using 3 nooutput
set title "System calls per GET / request (strace -f -c, keep-alive connections)\nstacked by family; the bar's height is the total"
set ylabel 'system calls per request'
set yrange [0:STATS_max * 1.15]
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set xtics rotate by -25 nomirror noenhanced
set bmargin 5
set key top right font ',10' noenhanced
set datafile columnheaders
plot g('read') using 3:xtic(1) lt 1 title 'read, recv', \
     g('write') using 3 lt 2 title 'write, send', \
     g('wait') using 3 lt 3 title 'epoll_wait, poll', \
     g('uring_enter') using 3 lt 4 title 'io_uring_enter', \
     g('accept') using 3 lt 5 title 'accept', \
     g('other') using 3 lt 8 title 'other (futex, epoll_ctl, ...)'
