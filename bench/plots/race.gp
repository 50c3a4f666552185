# race.gp - how often the unprotected balance drifts from 0, against rounds per thread:
# C with its threads pinned to separate CPUs, C placed by the scheduler, C on one CPU,
# Python (the seed's code), Python with a call in the read-write gap.
load plots.'/common.gp'
file = data.'/race.drift_pct.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('Runs whose balance drifted (2 threads, no lock, %d CPUs): median, bars min..max', cpus)
set xlabel 'rounds per thread'
set ylabel 'runs that ended off 0 (%)'
set logscale x
set xrange [STATS_min / 1.6:STATS_max * 1.6]
set yrange [-3:105]
set key top left
# Each series is nudged sideways a little so lines lying on top of each other (at 0%) stay visible.
plot for [i=0:blocks-1] file index i using ($1 * (1 + 0.05 * (i - (blocks - 1) / 2.0))):2:3:4 \
     with yerrorlines lt i+1 title columnhead(2)
