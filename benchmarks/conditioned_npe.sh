#!/usr/bin/env bash
# The conditioned NPE's targets (issue 14), against the paper's fixed-noise NPE:
#   1. SBC and TARP on CHEMPY test stars with random errors (0.01-0.2 dex) and random masks;
#   2. the same on APOGEE-like stars (C, N, O, Mg, Si, Fe present, He and Ne absent);
#   3. APE of the globals at 0.05 dex, all elements present, fixed vs conditioned model;
#   4. masked posteriors against the exact (emulator-likelihood) posterior (validate -exact);
#   5. per-star inference CPU time of a 1000-star catalogue, fixed vs conditioned (user + system
#      seconds of the whole infer, alternating models, REPEAT runs: CPU time, not wall time, so that
#      a shared machine's load does not enter);
#   6. reading a 10^6-star APOGEE-like FITS table.
# Usage: benchmarks/conditioned_npe.sh EMULATOR FIXED_NPE [OUT_DIR]
#   trains the conditioned NPE (train-npe's conditioned defaults) into OUT_DIR/npe_cond.h5 unless it
#   exists (COND=FILE: use that model instead); seeds 1..SEEDS (env, default 3); N (default 2000) test stars per validation: KS then
#   detects a shift of the SBC ranks' distribution by D = 1.36 / sqrt(N) = 0.030 at the 5% level,
#   about a 0.08 posterior-sd bias of the posterior mean or a 12% error of its width.
#   SIMS (default "chempy emulator"): the test stars' simulator (emulator: the NPE's own
#   simulator, the NPE's error alone; chempy: plus the emulator's).
#   TABLE=FILE: train the conditioned NPE on that CHEMPY table (simulate -prior gauss; train-npe
#   -table) instead of emulator simulations, so that the emulator's error stays out of it.
# Example (paper-scale models): benchmarks/conditioned_npe.sh /work/data/paper/emulator.h5 /work/data/paper/npe.h5 /work/data/i14
set -eu
cd "$(dirname "$0")/.."
EMU=$1 FIX=$2 OUT=${3:-output/conditioned}
SEEDS=${SEEDS:-3} N=${N:-2000} NP=${NP:-1} SIMS=${SIMS:-chempy emulator} REPEAT=${REPEAT:-5}
BIN=${BIN:-bin/chempysbi}
RUN="nice mpirun --allow-run-as-root --oversubscribe -np $NP $BIN"
mkdir -p "$OUT"
COND=${COND:-$OUT/npe_cond.h5}
if [ ! -f "$COND" ]; then
  $RUN train-npe -emulator "$EMU" -noise_range 0.01,0.2 -p_missing 0.2 -drop_patterns He_Fe,Ne_Fe \
    ${TABLE:+-table "$TABLE"} -out "$COND" | tee "$OUT/train_cond.log"
fi
for sim in $SIMS; do
  V="validate -n $N -samples 1000 -plots 0 -simulator $sim"
  [ $sim = emulator ] && V="$V -emulator $EMU"
  for s in $(seq 1 "$SEEDS"); do
    $RUN $V -npe "$FIX" -seed "$s" -out "$OUT/val_${sim}_fixed_$s.h5" > "$OUT/val_${sim}_fixed_$s.log"
    $RUN $V -npe "$COND" -seed "$s" -errors 0.05,0.05 -p_missing 0 -drop none -out "$OUT/val_${sim}_cond005_$s.h5" > "$OUT/val_${sim}_cond005_$s.log"
    $RUN $V -npe "$COND" -seed "$s" -errors 0.01,0.2 -p_missing 0.2 -drop none -out "$OUT/val_${sim}_random_$s.h5" > "$OUT/val_${sim}_random_$s.log"
    $RUN $V -npe "$COND" -seed "$s" -errors 0.01,0.2 -p_missing 0 -drop He_Fe,Ne_Fe -out "$OUT/val_${sim}_apogee_$s.h5" > "$OUT/val_${sim}_apogee_$s.log"
  done
done
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.01,0.2 -p_missing 0.3 -drop none -out "$OUT/val_exact_random.h5" > "$OUT/val_exact_random.log"
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.01,0.2 -p_missing 0 -drop He_Fe,Ne_Fe -out "$OUT/val_exact_apogee.h5" > "$OUT/val_exact_apogee.log"
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.05,0.05 -p_missing 0 -drop none -out "$OUT/val_exact_all.h5" > "$OUT/val_exact_all.log"

# Per-star inference CPU time: the same 1000 CHEMPY stars (0.05 dex, all present), 1 rank, alternating models.
$RUN mock -n 1000 -seed 11 -out "$OUT/stars1000.csv" > /dev/null
rm -f "$OUT/speed_fixed.log" "$OUT/speed_cond.log"
for r in $(seq 1 "$REPEAT"); do
  for m in fixed cond; do
    f=$FIX; [ $m = cond ] && f=$COND
    /usr/bin/time -f 'cpu_s %U %S' -a -o "$OUT/speed_$m.log" nice $BIN infer -npe "$f" -stars "$OUT/stars1000.csv" \
      -samples 1000 -plots 0 -out "$OUT/speed_$m.h5" -force > /dev/null
  done
done

echo "== summary (VALIDATION lines; per seed) =="
for sim in $SIMS; do
  for k in fixed cond005 random apogee; do
    for s in $(seq 1 "$SEEDS"); do
      printf '%-8s %-8s seed %s: ' $sim $k $s
      g=$(sed -n 's/^APE of posterior means.*globals \([0-9.]*\)%.*/\1/p' "$OUT/val_${sim}_${k}_$s.log")
      echo "ape_globals=$g $(grep ^VALIDATION "$OUT/val_${sim}_${k}_$s.log" | tr ' ' '\n' | grep -E 'tarp_atc|sbc_p' | tr '\n' ' ')"
    done
  done
done
for k in random apogee all; do printf 'exact %-7s ' $k; grep ^EXACT "$OUT/val_exact_$k.log"; done
for m in fixed cond; do # CPU ms per star of each run (1000 stars: the run's CPU seconds), then the median
  printf 'speed %-5s CPU ms per star:' $m
  awk '/^cpu_s/ { printf " %.2f", ($2 + $3) }' "$OUT/speed_$m.log"
  awk '/^cpu_s/ { print $2 + $3 }' "$OUT/speed_$m.log" | sort -g | # Debian's mawk has no asort
    awk '{ v[NR] = $1 } END { printf "   median %.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
done
make -s bin/bench/bench_cat && bin/bench/bench_cat -n 1000000 -repeat 3 -out "$OUT/bench_cat.fits" | grep ^BENCH
