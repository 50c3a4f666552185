# ctxswitch.gp - the cost of one switch or hand-off, by mechanism, one bar per placement.
# Bars are the median of repeats with whiskers from min to max; the y axis is logarithmic
# because a coroutine switch and a wake-up on another CPU differ by two orders of magnitude.
load plots.'/common.gp'
file = data.'/ctxswitch.switch.grid.dat'
div = 1000
set title "One switch: (round trip - the same work in one task) / switches counted\nmedian of repeats, whiskers min..max"
set ylabel 'time per switch or hand-off (µs, log scale)'
set logscale y
set format y '%g'
set key top right
load plots.'/common-bars.gp'
