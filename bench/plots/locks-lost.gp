# locks-lost.gp - share of increments lost against threads. Only the unprotected counter
# loses any; the protected variants sit at 0 (the bench fails if one of them loses one).
load plots.'/common.gp'
file = data.'/locks.lost_pct.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Increments lost on a shared counter (%d CPUs): median, bars min..max', cpus)
set xlabel 'threads incrementing'
set ylabel 'lost increments (% of all made)'
set xrange [0.5:STATS_max + 0.5]
set xtics 1
set yrange [-2:100]
set key top left
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
