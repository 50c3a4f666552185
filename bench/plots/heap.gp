# heap.gp - push+pop pairs per second on one shared heap against the number of processes:
# the heap in shared memory under a robust lock, and seed 001's manager-served Python heap.
# Log scale: the two differ by orders of magnitude, and the aim line sits 100x above Python.
load plots.'/common.gp'
file = data.'/heap.pairs_per_s.dat'
stats file using 1 nooutput
blocks = STATS_blocks
set title sprintf('One heap, P processes (%d CPUs): push+pop pairs/s, median of repeats, bars min..max', cpus)
set xlabel 'processes P'
set ylabel 'push+pop pairs per second (log scale)'
set logscale y
set format y '10^{%L}'
set xrange [0.5:STATS_max + 0.5]
set xtics 1
set key center right box opaque
# Block 1 is py-manager (bench/bench_heap.c plans c-shm first); the dashed line is 100x it.
# Without Python points (the peer skipped) there is no aim to draw.
if (blocks > 1) {
    plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2), \
         file index 1 using 1:($2 * 100) with lines dt 2 lw 1.5 lc rgb '#555555' \
             title 'aim: 100 x py-manager'
} else {
    plot for [i=0:blocks-1] file index i using 1:2:3:4 with yerrorlines lt i+1 title columnhead(2)
}
