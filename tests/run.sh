#!/usr/bin/env bash
# Runs every test: cmocka unit programs (bin/tests/test_*), MPI programs
# (bin/tests/mpi_*) at 1, 2 and 3 ranks, and CLI scripts (tests/cli/*.sh).
# Ends with one line "N passed, N failed" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
export CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd .. && pwd)/shared/chempy-data}
export CHEMPYSBI_REF=${CHEMPYSBI_REF:-$(cd .. && pwd)/shared/reference}
export CMOCKA_MESSAGE_OUTPUT=stdout
export OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
export MPIRUN
LOG=${TEST_LOG:-output/test.log}
mkdir -p output; : > "$LOG"
pass=0; fail=0; failed=()
only=${TEST_ONLY:-}

record() { # name status
  if [ "$2" = 0 ]; then pass=$((pass + 1)); printf '  ok    %s\n' "$1"
  else fail=$((fail + 1)); failed+=("$1"); printf '  FAIL  %s\n' "$1"; fi
}

for t in bin/tests/test_*; do
  [ -x "$t" ] || continue
  [ -n "$only" ] && [[ "$t" != *$only* ]] && continue
  name=$(basename "$t")
  out=$(timeout 600 "$t" 2>&1); rc=$?
  printf '### %s (rc=%d)\n%s\n' "$name" "$rc" "$out" >> "$LOG"
  np=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
  nf=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -1)
  np=${np:-0}; nf=${nf:-0}
  [ "$rc" != 0 ] && [ "$nf" = 0 ] && nf=1  # crashed or failed outside cmocka
  pass=$((pass + np)); fail=$((fail + nf))
  if [ "$nf" != 0 ]; then failed+=("$name"); printf '  FAIL  %s (%s passed, %s failed)\n' "$name" "$np" "$nf"
    grep -E '^\[  (FAILED|ERROR) \]|error|differ' <<<"$out" | head -20 | sed 's/^/        /'
  else printf '  ok    %s (%s cases)\n' "$name" "$np"; fi
done

for t in bin/tests/mpi_*; do
  [ -x "$t" ] || continue
  [ -n "$only" ] && [[ "$t" != *$only* ]] && continue
  for np in 1 2 3; do
    out=$(timeout 600 $MPIRUN -np $np "$t" 2>&1); rc=$?
    printf '### %s np=%d (rc=%d)\n%s\n' "$(basename "$t")" "$np" "$rc" "$out" >> "$LOG"
    record "$(basename "$t") -np $np" $rc
    [ $rc != 0 ] && tail -5 <<<"$out" | sed 's/^/        /'
  done
done

# CLI scripts print "PASS name" / "FAIL name: why" lines.
for t in tests/cli/test_*.sh tests/slurm/test_*.sh; do
  [ -f "$t" ] || continue
  [ -n "$only" ] && [[ "$t" != *$only* ]] && continue
  out=$(timeout 900 bash "$t" 2>&1); rc=$?
  printf '### %s (rc=%d)\n%s\n' "$t" "$rc" "$out" >> "$LOG"
  while read -r line; do
    case "$line" in
      PASS\ *) record "${line#PASS }" 0 ;;
      FAIL\ *) record "${line#FAIL }" 1 ;;
    esac
  done <<<"$out"
  if [ $rc != 0 ] && ! grep -q '^FAIL ' <<<"$out"; then record "$t (exit $rc)" 1; tail -5 <<<"$out" | sed 's/^/        /'; fi
done

echo "full log: $LOG"
[ $fail -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
