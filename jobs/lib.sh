# Shared by every jobs/*.sbatch, sourced once the script knows CHEMPYSBI_ROOT:
# finds the binary and the data, sets up the pipeline and per-job directories,
# and launches chempysbi on all ranks of the job (srun or mpirun).
# shellcheck shell=bash
[ -d "$CHEMPYSBI_ROOT/input" ] || { echo "error: $CHEMPYSBI_ROOT has no input/: set CHEMPYSBI_ROOT to the chempysbi repository" >&2; exit 1; }
CHEMPYSBI=${CHEMPYSBI:-$CHEMPYSBI_ROOT/bin/chempysbi}
[ -x "$CHEMPYSBI" ] || { echo "error: $CHEMPYSBI is not executable: run make in $CHEMPYSBI_ROOT or set CHEMPYSBI" >&2; exit 1; }
if [ -z "${CHEMPYSBI_DATA:-}" ] && [ -d "$CHEMPYSBI_ROOT/../shared/chempy-data" ]; then
  CHEMPYSBI_DATA=$(cd "$CHEMPYSBI_ROOT/../shared/chempy-data" && pwd) && export CHEMPYSBI_DATA
fi
SCALE=${SCALE:-paper}
stage_opts() { echo "${OPTS:-$CHEMPYSBI_ROOT/input/$SCALE/$1.opts}"; }
pipeline_dir() { # $1 = "new" (a stage that may start a pipeline) or "existing"
  if [ -z "${PIPELINE_DIR:-}" ]; then
    if [ "$1" = existing ]; then
      echo "error: PIPELINE_DIR is not set: point it at the pipeline directory holding the earlier stages' outputs" >&2
      return 1
    fi
    PIPELINE_DIR=${RUN_ROOT:-$SLURM_SUBMIT_DIR/runs}/run-$SLURM_JOB_ID
  fi
  mkdir -p "$PIPELINE_DIR"
  PIPELINE_DIR=$(cd "$PIPELINE_DIR" && pwd)
  JOB_DIR=$PIPELINE_DIR/logs/${SLURM_JOB_NAME:-$STAGE}-$SLURM_JOB_ID
  mkdir -p "$JOB_DIR"
}
need() { # input files of this stage
  for f in "$@"; do
    [ -s "$f" ] || { echo "error: $STAGE needs $f, which does not exist: run the earlier stage with the same PIPELINE_DIR" >&2; return 1; }
  done
}
launch() { # run chempysbi COMMAND [options...] on all ranks of the job, from $JOB_DIR
  local opts cmd=$1; shift
  opts=$(stage_opts "$STAGE_OPTS")
  [ -f "$opts" ] || { echo "error: options file $opts not found (SCALE=$SCALE, OPTS=${OPTS:-})" >&2; return 1; }
  cp "$opts" "$JOB_DIR/$(basename "$opts")"
  local -a run
  # One rank per core, each pinned to its core (CPU_BIND=cores, the default; none leaves placement
  # to the OS): CHEMPY, the networks and the exact inference are single-threaded and cache-bound.
  local bind=${CPU_BIND:-cores}
  case ${LAUNCHER:-srun} in
    srun) run=(srun --kill-on-bad-exit=1)
          [ "${SRUN_MPI:-pmix}" = default ] || run+=(--mpi="${SRUN_MPI:-pmix}")
          [ "$bind" = none ] || run+=(--cpu-bind="$bind") ;;
    mpirun) run=(mpirun -np "${SLURM_NTASKS:-1}")
          [ "$(id -u)" = 0 ] && run+=(--allow-run-as-root)
          case $bind in
            none) run+=(--bind-to none) ;;
            cores) run+=(--map-by core --bind-to core) ;;
            *) run+=(--bind-to "$bind") ;;
          esac ;;
    *) echo "error: LAUNCHER=$LAUNCHER: expected srun or mpirun" >&2; return 1 ;;
  esac
  local stage_extra # EXTRA_<STAGE>, e.g. EXTRA_TRAIN_NPE
  stage_extra=EXTRA_$(echo "$STAGE" | tr 'a-z-' 'A-Z_')
  # shellcheck disable=SC2206  # LAUNCH_ARGS and EXTRA* are word-split on purpose
  run+=(${LAUNCH_ARGS:-} "$CHEMPYSBI" "$cmd" -options_file "$opts" "$@" ${EXTRA:-} ${!stage_extra:-} "${SCRIPT_ARGS[@]}"
        -log_view ":$JOB_DIR/log_view_$SLURM_JOB_ID.txt" -options_left)
  {
    echo "job:       $SLURM_JOB_ID ${SLURM_JOB_NAME:-} on ${SLURM_JOB_NODELIST:-?} (${SLURM_NTASKS:-1} tasks on ${SLURM_JOB_NUM_NODES:-1} nodes, ${SLURM_TASKS_PER_NODE:-?} per node, binding ${bind})"
    echo "pipeline:  $PIPELINE_DIR"
    echo "scale:     $SCALE   options: $opts"
    echo "data:      ${CHEMPYSBI_DATA:-<chempysbi default>}"
    printf 'command:  '; printf ' %q' "${run[@]}"; echo
  } | tee "$JOB_DIR/command.txt"
  echo "start:     $(date -Is)"
  local t0=$SECONDS rc=0
  (cd "$JOB_DIR" && "${run[@]}") || rc=$?
  echo "end:       $(date -Is) after $((SECONDS - t0)) s, exit code $rc"
  return $rc
}
SCRIPT_ARGS=("$@")