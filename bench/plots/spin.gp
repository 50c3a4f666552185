# spin.gp - cores used against busy workers: C and Python, threads and processes.
# The dashed line is ideal scaling, min(N, CPUs): a worker per core until the cores run out.
load plots.'/common.gp'
file = data.'/spin.cores_used.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Cores used by N busy loops (%d CPUs): median of repeats, bars min..max', cpus)
set xlabel 'busy workers N'
set ylabel 'cores used = (user + sys) / wall'
set xrange [0.5:STATS_max + 0.5]
if (STATS_max <= 8) { set xtics 1 }
set yrange [0:cpus * 1.15 + 0.2]
ideal(x) = x < cpus ? x : cpus
plot ideal(x) with lines dt 2 lw 1.5 lc rgb '#555555' title 'ideal: min(N, CPUs)', \
     for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
