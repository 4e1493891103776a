#!/usr/bin/env bash
# Weak-scaling training with and without the sharded optimiser step (issue 16), or any other switch:
# for each network and rows per rank b, 2 ranks with $AB 1 and 0 (2 E epochs) against 1 rank (E
# epochs, the same b), REPS repetitions, the two settings' order swapped every repetition; prints
# the median epoch rate of every run, the best validation error and the wall time. Needs idle cores (the ratios are what it measures).
#
#   bash benchmarks/shard_ab.sh            # about 7 minutes on 2 idle cores
#   AB=-shard_single EMU_B="1 64" NPE_B="50" EMU_EXTRA="-train_rows 100000" bash benchmarks/shard_ab.sh
# Environment: DIR (train.h5, val.h5, emulator.h5; default /work/data/paper), REPS (3), OUT (a temp
# dir), AB (-shard_optimizer), EMU_B ("64 256"), NPE_B ("50 200"), EMU_EXTRA (more emulator options).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DIR:-/work/data/paper} REPS=${REPS:-3} AB=${AB:--shard_optimizer}
EMU_B=${EMU_B:-64 256} NPE_B=${NPE_B:-50 200} EMU_EXTRA=${EMU_EXTRA:-}
OUT=${OUT:-$(mktemp -d /tmp/chempysbi-shard.XXXXXX)}
. "$ROOT/benchmarks/lib.sh"
best() { grep -o 'val_median_dex=[0-9.]*\|best val_nll [-0-9.]*' "$1" | tail -1; }
emu() { # ranks epochs b extra... -> one line
  local np=$1 ep=$2 b=$3; shift 3
  local log=emu_${np}_${b}_$*.log
  /usr/bin/time -f %e -o t $MPIRUN -np "$np" "$B" train-emulator -train "$DIR/train.h5" -val "$DIR/val.h5" -epochs "$ep" \
    -batch_per_rank "$b" $EMU_EXTRA "$@" -out e.h5 -force >"$log" 2>&1
  echo "emulator np=$np b=$b $* rate=$(med "$log") $(best "$log") wall_s=$(cat t)"
}
npe() {
  local np=$1 ep=$2 b=$3; shift 3
  local log=npe_${np}_${b}_$*.log
  /usr/bin/time -f %e -o t $MPIRUN -np "$np" "$B" train-npe -emulator "$DIR/emulator.h5" -n 100000 -max_epochs "$ep" \
    -patience 100000 -batch_per_rank "$b" "$@" -out n.h5 -force >"$log" 2>&1
  echo "npe np=$np b=$b $* rate=$(med "$log") $(best "$log") wall_s=$(cat t)"
}
for rep in $(seq 1 "$REPS"); do
  echo "# rep $rep, load $(cut -d' ' -f1-3 /proc/loadavg)"
  order="1 0"; [ $((rep % 2)) = 0 ] && order="0 1" # alternate which setting runs first: no order bias
  for sh in $order; do
    for b in $EMU_B; do emu 2 8 "$b" "$AB" $sh; done
    for b in $NPE_B; do npe 2 10 "$b" "$AB" $sh; done
  done
  for b in $EMU_B; do emu 1 4 "$b"; done
  for b in $NPE_B; do npe 1 5 "$b"; done
done
