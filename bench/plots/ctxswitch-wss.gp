# ctxswitch-wss.gp - one switch on one CPU against the working set each task reads between
# hand-offs (lat_ctx's size argument): the bigger it is, the more of it a switch leaves
# for the other task to evict, and the more each switch costs in refilled cache.
# Only the series measured at more than one size are drawn (the pipe-*/same-cpu sweep).
load plots.'/common.gp'
file = data.'/ctxswitch.switch.dat'
stats file using 1 nooutput
blocks = STATS_blocks
sweep = ''
do for [i=0:blocks-1] {
    stats file index i using 1 nooutput
    if (STATS_records > 1) { sweep = sweep.' '.i }
}
set title "One switch on one CPU against each task's working set\nmedian of repeats, bars min..max"
set xlabel 'working set per task (KiB, each read once per hand-off)'
set ylabel 'time per switch (µs)'
set yrange [0:*]
set offsets 0.3, 0.3, 0, 0
set key top left
plot for [w in sweep] file index (w+0) \
     using 0:($2/1000):($3/1000):($4/1000):xtic(sprintf('%g', $1)) \
     with yerrorlines lt (w+1) title columnhead(2)
