# Helpers for CLI tests: run chempysbi, report PASS/FAIL lines for tests/run.sh.
BIN=${BIN:-bin/chempysbi}
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
check() { # name command...: passes when the command succeeds
  local name=$1; shift
  if "$@" > "$TMP/last.out" 2>&1; then echo "PASS $name"; else echo "FAIL $name"; sed 's/^/    /' "$TMP/last.out" | tail -8; fi
}
check_fails() { # name pattern command...: passes when the command fails and its output matches pattern
  local name=$1 pat=$2; shift 2
  if "$@" > "$TMP/last.out" 2>&1; then echo "FAIL $name: exited 0"; sed 's/^/    /' "$TMP/last.out" | tail -5
  elif grep -q -- "$pat" "$TMP/last.out"; then echo "PASS $name"
  else echo "FAIL $name: message lacks '$pat'"; sed 's/^/    /' "$TMP/last.out" | tail -5; fi
}
wait_gone() { # after kill -9 of mpirun: its ranks (own process groups) exit when they notice; wait for them
  for i in $(seq 1 100); do pgrep -f -- "$TMP/" > /dev/null || return 0; sleep 0.1; done
}
small_models() { # SEED: a small training set, emulator (5 epochs) and NPE in $TMP, as the later stages' fixture
  local S="$BIN simulate -prior wide -scheme discrete -progress_every 100"
  $MPIRUN -np 2 $S -n 4000 -seed "$1" -out $TMP/tr.h5 > /dev/null 2>&1
  $MPIRUN -np 2 $S -n 1000 -seed $(($1 + 1)) -out $TMP/va.h5 > /dev/null 2>&1
  $MPIRUN -np 2 $BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -epochs 5 -out $TMP/emu.h5 > /dev/null 2>&1
  $MPIRUN -np 2 $BIN train-npe -emulator $TMP/emu.h5 -n 20000 -max_epochs 10 -transforms 4 -hidden_features 8 -out $TMP/npe.h5 # small and fast: a fixture
}
