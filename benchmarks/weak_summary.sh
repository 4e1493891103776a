#!/usr/bin/env bash
# The weak-scaling target read off benchmarks/quiet_window.sh's logs: for each training and
# repetition, the 1-rank run's rate and final validation error against the 2-rank run's (with and
# without -grad_overlap): throughput ratio, the first epoch at which the 2-rank run is as accurate
# (emulator: median |error| within 5%; NPE: validation NLL within 0.02 nats) and the wall time it
# took to get there (its epochs' seconds plus the run's fixed part) against the 1-rank run's total.
#
#   bash benchmarks/weak_summary.sh [QW_OUT]      (default benchmarks/results)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/benchmarks/results}
RES=$OUT/quiet_window.txt
[ -f "$RES" ] || { echo "weak_summary: $RES missing: run benchmarks/quiet_window.sh" >&2; exit 1; }
echo "| training | rep | 1 rank: rows/s | 2 ranks: rows/s | ratio | 1 rank: final error, wall | 2 ranks: epochs to it, wall then | same error in no more time |"
echo "|---|---|---|---|---|---|---|---|"
for m in emulator npe; do
  col=$([ $m = emulator ] && echo 8 || echo 6)
  for variant in tput tput_overlap; do
    for rep in 1 2 3; do
      l1=$OUT/logs/qw-train_${m}_tput-1-$rep.log l2=$OUT/logs/qw-train_${m}_$variant-2-$rep.log
      [ -f "$l1" ] && [ -f "$l2" ] || continue
      s1=$(grep "^STAGE train_${m}_tput ranks=1 .* rep=$rep\$" "$RES") s2=$(grep "^STAGE train_${m}_$variant ranks=2 .* rep=$rep\$" "$RES")
      [ -n "$s1" ] && [ -n "$s2" ] || continue
      kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< "$2"; }
      awk -v m=$m -v v=$variant -v rep=$rep -v col=$col -v r1="$(kv rate "$s1")" -v r2="$(kv rate "$s2")" \
        -v w1="$(kv wall_s "$s1")" -v w2="$(kv wall_s "$s2")" -v t2="$(kv train_s "$s2")" '
        FNR == 1 { f++ }
        /^epoch / { for (i = 1; i <= NF; i++) if ($(i + 1) == "s" && $(i + 2) ~ /^\(/) sec = $i
                    if (f == 1) last = $col; else { n++; val[n] = $col; cum[n] = cum[n - 1] + sec } }
        END {
          hit = 0
          for (e = 1; e <= n; e++) if (!hit && (m == "emulator" ? val[e] <= 1.05 * last : val[e] <= last + 0.02)) hit = e
          fixed = w2 - t2 # start-up, loading, the final report: paid once
          printf "| %s%s | %d | %d | %d | %.2f | %s, %.1f s | %s | %s |\n", m, v == "tput" ? "" : " -grad_overlap", rep, r1, r2, r2 / r1,
            last, w1, hit ? sprintf("%d, %.1f s", hit, cum[hit] + fixed) : "not reached", hit && cum[hit] + fixed <= w1 ? "yes" : "no"
        }' "$l1" "$l2"
    done
  done
done
