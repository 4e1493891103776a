#!/usr/bin/env bash
# The conditioned NPE's targets (issue 14), against the paper's fixed-noise NPE:
#   1. SBC and TARP on CHEMPY test stars with random errors (0.01-0.2 dex) and random masks;
#   2. the same on APOGEE-like stars (C, N, O, Mg, Si, Fe present, He and Ne absent);
#   3. APE of the globals at 0.05 dex, all elements present, fixed vs conditioned model;
#   4. masked posteriors against the exact (emulator-likelihood) posterior (validate -exact);
#   5. per-star inference time of a 1000-star catalogue, fixed vs conditioned;
#   6. reading a 10^6-star APOGEE-like FITS table.
# Usage: benchmarks/conditioned_npe.sh EMULATOR FIXED_NPE [OUT_DIR]
#   trains the conditioned NPE into OUT_DIR/npe_cond.h5 unless it exists; seeds 1..SEEDS (env, default 3).
# Example (paper-scale models): benchmarks/conditioned_npe.sh /work/data/paper/emulator.h5 /work/data/paper/npe.h5 /work/data/i14
set -eu
cd "$(dirname "$0")/.."
EMU=$1 FIX=$2 OUT=${3:-output/conditioned}
SEEDS=${SEEDS:-3} N=${N:-500} NP=${NP:-1}
BIN=${BIN:-bin/chempysbi}
RUN="nice mpirun --allow-run-as-root --oversubscribe -np $NP $BIN"
mkdir -p "$OUT"
COND=$OUT/npe_cond.h5
if [ ! -f "$COND" ]; then
  $RUN train-npe -emulator "$EMU" -n 200000 -fresh -max_epochs 200 -noise_range 0.01,0.2 -p_missing 0.2 \
    -drop_patterns He_Fe,Ne_Fe -transforms 5 -hidden_features 32 -out "$COND" | tee "$OUT/train_cond.log"
fi
V="validate -n $N -samples 1000 -plots 0"
for s in $(seq 1 "$SEEDS"); do
  $RUN $V -npe "$FIX" -seed "$s" -out "$OUT/val_fixed_$s.h5" > "$OUT/val_fixed_$s.log"
  $RUN $V -npe "$COND" -seed "$s" -errors 0.05,0.05 -p_missing 0 -drop none -out "$OUT/val_cond005_$s.h5" > "$OUT/val_cond005_$s.log"
  $RUN $V -npe "$COND" -seed "$s" -errors 0.01,0.2 -p_missing 0.2 -drop none -out "$OUT/val_random_$s.h5" > "$OUT/val_random_$s.log"
  $RUN $V -npe "$COND" -seed "$s" -errors 0.01,0.2 -p_missing 0 -drop He_Fe,Ne_Fe -out "$OUT/val_apogee_$s.h5" > "$OUT/val_apogee_$s.log"
done
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.01,0.2 -p_missing 0.3 -drop none -out "$OUT/val_exact_random.h5" > "$OUT/val_exact_random.log"
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.01,0.2 -p_missing 0 -drop He_Fe,Ne_Fe -out "$OUT/val_exact_apogee.h5" > "$OUT/val_exact_apogee.log"
$RUN validate -npe "$COND" -n 200 -samples 1000 -plots 0 -simulator emulator -emulator "$EMU" -exact 200 \
  -exact_samples 20000 -errors 0.05,0.05 -p_missing 0 -drop none -out "$OUT/val_exact_all.h5" > "$OUT/val_exact_all.log"

# Per-star inference speed: the same 1000 CHEMPY stars (0.05 dex, all present), 1 rank, alternating models.
$RUN mock -n 1000 -seed 11 -out "$OUT/stars1000.csv" > /dev/null
for r in 1 2 3; do
  for m in fixed cond; do
    f=$FIX; [ $m = cond ] && f=$COND
    nice $BIN infer -npe "$f" -stars "$OUT/stars1000.csv" -samples 1000 -plots 0 | grep '^infer:' >> "$OUT/speed_$m.log"
  done
done

echo "== summary (VALIDATION lines; per seed) =="
for k in fixed cond005 random apogee; do
  for s in $(seq 1 "$SEEDS"); do
    printf '%-8s seed %s: ' $k $s
    g=$(sed -n 's/^APE of posterior means.*globals \([0-9.]*\)%.*/\1/p' "$OUT/val_${k}_$s.log")
    echo "ape_globals=$g $(grep ^VALIDATION "$OUT/val_${k}_$s.log" | tr ' ' '\n' | grep -E 'tarp_atc|sbc_p' | tr '\n' ' ')"
  done
done
for k in random apogee all; do printf 'exact %-7s ' $k; grep ^EXACT "$OUT/val_exact_$k.log"; done
for m in fixed cond; do printf 'speed %-5s ' $m; sed -n 's/.*(\([0-9.]*\) ms per star per rank).*/\1/p' "$OUT/speed_$m.log" | tr '\n' ' '; echo; done
make -s bin/bench/bench_cat && bin/bench/bench_cat -n 1000000 -repeat 3 -out "$OUT/bench_cat.fits" | grep ^BENCH
