# gauss_product.sh FILE.h5 L: the paper's combination (Eqs. 5-9) of the per-star posteriors in
# FILE's /samples table (stars x L rows, six parameters), written out independently of
# src/sbi/combine.c: a Gaussian fitted to each star's two globals, the precisions summed, the prior
# N(-2.3, 0.3^2) x N(-2.89, 0.3^2) divided out N - 1 times. Prints "mean_alpha sd mean_NIa sd".
h5dump -d samples -y -w 0 -m '%.17g' "$1" | sed -n '/DATA {/,/}/p' | tr -d ',' | awk -v L="$2" '
{ for (i = 1; i <= NF; i++) if ($i ~ /^-?[0-9]/) v[n++] = $i }
END {
  ns = n / 6 / L
  for (s = 0; s < ns; s++) {
    ma = mb = 0
    for (l = 0; l < L; l++) { a[l] = v[(s * L + l) * 6]; b[l] = v[(s * L + l) * 6 + 1]; ma += a[l] / L; mb += b[l] / L }
    saa = sab = sbb = 0
    for (l = 0; l < L; l++) { saa += (a[l] - ma)^2 / (L - 1); sab += (a[l] - ma) * (b[l] - mb) / (L - 1); sbb += (b[l] - mb)^2 / (L - 1) }
    d = saa * sbb - sab^2; p00 = sbb / d; p01 = -sab / d; p11 = saa / d
    P00 += p00; P01 += p01; P11 += p11; H0 += p00 * ma + p01 * mb; H1 += p01 * ma + p11 * mb
  }
  q = 1 / 0.09; P00 -= (ns - 1) * q; P11 -= (ns - 1) * q; H0 -= (ns - 1) * q * -2.3; H1 -= (ns - 1) * q * -2.89
  d = P00 * P11 - P01^2; c00 = P11 / d; c01 = -P01 / d; c11 = P00 / d
  printf "%.5f %.5f %.5f %.5f\n", c00 * H0 + c01 * H1, sqrt(c00), c01 * H0 + c11 * H1, sqrt(c11)
}'
