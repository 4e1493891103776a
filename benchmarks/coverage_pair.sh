#!/usr/bin/env bash
# Compare two methods on the same galaxies: two `coverage` outputs made with
# the same -seed, -n_stars and -mock (so the same truths and the same stars),
# different -method. Galaxy g of one file is paired with galaxy g of the other
# (checked: the truths must agree). The data noise cancels in the difference,
# so what is left is the methods' disagreement plus their Monte-Carlo noise:
# per global, the mean and sd of delta = (mean_a - mean_b) / sd_b in units of
# b's posterior sd, and the ratio sd_a / sd_b. Galaxies that only one file has
# (an unfinished run, or a checkpoint) are skipped.
# Usage: benchmarks/coverage_pair.sh a.h5[.ckpt] b.h5[.ckpt]
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 a.h5 b.h5 (same seed, N and mock; different methods)" >&2; exit 2; }
rows() { h5dump -d /galaxies -w 0 -y "$1" | sed -n '/DATA {/,/}/p' | grep -v '[{}]' | tr -d ','; }
awk 'FNR == 1 { f++ } NF == 18 { k = f FS FNR; for (c = 1; c <= 6; c++) v[k, c] = $c; n[f] = FNR }
  END {
    m = n[1] < n[2] ? n[1] : n[2]
    for (g = 1; g <= m; g++) {
      a = 1 FS g; b = 2 FS g
      if (v[a, 1] == "" || v[b, 1] == "") continue
      if (v[a, 1] - v[b, 1] > 1e-9 || v[b, 1] - v[a, 1] > 1e-9 || v[a, 2] - v[b, 2] > 1e-9 || v[b, 2] - v[a, 2] > 1e-9) {
        printf "galaxy %d: the truths differ (%s, %s) vs (%s, %s): not the same galaxies (same -seed?)\n", g, v[a, 1], v[a, 2], v[b, 1], v[b, 2] > "/dev/stderr"
        bad = 1; exit 1
      }
      for (p = 0; p < 2; p++) {
        d = (v[a, 3 + p] - v[b, 3 + p]) / v[b, 5 + p]; r = v[a, 5 + p] / v[b, 5 + p]
        s[p] += d; ss[p] += d * d; sr[p] += r
      }
      np++
    }
    if (bad) exit 1
    if (np < 2) { print "fewer than 2 paired galaxies" > "/dev/stderr"; exit 1 }
    for (p = 0; p < 2; p++) {
      md = s[p] / np; sd = sqrt((ss[p] - np * md * md) / (np - 1))
      printf "%s: %d paired galaxies, (mean_a - mean_b) / sd_b: mean %+.3f (+-%.3f), sd %.3f; sd_a / sd_b mean %.3f\n",
        p ? "log10_N_Ia" : "alpha_IMF", np, md, sd / sqrt(np), sd, sr[p] / np
    }
  }' <(rows "$1") <(rows "$2")
