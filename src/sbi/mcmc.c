/* MCMC diagnostics (mcmc.h). Sizes are small (a few chains of a few thousand
 * draws), so autocovariances are direct sums and ranks a plain sort. */
#include <chempysbi/mcmc.h>
#include <math.h>
#include <stdlib.h>

double mcmc_norm_quantile(double p)
{
  /* Acklam's rational approximation, then one Halley step on erfc. */
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double q, r, x;
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  if (p < 0.02425) {
    q = sqrt(-2 * log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    q = sqrt(-2 * log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  double e = 0.5 * erfc(-x / sqrt(2)) - p, u = e * sqrt(2 * M_PI) * exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

/* Split each chain in two halves: (2 chains, n / 2). */
static void split(const double *in, int chains, int n, double *out)
{
  int h = n / 2;
  for (int c = 0; c < chains; c++)
    for (int t = 0; t < h; t++) {
      out[(2 * c) * h + t] = in[c * n + t];
      out[(2 * c + 1) * h + t] = in[c * n + n - h + t];
    }
}

static double rhat_plain(const double *x, int m, int n)
{
  double mean = 0, B = 0, W = 0;
  for (int c = 0; c < m; c++) {
    double mc = 0, v = 0;
    for (int t = 0; t < n; t++) mc += x[c * n + t];
    mc /= n;
    for (int t = 0; t < n; t++) v += (x[c * n + t] - mc) * (x[c * n + t] - mc);
    W += v / (n - 1);
    mean += mc;
    B += mc * mc;
  }
  mean /= m, W /= m;
  B = n * (B / m - mean * mean) * m / (m - 1);
  double vp = (n - 1.0) / n * W + B / n;
  return W > 0 ? sqrt(vp / W) : NAN;
}

static double ess_plain(const double *x, int m, int n)
{
  double *rho, W = 0, B = 0, mean = 0, *mc;
  int maxlag = n - 1;
  rho = calloc((size_t)n, sizeof(double));
  mc = calloc((size_t)m, sizeof(double));
  if (!rho || !mc) return NAN;
  for (int c = 0; c < m; c++) {
    for (int t = 0; t < n; t++) mc[c] += x[c * n + t];
    mc[c] /= n;
    mean += mc[c];
  }
  mean /= m;
  for (int c = 0; c < m; c++) B += (mc[c] - mean) * (mc[c] - mean);
  B = B * n / (m > 1 ? m - 1 : 1);
  /* Mean over chains of the biased autocovariance at each lag. */
  for (int lag = 0; lag <= maxlag; lag++) {
    double s = 0;
    for (int c = 0; c < m; c++) {
      const double *y = x + (size_t)c * n;
      double a = 0;
      for (int t = 0; t + lag < n; t++) a += (y[t] - mc[c]) * (y[t + lag] - mc[c]);
      s += a / n;
    }
    rho[lag] = s / m;
  }
  W = rho[0] * n / (n - 1.0);
  double vp = (n - 1.0) / n * W + (m > 1 ? B / n : 0);
  double tau = 0, prev = INFINITY;
  if (vp <= 0) {
    free(rho), free(mc);
    return NAN;
  }
  for (int k = 0; 2 * k + 1 <= maxlag; k++) {
    double r0 = 1 - (W - rho[2 * k]) / vp, r1 = 1 - (W - rho[2 * k + 1]) / vp, P = r0 + r1;
    if (P <= 0) break;
    if (P > prev) P = prev; /* initial monotone sequence */
    tau += P, prev = P;
  }
  tau = -1 + 2 * tau;
  free(rho), free(mc);
  return (double)m * n / fmax(tau, 1.0 / log10((double)m * n));
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const double *sort_base;
static int by_value(const void *a, const void *b)
{
  double x = sort_base[*(const int *)a], y = sort_base[*(const int *)b];
  return x < y ? -1 : x > y;
}

/* z-scores of the pooled ranks (ties averaged), (r - 3/8) / (S + 1/4). */
static void rank_normalise(const double *x, int S, double *z)
{
  int *idx = malloc((size_t)S * sizeof(int));
  for (int i = 0; i < S; i++) idx[i] = i;
  sort_base = x;
  qsort(idx, (size_t)S, sizeof(int), by_value);
  for (int i = 0; i < S;) {
    int j = i;
    while (j + 1 < S && x[idx[j + 1]] == x[idx[i]]) j++;
    double r = 0.5 * (i + j) + 1;
    for (int k = i; k <= j; k++) z[idx[k]] = mcmc_norm_quantile((r - 0.375) / (S + 0.25));
    i = j + 1;
  }
  free(idx);
}

double mcmc_rhat(const double *draws, int chains, int n)
{
  int S = chains * n, h = n / 2;
  double *sp = malloc(sizeof(double) * 2 * S), *z = sp + S, med, r1, r2;
  split(draws, chains, n, sp);
  rank_normalise(sp, 2 * chains * h, z);
  r1 = rhat_plain(z, 2 * chains, h);
  /* folded: |x - median| */
  int m = 2 * chains * h;
  for (int i = 0; i < m; i++) z[i] = sp[i];
  qsort(z, (size_t)m, sizeof(double), cmp_double);
  med = m % 2 ? z[m / 2] : 0.5 * (z[m / 2 - 1] + z[m / 2]);
  double *fold = malloc(sizeof(double) * m);
  for (int i = 0; i < m; i++) fold[i] = fabs(sp[i] - med);
  rank_normalise(fold, m, z);
  free(fold);
  r2 = rhat_plain(z, 2 * chains, h);
  free(sp);
  return fmax(r1, r2);
}

double mcmc_ess_bulk(const double *draws, int chains, int n)
{
  int h = n / 2, S = 2 * chains * h;
  double *sp = malloc(sizeof(double) * 2 * S), *z = sp + S;
  split(draws, chains, n, sp);
  rank_normalise(sp, S, z);
  double e = ess_plain(z, 2 * chains, h);
  free(sp);
  return e;
}

double mcmc_ess_raw(const double *draws, int chains, int n) { return ess_plain(draws, chains, n); }
