#!/usr/bin/env bash
# The three SBI families side by side on the same CHEMPY test stars (issue 17):
# NPE (validate), rejection ABC on stored CHEMPY tables of two sizes (abc
# -cases), and the classifier NRE (train-nre, nre -cases). One validate run
# makes the test stars (truth from the NPE's prior, CHEMPY, 0.05 dex noise);
# ABC and NRE read the same stars from its output. Per method: SBC KS p of
# every parameter, TARP ATC and KS p, APE of the globals' posterior means,
# training time and inference time per star; then galaxy-level coverage of
# each family's combined posterior (coverage -method gauss|abc|nre_gauss|nre) at 100
# and 1000 stars. Writes $OUT/compare_sbi.md and the plot $OUT/compare_sbi.png.
#
#   benchmarks/compare_sbi.sh            # 500 stars, ABC at 1e5 and 1e6 rows, NRE on 1e5 simulations
#   benchmarks/compare_sbi.sh -quick     # 100 stars, ABC at 2e3 and 2e4 rows, NRE on 2e4 (make bench)
#
# Inputs (environment): DIR with emulator.h5 and npe.h5 (default /work/data/paper; made small
# here if missing), TABLE a simulate file drawn from the gauss prior (made here if missing:
# 1e6 CHEMPY runs are ~1000 CPU-s), NP ranks (2), OUT (benchmarks/results/compare_sbi[_quick]);
# sizes NCASE, ROWS ("1e5 1e6" as integers), TROWS, NRE_N, NRE_EP; coverage COV_N, COV_G, COV_G_LARGE, NRE_COV.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN_OVERRIDE:-$ROOT/bin/chempysbi}
QUICK=0
[ "${1:-}" = -quick ] && QUICK=1
NP=${NP:-2}
if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
if [ $QUICK = 1 ]; then
  d_ncase=100 d_rows="2000 20000" d_trows=20000 d_nre_n=20000 d_nre_ep=10 d_cov_n="30 100" d_cov_g=4 d_cov_gl=4
  d_nre_cov="-samples 200 -chains 4 -warmup 400 -thin 2" OUT=${OUT:-$ROOT/benchmarks/results/compare_sbi_quick}
else
  d_ncase=500 d_rows="100000 1000000" d_trows=1000000 d_nre_n=100000 d_nre_ep=200 d_cov_n="100 1000" d_cov_g=100 d_cov_gl=30
  d_nre_cov="-samples 400 -chains 4 -warmup 600 -thin 2" OUT=${OUT:-$ROOT/benchmarks/results/compare_sbi}
fi
# Sizes (environment overrides): test stars, ABC table rows used, rows simulated for a missing table, NRE sims and epochs.
NCASE=${NCASE:-$d_ncase} ROWS=${ROWS:-$d_rows} TROWS=${TROWS:-$d_trows} NRE_N=${NRE_N:-$d_nre_n} NRE_EP=${NRE_EP:-$d_nre_ep}
# Galaxy-level coverage: stars per galaxy, galaxies below / from 1000 stars, the NRE sampler there.
COV_N=${COV_N:-$d_cov_n} COV_G=${COV_G:-$d_cov_g} COV_G_LARGE=${COV_G_LARGE:-$d_cov_gl} NRE_COV=${NRE_COV:-$d_nre_cov}
DIR=${DIR:-/work/data/paper}
mkdir -p "$OUT"
LOG=$OUT/log.txt
: >"$LOG"
say() { echo "[compare_sbi $(date -u +%H:%M:%S)] $*" | tee -a "$LOG"; }
run() { say "$*"; "$@" >>"$LOG" 2>&1 || { say "FAILED: $*"; tail -5 "$LOG"; exit 1; }; }
now() { date +%s.%N; }
say "load before: $(uptime)"

# Models: the given ones, or small ones made here (quick runs on a fresh clone).
EMU=$DIR/emulator.h5 NPE=$DIR/npe.h5 NPE_DESC="$DIR/npe.h5"
if [ ! -s "$EMU" ] || [ ! -s "$NPE" ]; then
  EMU=$OUT/emulator.h5 NPE=$OUT/npe.h5 NPE_DESC="made here: 5x32, 2e4 emulator sims"
  run $MPIRUN -np $NP $BIN simulate -n 20000 -prior wide -seed 1 -progress_every 600 -out $OUT/tr.h5
  run $MPIRUN -np $NP $BIN simulate -n 2000 -prior wide -seed 2 -progress_every 600 -out $OUT/va.h5
  run $MPIRUN -np $NP $BIN train-emulator -train $OUT/tr.h5 -val $OUT/va.h5 -epochs 10 -out $EMU -force
  run $MPIRUN -np $NP $BIN train-npe -emulator $EMU -n 20000 -max_epochs 30 -out $NPE -force
fi
TABLE=${TABLE:-$OUT/table_gauss.h5}
if [ ! -s "$TABLE" ]; then
  t0=$(now)
  run $MPIRUN -np $NP $BIN simulate -n $TROWS -prior gauss -seed 17 -progress_every 600 -out $TABLE
  say "table: $TROWS CHEMPY runs in $(echo "$(now) - $t0" | bc) s on $NP ranks"
fi

# 1. The test stars and the NPE's calibration on them.
V=$OUT/validation.h5
run $MPIRUN -np $NP $BIN validate -npe $NPE -n $NCASE -samples 1000 -plots 0 -out $V -force
npe_line=$(grep ^VALIDATION "$LOG" | tail -1)
npe_samp=$(sed -n 's/.*(sampling \([0-9.]*\) s.*/\1/p' "$LOG" | tail -1)
npe_train=$(h5dump -d /history "$NPE" 2>/dev/null | awk -F, '/^ *\([0-9]+,0\)/ { sub(/, *$/, ""); gsub(/[^0-9.e+-]/, "", $NF); s += $NF } END { printf "%.0f", s }')

rows_md=()
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
minp() { local l=$1 m=1; for p in alpha_IMF log10_N_Ia log10_SFE log10_SFR_peak x_out birth_time_Gyr; do v=$(field "$l" ${p}_sbc_p); m=$(awk -v a=$m -v b=$v 'BEGIN { print (b < a ? b : a) }'); done; echo $m; }
: >"$OUT/compare_sbi_sbc.dat" # method|SBC p alpha|SBC p N_Ia|min SBC p, for the plot
row() { # method sims vline train per_star
  local l=$2
  echo "$1|$(field "$l" alpha_IMF_sbc_p)|$(field "$l" log10_N_Ia_sbc_p)|$(minp "$l")" >>"$OUT/compare_sbi_sbc.dat"
  rows_md+=("| $1 | $(field "$l" alpha_IMF_sbc_p) | $(field "$l" log10_N_Ia_sbc_p) | $(minp "$l") | $(field "$l" tarp_atc) | $(field "$l" tarp_ks_p) | $(field "$l" alpha_IMF_ape_median) | $(field "$l" log10_N_Ia_ape_median) | $3 | $4 |")
}
per_npe=$(awk -v s="$npe_samp" -v n=$NCASE -v p=$NP 'BEGIN { printf "%.3g", s / (n / p) }')
row "NPE (MAF, $NPE_DESC)" "$npe_line" "${npe_train} s" "$per_npe s"

# 2. ABC on the CHEMPY table at each size (uniform kernel + regression adjustment, and the Gaussian kernel).
for r in $ROWS; do
  for variant in "uniform -adjust 1" "gauss"; do
    k=$(echo "$variant" | cut -d' ' -f1)
    run $MPIRUN -np $NP $BIN abc -table $TABLE -rows $r -cases $V -accept 1000 -kernel $variant -out $OUT/abc_${r}_$k.h5 -force
    l=$(grep ^VALIDATION "$LOG" | tail -1)
    a=$(grep ^ABC "$LOG" | tail -1)
    row "ABC $k$( [ $k = uniform ] && echo ' + adjust'), $r CHEMPY rows (rate $(field "$a" rate), eps $(field "$a" eps_median))" "$l" "table" "$(field "$a" s_per_star) s"
  done
done

# 3. NRE on the NPE's simulations (same seed: the same 1e5 emulator draws).
t0=$(now)
run $MPIRUN -np $NP $BIN train-nre -emulator $EMU -n $NRE_N -max_epochs $NRE_EP -out $OUT/nre.h5 -force
nre_train=$(echo "$(now) - $t0" | bc | xargs printf "%.0f")
run $MPIRUN -np $NP $BIN nre -model $OUT/nre.h5 -cases $V -out $OUT/nre_post.h5 -force
l=$(grep ^VALIDATION "$LOG" | tail -1)
n=$(grep ^NRE "$LOG" | tail -1)
row "NRE (MLP 3x64, $NRE_N emulator sims; R-hat median $(field "$n" rhat_alpha_median))" "$l" "${nre_train} s" "$(field "$n" s_per_star) s"

# 4. Galaxy-level coverage of each family's combined posterior (the per-star posteriors multiplied
# as Gaussians, the paper's combination): CHEMPY mock galaxies, truths from the prior.
last_rows=${ROWS##* }
cov_md=()
: >"$OUT/compare_sbi_cov.dat" # method n z_sd_alpha z_sd_NIa, for the plot
for n in $COV_N; do
  g=$([ "$n" -ge 1000 ] && echo $COV_G_LARGE || echo $COV_G)
  for m in "gauss -npe $NPE" "abc -table $TABLE -rows $last_rows -accept 1000 -kernel uniform -adjust 1" "nre_gauss -nre $OUT/nre.h5 $NRE_COV" \
    "nre -nre $OUT/nre.h5 $NRE_COV"; do
    name=${m%% *}
    t0=$(now)
    run $MPIRUN -np $NP $BIN coverage -method $m -n_stars $n -galaxies $g -seed 61 -plots 0 -out $OUT/cov_${name}_$n.h5 -force
    c=$(grep ^COVERAGE "$LOG" | tail -1)
    echo "$name $n $(field "$c" z_alpha_sd) $(field "$c" z_NIa_sd)" >>"$OUT/compare_sbi_cov.dat"
    cov_md+=("| $name | $n | $g | $(field "$c" z_alpha_mean), $(field "$c" z_NIa_mean) | $(field "$c" z_alpha_sd), $(field "$c" z_NIa_sd) | $(field "$c" cover95_alpha), $(field "$c" cover95_NIa), $(field "$c" cover95_2d) | $(echo "$(now) - $t0" | bc | xargs printf "%.0f") s |")
  done
done

{
  echo "# SBI families on the same $NCASE CHEMPY test stars"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $NP ranks, load before: $(head -1 "$LOG" | sed 's/.*load average: //')"
  echo
  echo "| method | SBC p alpha_IMF | SBC p log10_N_Ia | min SBC p (6) | TARP ATC | TARP KS p | APE alpha_IMF % | APE log10_N_Ia % | training | per star (1 rank) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows_md[@]}"
  echo
  echo "ABC's training is the table: CHEMPY runs, ~1 ms of CPU each. Load after: $(uptime | sed 's/.*load average: //')"
  echo
  echo "## Galaxy-level coverage (CHEMPY mock galaxies, truths from the prior)"
  echo
  echo "gauss, abc, nre_gauss: the Gaussian product of each family's per-star posteriors; nre: newton on the globals"
  echo "with log r as every star's likelihood. ABC: the $last_rows-row table, uniform kernel + adjustment, k 1000; NRE: the model"
  echo "above, per-star sampler \`$NRE_COV\`."
  echo "With M galaxies a z sd is known to about +-1/sqrt(2M) and a mean z to about +-sd/sqrt(M)."
  echo
  echo "| method | stars per galaxy | galaxies | z mean alpha, N_Ia | z sd alpha, N_Ia | 95% inside alpha, N_Ia, joint | time |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${cov_md[@]}"
} >"$OUT/compare_sbi.md"
say "wrote $OUT/compare_sbi.md"
# The plot: per-star SBC p of the globals by method (log scale, the 0.05 line), and the galaxy-level
# z sd against the stars per galaxy by family (1 is calibrated).
if command -v gnuplot >/dev/null; then
  gnuplot <<GP && say "wrote $OUT/compare_sbi.png"
set terminal pngcairo size 1300,520 font 'Sans,10' noenhanced
set output '$OUT/compare_sbi.png'
set multiplot layout 1,2
set datafile separator '|'
set title 'per star: SBC KS p of the globals ($NCASE CHEMPY test stars)'
set logscale y
set yrange [1e-12:1e3]
set ylabel 'KS p (>= 0.05: calibrated)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by 25 right font ',8'
set key top left horizontal
plot '$OUT/compare_sbi_sbc.dat' using (\$2 > 1e-12 ? \$2 : 1e-12):xtic(stringcolumn(1)[1:40]) title 'alpha_IMF', \
     '' using (\$3 > 1e-12 ? \$3 : 1e-12) title 'log10_N_Ia', 0.05 with lines dt 2 lc 'black' title 'p = 0.05'
unset style
unset logscale y
set datafile separator whitespace
set title 'galaxies: z sd of the combined posterior (CHEMPY mocks)'
set logscale x
set xtics auto norotate font ',10'
set xlabel 'stars per galaxy'
set ylabel 'z sd (1: calibrated)'
set yrange [0:*]
set key top left
fams = 'gauss abc nre_gauss nre'
plot for [i=1:4] sprintf("< grep '^%s ' $OUT/compare_sbi_cov.dat", word(fams, i)) using 2:3 with linespoints lw 2 pt 7 lc i title word(fams, i).' alpha', \
     for [i=1:4] sprintf("< grep '^%s ' $OUT/compare_sbi_cov.dat", word(fams, i)) using 2:4 with linespoints lw 2 pt 6 dt 2 lc i title word(fams, i).' N_Ia', \
     1 with lines dt 3 lc 'black' title 'calibrated'
unset multiplot
GP
fi
cat "$OUT/compare_sbi.md"
