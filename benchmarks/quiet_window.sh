#!/usr/bin/env bash
# The measurements that need both cores idle (the 2-core development machine's quiet window,
# 17:55-18:07 UTC, or any idle node): wall-clock speed at 1 and 2 ranks.
#  1. weak-scaling training throughput: train-emulator on the paper-scale 697k rows, E_EMU epochs
#     at 1 rank (-batch 64, the default) against 2 E_EMU epochs at 2 ranks (-batch_per_rank 64,
#     global batch 128, lr by the sqrt rule (train-emulator's default) with a 1-epoch warm-up), with and without
#     -grad_overlap; train-npe on 1e5 simulations, E_NPE epochs at 1 rank (-batch 50) against
#     2 E_NPE at 2 ranks (-batch_per_rank 50). Rows per second of every epoch, the validation
#     error of every epoch and the elapsed training time, so "the same error in no more wall
#     time" is read off the logs (benchmarks/weak_summary.sh);
#  2. MPI ping-pong and all-reduce at 2 ranks (bench_mpi), for the model's latency and bandwidth;
#  3. the per-item costs on an idle core (benchmarks/costs.sh without MPI and HDF5 writes), the same
#     with one copy per core running at once (the full node's costs, quiet_costs_full_1/), and
#     every stage at 1 and 2 ranks once (benchmarks/stages.sh), for the model-vs-measurement check;
#  4. the throughput runs again (second repetition), as long as the window lasts.
# Each step records the load average before it. Output in QW_OUT (default benchmarks/results):
# quiet_window.txt ("STAGE ..." lines in the format of stages.txt), quiet_mpi.txt, logs/qw-*.log.
#
#   bash benchmarks/quiet_window.sh           # about 7 minutes on 2 idle cores
# Environment: E_EMU (8), E_NPE (20), REPS_T (2), QW_OUT, TRAIN, VAL, EMULATOR (paper files),
# SKIP_STAGES (1: leave out step 3).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${QW_OUT:-$ROOT/benchmarks/results}
E_EMU=${E_EMU:-8} E_NPE=${E_NPE:-20} REPS_T=${REPS_T:-2}
P=/work/data/paper
TRAIN=${TRAIN:-$P/train.h5} VAL=${VAL:-$P/val.h5} EMULATOR=${EMULATOR:-$P/emulator.h5}
if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
mkdir -p "$OUT/logs"
W=$(mktemp -d /tmp/chempysbi-qw.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp "$ROOT/bin/chempysbi" "$ROOT/bin/bench/bench_mpi" "$W/"
RES=$OUT/quiet_window.txt
echo "# chempysbi quiet-window measurements, $(date -u +%FT%TZ), $(git -C "$ROOT" describe --always --dirty 2>/dev/null), $(getconf _NPROCESSORS_ONLN) cores" > "$RES"
load() { echo "# load $(date -u +%T) $1: $(cut -d' ' -f1-3 /proc/loadavg); top: $(top -bn1 | sed -n '8,10p' | awk '{printf "%s(%s%%) ", $12, $9}')" | tee -a "$RES"; }

tput() { # name rep ranks epochs command...: one training run, its epoch lines and a STAGE line
  local name=$1 rep=$2 np=$3 ep=$4; shift 4
  local log=$OUT/logs/qw-$name-$np-$rep.log
  load "$name ranks=$np rep=$rep"
  rm -f "$W"/m.h5 "$W"/m.h5.*
  (cd "$W" && /usr/bin/time -f "%e %U %S" -o "$W/time" $MPIRUN -np "$np" "$W/chempysbi" "$@" -out "$W/m.h5" -force > "$log" 2>&1) ||
    { echo "quiet_window: $name on $np ranks failed"; tail -3 "$log"; return 0; }
  read -r e u s < "$W/time"
  # the median epoch rate (training rows per second, all ranks), the training seconds (sum of epochs)
  local rate train_s
  rate=$(grep '^epoch ' "$log" | sed 's/.*(\([0-9]*\) [a-z]*\/s.*/\1/' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  train_s=$(grep '^epoch ' "$log" | awk '{for (i = 1; i <= NF; i++) if ($(i + 1) == "s" && $(i + 2) ~ /^\(/) t += $i} END {print t}')
  echo "STAGE $name ranks=$np ${SIZE} epochs=$ep wall_s=$e cpu_s=$(echo "$u + $s" | bc -l) rate=$rate train_s=$train_s rep=$rep" | tee -a "$RES"
}
emu() { # rep
  SIZE="rows=697435" tput train_emulator_tput "$1" 1 "$E_EMU" train-emulator -train "$TRAIN" -val "$VAL" -epochs "$E_EMU"
  SIZE="rows=697435 bpr=64" tput train_emulator_tput "$1" 2 $((2 * E_EMU)) train-emulator -train "$TRAIN" -val "$VAL" \
    -epochs $((2 * E_EMU)) -batch_per_rank 64
  SIZE="rows=697435 bpr=64" tput train_emulator_tput_overlap "$1" 2 $((2 * E_EMU)) train-emulator -train "$TRAIN" \
    -val "$VAL" -epochs $((2 * E_EMU)) -batch_per_rank 64 -grad_overlap
}
npe() { # rep
  SIZE="n=100000" tput train_npe_tput "$1" 1 "$E_NPE" train-npe -emulator "$EMULATOR" -n 100000 -max_epochs "$E_NPE" -patience 100000
  SIZE="n=100000 bpr=50" tput train_npe_tput "$1" 2 $((2 * E_NPE)) train-npe -emulator "$EMULATOR" -n 100000 \
    -max_epochs $((2 * E_NPE)) -patience 100000 -batch_per_rank 50
  SIZE="n=100000 bpr=50" tput train_npe_tput_overlap "$1" 2 $((2 * E_NPE)) train-npe -emulator "$EMULATOR" -n 100000 \
    -max_epochs $((2 * E_NPE)) -patience 100000 -batch_per_rank 50 -grad_overlap
}
load start
emu 1
npe 1
load "bench_mpi"
$MPIRUN -np 2 "$W/bench_mpi" -reps 5 -skip_farm 2>&1 | tee "$OUT/logs/qw-bench_mpi.log" | grep '^BENCH' > "$OUT/quiet_mpi.txt"
cat "$OUT/quiet_mpi.txt"
load "costs"
SKIP_MPI=1 SKIP_H5=1 REPS=3 PREPS=1 NICE="" COSTS_OUT=$OUT/quiet_costs bash "$ROOT/benchmarks/costs.sh" > "$OUT/logs/qw-costs.log" 2>&1
grep -c '^BENCH' "$OUT/quiet_costs/costs.txt"
# The same per-item costs with every core busy: one copy of costs.sh per core at once, so each
# measures what a rank pays when the node is full (shared caches, memory bandwidth, clock). The
# model takes these from 2 ranks on (benchmarks/scaling_model: -costs_full).
load "costs, every core at once"
for k in $(seq 1 "$(getconf _NPROCESSORS_ONLN)"); do
  SKIP_MPI=1 SKIP_H5=1 REPS=3 PREPS=1 NICE="" COSTS_OUT=$OUT/quiet_costs_full_$k bash "$ROOT/benchmarks/costs.sh" > "$OUT/logs/qw-costs-full-$k.log" 2>&1 &
done
wait
grep -c '^BENCH' "$OUT/quiet_costs_full_1/costs.txt"
load "stages"
[ -z "${SKIP_STAGES:-}" ] && REPS=1 RANKS="1 2" NICE="" STAGES_OUT=$OUT bash "$ROOT/benchmarks/stages.sh"
for r in $(seq 2 "$REPS_T"); do emu "$r"; npe "$r"; done
load end
echo "wrote $RES, $OUT/quiet_mpi.txt, $OUT/stages.txt"
