#!/usr/bin/env bash
# The machine's own ceiling for 2-rank throughput (issue 16): the same 1-rank job alone, then two
# copies at once (no MPI between them, nothing shared but the hardware). Their summed rate over the
# lone rate is the most any 2-rank run of that work can gain here: shared caches, memory bandwidth,
# clock boost and the hypervisor's placement of the vCPUs all enter it, communication does not.
# Work: one emulator epoch (-batch_per_rank 64 and 256) and NPE epochs (b 50 and 200), the shapes
# of benchmarks/shard_ab.sh. REPS repetitions; prints each rate and the median ratio per job.
#
#   bash benchmarks/corun.sh        # about 4 minutes on 2 idle cores
# Environment: DIR (train.h5, val.h5, emulator.h5; default /work/data/paper), REPS (3), OUT (a temp dir).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${DIR:-/work/data/paper} REPS=${REPS:-3}
OUT=${OUT:-$(mktemp -d /tmp/chempysbi-corun.XXXXXX)}
. "$ROOT/benchmarks/lib.sh"
job() { # tag -> the command of one 1-rank job writing its own files
  case $1 in
    emu64) echo "train-emulator -train $DIR/train.h5 -val $DIR/val.h5 -epochs 2 -batch_per_rank 64" ;;
    emu256) echo "train-emulator -train $DIR/train.h5 -val $DIR/val.h5 -epochs 2 -batch_per_rank 256" ;;
    npe50) echo "train-npe -emulator $DIR/emulator.h5 -n 100000 -max_epochs 4 -patience 1000 -batch_per_rank 50" ;;
    npe200) echo "train-npe -emulator $DIR/emulator.h5 -n 100000 -max_epochs 4 -patience 1000 -batch_per_rank 200" ;;
  esac
}
: >ratios.txt
for rep in $(seq 1 "$REPS"); do
  echo "# rep $rep, load $(cut -d' ' -f1-3 /proc/loadavg)"
  for j in emu64 emu256 npe50 npe200; do
    # --bind-to none: two independent mpiruns would each bind their rank to core 0 and share it
    $MPIRUN --bind-to none -np 1 $B $(job $j) -out a_$j.h5 -force >alone.log 2>&1
    $MPIRUN --bind-to none -np 1 $B $(job $j) -out p1_$j.h5 -force >pair1.log 2>&1 &
    $MPIRUN --bind-to none -np 1 $B $(job $j) -out p2_$j.h5 -force >pair2.log 2>&1
    wait
    a=$(med alone.log) p1=$(med pair1.log) p2=$(med pair2.log)
    echo "$j alone=$a pair=$p1+$p2 ratio=$(awk -v a=$a -v b=$p1 -v c=$p2 'BEGIN { printf "%.3f", (b + c) / a }')" | tee -a ratios.txt
  done
done
echo "# median ratio (2 copies at once / 1 alone) per job:"
for j in emu64 emu256 npe50 npe200; do
  grep "^$j " ratios.txt | sed 's/.*ratio=//' | sort -g | awk -v j=$j '{v[NR]=$1} END {print j, v[int((NR+1)/2)]}'
done
