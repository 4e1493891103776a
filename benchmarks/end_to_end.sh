#!/usr/bin/env bash
# End-to-end science check (issue 7): train the pipeline, then recover the
# globals of 1000-star CHEMPY mock galaxies made with the training yields (tng)
# and with different yields (alt: model misspecification), and calibrate the
# NPE on CHEMPY test stars. Writes benchmarks/results/end_to_end.md.
# Knobs (env): NP (ranks, 2), NTRAIN (700000), NVAL (50000), EPOCHS (30), NNPE (100000),
# HIDDEN (NPE hidden features, 32), TRANSFORMS (5), NSTARS (1000), DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}; NTRAIN=${NTRAIN:-700000}; NVAL=${NVAL:-50000}; EPOCHS=${EPOCHS:-30}; NNPE=${NNPE:-100000}
HIDDEN=${HIDDEN:-32}; TRANSFORMS=${TRANSFORMS:-5}; NSTARS=${NSTARS:-1000}
DIR=${DIR:-output/end_to_end}
MPIRUN="mpirun --oversubscribe -np $NP"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
B=bin/chempysbi
mkdir -p "$DIR" benchmarks/results
t0=$(date +%s)
$MPIRUN $B simulate -n "$NTRAIN" -prior wide -seed 1 -out "$DIR/train.h5" -progress_every 30
$MPIRUN $B simulate -n "$NVAL" -prior wide -seed 2 -out "$DIR/val.h5" -progress_every 30
$MPIRUN $B train-emulator -train "$DIR/train.h5" -val "$DIR/val.h5" -epochs "$EPOCHS" -out "$DIR/emulator.h5" -force | tee "$DIR/emulator.log"
$MPIRUN $B train-npe -emulator "$DIR/emulator.h5" -n "$NNPE" -hidden_features "$HIDDEN" -transforms "$TRANSFORMS" -max_epochs 400 -out "$DIR/npe.h5" -force | tee "$DIR/npe.log"
$MPIRUN $B validate -npe "$DIR/npe.h5" -n 500 -samples 1000 -simulator chempy -out "$DIR/validation.h5" -force | tee "$DIR/validate.log"
for y in tng alt; do
  $MPIRUN $B mock -n "$NSTARS" -seed 7 -yields $y -out "$DIR/stars_$y.csv" -force
  $MPIRUN $B infer -npe "$DIR/npe.h5" -stars "$DIR/stars_$y.csv" -samples 1000 -out "$DIR/inference_$y.h5" -force | tee "$DIR/infer_$y.log"
done
$MPIRUN $B mock -n "$NSTARS" -seed 7 -emulator "$DIR/emulator.h5" -out "$DIR/stars_emu.csv" -force
$MPIRUN $B infer -npe "$DIR/npe.h5" -stars "$DIR/stars_emu.csv" -samples 1000 -out "$DIR/inference_emu.h5" -force | tee "$DIR/infer_emu.log"
secs=$(( $(date +%s) - t0 ))
res() { sed -n 's/^RESULT //p' "$1"; }
bias() { # RESULT line -> "bias_alpha (n sd), bias_NIa (n sd)"
  res "$1" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[i] = kv[2] }
    ba = v[1] + 2.3; bn = v[3] + 2.89
    printf "%+.4f (%.1f sd), %+.4f (%.1f sd)", ba, ba / v[2], bn, bn / v[4] }'
}
{
  echo "# End-to-end recovery ($(date -u +%F), $(git describe --always --dirty), $NP ranks, ${secs} s)"
  echo
  echo "Training: $NTRAIN CHEMPY runs (cvode, wide prior), emulator $EPOCHS epochs ($(sed -n 's/^EMULATOR //p' "$DIR/emulator.log")),"
  echo "NPE: MAF $TRANSFORMS transforms x $HIDDEN hidden, $NNPE emulator simulations, 0.05 dex noise."
  echo
  echo "| mock ($NSTARS stars, truth -2.3, -2.89) | RESULT | bias alpha_IMF, log10_N_Ia |"
  echo "|---|---|---|"
  echo "| CHEMPY, tng yields (as trained) | $(res "$DIR/infer_tng.log") | $(bias "$DIR/infer_tng.log") |"
  echo "| CHEMPY, alt yields (misspecified) | $(res "$DIR/infer_alt.log") | $(bias "$DIR/infer_alt.log") |"
  echo "| emulator (diagnostic: no emulator error) | $(res "$DIR/infer_emu.log") | $(bias "$DIR/infer_emu.log") |"
  echo
  echo "Calibration on 500 CHEMPY test stars: \`$(grep '^VALIDATION' "$DIR/validate.log")\`"
} > benchmarks/results/end_to_end.md
cat benchmarks/results/end_to_end.md
