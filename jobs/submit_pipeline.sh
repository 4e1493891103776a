#!/usr/bin/env bash
# Submit the whole chempysbi pipeline to SLURM, chained with --dependency=afterok:
#
#   simulate train ─┐
#                   ├─> train-emulator ─> train-npe ─┬─> validate
#   simulate val ───┘                                └─┐
#   mock ──────────────────────────────────────────────┴─> infer   (RESULT line)
#
# mock needs no earlier stage, so it starts at once; infer waits for train-npe and mock.
# validate is a diagnostic: infer does not wait for it (--strict makes it wait).
# Every stage reads and writes one shared pipeline directory; each job keeps its Slurm log,
# options copy, command line and -log_view profile in <dir>/logs/<job name>-<job id>/.
#
# Usage: jobs/submit_pipeline.sh [options] [-- sbatch options for every job]
#   --paper | --small | --tiny   scale: input/paper/ (default: the paper's 700k + 50k runs ...),
#                                input/small/ (minutes on a laptop), input/tiny/ (tests only)
#   --scale NAME                 the same, for any input/NAME/ directory
#   --dir DIR                    pipeline directory (default: $RUN_ROOT/pipeline-<date>-<time>,
#                                RUN_ROOT defaults to ./runs)
#   --from STAGE                 start at STAGE (simulate, train-emulator, train-npe, validate,
#                                mock, infer); earlier outputs must already be in --dir
#   --ntasks N                   MPI ranks for every job (default: each script's #SBATCH --ntasks)
#   --nodes N                    nodes for every job (sbatch --nodes)
#   --ntasks-per-node M          ranks per node (sbatch --ntasks-per-node); with --nodes and no
#                                --ntasks, every job gets N x M ranks. Ranks are bound to cores
#                                (CPU_BIND=cores, the default; CPU_BIND=none to switch it off)
#   --launcher srun|mpirun       how the jobs start MPI (default srun --mpi=pmix; see jobs/README.md)
#   --strict                     infer also waits for validate to succeed
#   --dry-run                    print the sbatch commands, submit nothing
#   -h, --help                   this text
# Environment passed to the jobs: CHEMPYSBI, CHEMPYSBI_DATA, EXTRA_<STAGE> (e.g. EXTRA_TRAIN_NPE),
# LAUNCH_ARGS, SRUN_MPI
# (see the header of any jobs/*.sbatch). Site options (partition, account, QOS) go after "--"
# or in sbatch's own SBATCH_PARTITION / SBATCH_ACCOUNT / SBATCH_QOS variables.
#
# Prints one line per job ("<stage> <job id>") and writes them to <dir>/jobs.txt.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

scale=paper dir='' from=simulate ntasks='' nodes='' tpn='' dry=0 strict=0
sbatch_extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --paper | --small | --tiny) scale=${1#--} ;;
    --scale) scale=${2:?--scale needs a name}; shift ;;
    --dir) dir=${2:?--dir needs a directory}; shift ;;
    --from) from=${2:?--from needs a stage}; shift ;;
    --ntasks) ntasks=${2:?--ntasks needs a number}; shift ;;
    --nodes) nodes=${2:?--nodes needs a number}; shift ;;
    --ntasks-per-node) tpn=${2:?--ntasks-per-node needs a number}; shift ;;
    --launcher) export LAUNCHER=${2:?--launcher needs srun or mpirun}; shift ;;
    --strict) strict=1 ;;
    --dry-run) dry=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; sbatch_extra=("$@"); break ;;
    *) echo "error: unknown option $1 (see $0 --help)" >&2; exit 2 ;;
  esac
  shift
done

[ -d "$ROOT/input/$scale" ] || { echo "error: no options directory input/$scale/ (scales: $(cd "$ROOT/input" && ls -d */ | tr -d / | tr '\n' ' '))" >&2; exit 2; }
case ${LAUNCHER:-srun} in srun | mpirun) ;; *) echo "error: LAUNCHER=$LAUNCHER: expected srun or mpirun" >&2; exit 2 ;; esac
for v in ntasks:"$ntasks" nodes:"$nodes" ntasks-per-node:"$tpn"; do
  if [ -n "${v#*:}" ] && ! [[ ${v#*:} =~ ^[1-9][0-9]*$ ]]; then echo "error: --${v%%:*} ${v#*:}: expected a positive number" >&2; exit 2; fi
done
# A script's own #SBATCH --ntasks would cap the ranks of a multi-node job: give the product.
[ -n "$nodes" ] && [ -n "$tpn" ] && [ -z "$ntasks" ] && ntasks=$((nodes * tpn))
if [ -n "$nodes" ] && [ -n "$tpn" ] && [ "$ntasks" -gt $((nodes * tpn)) ]; then
  echo "error: --ntasks $ntasks is more than --nodes $nodes x --ntasks-per-node $tpn" >&2; exit 2
fi
stages=(simulate train-emulator train-npe validate mock infer)
case " ${stages[*]} " in *" $from "*) ;; *) echo "error: --from $from: expected one of ${stages[*]}" >&2; exit 2 ;; esac
if [ "$dry" = 0 ]; then
  command -v sbatch >/dev/null || { echo "error: sbatch not found: run this on a SLURM login node (or use --dry-run)" >&2; exit 1; }
fi
[ -x "${CHEMPYSBI:-$ROOT/bin/chempysbi}" ] || echo "warning: ${CHEMPYSBI:-$ROOT/bin/chempysbi} is not built yet (make); the jobs will fail without it" >&2

if [ -z "$dir" ]; then
  [ "$from" = simulate ] || { echo "error: --from $from needs --dir, the pipeline directory with the earlier outputs" >&2; exit 2; }
  dir=${RUN_ROOT:-$PWD/runs}/pipeline-$(date +%Y%m%d-%H%M%S)-$$
fi
mkdir -p "$dir/logs"
dir=$(cd "$dir" && pwd)

export PIPELINE_DIR=$dir SCALE=$scale CHEMPYSBI_ROOT=$ROOT
export CHEMPYSBI=${CHEMPYSBI:-$ROOT/bin/chempysbi}
if [ -z "${CHEMPYSBI_DATA:-}" ] && [ -d "$ROOT/../shared/chempy-data" ]; then
  CHEMPYSBI_DATA=$(cd "$ROOT/../shared/chempy-data" && pwd) && export CHEMPYSBI_DATA
fi
unset OPTS # one options file per stage: input/$SCALE/<stage>.opts

# Run from the start stage on; a skipped stage's output must already exist. mock is off the
# chain: it runs with --from simulate or --from mock, or when stars.csv is missing.
declare -A want
on=0
for s in simulate train-emulator train-npe validate infer; do [ "$s" = "$from" ] && on=1; want[$s]=$on; done
want[mock]=0
if [ "$from" = mock ]; then want[mock]=1; want[infer]=1
elif [ "$from" = simulate ] || { [ "$from" != infer ] && [ ! -s "$dir/stars.csv" ]; }; then want[mock]=1; fi
declare -A need_file=([simulate]="train.h5 val.h5" [train-emulator]=emulator.h5 [train-npe]=npe.h5 [mock]=stars.csv)
for s in simulate train-emulator train-npe mock; do
  if [ "${want[$s]}" = 0 ]; then
    for f in ${need_file[$s]}; do
      [ -s "$dir/$f" ] || [ "$dry" = 1 ] || { echo "error: --from $from: $dir/$f is missing (stage $s)" >&2; exit 2; }
    done
  fi
done

: > "$dir/jobs.txt"
declare -A id
submit() { # key script deps(comma-separated keys, may be empty) [VAR=value for the job]
  local key=$1 script=$2 deps=$3 env=${4:-} dep='' k jid
  local -a cmd=(sbatch --parsable --export=ALL --job-name="cs-$key" --output="$dir/logs/%x-%j.out")
  [ -n "$ntasks" ] && cmd+=(--ntasks="$ntasks")
  [ -n "$nodes" ] && cmd+=(--nodes="$nodes")
  [ -n "$tpn" ] && cmd+=(--ntasks-per-node="$tpn")
  for k in ${deps//,/ }; do [ -n "${id[$k]:-}" ] && dep=${dep:+$dep:}${id[$k]}; done
  [ -n "$dep" ] && cmd+=(--dependency="afterok:$dep" --kill-on-invalid-dep=yes)
  cmd+=("${sbatch_extra[@]}" "$ROOT/jobs/$script")
  if [ "$dry" = 1 ]; then
    jid=DRY-$key
    printf '%s' "${env:+$env }"; printf '%q ' "${cmd[@]}"; echo
  else
    jid=$(env ${env:+"$env"} "${cmd[@]}") || { echo "error: sbatch failed for $key" >&2; exit 1; }
    jid=${jid%%;*} # --parsable prints "id[;cluster]"
  fi
  id[$key]=$jid
  printf '%-15s %s\n' "$key" "$jid" | tee -a "$dir/jobs.txt"
}

[ "${want[simulate]}" = 1 ] && submit sim-train simulate.sbatch "" SET=train
[ "${want[simulate]}" = 1 ] && submit sim-val simulate.sbatch "" SET=val
[ "${want[mock]}" = 1 ] && submit mock mock.sbatch ""
[ "${want[train-emulator]}" = 1 ] && submit train-emulator train_emulator.sbatch sim-train,sim-val
[ "${want[train-npe]}" = 1 ] && submit train-npe train_npe.sbatch train-emulator
[ "${want[validate]}" = 1 ] && submit validate validate.sbatch train-npe
if [ "$strict" = 1 ]; then infer_deps=train-npe,mock,validate; else infer_deps=train-npe,mock; fi
[ "${want[infer]}" = 1 ] && submit infer infer.sbatch "$infer_deps"

echo "pipeline directory: $dir (scale $scale)"
if [ "$dry" = 0 ]; then
  ids=$(awk '{print $2}' "$dir/jobs.txt" | paste -sd, -)
  echo "watch:  squeue -j $ids      result:  cat $dir/result.txt"
fi
