#!/usr/bin/env bash
# CPU time (user + system) of two builds on the same small jobs, alternating,
# for "speed unchanged" claims on a shared machine where wall times mean little.
# Usage: OLD=path/to/old/chempysbi NEW=bin/chempysbi DIR=models STARS=stars.csv \
#        [REPS=3] benchmarks/cpu_compare.sh   (DIR holds emulator.h5 and npe.h5)
set -euo pipefail
: "${OLD:?OLD binary}" "${NEW:=bin/chempysbi}" "${DIR:?DIR with emulator.h5, npe.h5}" "${STARS:?STARS catalogue}"
REPS=${REPS:-3}; T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for rep in $(seq "$REPS"); do
  for b in OLD NEW; do
    bin=${!b}
    /usr/bin/time -f "$b train-npe %U %S" "$bin" train-npe -emulator "$DIR/emulator.h5" -n 100000 -max_epochs 2 \
      -patience 100 -seed "$rep" -out "$T/npe_$b.h5" -force > /dev/null 2>> "$T/times"
    /usr/bin/time -f "$b infer-gauss %U %S" "$bin" infer -npe "$DIR/npe.h5" -emulator "$DIR/emulator.h5" \
      -stars "$STARS" -method gauss -plots 0 -out "$T/inf_$b.h5" -force > /dev/null 2>> "$T/times"
  done
done
grep -E '^(OLD|NEW) ' "$T/times" | awk '{ k = $1 " " $2; t = $3 + $4; s[k] += t; q[k] += t * t; n[k]++ }
  END { for (k in s) { m = s[k] / n[k]; printf "%-16s %.2f s CPU (mean of %d, sd %.2f)\n", k, m, n[k], sqrt(q[k] / n[k] - m * m) } }' | sort
