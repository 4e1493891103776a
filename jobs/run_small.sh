#!/usr/bin/env bash
# `make run`: the whole pipeline at small scale on this machine (2 ranks by
# default), with the options of input/small/*.opts. Results land in output/.
# Re-running skips a finished training set (simulate resumes or reports it
# complete) and redoes the cheap stages (-force: they replace their own
# earlier outputs; an output is never allowed to replace an input).
set -euo pipefail
cd "$(dirname "$0")/.."
NP=${NP:-2}
OUT=${OUT:-output}
MPIRUN="mpirun --oversubscribe -np $NP"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
B=bin/chempysbi
O=input/small
mkdir -p "$OUT"
stage() { printf '\n== %s  (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
t0=$(date +%s)
$B version
stage "1/7 simulate: CHEMPY training set (master-worker farm, CVODE)"
$MPIRUN $B simulate -options_file $O/simulate_train.opts -out $OUT/train.h5 -progress_every 5
stage "2/7 simulate: validation set"
$MPIRUN $B simulate -options_file $O/simulate_val.opts -out $OUT/val.h5 -progress_every 5
stage "3/7 train-emulator"
$MPIRUN $B train-emulator -options_file $O/train_emulator.opts -train $OUT/train.h5 -val $OUT/val.h5 -out $OUT/emulator.h5 -force
stage "4/7 train-npe"
$MPIRUN $B train-npe -options_file $O/train_npe.opts -emulator $OUT/emulator.h5 -out $OUT/npe.h5 -force
stage "5/7 mock: a CHEMPY galaxy with alpha_IMF = -2.3, log10_N_Ia = -2.89"
$MPIRUN $B mock -options_file $O/mock.opts -out $OUT/stars.csv -force
if $B -help 2>/dev/null | grep -q '^  validate '; then
  stage "6/7 validate: SBC, TARP and errors on CHEMPY test observations"
  $MPIRUN $B validate -options_file $O/validate.opts -npe $OUT/npe.h5 -out $OUT/validation.h5 -force
fi
stage "7/7 infer: the mock galaxy's global parameters"
$MPIRUN $B infer -options_file $O/infer.opts -npe $OUT/npe.h5 -stars $OUT/stars.csv -out $OUT/inference.h5 -force | tee $OUT/infer.log
printf '\nmake run finished in %d s; results and plots in %s/\n' $(( $(date +%s) - t0 )) "$OUT"
grep '^RESULT' $OUT/infer.log
