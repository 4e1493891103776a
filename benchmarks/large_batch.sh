#!/usr/bin/env bash
# Accuracy at large global batch, measured on one rank: the emulator trained with global batch
# 64 P for P = 1, 2, 4, ..., 64 (what P ranks of -batch_per_rank 64 would use) and the learning
# rate scaled with the batch (square-root rule for the Adam-type optimisers: lr = 1e-3 sqrt(P);
# LR_RULE=linear for lr = 1e-3 P), EPOCHS epochs each on the paper-scale training set. Validation
# error (median |error| in dex on the validation set) against epochs and against the CPU time of
# one core (the wall time of an idle core; the machine's load does not count).
#
#   bash benchmarks/large_batch.sh
# Environment: PS (default "1 2 4 8 16 32 64"), EPOCHS (default 8), LR_RULE (sqrt | linear),
# TRAIN, VAL (default /work/data/paper/{train,val}.h5), EXTRA (more train-emulator options),
# LB_OUT (default benchmarks/results), NICE (default "nice -n 19").
# Writes large_batch.csv (P, batch, lr, epoch, val_median_dex, val_loss, cpu_s) and large_batch.png.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${LB_OUT:-$ROOT/benchmarks/results}
PS=${PS:-"1 2 4 8 16 32 64"}
EPOCHS=${EPOCHS:-8}
RULE=${LR_RULE:-sqrt}
TRAIN=${TRAIN:-/work/data/paper/train.h5} VAL=${VAL:-/work/data/paper/val.h5}
NICE=${NICE:-nice -n 19}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
mkdir -p "$OUT/logs"
W=$(mktemp -d /tmp/chempysbi-lb.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp "$ROOT/bin/chempysbi" "$W/chempysbi"
CSV=$OUT/large_batch.csv
echo "P,batch,lr,epoch,val_median_dex,val_loss,cpu_s" > "$CSV.new"
for P in $PS; do
  B=$((64 * P))
  case $RULE in
    sqrt) LR=$(echo "0.001 * sqrt($P)" | bc -l) ;;
    linear) LR=$(echo "0.001 * $P" | bc -l) ;;
    *) echo "LR_RULE=$RULE: expected sqrt or linear" >&2; exit 2 ;;
  esac
  LR=$(printf '%.6g' "$LR")
  log=$OUT/logs/large_batch_P$P.log
  echo "== P=$P: batch $B, lr $LR"
  /usr/bin/time -f "%U %S" -o "$W/time" $NICE "$W/chempysbi" train-emulator -train "$TRAIN" -val "$VAL" -epochs "$EPOCHS" \
    -batch "$B" -lr "$LR" ${EXTRA:-} -out "$W/emu.h5" -force > "$log" 2>&1 || { echo "P=$P failed:"; tail -3 "$log"; continue; }
  read -r u s < "$W/time"
  cpu=$(echo "$u + $s" | bc -l)
  # per-epoch CPU: the run's CPU in proportion to the epochs' wall seconds
  awk -v P="$P" -v B="$B" -v lr="$LR" -v cpu="$cpu" '
    /^epoch / { n++; e[n]=$2; loss[n]=$6; med[n]=$8; sec[n]=$9; tot+=$9 }
    END { c=0; for (i=1;i<=n;i++) { c+=cpu*sec[i]/tot; printf "%s,%s,%s,%s,%s,%s,%.3f\n", P, B, lr, e[i], med[i], loss[i], c } }' \
    "$log" | tee -a "$CSV.new" | tail -1
done
mv "$CSV.new" "$CSV"
gnuplot <<EOF
set terminal pngcairo size 1300,550 font ",11"
set output "$OUT/large_batch.png"
set datafile separator ","
set multiplot layout 1,2 title "emulator, global batch 64 P on one rank, lr = 1e-3 x ${RULE}(P)"
set logscale y
set grid
set key top right
set ylabel "validation median |error| [dex]"
set xlabel "epoch"
plot for [P in "$PS"] "$CSV" using (\$1==P+0 ? \$4 : 1/0):5 with linespoints lw 2 title "P=".P." (batch ".(64*(P+0)).")"
set xlabel "CPU seconds of one core"
plot for [P in "$PS"] "$CSV" using (\$1==P+0 ? \$7 : 1/0):5 with linespoints lw 2 title "P=".P
unset multiplot
EOF
echo "wrote $CSV and $OUT/large_batch.png"
