#!/usr/bin/env bash
# Measured inputs of the performance model (benchmarks/scaling_model): per-item costs on one
# core (bench_costs), the MPI latencies and bandwidths of the stages' message sizes and the
# farm's cost per request (bench_mpi at 2 ranks, all-reduce also at 4 and 8 oversubscribed),
# the HDF5 write pattern at 1 and 2 ranks, and the exact inference (infer -method newton) and
# the Gaussian product (-method gauss) per star through the real program. Every number is
# the median of REPS runs with the min..max spread. Writes benchmarks/results/costs.txt
# (one "BENCH ..." line per measurement, key=value) and logs beside it.
#
#   make bench-costs                 (or: bash benchmarks/costs.sh)
# Environment: REPS (default 5; PREPS, default 3, for the program runs), NPE, EMULATOR, TRAIN (default
# the paper-scale files in /work/data/paper), NEWTON_STARS (default "50 200"), GAUSS_STARS (default 1000),
# COSTS_OUT (default benchmarks/results), SKIP_MPI, SKIP_H5 (1: leave those parts out), MPIRUN, NICE (default "nice -n 19" for the
# long runs; the MPI micro benchmarks run a few seconds each at normal priority, since a
# niced rank on a loaded machine measures the scheduler, not MPI).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${COSTS_OUT:-$ROOT/benchmarks/results}
REPS=${REPS:-5}
PREPS=${PREPS:-3}
NPE=${NPE:-/work/data/paper/npe.h5}
EMULATOR=${EMULATOR:-/work/data/paper/emulator.h5}
NEWTON_STARS=${NEWTON_STARS:-"50 200"}
GAUSS_STARS=${GAUSS_STARS:-1000}
NICE=${NICE:-nice -n 19}
if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
B=$ROOT/bin
for x in chempysbi bench/bench_costs bench/bench_mpi bench/bench_init; do
  [ -x "$B/$x" ] || { echo "costs.sh: $B/$x missing: make bench-costs" >&2; exit 1; }
done
mkdir -p "$OUT/logs"
W=$(mktemp -d /tmp/chempysbi-costs.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin/bench" && cp "$B/chempysbi" "$W/bin/" && cp "$B"/bench/bench_* "$W/bin/bench/" && B=$W/bin # a rebuild does not change what is timed
RES=$OUT/costs.txt
{
  echo "# chempysbi per-item costs and MPI timings, $(date -u +%FT%TZ), $(git -C "$ROOT" describe --always --dirty 2>/dev/null)"
  echo "# machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# every line: median over reps, min..max; cpu_us = CPU time of the thread (not counting other processes), wall_us = elapsed"
} > "$RES.new"

echo "== per-item costs (1 core)"
$NICE "$B/bench/bench_costs" -reps "$REPS" -emulator "$EMULATOR" 2>&1 | tee "$OUT/logs/bench_costs.log" | grep '^BENCH' >> "$RES.new"
TRAIN=${TRAIN:-/work/data/paper/train.h5}
[ -f "$TRAIN" ] && $NICE "$B/bench/bench_costs" -reps "$REPS" -h5_read "$TRAIN" 2>&1 | grep '^BENCH' >> "$RES.new"
for np in $([ -z "${SKIP_H5:-}" ] && echo 1 2); do # SKIP_H5=1: not the HDF5 write pattern
  echo "== HDF5 write pattern, $np ranks"
  $NICE $MPIRUN -np $np "$B/bench/bench_costs" -reps "$REPS" -h5 "$W/h5bench.h5" 2>&1 | tee "$OUT/logs/bench_h5_$np.log" | grep '^BENCH' >> "$RES.new"
done
if [ -z "${SKIP_MPI:-}" ]; then # SKIP_MPI=1: measured apart (benchmarks/quiet_window.sh, both cores idle)
echo "== MPI micro benchmarks"
$MPIRUN -np 2 "$B/bench/bench_mpi" -reps "$REPS" 2>&1 | tee "$OUT/logs/bench_mpi_2.log" | grep '^BENCH' >> "$RES.new"
$MPIRUN -np 2 "$B/bench/bench_mpi" -reps "$REPS" -farm_row_us 0 -farm_chunk 1 -farm_rows 20000 2>&1 | grep '^BENCH farm' | sed 's/^BENCH farm/BENCH farm_protocol/' >> "$RES.new"
$MPIRUN -np 2 "$B/bench/bench_mpi" -reps "$REPS" -farm_row_us 0 -farm_chunk 128 -farm_rows 20000 2>&1 | grep '^BENCH farm' | sed 's/^BENCH farm/BENCH farm_protocol/' >> "$RES.new"
for np in 4 8; do
  $MPIRUN -np $np "$B/bench/bench_mpi" -reps "$REPS" -skip_farm 2>&1 | tee "$OUT/logs/bench_mpi_$np.log" | grep '^BENCH allreduce\|^BENCH shard_step' >> "$RES.new"
done
fi

# The program itself: wall and CPU (user + sys) of the whole command, REPS runs.
med() { awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : 0.5*(v[NR/2]+v[NR/2+1]))}' "$1"; } # of a sorted file
run_timed() { # label stars command...
  local label=$1 stars=$2; shift 2
  local walls=() cpus=()
  for r in $(seq "$PREPS"); do
    /usr/bin/time -f "%e %U %S" -o "$W/time" "$@" > "$W/log" 2>&1 || { echo "costs.sh: $label failed:"; tail -5 "$W/log"; return 1; }
    read -r e u s < "$W/time"
    walls+=("$e"); cpus+=("$(echo "$u + $s" | bc -l)")
    cp "$W/log" "$OUT/logs/$label-$stars-$r.log"
  done
  printf '%s\n' "${walls[@]}" | sort -g > "$W/w"; printf '%s\n' "${cpus[@]}" | sort -g > "$W/c"
  echo "BENCH $label stars=$stars wall_s=$(med "$W/w") min=$(head -1 "$W/w") max=$(tail -1 "$W/w") cpu_s=$(med "$W/c") min=$(head -1 "$W/c") max=$(tail -1 "$W/c") reps=$PREPS" | tee -a "$RES.new"
}
# Start-up: PETSc, MPI and the program's own, with and without the launcher (what every stage pays once).
run_timed startup_none 0 $NICE "$B/chempysbi" version
run_timed startup_mpirun 0 $NICE $MPIRUN -np 1 "$B/chempysbi" version
# ... and its part outside the program: the launcher's spawn, then MPI_Init and MPI_Finalize in the process
run_timed launch_spawn 0 $MPIRUN -np 1 /bin/true
for np in 1 2; do
  for r in $(seq "$PREPS"); do $MPIRUN -np $np "$B/bench/bench_init"; done | grep '^BENCH mpi_init' > "$W/init"
  for k in init_s finalize_s; do sed -n "s/.* $k=\([0-9.]*\).*/\1/p" "$W/init" | sort -g > "$W/$k"; done
  echo "BENCH mpi_init ranks=$np init_s=$(med "$W/init_s") min=$(head -1 "$W/init_s") max=$(tail -1 "$W/init_s")" \
    "finalize_s=$(med "$W/finalize_s") min=$(head -1 "$W/finalize_s") max=$(tail -1 "$W/finalize_s") reps=$PREPS" | tee -a "$RES.new"
done
if [ -f "$NPE" ] && [ -f "$EMULATOR" ]; then
  # train-emulator's fixed cost (its final report and plot): a 1-epoch run on the 50k-row validation set
  VAL=${VAL:-/work/data/paper/val.h5}
  [ -f "$VAL" ] && run_timed emu_small 0 $NICE "$B/chempysbi" train-emulator -train "$VAL" -val "$VAL" -epochs 1 -out "$W/emu_small.h5" -force
  # ... and on 200k rows of the training set: the two sizes part its cost per training row outside the
  # epoch (reading, checking and standardising the rows) from the fixed report
  if [ -f "$TRAIN" ] && [ -f "$VAL" ]; then
    run_timed emu_mid 0 $NICE "$B/chempysbi" train-emulator -train "$TRAIN" -train_rows 200000 -val "$VAL" -epochs 1 \
      -out "$W/emu_mid.h5" -force
    sed -n 's/^train-emulator: \([0-9]*\) training rows.*/BENCH emu_mid_rows rows=\1/p' "$OUT/logs/emu_mid-0-1.log" | head -1 | tee -a "$RES.new"
  fi
  # train-npe's fixed cost (simulating with the emulator, start-up, writing): a 1-epoch run on 20k simulations
  run_timed npe_small 0 $NICE "$B/chempysbi" train-npe -emulator "$EMULATOR" -n 20000 -max_epochs 1 -out "$W/npe_small.h5" -force
  # a -fresh epoch's new simulations (emulator, noise, standardising): epoch 2 of a -fresh run against epoch 1
  run_timed npe_fresh 0 $NICE "$B/chempysbi" train-npe -emulator "$EMULATOR" -n 20000 -max_epochs 2 -fresh -patience 100 -out "$W/npe_fresh.h5" -force
  grep '^epoch' "$OUT/logs/npe_fresh-0-1.log" | sed 's/.*(\([0-9]*\) [a-z]*\/s.*/\1/' | tr '\n' ' ' |
    awk 'NF >= 2 { printf "BENCH npe_sim_fresh rows=18000 rate1=%s rate2=%s\n", $1, $2 }' | tee -a "$RES.new"
  # the trainers' own epoch (the small runs above, 1 rank): training rate and epoch seconds, with which
  # the model calibrates its per-row micro-benchmark costs and its per-epoch validation and checkpoint
  for e in "emu_small emu_epoch 49813 49813" "npe_small npe_epoch 18000 2000"; do
    set -- $e
    sed -n "s/^epoch *1 .*  \([0-9.]*\) s  (\([0-9]*\) [a-z]*\/s.*/BENCH $2 rows=$3 val=$4 rate=\2 epoch_s=\1/p" \
      "$OUT/logs/$1-0-1.log" 2>/dev/null | head -1 | tee -a "$RES.new"
  done
  maxs=$(printf '%s\n' $NEWTON_STARS $GAUSS_STARS | sort -g | tail -1)
  echo "== mock of $maxs stars"
  $NICE "$B/chempysbi" mock -n "$maxs" -seed 11 -out "$W/stars_all.csv" > "$OUT/logs/mock.log" 2>&1 || { echo "mock failed"; tail "$OUT/logs/mock.log"; exit 1; }
  for n in $NEWTON_STARS $GAUSS_STARS; do head -n $((n + 1)) "$W/stars_all.csv" > "$W/stars_$n.csv"; done
  for n in $NEWTON_STARS; do
    echo "== infer -method newton, $n stars, 1 rank"
    run_timed infer_newton "$n" $NICE "$B/chempysbi" infer -npe "$NPE" -emulator "$EMULATOR" -stars "$W/stars_$n.csv" \
      -method newton -plots 0 -out "$W/inf.h5" -force
  done
  # coverage's own cost per star (its CHEMPY mock and the exact inference of galaxies drawn from the
  # prior, whose stars cost the solver another number of iterations than the mock catalogue's):
  # two galaxies (its least) of COV_STARS stars each; stars= is the total
  for n in ${COV_STARS:-25 100}; do
    echo "== coverage, 2 galaxies of $n stars, 1 rank"
    run_timed coverage_stars "$((2 * n))" $NICE "$B/chempysbi" coverage -npe "$NPE" -emulator "$EMULATOR" -galaxies 2 \
      -n_stars "$n" -method newton -plots 0 -out "$W/cov.h5" -force
  done
  for n in $GAUSS_STARS; do
    echo "== infer -method gauss, $n stars, 1 rank"
    run_timed infer_gauss "$n" $NICE "$B/chempysbi" infer -npe "$NPE" -stars "$W/stars_$n.csv" -method gauss -plots 0 \
      -out "$W/inf.h5" -force
  done
else
  echo "costs.sh: no $NPE or $EMULATOR: the per-star costs of infer are not measured" | tee -a "$RES.new"
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES.new"
mv "$RES.new" "$RES"
echo "wrote $RES"
