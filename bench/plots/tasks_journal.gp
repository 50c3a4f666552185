# tasks_journal.gp - what durability costs: the broker's tasks/s (2 workers, prefetch 64)
# without a journal and with --journal at each --fsync policy. never: written, left to the
# kernel; batch: fsync every --fsync-ms; always: fsync before every put is acknowledged.
load plots.'/common.gp'
file = data.'/tasks_journal.tasks_per_s.grid.dat'
div = 1
set title "The broker with and without a journal (2 workers, prefetch 64)\nmedian of repeats, whiskers min..max"
set ylabel 'tasks per second'
set yrange [0:*]
set key off
load plots.'/common-bars.gp'
