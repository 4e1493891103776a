#!/usr/bin/env bash
# Pool the galaxies of several `coverage` outputs (the same method, N and mock
# kind, different seeds) into one row: z mean and sd of each global with their
# standard errors, and the fraction inside the 95% intervals (1-D, and joint
# from the Mahalanobis distance, chi2_2 95% = 5.991). Columns as in the files:
# z_alpha_IMF, z_log10_N_Ia and mahalanobis2 are the 8th to 10th of 18.
# Usage: benchmarks/coverage_pool.sh cov_a.h5 cov_b.h5 ...
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 coverage.h5 ..." >&2; exit 2; }
for f in "$@"; do
  h5dump -d /galaxies -w 0 -y "$f" | sed -n '/DATA {/,/}/p' | grep -v '[{}]'
done | tr -d ',' | awk 'NF == 18 { za = $8; zn = $9; d2 = $10; n++; a += za; b += zn; aa += za * za; bb += zn * zn
    ia += (za > -1.96 && za < 1.96); ib += (zn > -1.96 && zn < 1.96); ij += (d2 < 5.991) }
  END { ma = a / n; mb = b / n; sa = sqrt((aa - n * ma * ma) / (n - 1)); sb = sqrt((bb - n * mb * mb) / (n - 1))
    printf "galaxies %d: z mean alpha %+.3f (+-%.3f) N_Ia %+.3f (+-%.3f); z sd alpha %.3f (+-%.3f) N_Ia %.3f (+-%.3f); 95%% inside alpha %.3f N_Ia %.3f joint %.3f\n",
      n, ma, sa / sqrt(n), mb, sb / sqrt(n), sa, sa / sqrt(2 * (n - 1)), sb, sb / sqrt(2 * (n - 1)), ia / n, ib / n, ij / n }'
