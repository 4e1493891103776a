#!/usr/bin/env bash
# Accuracy at large global batch, measured on one rank. P ranks of -batch_per_rank b train with
# global batch P b at the rate scaled from the reference batch (train.h); one rank with
# -batch_per_rank P b takes the same global batches' size, rate and warm-up, so the accuracy of a
# P-rank run is measured without the ranks (only the grouping of rows into batches differs:
# stratified by shard on P ranks, which changes nothing statistically).
#
# For each P: the validation error against epochs, CPU seconds of one core, and the wall time the
# P-rank run would take (CPU / P: the arithmetic divides over the ranks; communication is the
# model's part, benchmarks/scaling_model). A P-rank run may use P times the one-rank run's epochs
# in the same wall time, so each P trains min(P E, EMAX) epochs; accuracy "holds" at P when the
# run reaches the one-rank error after E epochs (within 5%) in no more projected wall time.
#
#   bash benchmarks/large_batch.sh              # the emulator, its default sqrt rule
#   MODEL=npe bash benchmarks/large_batch.sh    # the flow, its default linear rule
# Environment: MODEL (emulator | npe), RULE (linear | sqrt | none; default each command's own:
# sqrt for the emulator, linear for the flow), PS ("1 2 4 8 16 32 64"),
# E (base epochs: 10 emulator, 20 npe), EMAX (160 emulator, 80 npe), ROWS (emulator training rows
# from TRAIN, 100000), NSIM (npe simulations, 50000), TRAIN, VAL, EMU (npe's emulator; default
# /work/data/paper/{train,val,emulator}.h5), EXTRA (more options), LB_OUT (benchmarks/results),
# NICE (nice -n 5), SUMMARY_ONLY (1: only the summary and plot of the rows already in the CSV).
# Appends to LB_OUT/large_batch.csv: model,rule,P,batch,lr,epoch,val,cpu_s,wall_P_s, where val
# is the validation median |error| in dex (emulator) or the validation NLL (npe); writes
# large_batch_<model>_<rule>.md (the summary) and .png.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${LB_OUT:-$ROOT/benchmarks/results}
MODEL=${MODEL:-emulator}
PS=${PS:-"1 2 4 8 16 32 64"}
TRAIN=${TRAIN:-/work/data/paper/train.h5} VAL=${VAL:-/work/data/paper/val.h5} EMU=${EMU:-/work/data/paper/emulator.h5}
NICE=${NICE:-nice -n 5}
case $MODEL in
  emulator) B0=64 E=${E:-10} EMAX=${EMAX:-160} RULE=${RULE:-sqrt} ;;
  npe) B0=50 E=${E:-20} EMAX=${EMAX:-80} RULE=${RULE:-linear} ;;
  *) echo "MODEL=$MODEL: expected emulator or npe" >&2; exit 2 ;;
esac
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
mkdir -p "$OUT/logs"
W=$(mktemp -d /tmp/chempysbi-lb.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp "$ROOT/bin/chempysbi" "$W/chempysbi"
CSV=$OUT/large_batch.csv
[ -f "$CSV" ] || echo "model,rule,P,batch,lr,epoch,val,cpu_s,wall_P_s" > "$CSV"
TAG=${MODEL}_$RULE
[ -z "${SUMMARY_ONLY:-}" ] && { grep -v "^$MODEL,$RULE," "$CSV" > "$W/csv"; cp "$W/csv" "$CSV"; } # a re-run replaces its rows
for P in $([ -z "${SUMMARY_ONLY:-}" ] && echo $PS); do
  B=$((B0 * P)) EP=$((P * E < EMAX ? P * E : EMAX))
  log=$OUT/logs/large_batch_${TAG}_P$P.log
  echo "== $MODEL $RULE P=$P: global batch $B, $EP epochs"
  if [ "$MODEL" = emulator ]; then
    cmd=("$W/chempysbi" train-emulator -train "$TRAIN" -val "$VAL" -train_rows "${ROWS:-100000}" -epochs "$EP")
    col=8 # val_median_abs_dex
  else
    cmd=("$W/chempysbi" train-npe -emulator "$EMU" -n "${NSIM:-50000}" -max_epochs "$EP" -patience 100000)
    col=6 # val_nll
  fi
  /usr/bin/time -f "%U %S" -o "$W/time" $NICE "${cmd[@]}" -batch_per_rank "$B" -lr_scaling "$RULE" ${EXTRA:-} \
    -out "$W/m.h5" -force > "$log" 2>&1 || { echo "P=$P failed:"; tail -3 "$log"; }
  read -r u s < "$W/time"
  lr=$(sed -n 's/.*learning rate [0-9.e-]* -> \([0-9.e-]*\).*/\1/p' "$log" | head -1)
  # per-epoch CPU: the run's CPU in proportion to the epochs' wall seconds (the last field before the rate)
  awk -v m="$MODEL" -v r="$RULE" -v P="$P" -v B="$B" -v lr="$lr" -v cpu="$(echo "$u + $s" | bc -l)" -v col=$col '
    /^epoch / { n++; e[n] = $2; v[n] = $col; for (i = 1; i <= NF; i++) if ($(i + 1) == "s" && $(i + 2) ~ /^\(/) sec[n] = $i; tot += sec[n] }
    END { c = 0; for (i = 1; i <= n; i++) { c += cpu * sec[i] / tot; printf "%s,%s,%s,%s,%s,%s,%s,%.3f,%.3f\n", m, r, P, B, lr, e[i], v[i], c, c / P } }' \
    "$log" | tee -a "$CSV" | tail -1
done
# Summary: the one-rank error after E epochs is the target; for each P the first epoch within 5%
# of it (emulator: relative; npe: the NLL within 0.02 nats) and its projected wall time.
awk -F, -v m="$MODEL" -v r="$RULE" -v E="$E" '
  $1 == m && $2 == r { k = $3 SUBSEP $6; v[k] = $7; w[k] = $9; c[k] = $8; if ($6 > last[$3]) last[$3] = $6; B[$3] = $4; lr[$3] = $5 }
  END {
    t = v[1 SUBSEP E]; tw = w[1 SUBSEP E]
    printf "| P | global batch | lr | epochs | error after %d epochs | final error | epochs to the 1-rank error | projected wall (CPU/P) then | 1-rank wall | holds |\n|---|---|---|---|---|---|---|---|---|---|\n", E
    for (P = 1; P <= 4096; P *= 2) {
      if (!(P in last)) continue
      hit = ""; hw = ""
      for (e = 1; e <= last[P]; e++) {
        k = P SUBSEP e
        ok = m == "emulator" ? v[k] <= 1.05 * t : v[k] <= t + 0.02
        if (ok && hit == "") { hit = e; hw = w[k] }
      }
      holds = hit != "" && hw <= tw ? "yes" : "no"
      printf "| %d | %d | %s | %d | %s | %s | %s | %s | %.1f s | %s |\n", P, B[P], lr[P], last[P], v[P SUBSEP E], v[P SUBSEP last[P]], hit == "" ? "not reached" : hit, hw == "" ? "-" : sprintf("%.1f s", hw), tw, holds
    }
  }' "$CSV" > "$OUT/large_batch_$TAG.md"
cat "$OUT/large_batch_$TAG.md"
ylabel=$([ "$MODEL" = emulator ] && echo "validation median |error| [dex]" || echo "validation NLL")
gnuplot <<EOF
set terminal pngcairo size 1300,550 font ",11"
set output "$OUT/large_batch_$TAG.png"
set datafile separator ","
set multiplot layout 1,2 title "$MODEL, global batch $B0 P on one rank, lr scaled ($RULE) with warm-up"
$([ "$MODEL" = emulator ] && echo "set logscale y")
set logscale x
set grid
set key top right
set ylabel "$ylabel"
set xlabel "epoch"
plot for [P in "$PS"] "$CSV" using ((strcol(1) eq "$MODEL" && strcol(2) eq "$RULE" && \$3 == P+0) ? \$6 : 1/0):7 with lines lw 2 title "P=".P
set xlabel "projected wall seconds on P ranks (CPU / P)"
plot for [P in "$PS"] "$CSV" using ((strcol(1) eq "$MODEL" && strcol(2) eq "$RULE" && \$3 == P+0) ? \$9 : 1/0):7 with lines lw 2 title "P=".P
unset multiplot
EOF
echo "wrote $CSV, $OUT/large_batch_$TAG.md and .png"
