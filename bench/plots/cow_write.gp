# cow_write.gp - a forked child writes a fraction of the pages it shares with its parent,
# one byte each: its time for the first pass (a minor fault and a 4 KiB copy per page,
# solid) and for the second pass over the same pages (its own by then, dashed), on 4 KiB
# pages and on transparent huge pages. The first pass grows in proportion to the pages
# written; the second costs next to nothing.
load plots.'/common.gp'
first = data.'/cow_write.write_ms.dat'
again = data.'/cow_write.rewrite_ms.dat'
stats first using 1 nooutput
blocks = STATS_blocks
set title "A forked child writes a fraction of its shared pages\nmedian of repeats, bars min..max (solid: first write, dashed: the same pages again)"
set xlabel "pages the child writes (% of the parent's region)"
set ylabel "child's write time (ms)"
set xrange [-5:105]
set yrange [0:*]
set key top left box opaque noenhanced
plot for [i=0:blocks-1] first index i using 1:2:3:4 with yerrorlines lt i+1 \
         title columnhead(2).': first write', \
     for [i=0:blocks-1] again index i using 1:2:3:4 with yerrorlines lt i+1 dt 2 \
         title columnhead(2).': again'
