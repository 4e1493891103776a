#!/usr/bin/env bash
# Galaxy-level calibration (issue 11): `coverage` for each method, star count
# and mock kind, on trained models. Writes benchmarks/results/coverage.md (a
# table of the COVERAGE lines) and coverage.png (z sd against N). Runs resume
# where they stopped (each run's checkpoint), so the script can be rerun.
# Knobs (env): DIR (the models: npe.h5 and emulator.h5; default output/end_to_end,
# made by benchmarks/end_to_end.sh), NP (2), RUNS (a list of method:N:galaxies:mock:seed,
# default below: the table of the README), OUT (benchmarks/results/coverage).
# `auto` rows are the default method (hmc below 100 stars, newton from 100).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DIR:-output/end_to_end}; NP=${NP:-2}; OUT=${OUT:-benchmarks/results/coverage}
RUNS=${RUNS:-"auto:1000:100:emulator:21 auto:10000:30:emulator:22 auto:10000:20:emulator:28 auto:10000:30:emulator:30
 auto:1000:40:chempy:23 auto:1000:60:chempy:123 auto:10000:6:chempy:29 auto:10:100:emulator:41
 hmc:1000:40:emulator:42 newton:1000:40:emulator:42 newton:1000:40:emulator:40
 gauss:10:100:emulator:1 gauss:100:100:emulator:1 gauss:300:100:emulator:1 gauss:1000:100:emulator:24
 gauss:10000:30:emulator:50 gauss:10:100:chempy:510 gauss:100:100:chempy:5100 gauss:300:100:chempy:5300
 gauss:1000:100:chempy:51000 gauss:10000:30:chempy:55"}
MPIRUN="mpirun --oversubscribe -np $NP"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
B=bin/chempysbi
mkdir -p "$OUT"
for r in $RUNS; do
  IFS=: read -r m n g mk seed <<<"$r"
  f="$OUT/cov_${m}_${n}_${mk}_s${seed}"
  [ -s "$f.log" ] && grep -q '^COVERAGE' "$f.log" && continue
  $MPIRUN $B coverage -npe "$DIR/npe.h5" -emulator "$DIR/emulator.h5" -method "$m" -n_stars "$n" -galaxies "$g" \
    -mock "$mk" -seed "$seed" -out "$f.h5" > "$f.log" 2>&1 || { echo "coverage $r failed: see $f.log"; continue; }
  grep '^COVERAGE' "$f.log"
done
{
  echo "# Galaxy-level coverage ($(date -u +%F), $(git describe --always --dirty), $NP ranks, models in $DIR)"
  echo
  echo "z = (posterior mean - truth) / posterior sd per galaxy; a calibrated method has z sd 1, mean 0, 95% inside."
  echo "With M galaxies the z sd is known to about +-1/sqrt(2M)."
  echo
  echo "| method | stars | galaxies | mock | z mean alpha | z sd alpha | z mean N_Ia | z sd N_Ia | 95% alpha | 95% N_Ia | 95% joint |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for f in "$OUT"/cov_*.log; do
    { grep -h '^COVERAGE' "$f" || true; } | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      m = v["method"]; if (m == "auto") m = (v["n_stars"] < 100 ? "auto (hmc)" : "auto (newton)")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m, v["n_stars"], v["galaxies"], v["mock"],
        v["z_alpha_mean"], v["z_alpha_sd"], v["z_NIa_mean"], v["z_NIa_sd"], v["cover95_alpha"], v["cover95_NIa"], v["cover95_2d"] }'
  done | sort -t'|' -k2,2 -k5,5 -k3n,3
} > benchmarks/results/coverage.md
cat benchmarks/results/coverage.md
# z sd against N, one line per method and mock kind (default = auto: hmc below 100 stars, newton from 100).
awk -F'|' 'NR > 8 { gsub(/ /, ""); m = $2; if (m ~ /^auto/) m = "default"; print m, $5, $3, $7, $9 }' benchmarks/results/coverage.md > "$OUT/zsd.dat"
if command -v gnuplot > /dev/null; then
  gnuplot <<GP
set terminal pngcairo size 900,600 noenhanced
set output 'benchmarks/results/coverage.png'
set logscale x; set grid; set key top left
set xlabel 'stars per galaxy'; set ylabel 'sd of z over galaxies'
set yrange [0:*]
plot 1 lw 2 dt 2 lc rgb 'black' title 'calibrated', \
  for [m in "gauss default"] for [k in "emulator chempy"] \
  '< grep "^'.m.' '.k.' " $OUT/zsd.dat' using 3:4 with linespoints lw 2 title m.' '.k.' alpha', \
  for [m in "gauss default"] for [k in "emulator chempy"] \
  '< grep "^'.m.' '.k.' " $OUT/zsd.dat' using 3:5 with linespoints dt 3 lw 2 title m.' '.k.' N_Ia'
GP
fi
