#!/usr/bin/env bash
# chempysbi benchmarks: every stage at 1 and 2 MPI ranks (4 oversubscribed for function
# only), the CHEMPY per-run and network-kernel micro benchmarks, the PyTorch peers, and a
# report. Writes CSV, PNG (gnuplot) and report.md to benchmarks/results/ (BENCH_OUT).
#
#   bash benchmarks/run.sh                 # BENCH_SCALE=full (about 15-25 min on 2 cores)
#   BENCH_SCALE=quick bash benchmarks/run.sh   # about 5 min
#
# Knobs (environment; defaults depend on BENCH_SCALE, see benchmarks/README.md):
#   BENCH_SIM_N BENCH_SIM_CHECK_N BENCH_DISC_N BENCH_EMU_EPOCHS BENCH_NPE_N BENCH_NPE_EPOCHS
#   BENCH_NPE_CONVERGE BENCH_NPE_CONV_MAX BENCH_INFER_STARS BENCH_INFER_REPEAT BENCH_GCE_N
#   BENCH_NN_ROWS BENCH_NN_SAMPLES BENCH_SAMPLE_CALLS BENCH_TORCH_EMU_ROWS BENCH_TORCH_MAF_N BENCH_TORCH_EPOCHS
#   BENCH_RANKS (default 2), BENCH_OUT, BENCH_PYTHON, BENCH_SKIP_TORCH=1, BENCH_SKIP_COMPARE=1, MPIRUN.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RES=${BENCH_OUT:-$ROOT/benchmarks/results}
SCALE=${BENCH_SCALE:-full}
NP=${BENCH_RANKS:-2}

case $SCALE in
  quick)
    d_sim_n=4000 d_check_n=600 d_disc_n=20000 d_emu_ep=3 d_npe_n=100000 d_npe_ep=3 d_npe_conv=0
    d_stars=1000 d_rep=3 d_gce_n=300 d_nn_rows=100000 d_nn_samples=1000000
    d_t_emu_rows=20000 d_t_maf_n=10000 d_t_ep=2 d_sample_calls=200 ;;
  full)
    d_sim_n=20000 d_check_n=2000 d_disc_n=100000 d_emu_ep=3 d_npe_n=100000 d_npe_ep=3 d_npe_conv=1
    d_stars=1000 d_rep=3 d_gce_n=1000 d_nn_rows=700000 d_nn_samples=2000000
    d_t_emu_rows=100000 d_t_maf_n=100000 d_t_ep=2 d_sample_calls=1000 ;;
  *) echo "run.sh: BENCH_SCALE must be quick or full (got '$SCALE')" >&2; exit 2 ;;
esac
SIM_N=${BENCH_SIM_N:-$d_sim_n}                  # CVODE rows per simulate run (issue 4: >= 20000)
CHECK_N=${BENCH_SIM_CHECK_N:-$d_check_n}        # rows of the -np 4 oversubscribed identity check
DISC_N=${BENCH_DISC_N:-$d_disc_n}               # discrete-28 rows: throughput and emulator training set
EMU_EP=${BENCH_EMU_EPOCHS:-$d_emu_ep}           # emulator epochs timed per configuration
NPE_N=${BENCH_NPE_N:-$d_npe_n}                  # NPE simulations
NPE_EP=${BENCH_NPE_EPOCHS:-$d_npe_ep}           # NPE epochs timed per rank count
NPE_CONV=${BENCH_NPE_CONVERGE:-$d_npe_conv}     # 1: also train to convergence on $NP ranks
NPE_CONV_MAX=${BENCH_NPE_CONV_MAX:-200}         # epoch cap of that run
STARS=${BENCH_INFER_STARS:-$d_stars}            # stars of the infer benchmark (and 2x for linearity)
REP=${BENCH_INFER_REPEAT:-$d_rep}               # infer repetitions (best is kept)
GCE_N=${BENCH_GCE_N:-$d_gce_n}                  # bench_gce runs
NN_ROWS=${BENCH_NN_ROWS:-$d_nn_rows}            # bench_nn emulator-epoch rows
NN_SAMPLES=${BENCH_NN_SAMPLES:-$d_nn_samples}   # bench_nn MAF samples
T_EMU_ROWS=${BENCH_TORCH_EMU_ROWS:-$d_t_emu_rows}
T_MAF_N=${BENCH_TORCH_MAF_N:-$d_t_maf_n}
T_EP=${BENCH_TORCH_EPOCHS:-$d_t_ep}
SAMPLE_CALLS=${BENCH_SAMPLE_CALLS:-$d_sample_calls}  # bench_sample calls of 1000 samples

if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}

[ -x "$ROOT/bin/chempysbi" ] || { echo "run.sh: bin/chempysbi missing: run 'make bench' (or make)" >&2; exit 1; }
mkdir -p "$RES"
WORK=$RES/work LOG=$RES/logs
rm -rf "$WORK" "$LOG"
mkdir -p "$WORK/bin" "$LOG"
# A private copy of the binaries: the tree may be rebuilt while the benchmark runs.
cp "$ROOT/bin/chempysbi" "$WORK/bin/"
for b in "$ROOT"/bin/bench/bench_*; do [ -x "$b" ] && cp "$b" "$WORK/bin/"; done
CS=$WORK/bin/chempysbi
cd "$WORK" || exit 1

T_START=$(date +%s)
say() { printf '[bench %4ds] %s\n' $(($(date +%s) - T_START)) "$*"; }
# mpi NP LOGNAME args...: run chempysbi on NP ranks, output to logs/LOGNAME.txt
mpi() {
  local np=$1 name=$2
  shift 2
  $MPIRUN -np "$np" "$CS" "$@" >"$LOG/$name.txt" 2>&1
  local rc=$?
  [ $rc = 0 ] || say "FAILED ($rc): $name; see $LOG/$name.txt"
  return $rc
}
# numbers from the logs
# "simulate: N rows in T s on P ranks: R rows/s ..."
sim_rate() { awk '/^simulate: [0-9]+ rows in/ {r=$10} END {print r}' "$LOG/$1.txt"; }
sim_secs() { awk '/^simulate: [0-9]+ rows in/ {s=$5} END {print s}' "$LOG/$1.txt"; }
# minimum of the per-epoch seconds ("... <x> s  (" or "... <x> s  elapsed")
epoch_min() {
  awk '/^epoch +[0-9]+/ { for (i = 2; i < NF; i++) if ($(i+1) == "s" && $i ~ /^[0-9.]+$/) { v = $i; break }
                          if (m == "" || v < m) m = v }
       END { if (m != "") printf "%.4f", m }' "$LOG/$1.txt"
}
# "infer: N stars x S samples in T s on P ranks ..."
infer_secs() { awk '/^infer: [0-9]+ stars x/ {s=$8} END {print s}' "$LOG/$1.txt"; }
calc() { awk "BEGIN { x = $1; if (x != x) print \"\"; else printf \"${2:-%.4g}\", x }" 2>/dev/null; }
# pass VALUE OP THRESHOLD -> PASS / MISS / n/a
pass() {
  [ -z "$1" ] && { echo "n/a"; return; }
  awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "PASS" : "MISS" }'
}

say "scale $SCALE, $NP ranks, results in $RES"
say "load before: $(uptime)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)
# what else was using the CPU when we started (the machine may be shared)
BUSY_BEFORE=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 20 {printf "%s%s (%s%%)", (n++ ? ", " : ""), $2, $1}')

# ---------------------------------------------------------------- simulate (issue 4)
say "simulate: cvode $SIM_N rows at -np 1 and -np $NP"
echo "scheme,ranks,rows,seconds,rows_per_s" >"$RES/simulate.csv"
for np in 1 "$NP"; do
  mpi "$np" "sim_cvode_np$np" simulate -n "$SIM_N" -prior wide -seed 1 -out "sim_cvode_np$np.h5" -progress_every 30
  echo "cvode,$np,$SIM_N,$(sim_secs sim_cvode_np$np),$(sim_rate sim_cvode_np$np)" >>"$RES/simulate.csv"
done
R1=$(sim_rate sim_cvode_np1) R2=$(sim_rate "sim_cvode_np$NP")
EFF=$( [ -n "$R1" ] && [ -n "$R2" ] && calc "$R2 / ($NP * $R1)" "%.3f")
PROJ_MIN=$( [ -n "$R2" ] && calc "750000 / $R2 / 60" "%.1f")
same_tables() { # file1 file2 -> identical|DIFFERENT
  local f
  for f in /params /abundances /status; do
    h5diff "$1" "$2" "$f" "$f" >/dev/null 2>&1 || { echo DIFFERENT; return; }
  done
  echo identical
}
ID12=$(same_tables sim_cvode_np1.h5 "sim_cvode_np$NP.h5")
say "simulate: -np 4 oversubscribed identity check on $CHECK_N rows"
mpi 1 sim_check_np1 simulate -n "$CHECK_N" -prior wide -seed 3 -out check_np1.h5
mpi 4 sim_check_np4 simulate -n "$CHECK_N" -prior wide -seed 3 -out check_np4.h5
ID14=$(same_tables check_np1.h5 check_np4.h5)
say "simulate: discrete-28 $DISC_N rows at -np $NP (the emulator training set), $((DISC_N / 4)) at -np 1"
mpi 1 sim_disc_np1 simulate -n $((DISC_N / 4)) -prior wide -seed 11 -scheme discrete -out disc_np1.h5
mpi "$NP" "sim_disc_np$NP" simulate -n "$DISC_N" -prior wide -seed 1 -scheme discrete -out train.h5
mpi "$NP" sim_disc_val simulate -n $((DISC_N / 10)) -prior wide -seed 2 -scheme discrete -out val.h5
echo "discrete,1,$((DISC_N / 4)),$(sim_secs sim_disc_np1),$(sim_rate sim_disc_np1)" >>"$RES/simulate.csv"
echo "discrete,$NP,$DISC_N,$(sim_secs sim_disc_np$NP),$(sim_rate sim_disc_np$NP)" >>"$RES/simulate.csv"
D1=$(sim_rate sim_disc_np1) D2=$(sim_rate "sim_disc_np$NP")

# ---------------------------------------------------------------- CHEMPY per run (issue 3)
GCE_MED="" GCE_P95="" GCE_CPU="" DISC_MED=""
if [ -x "$WORK/bin/bench_gce" ]; then
  say "bench_gce: $GCE_N runs per scheme on one core"
  "$WORK/bin/bench_gce" -n "$GCE_N" >"$LOG/bench_gce.txt" 2>&1 || say "FAILED: bench_gce (see $LOG/bench_gce.txt)"
  GCE_MED=$(awk '/^cvode/ {for (i=1;i<=NF;i++) if ($i=="median") {print $(i+1); exit}}' "$LOG/bench_gce.txt")
  GCE_P95=$(awk '/^cvode/ {for (i=1;i<=NF;i++) if ($i=="p95") {print $(i+1); exit}}' "$LOG/bench_gce.txt")
  GCE_CPU=$(awk '/^cvode/ {c=1; next} c && /CPU time per run/ {for (i=1;i<=NF;i++) if ($i=="median") {print $(i+1); exit}}' "$LOG/bench_gce.txt")
  DISC_MED=$(awk '/^discrete/ {for (i=1;i<=NF;i++) if ($i=="median") {print $(i+1); exit}}' "$LOG/bench_gce.txt")
  DISC_P95=$(awk '/^discrete/ {for (i=1;i<=NF;i++) if ($i=="p95") {print $(i+1); exit}}' "$LOG/bench_gce.txt")
  { echo "scheme,median_ms,p95_ms"; echo "cvode,$GCE_MED,$GCE_P95"; echo "discrete28,$DISC_MED,${DISC_P95:-}"; } >"$RES/gce.csv"
else
  say "bench_gce not built: skipped"
fi
# Fall-back per-run figure from the farm: one rank's wall time per row.
FARM_MS=$( [ -n "$R1" ] && calc "1000 / $R1" "%.3f")

# ---------------------------------------------------------------- network kernels
NN_SAMPLE_RATE=""
if [ -x "$WORK/bin/bench_nn" ]; then
  say "bench_nn: $NN_ROWS-row emulator epoch, $NN_SAMPLES MAF samples, one core"
  "$WORK/bin/bench_nn" -rows "$NN_ROWS" -samples "$NN_SAMPLES" >"$LOG/bench_nn.txt" 2>&1 || say "FAILED: bench_nn"
  NN_SAMPLE_RATE=$(sed -n 's/^BENCH maf_sample .*samples_per_s=\([0-9.e+]*\).*/\1/p' "$LOG/bench_nn.txt" | tail -1)
fi

# ---------------------------------------------------------------- train-emulator (issue 5)
say "train-emulator: $EMU_EP epochs on the discrete set, adam and schedulefree, -np 1 and -np $NP"
echo "impl,optimizer,cores,train_rows,sec_per_epoch,sec_per_100k_rows,sec_per_700k_epoch" >"$RES/emulator.csv"
EMU_ROWS=""
declare -A EMU
for opt in adam schedulefree; do
  for np in 1 "$NP"; do
    mpi "$np" "emu_${opt}_np$np" train-emulator -train train.h5 -val val.h5 -out "emu_${opt}_np$np.h5" -force -epochs "$EMU_EP" -optimizer "$opt"
    rows=$(awk '/^train-emulator: [0-9]+ training rows/ {print $2}' "$LOG/emu_${opt}_np$np.txt")
    [ -n "$rows" ] && EMU_ROWS=$rows
    # the epoch line's rows/s has more digits than its seconds (printed to 0.01 s)
    rate=$(awk '/^epoch +[0-9]+/ && match($0, /\([0-9.]+ rows\/s/) { v = substr($0, RSTART + 1, RLENGTH - 8) + 0; if (v > m) m = v }
                END { if (m) print m }' "$LOG/emu_${opt}_np$np.txt")
    if [ -n "$rate" ] && [ -n "$rows" ]; then s=$(calc "$rows / $rate" "%.4f"); else s=$(epoch_min "emu_${opt}_np$np"); fi
    p=$( [ -n "$s" ] && [ -n "$rows" ] && calc "$s * 100000 / $rows" "%.4f")
    EMU[$opt,$np]=$p
    echo "chempysbi,$opt,$np,$rows,$s,$p,$( [ -n "$p" ] && calc "$p * 7" "%.3f")" >>"$RES/emulator.csv"
  done
done
PY=${BENCH_PYTHON:-}
if [ -z "$PY" ]; then
  for c in /usr/bin/python3 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import torch' 2>/dev/null; then PY=$c; break; fi
  done
fi
[ "${BENCH_SKIP_TORCH:-0}" = 1 ] && PY=""
declare -A TEMU TMAF TMAFS
TORCH_VER=""
if [ -n "$PY" ]; then
  TORCH_VER=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)
  for th in 1 "$NP"; do
    say "PyTorch emulator: $T_EMU_ROWS rows x $T_EP epochs, $th thread(s)"
    "$PY" "$ROOT/benchmarks/torch_emulator.py" --rows "$T_EMU_ROWS" --epochs "$T_EP" --threads "$th" >"$LOG/torch_emu_t$th.txt" 2>&1 || say "FAILED: torch_emulator"
    TEMU[$th]=$(sed -n 's/^TORCH emulator .*sec_per_100k_rows=\([0-9.]*\).*/\1/p' "$LOG/torch_emu_t$th.txt")
    echo "pytorch,adam,$th,$T_EMU_ROWS,$(sed -n 's/^TORCH emulator .*sec_per_epoch=\([0-9.]*\).*/\1/p' "$LOG/torch_emu_t$th.txt"),${TEMU[$th]},$( [ -n "${TEMU[$th]}" ] && calc "${TEMU[$th]} * 7" "%.3f")" >>"$RES/emulator.csv"
  done
else
  say "PyTorch not importable (make bench-deps): peers skipped"
fi

# ---------------------------------------------------------------- train-npe (issue 6)
EMU_FILE=emu_adam_np1.h5
[ -f "$EMU_FILE" ] || EMU_FILE=$(ls emu_*.h5 2>/dev/null | grep -v ckpt | head -1)
say "train-npe: $NPE_N simulations, $NPE_EP epochs at -np 1 and -np $NP"
echo "impl,cores,n,sec_per_epoch,sec_per_epoch_per_1e5" >"$RES/npe.csv"
declare -A NPE
for np in 1 "$NP"; do
  mpi "$np" "npe_np$np" train-npe -emulator "$EMU_FILE" -n "$NPE_N" -out "npe_np$np.h5" -force -max_epochs "$NPE_EP" -patience 20
  s=$(epoch_min "npe_np$np")
  NPE[$np]=$( [ -n "$s" ] && calc "$s * 100000 / $NPE_N" "%.4f")
  echo "chempysbi,$np,$NPE_N,$s,${NPE[$np]}" >>"$RES/npe.csv"
done
if [ -n "$PY" ]; then
  for th in 1 "$NP"; do
    say "PyTorch MAF: $T_MAF_N simulations x $T_EP epochs, $th thread(s)"
    "$PY" "$ROOT/benchmarks/torch_maf.py" --n "$T_MAF_N" --epochs "$T_EP" --threads "$th" --samples 100000 >"$LOG/torch_maf_t$th.txt" 2>&1 || say "FAILED: torch_maf"
    s=$(sed -n 's/^TORCH maf_train .*sec_per_epoch=\([0-9.]*\).*/\1/p' "$LOG/torch_maf_t$th.txt")
    TMAF[$th]=$( [ -n "$s" ] && calc "$s * 100000 / $T_MAF_N" "%.4f")
    TMAFS[$th]=$(sed -n 's/^TORCH maf_sample .*samples_per_s=\([0-9.e+]*\).*/\1/p' "$LOG/torch_maf_t$th.txt")
    echo "pytorch,$th,$T_MAF_N,$s,${TMAF[$th]}" >>"$RES/npe.csv"
  done
fi
CONV_S="" CONV_EP="" CONV_HOW=""
if [ "$NPE_CONV" = 1 ]; then
  say "train-npe: to convergence (patience 20, at most $NPE_CONV_MAX epochs) on -np $NP"
  mpi "$NP" npe_converge train-npe -emulator "$EMU_FILE" -n "$NPE_N" -out npe_conv.h5 -force -max_epochs "$NPE_CONV_MAX" -patience 20
  # "train-npe: converged (early stopping)|stopped at -max_epochs after E epochs, best val_nll V, T s"
  CONV_S=$(awk '/^train-npe: .* after [0-9]+ epochs/ {print $(NF-1)}' "$LOG/npe_converge.txt")
  CONV_EP=$(awk '/^train-npe: .* after [0-9]+ epochs/ {for (i=1;i<=NF;i++) if ($i=="after") print $(i+1)}' "$LOG/npe_converge.txt")
  if grep -q 'early stopping' "$LOG/npe_converge.txt"; then CONV_HOW="early stopping"; else CONV_HOW="hit the $NPE_CONV_MAX-epoch cap"; fi
fi

# ---------------------------------------------------------------- other micro benchmarks
# bench_sample (posterior sampling through npe_sample) gets the NPE and emulator just
# trained; any other bench_* runs with its defaults.
OTHER_BENCH=()
SAMPLE_RATE=""
for b in "$WORK"/bin/bench_*; do
  n=$(basename "$b")
  case $n in
    bench_gce | bench_nn) continue ;;
    bench_scaling) continue ;; # the performance model needs measured costs: benchmarks/scaling_model
    bench_sample) args=(-calls "$SAMPLE_CALLS" -samples 1000)
      [ -f "npe_np$NP.h5" ] && args+=(-npe "npe_np$NP.h5" -emulator "$EMU_FILE") ;;
    *) args=() ;;
  esac
  say "$n ${args[*]}"
  "$b" "${args[@]}" >"$LOG/$n.txt" 2>&1 || say "FAILED: $n"
  OTHER_BENCH+=("$n")
done
[ -f "$LOG/bench_sample.txt" ] && SAMPLE_RATE=$(grep -o 'samples_per_s=[0-9.e+]*' "$LOG/bench_sample.txt" | tail -1 | cut -d= -f2)

# ---------------------------------------------------------------- infer (issue 7)
NPE_FILE=npe_np$NP.h5
[ -f npe_conv.h5 ] && NPE_FILE=npe_conv.h5
S2=$((2 * STARS))
say "mock: $S2 CHEMPY stars; infer $STARS and $S2 stars x 1000 samples at -np 1 and -np $NP (best of $REP)"
mpi "$NP" mock mock -n "$S2" -out stars2.csv -force
head -n $((STARS + 1)) stars2.csv >stars1.csv
echo "ranks,stars,samples,seconds,samples_per_s_per_core" >"$RES/infer.csv"
declare -A INF
for np in 1 "$NP"; do
  for ns in "$STARS" "$S2"; do
    f=stars1.csv
    [ "$ns" = "$S2" ] && f=stars2.csv
    best=""
    for r in $(seq 1 "$REP"); do
      mpi "$np" "infer_np${np}_${ns}_$r" infer -npe "$NPE_FILE" -stars "$f" -samples 1000 -out "inf_np${np}_$ns.h5" -force -plots 0
      s=$(infer_secs "infer_np${np}_${ns}_$r")
      [ -n "$s" ] && { [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; } && best=$s
    done
    INF[$np,$ns]=$best
    echo "$np,$ns,1000,$best,$( [ -n "$best" ] && calc "$ns * 1000 / ($best * $np)" "%.4g")" >>"$RES/infer.csv"
  done
done
if command -v hyperfine >/dev/null; then
  say "hyperfine: whole infer command ($STARS stars, -np $NP, with MPI start-up and model load)"
  hyperfine --warmup 1 --runs 3 --export-csv "$RES/infer_hyperfine.csv" \
    "$MPIRUN -np $NP $CS infer -npe $NPE_FILE -stars stars1.csv -samples 1000 -out inf_hf.h5 -force -plots 0" >"$LOG/hyperfine.txt" 2>&1 || say "FAILED: hyperfine"
fi
INF_SAMPLE_RATE=$( [ -n "${INF[1,$STARS]}" ] && calc "$STARS * 1000 / ${INF[1,$STARS]}" "%.3g")
LIN=$( [ -n "${INF[$NP,$STARS]}" ] && [ -n "${INF[$NP,$S2]}" ] && calc "${INF[$NP,$S2]} / ${INF[$NP,$STARS]}" "%.2f")

# ---------------------------------------------------------------- scaling, peers, plots
SP() { [ -n "$1" ] && [ -n "$2" ] && calc "$2 / $1" "%.3f"; } # speed-up from rate(1), rate(NP)
SPT() { [ -n "$1" ] && [ -n "$2" ] && calc "$1 / $2" "%.3f"; } # speed-up from time(1), time(NP)
{
  echo "stage,ranks,speedup"
  for st in "simulate_cvode:$(SP "$R1" "$R2")" "simulate_discrete:$(SP "$D1" "$D2")" \
    "train_emulator:$(SPT "${EMU[adam,1]}" "${EMU[adam,$NP]}")" "train_npe:$(SPT "${NPE[1]}" "${NPE[$NP]}")" \
    "infer:$(SPT "${INF[1,$STARS]}" "${INF[$NP,$STARS]}")"; do
    name=${st%%:*} v=${st#*:}
    [ -n "$v" ] && printf '%s,1,1\n%s,%s,%s\n' "$name" "$name" "$NP" "$v"
  done
} >"$RES/scaling.csv"
EMU_RATIO1=$( [ -n "${TEMU[1]:-}" ] && [ -n "${EMU[adam,1]}" ] && calc "${TEMU[1]} / ${EMU[adam,1]}" "%.1f")
EMU_RATIO2=$( [ -n "${TEMU[$NP]:-}" ] && [ -n "${EMU[adam,$NP]}" ] && calc "${TEMU[$NP]} / ${EMU[adam,$NP]}" "%.1f")
NPE_RATIO1=$( [ -n "${TMAF[1]:-}" ] && [ -n "${NPE[1]}" ] && calc "${TMAF[1]} / ${NPE[1]}" "%.1f")
NPE_RATIO2=$( [ -n "${TMAF[$NP]:-}" ] && [ -n "${NPE[$NP]}" ] && calc "${TMAF[$NP]} / ${NPE[$NP]}" "%.1f")
{
  echo "item,chempysbi_s,peer_s,peer"
  [ -n "$DISC_MED" ] && echo "\"CHEMPY run, 28 steps\",$(calc "$DISC_MED / 1000" "%.6f"),0.35,Python CHEMPY (pipeline.md)"
  [ -n "$GCE_MED" ] && echo "\"CHEMPY run, converged\",$(calc "$GCE_MED / 1000" "%.6f"),7,Python CHEMPY 400 steps (pipeline.md)"
  [ -n "${TEMU[1]:-}" ] && echo "\"emulator epoch /100k, 1 core\",${EMU[adam,1]},${TEMU[1]},PyTorch $TORCH_VER"
  [ -n "${TEMU[$NP]:-}" ] && echo "\"emulator epoch /100k, $NP cores\",${EMU[adam,$NP]},${TEMU[$NP]},PyTorch $TORCH_VER"
  [ -n "${TMAF[1]:-}" ] && echo "\"MAF epoch 1e5 sims, 1 core\",${NPE[1]},${TMAF[1]},PyTorch $TORCH_VER"
  [ -n "${TMAF[$NP]:-}" ] && echo "\"MAF epoch 1e5 sims, $NP cores\",${NPE[$NP]},${TMAF[$NP]},PyTorch $TORCH_VER"
  [ -n "${TMAFS[1]:-}" ] && [ -n "$NN_SAMPLE_RATE" ] && echo "\"1e6 MAF samples, 1 core\",$(calc "1e6 / $NN_SAMPLE_RATE" "%.4f"),$(calc "1e6 / ${TMAFS[1]}" "%.4f"),PyTorch $TORCH_VER"
} >"$RES/peers.csv"
if command -v gnuplot >/dev/null; then
  say "gnuplot: scaling.png, peers.png"
  gnuplot -e "dir='$RES'; np=$NP" "$ROOT/benchmarks/plot.gp" >"$LOG/gnuplot.txt" 2>&1 || say "FAILED: gnuplot (see $LOG/gnuplot.txt)"
fi

# ---------------------------------------------------------------- report
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
ver=$(git -C "$ROOT" describe --always --dirty --tags 2>/dev/null || echo unknown)
fmt() { [ -n "$1" ] && echo "$1" || echo "—"; }
R=$RES/report.md
{
  echo "# chempysbi benchmark report"
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| host | $(hostname), $NCPU cores, $cpu |"
  echo "| version | tree \`$ver\`, timed binary \`$("$CS" version 2>/dev/null | head -1)\` |"
  echo "| scale | BENCH_SCALE=$SCALE, $ELAPSED s in all |"
  echo "| load average (1/5/15 min) | before $LOAD_BEFORE, after $LOAD_AFTER |"
  echo "| other busy processes at start | $(fmt "$BUSY_BEFORE") |"
  echo "| MPI | \`$MPIRUN\`, OPENBLAS_NUM_THREADS=1 |"
  echo "| PyTorch | $(fmt "$TORCH_VER") (\`${PY:-none}\`) |"
  echo
  echo "Times are wall clock on a machine that may be shared; per-epoch and infer figures are the"
  echo "best of the epochs / repetitions run. Raw logs: \`logs/\`; CSV: \`*.csv\`; plots: \`scaling.png\`, \`peers.png\`."
  echo
  if awk -v l="${LOAD_BEFORE%% *}" -v n="$NCPU" 'BEGIN{exit !(l > 0.5 * n)}'; then
    echo "**Warning: the machine was busy (load average $LOAD_BEFORE on $NCPU cores) — rates at $NP ranks and"
    echo "the per-step all-reduce of the training stages are the most affected; re-run on an idle machine.**"
    echo
  fi
  echo "## Targets"
  echo
  echo "| issue | target | measured | |"
  echo "|---|---|---|---|"
  echo "| 3 | CHEMPY cvode median per run ≤ 1 ms (must be ≤ 2 ms) | $(fmt "$GCE_MED") ms (p95 $(fmt "$GCE_P95"), CPU median $(fmt "$GCE_CPU")) | $(pass "$GCE_MED" "<=" 1) |"
  echo "| 4 | simulate parallel efficiency at -np $NP ≥ 0.9 | $(fmt "$EFF") ($(fmt "$R1") → $(fmt "$R2") rows/s) | $(pass "$EFF" ">=" 0.9) |"
  echo "| 4 | 750,000 cvode rows on $NP cores ≤ 15 min (projected from $SIM_N rows) | $(fmt "$PROJ_MIN") min | $(pass "$PROJ_MIN" "<=" 15) |"
  echo "| 4 | -np 4 oversubscribed: /params /abundances /status identical to -np 1 ($CHECK_N rows) | $ID14 (and -np $NP vs 1 on $SIM_N rows: $ID12) | $([ "$ID14" = identical ] && echo PASS || echo MISS) |"
  echo "| 5 | train-emulator per epoch ≥ 5× PyTorch, 1 core | $(fmt "$EMU_RATIO1")× | $(pass "$EMU_RATIO1" ">=" 5) |"
  echo "| 5 | train-emulator per epoch ≥ 5× PyTorch, $NP cores | $(fmt "$EMU_RATIO2")× | $(pass "$EMU_RATIO2" ">=" 5) |"
  echo "| 5 | emulator validation median ≤ 0.008 dex on 700k + 50k | not measured here (needs the paper-scale set; see validate) | — |"
  if [ "$NPE_CONV" = 1 ]; then
    echo "| 6 | train-npe to convergence on 1e5 simulations ≤ 60 s on $NP ranks | $(fmt "$CONV_S") s, $(fmt "$CONV_EP") epochs ($CONV_HOW) | $( [ "$CONV_HOW" = "early stopping" ] && pass "$CONV_S" "<=" 60 || echo MISS) |"
  else
    echo "| 6 | train-npe to convergence on 1e5 simulations ≤ 60 s on $NP ranks | not run (BENCH_NPE_CONVERGE=0) | — |"
  fi
  echo "| 6 | train-npe per epoch ≥ 10× PyTorch MAF, 1 core | $(fmt "$NPE_RATIO1")× | $(pass "$NPE_RATIO1" ">=" 10) |"
  echo "| 6 | train-npe per epoch ≥ 10× PyTorch MAF, $NP cores | $(fmt "$NPE_RATIO2")× | $(pass "$NPE_RATIO2" ">=" 10) |"
  echo "| 6 | posterior sampling ≥ 1e6 samples/s/core (bench_nn kernel) | $(fmt "$NN_SAMPLE_RATE") | $(pass "$NN_SAMPLE_RATE" ">=" 1e6) |"
  [ -f "$LOG/bench_sample.txt" ] && echo "| 6 | (same, through npe_sample with the trained NPE: bench_sample, 1000 samples per call) | $(fmt "$SAMPLE_RATE") | $(pass "$SAMPLE_RATE" ">=" 1e6) |"
  echo "| 6 | (same, end to end in infer at -np 1, incl. rejection and Gaussian fits) | $(fmt "$INF_SAMPLE_RATE") | $(pass "$INF_SAMPLE_RATE" ">=" 1e6) |"
  echo "| 6 | calibration \|TARP ATC\| ≤ 0.05, SBC KS p ≥ 0.05 | not measured here (validate) | — |"
  echo "| 7 | infer $STARS stars × 1000 samples ≤ 0.5 s on $NP ranks (model loaded) | $(fmt "${INF[$NP,$STARS]}") s | $(pass "${INF[$NP,$STARS]}" "<=" 0.5) |"
  echo "| 7 | infer scales linearly with stars: t($S2)/t($STARS) ≈ 2 (1.6–2.4) | $(fmt "$LIN") | $( [ -n "$LIN" ] && awk -v x="$LIN" 'BEGIN{print (x>=1.6 && x<=2.4) ? "PASS" : "MISS"}' || echo n/a) |"
  echo
  echo "## Stages at 1 and $NP ranks"
  echo
  echo "| stage | work | 1 rank | $NP ranks | speed-up | efficiency |"
  echo "|---|---|---|---|---|---|"
  eff() { [ -n "$1" ] && calc "$1 / $NP" "%.2f"; }
  s=$(SP "$R1" "$R2"); echo "| simulate, cvode | $SIM_N rows | $(fmt "$R1") rows/s | $(fmt "$R2") rows/s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SP "$D1" "$D2"); echo "| simulate, discrete 28 steps | $((DISC_N / 4)) / $DISC_N rows | $(fmt "$D1") rows/s | $(fmt "$D2") rows/s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SPT "${EMU[adam,1]}" "${EMU[adam,$NP]}"); echo "| train-emulator, adam | s per 100k rows per epoch ($(fmt "$EMU_ROWS") rows) | $(fmt "${EMU[adam,1]}") s | $(fmt "${EMU[adam,$NP]}") s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SPT "${EMU[schedulefree,1]}" "${EMU[schedulefree,$NP]}"); echo "| train-emulator, schedulefree | s per 100k rows per epoch | $(fmt "${EMU[schedulefree,1]}") s | $(fmt "${EMU[schedulefree,$NP]}") s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SPT "${NPE[1]}" "${NPE[$NP]}"); echo "| train-npe | s per epoch, 1e5 simulations | $(fmt "${NPE[1]}") s | $(fmt "${NPE[$NP]}") s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SPT "${INF[1,$STARS]}" "${INF[$NP,$STARS]}"); echo "| infer | $STARS stars × 1000 samples | $(fmt "${INF[1,$STARS]}") s | $(fmt "${INF[$NP,$STARS]}") s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  s=$(SPT "${INF[1,$S2]}" "${INF[$NP,$S2]}"); echo "| infer | $S2 stars × 1000 samples | $(fmt "${INF[1,$S2]}") s | $(fmt "${INF[$NP,$S2]}") s | $(fmt "$s") | $(fmt "$(eff "$s")") |"
  echo
  echo "Projected: 750,000 cvode rows in $(fmt "$PROJ_MIN") min on $NP cores; a 700k-row emulator epoch"
  echo "$(fmt "$( [ -n "${EMU[schedulefree,$NP]}" ] && calc "${EMU[schedulefree,$NP]} * 7" "%.2f")") s on $NP ranks (schedulefree; 20 epochs $(fmt "$( [ -n "${EMU[schedulefree,$NP]}" ] && calc "${EMU[schedulefree,$NP]} * 140" "%.0f")") s)."
  if [ -f "$RES/infer_hyperfine.csv" ]; then
    awk -F, -v st="$STARS" -v np="$NP" 'NR == 2 {printf "The whole infer command (%s stars, -np %s, MPI start-up and model load included, hyperfine): mean %.3f s, min %.3f s.\n", st, np, $(NF-6), $(NF-1)}' "$RES/infer_hyperfine.csv"
  fi
  if [ -n "$CONV_S" ]; then echo "train-npe to convergence: $CONV_S s, $CONV_EP epochs on $NP ranks ($CONV_HOW)."; fi
  echo
  echo "## Peers"
  echo
  echo "| | chempysbi | peer | peer | ratio |"
  echo "|---|---|---|---|---|"
  tail -n +2 "$RES/peers.csv" | while IFS= read -r line; do
    item=$(echo "$line" | sed 's/^"\([^"]*\)",.*/\1/')
    rest=$(echo "$line" | sed 's/^"[^"]*",//')
    a=$(echo "$rest" | cut -d, -f1) b=$(echo "$rest" | cut -d, -f2) who=$(echo "$rest" | cut -d, -f3-)
    echo "| $item | $a s | $b s | $who | $(calc "$b / $a" "%.1f")× |"
  done
  echo
  echo "Python CHEMPY figures are the reference values of /work/shared/docs/pipeline.md (0.3–0.4 s per"
  echo "28-step run, ~7 s per converged 400-step run on a 2-core machine like this one), not re-measured."
  echo "PyTorch runs \`benchmarks/torch_emulator.py\` and \`benchmarks/torch_maf.py\` with"
  echo "torch.set_num_threads(cores); both use Adam (schedule-free AdamW is not in Debian's torch), and"
  echo "chempysbi's emulator comparison uses \`-optimizer adam\` too. The MAF peer is written in plain"
  echo "PyTorch after nflows (nflows/sbi are not packaged), same layers, masks and 1520 weights."
  echo "PyTorch MAF sampling: $(fmt "${TMAFS[1]:-}") samples/s on 1 thread."
  echo
  echo "## Micro benchmarks"
  echo
  for f in bench_gce bench_nn "${OTHER_BENCH[@]}"; do
    [ -f "$LOG/$f.txt" ] || continue
    echo "\`$f\`:"
    echo
    echo '```'
    grep -v -E '^\s*$' "$LOG/$f.txt" | head -40
    echo '```'
    echo
  done
  echo "## Plots"
  echo
  echo "![scaling](scaling.png) ![peers](peers.png)"
} >"$R"
say "done in $ELAPSED s: $R"
say "load after: $(uptime)"
cat "$R"
# keep the logs and CSV, drop the large work files
rm -f "$WORK"/*.h5 "$WORK"/*.ckpt
# The SBI families side by side (issue 17), its quick variant: 100 CHEMPY test stars, small ABC
# tables, a small NRE, galaxy coverage on 4 galaxies (benchmarks/compare_sbi.sh; the full one is separate).
if [ "${BENCH_SKIP_COMPARE:-0}" != 1 ]; then
  say "compare_sbi -quick"
  OUT=$RES/compare_sbi_quick DIR=$WORK/none BIN_OVERRIDE=$CS bash "$ROOT/benchmarks/compare_sbi.sh" -quick >"$LOG/compare_sbi_quick.txt" 2>&1 ||
    say "FAILED: compare_sbi -quick; see $LOG/compare_sbi_quick.txt"
fi
