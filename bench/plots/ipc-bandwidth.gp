# ipc-bandwidth.gp - 64 KiB blocks streamed from A to B, per transport and task kind, one bar
# per placement. Every byte is copied in and out once; shared memory saves the kernel's
# bookkeeping, not the copies.
load plots.'/common.gp'
file = data.'/ipc.bandwidth.grid.dat'
div = 1024
set title "IPC bandwidth: 64 KiB blocks from A to B\nmedian of repeats, whiskers min..max"
set ylabel 'GiB/s'
set yrange [0:*]
set key top right
load plots.'/common-bars.gp'
