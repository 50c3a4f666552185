# common.gp - the look every chart shares. Each chart script is run by scripts/charts.sh
# with: data (folder of .dat files), out (output path without extension), fmt (svg or
# png), cpus (CPUs the bench could use), plots (this folder).
if (fmt eq 'svg') {
    set terminal svg size 860,520 dynamic enhanced font 'Helvetica,13' background rgb 'white'
} else {
    set terminal pngcairo size 860,520 enhanced font 'Helvetica,11' background rgb 'white'
}
set output out.'.'.fmt
set datafile commentschars '#'
set key top left box opaque
set grid ytics xtics lc rgb '#dddddd'
set border 3
set tics nomirror
set linetype 1 lc rgb '#1f77b4' lw 2 pt 7 ps 0.9
set linetype 2 lc rgb '#ff7f0e' lw 2 pt 5 ps 0.9
set linetype 3 lc rgb '#2ca02c' lw 2 pt 9 ps 1.0
set linetype 4 lc rgb '#d62728' lw 2 pt 11 ps 1.0
set linetype 5 lc rgb '#9467bd' lw 2 pt 13 ps 1.0
set linetype 6 lc rgb '#8c564b' lw 2 pt 15 ps 1.0
set linetype 7 lc rgb '#e377c2' lw 2 pt 4 ps 1.0
set linetype 8 lc rgb '#7f7f7f' lw 2 pt 6 ps 1.0
set linetype 9 lc rgb '#bcbd22' lw 2 pt 8 ps 1.0
set linetype 10 lc rgb '#17becf' lw 2 pt 10 ps 1.0
