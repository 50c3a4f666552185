# timeline.gp - what htop shows, over time: each CPU's busy % while N C threads spin (left)
# and while N Python threads spin (right). The dashed line is all CPUs together (100 = one
# CPU's worth). C threads fill every CPU; Python threads share one CPU's worth, the GIL
# handing it from thread to thread, wherever the scheduler puts them.
load plots.'/common.gp'
if (fmt eq 'svg') {
    set terminal svg size 1100,480 dynamic enhanced font 'Helvetica,13' background rgb 'white'
} else {
    set terminal pngcairo size 1100,480 enhanced font 'Helvetica,11' background rgb 'white'
}
set output out.'.'.fmt
set multiplot layout 1,2 title "Per-CPU busy % while N threads spin (/proc/stat every 100 ms; the whole machine)"
set xlabel 'seconds since start'
set ylabel 'busy %'
set yrange [0:cpus * 100 * 1.25 + 10]
set key top right
set xrange [0:*]
do for [half in 'c_threads py_threads'] {
    file = data.'/timeline.busy_'.half.'.dat'
    set title (half eq 'c_threads' ? 'C threads (spin)' : 'Python threads (gil_spin.py)') noenhanced
    if (system('test -f '.file.' && echo 1') eq '1') {
        stats file using 1 nooutput
        blocks = STATS_blocks
        dash(i) = i == blocks - 1 ? 2 : 1      # the last block is the total
        plot for [i=0:blocks-1] file index i using 1:2 with lines \
             lt (i+1) dt dash(i) title columnhead(2)
    } else {
        unset key
        set label 1 'not measured in this run' at graph 0.5, 0.5 center
        plot 1/0 notitle
        unset label 1
    }
}
unset multiplot
