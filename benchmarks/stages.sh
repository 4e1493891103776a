#!/usr/bin/env bash
# Every stage of the pipeline at small size on 1 and 2 ranks (and 4 oversubscribed), REPS runs
# each: the measurements benchmarks/scaling_model checks its predictions against. Wall time
# of the whole command (MPI start-up and model loading included), CPU time (user + sys of
# all ranks) and the program's own time (prog_s: PETSc's -log_view total, from after MPI_Init
# to PetscFinalize, so without the launcher's spawn, MPI_Init and MPI_Finalize). Writes benchmarks/results/stages.txt ("STAGE name ranks=P key=value ..." lines).
#
#   bash benchmarks/stages.sh
# Environment: REPS (default 3), RANKS (default "1 2"), NPE, EMULATOR, TRAIN, VAL (default
# the paper-scale files in /work/data/paper), STAGES_OUT (default benchmarks/results),
# NICE (default "nice -n 19"), MPIRUN, ONLY (space-separated subset of the stage names).
# The sizes are in the STAGE lines; scaling_model predicts exactly those runs.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${STAGES_OUT:-$ROOT/benchmarks/results}
REPS=${REPS:-3}
RANKS=${RANKS:-"1 2"}
P=/work/data/paper
NPE=${NPE:-$P/npe.h5} EMULATOR=${EMULATOR:-$P/emulator.h5} TRAIN=${TRAIN:-$P/train.h5} VAL=${VAL:-$P/val.h5}
NICE=${NICE:-nice -n 19}
ONLY=${ONLY:-}
if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
X=$ROOT/bin/chempysbi
[ -x "$X" ] || { echo "stages.sh: $X missing: make" >&2; exit 1; }
for f in "$NPE" "$EMULATOR" "$TRAIN" "$VAL"; do [ -f "$f" ] || { echo "stages.sh: $f missing (benchmarks/end_to_end.sh makes it)" >&2; exit 1; }; done
mkdir -p "$OUT/logs"
W=$(mktemp -d /tmp/chempysbi-stages.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp "$X" "$W/chempysbi" && X=$W/chempysbi # a rebuild during the run does not change what is timed
RES=$OUT/stages.txt
if [ -n "$ONLY" ] && [ -f "$RES" ]; then # a subset re-measured: its lines replace the old ones
  grep -v -E "^STAGE ($(echo "$ONLY" | tr ' ' '|')) " "$RES" > "$RES.new"
else
  echo "# chempysbi stages, $(date -u +%FT%TZ), $(git -C "$ROOT" describe --always --dirty 2>/dev/null)" > "$RES.new"
  echo "# machine: $(getconf _NPROCESSORS_ONLN) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg); median of $REPS runs, min..max" >> "$RES.new"
fi

med() { sort -g | awk '{v[NR]=$1} END {printf "%s min=%s max=%s", (NR%2 ? v[(NR+1)/2] : 0.5*(v[NR/2]+v[NR/2+1])), v[1], v[NR]}'; }
stage() { # name size-description command... (run from $W on $np ranks)
  local name=$1 size=$2; shift 2
  [ -n "$ONLY" ] && ! grep -qw "$name" <<< "$ONLY" && return 0
  for np in $RANKS; do
    : > "$W/walls"; : > "$W/cpus"; : > "$W/progs"
    for r in $(seq "$REPS"); do
      rm -f "$W"/out.h5 "$W"/out.h5.* "$W"/sim.h5 "$W"/sim.h5.* "$W/lv.txt"
      (cd "$W" && /usr/bin/time -f "%e %U %S" -o "$W/time" $NICE $MPIRUN -np "$np" "$X" "$@" -log_view ":$W/lv.txt" > "$W/log" 2>&1) ||
        { echo "stages.sh: $name on $np ranks failed:"; tail -5 "$W/log"; break; }
      read -r e u s < "$W/time"
      echo "$e" >> "$W/walls"; echo "$u + $s" | bc -l >> "$W/cpus"
      # the program's own time: PETSc's, from after MPI_Init to PetscFinalize (the slowest rank)
      awk '/^Time \(sec\):/ { print $3 }' "$W/lv.txt" >> "$W/progs"
      cp "$W/log" "$OUT/logs/stage-$name-$np-$r.log"
    done
    echo "STAGE $name ranks=$np $size wall_s=$(med < "$W/walls") cpu_s=$(med < "$W/cpus") prog_s=$(med < "$W/progs") reps=$REPS" | tee -a "$RES.new"
  done
}

# Inputs made once (not timed): a mock catalogue
$NICE "$X" mock -n 1000 -seed 11 -out "$W/stars1000.csv" > /dev/null 2>&1 || { echo "mock failed" >&2; exit 1; }
head -n 101 "$W/stars1000.csv" > "$W/stars100.csv"

stage simulate "rows=4000" simulate -n 4000 -prior wide -seed 3 -out sim.h5 -progress_every 1000
stage train_emulator "rows=697435 epochs=1" train-emulator -train "$TRAIN" -val "$VAL" -epochs 1 \
  -out out.h5 -force
stage train_npe "n=50000 epochs=3 fresh=1" train-npe -emulator "$EMULATOR" -n 50000 -max_epochs 3 -out out.h5 -force -fresh
# weak scaling: the rows per rank fixed (-batch_per_rank), the global batch P b
stage train_emulator_weak "rows=697435 epochs=1 bpr=64" train-emulator -train "$TRAIN" -val "$VAL" -epochs 1 \
  -batch_per_rank 64 -out out.h5 -force
stage train_npe_weak "n=50000 epochs=3 bpr=50 fresh=1" train-npe -emulator "$EMULATOR" -n 50000 -max_epochs 3 -batch_per_rank 50 \
  -out out.h5 -force -fresh
stage validate "n=100 samples=1000" validate -npe "$NPE" -n 100 -samples 1000 -plots 0 -out out.h5 -force
stage infer_gauss "stars=1000 samples=1000" infer -npe "$NPE" -stars "$W/stars1000.csv" -method gauss -plots 0 -out out.h5 -force
stage infer_newton "stars=100" infer -npe "$NPE" -emulator "$EMULATOR" -stars "$W/stars100.csv" -method newton -plots 0 \
  -out out.h5 -force
stage coverage "galaxies=2 n_stars=100 method=newton" coverage -npe "$NPE" -emulator "$EMULATOR" -galaxies 2 -n_stars 100 \
  -method newton -plots 0 -out out.h5 -force
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RES.new"
mv "$RES.new" "$RES"
echo "wrote $RES"
