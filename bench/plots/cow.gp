# cow.gp - start and reap one child against the memory the parent has mapped and touched:
# fork on 4 KiB pages, on huge pages, with the region under MADV_DONTFORK; fork+exec,
# vfork+exec, posix_spawn. Log scales: fork on 4 KiB pages grows in proportion to the
# memory mapped (a page-table entry per page to copy, then to free); the rest stay flat.
load plots.'/common.gp'
file = data.'/cow.start_reap.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title "Start and reap one child against the parent's touched memory\nmedian of repeats, bars min..max"
set xlabel 'memory the parent has mapped and touched (MiB)'
set ylabel 'start + reap (µs, log scale)'
set logscale xy
set format y '%g'
set xrange [STATS_min / 1.5:STATS_max * 1.5]
set xtics (16, 64, 256, 1024, 4096)
set key outside right top box opaque noenhanced
plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
