# ipc-latency.gp - a 64-byte round trip between two tasks, per transport and task kind, one
# bar per placement. Log scale: on one CPU a round trip is two switches, on two CPUs two
# cross-CPU wake-ups, an order of magnitude apart.
load plots.'/common.gp'
file = data.'/ipc.latency.grid.dat'
div = 1000
set title "IPC latency: one 64-byte round trip A -> B -> A\nmedian of repeats, whiskers min..max"
set ylabel 'round trip (µs, log scale)'
set logscale y
set format y '%g'
set key top right
load plots.'/common-bars.gp'
