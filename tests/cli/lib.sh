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
