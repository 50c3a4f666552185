# pool_syscalls.gp - system calls per empty task through a process pool (strace -f over
# two fixed task counts, the difference), one bar per pool, stacked by family: read/write
# (the pipes), futex (sleeps and wake-ups, contended locks), poll, and the rest. The bar's
# height is the total. Counted under strace: counts, never times.
load plots.'/common.gp'
g(m) = data.'/pool_syscalls.'.m.'_per_task.grid.dat'
stats g('syscalls') using 3 nooutput
set title "System calls per task through a pool (strace -f, empty tasks)\nstacked by family; the bar's height is the total"
set ylabel 'system calls per task'
set yrange [0:STATS_max * 1.15 + 0.1]
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set xtics rotate by -25 nomirror noenhanced
set bmargin 5
set key top left font ',10' noenhanced
set datafile columnheaders
plot g('rw') using 3:xtic(1) lt 1 title 'read, write', \
     g('futex') using 3 lt 2 title 'futex', \
     g('poll') using 3 lt 3 title 'poll', \
     g('other') using 3 lt 8 title 'other'
