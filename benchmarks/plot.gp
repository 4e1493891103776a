# Plots of the chempysbi benchmark (called by benchmarks/run.sh):
#   gnuplot -e "dir='benchmarks/results'; np=2" benchmarks/plot.gp
# scaling.png: speed-up over 1 rank for each stage (scaling.csv: stage,ranks,speedup)
# peers.png:   chempysbi vs peer time per item, log scale (peers.csv: item,chempysbi_s,peer_s,peer)
if (!exists("dir")) dir = 'benchmarks/results'
if (!exists("np")) np = 2
set datafile separator ','
set terminal pngcairo size 800,560 font 'Sans,10' noenhanced

set output dir.'/scaling.png'
set title 'chempysbi: speed-up over 1 rank (wall clock)'
set xlabel 'MPI ranks'
set ylabel 'speed-up'
set xrange [0.9:np+0.1]
set yrange [0:np+0.3]
set xtics 1
set key top left
set grid
stages = system("tail -n +2 ".dir."/scaling.csv | cut -d, -f1 | uniq | tr '\\n' ' '")
plot x title 'ideal' dt 2 lc 'gray', \
     for [s in stages] sprintf("< grep '^%s,' %s/scaling.csv", s, dir) using 2:3 with linespoints lw 2 pt 7 title s

set output dir.'/peers.png'
set title 'chempysbi vs peers: seconds, log scale (lower is better)'
unset xlabel
set ylabel 'seconds'
set logscale y
set autoscale y
set xrange [*:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by 25 right scale 0 font ',8'
set bmargin 7
set key top right
plot dir.'/peers.csv' skip 1 using 2:xtic(1) title 'chempysbi' lc rgb '#1f77b4', \
     '' skip 1 using 3 title 'peer (Python CHEMPY / PyTorch)' lc rgb '#d62728'
