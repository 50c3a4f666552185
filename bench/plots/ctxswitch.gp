# ctxswitch.gp - the cost of one switch or hand-off, by mechanism, one bar per placement.
# Bars are the median of repeats with whiskers from min to max; the y axis is logarithmic
# because a coroutine switch and a wake-up on another CPU differ by two orders of magnitude.
load plots.'/common.gp'
file = data.'/ctxswitch.switch.grid.dat'
stats file index 0 using 3 nooutput
nseries = int((STATS_columns - 2) / 3)
set title "One switch: (round trip - the same work in one task) / switches counted\nmedian of repeats, whiskers min..max"
set ylabel 'time per switch or hand-off (µs, log scale)'
set logscale y
set format y '%g'
set style data histograms
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -25 nomirror
set key top right
set bmargin 5
plot for [s=0:nseries-1] file index 0 \
     using (column(3+3*s)/1000):(column(4+3*s)/1000):(column(5+3*s)/1000):xtic(1) \
     lt s+1 title columnhead(3+3*s)
