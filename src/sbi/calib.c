/* SBC ranks, TARP coverage and the KS test against U(0,1), plus the APE
 * summary of posterior means. Serial kernels: the caller gathers samples and
 * truths of all test cases first (the statistics need every case). */
#include <chempysbi/calib.h>
#include <chempysbi/rng.h>
#include <math.h>
#include <stdlib.h>

double calib_kolmogorov_q(double lambda)
{
  if (!(lambda > 0)) return 1.0;
  /* Two series for the same function; each converges in a few terms on its
   * side of ~1.18, where the other would need many. */
  if (lambda < 1.18) {
    double s = 0, a = M_PI * M_PI / (8 * lambda * lambda);
    for (int j = 1; j <= 20; j++) {
      double t = exp(-(2 * j - 1) * (2 * j - 1) * a);
      s += t;
      if (t < 1e-17 * s) break;
    }
    return 1.0 - sqrt(2 * M_PI) / lambda * s;
  }
  double s = 0, sign = 1;
  for (int j = 1; j <= 100; j++, sign = -sign) {
    double t = exp(-2.0 * j * j * lambda * lambda);
    s += sign * t;
    if (t < 1e-17) break;
  }
  return PetscMin(1.0, PetscMax(0.0, 2 * s));
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

PetscErrorCode calib_ks_uniform(const double *values, PetscInt n, double *D, double *p)
{
  double *x, d = 0, sn;
  PetscFunctionBeginUser;
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "KS test needs at least one value");
  PetscCall(PetscMalloc1(n, &x));
  for (PetscInt i = 0; i < n; i++) {
    PetscCheck(values[i] >= 0 && values[i] <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "KS test against U(0,1): value %" PetscInt_FMT " is %g, outside [0, 1]", i, values[i]);
    x[i] = values[i];
  }
  qsort(x, (size_t)n, sizeof(double), cmp_double);
  /* The empirical CDF jumps at each order statistic: check both sides of the step. */
  for (PetscInt i = 0; i < n; i++) d = PetscMax(d, PetscMax((double)(i + 1) / n - x[i], x[i] - (double)i / n));
  PetscCall(PetscFree(x));
  sn = sqrt((double)n);
  if (D) *D = d;
  if (p) *p = calib_kolmogorov_q((sn + 0.12 + 0.11 / sn) * d);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void calib_sbc_ranks(PetscInt L, PetscInt D, const double *samples, const double *truth, PetscInt *rank)
{
  for (PetscInt d = 0; d < D; d++) rank[d] = 0;
  for (PetscInt l = 0; l < L; l++)
    for (PetscInt d = 0; d < D; d++) rank[d] += samples[l * D + d] < truth[d];
}

PetscErrorCode calib_sbc_ks(PetscInt nsim, PetscInt L, const PetscInt *ranks, PetscInt stride, double *D, double *p)
{
  double *u;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nsim, &u));
  for (PetscInt s = 0; s < nsim; s++) {
    PetscInt r = ranks[s * stride];
    PetscCheck(r >= 0 && r <= L, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "SBC rank %" PetscInt_FMT " of case %" PetscInt_FMT " is outside [0, %" PetscInt_FMT "]", r, s, L);
    u[s] = ((double)r + 0.5) / (double)(L + 1);
  }
  PetscCall(calib_ks_uniform(u, nsim, D, p));
  PetscCall(PetscFree(u));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode calib_tarp_f(PetscInt nsim, PetscInt nsamples, PetscInt D, const double *samples, const double *truths,
                            const double *lo, const double *hi, uint64_t seed, double *f)
{
  double *off, *scale, *ref, *t;
  PetscFunctionBeginUser;
  PetscCheck(nsim > 0 && nsamples > 0 && D > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "TARP needs simulations, samples and dimensions (got %" PetscInt_FMT ", %" PetscInt_FMT ", %" PetscInt_FMT
             ")",
             nsim, nsamples, D);
  PetscCheck((lo == NULL) == (hi == NULL), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "TARP box: give both lo and hi, or neither");
  PetscCall(PetscMalloc4(D, &off, D, &scale, D, &ref, D, &t));
  for (PetscInt d = 0; d < D; d++) {
    if (lo) {
      PetscCheck(hi[d] > lo[d], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
                 "TARP box: dimension %" PetscInt_FMT " has hi %g <= lo %g", d, hi[d], lo[d]);
      off[d] = lo[d];
      scale[d] = hi[d] - lo[d];
    } else {
      double mn = INFINITY, mx = -INFINITY;
      for (PetscInt s = 0; s < nsim; s++) {
        mn = PetscMin(mn, truths[s * D + d]);
        mx = PetscMax(mx, truths[s * D + d]);
      }
      off[d] = mn;
      scale[d] = mx - mn + 1e-10; /* the packages' guard against a constant parameter */
    }
  }
  for (PetscInt s = 0; s < nsim; s++) {
    Rng rng;
    double dt = 0;
    PetscInt closer = 0;
    rng_init(&rng, seed, RNG_VALIDATE, CALIB_TARP_INDEX | (uint64_t)s);
    for (PetscInt d = 0; d < D; d++) {
      ref[d] = rng_uniform(&rng);
      t[d] = (truths[s * D + d] - off[d]) / scale[d];
      dt += (t[d] - ref[d]) * (t[d] - ref[d]);
    }
    const double *x = samples + (size_t)s * nsamples * D;
    for (PetscInt l = 0; l < nsamples; l++) {
      double ds = 0;
      for (PetscInt d = 0; d < D; d++) {
        double z = (x[l * D + d] - off[d]) / scale[d] - ref[d];
        ds += z * z;
      }
      closer += ds < dt;
    }
    f[s] = (double)closer / (double)nsamples;
  }
  PetscCall(PetscFree4(off, scale, ref, t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode calib_tarp(PetscInt nsim, PetscInt nsamples, PetscInt D, const double *samples, const double *truths,
                          const double *lo, const double *hi, uint64_t seed, PetscInt nalpha, double *ecp,
                          double *alpha, double *atc, double *ks_p)
{
  double *f, sum = 0;
  PetscFunctionBeginUser;
  PetscCheck(nalpha >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "TARP needs at least 2 credibility levels, got %" PetscInt_FMT, nalpha);
  PetscCall(PetscMalloc1(nsim, &f));
  PetscCall(calib_tarp_f(nsim, nsamples, D, samples, truths, lo, hi, seed, f));
  for (PetscInt k = 0; k < nalpha; k++) {
    double a = (double)k / (double)(nalpha - 1), e;
    PetscInt c = 0;
    if (k == nalpha - 1)
      c = nsim; /* the last histogram bin is closed: f <= 1 always */
    else
      for (PetscInt s = 0; s < nsim; s++) c += f[s] < a;
    e = (double)c / (double)nsim;
    if (alpha) alpha[k] = a;
    if (ecp) ecp[k] = e;
    if (k >= nalpha / 2) sum += e - a;
  }
  if (atc) *atc = sum;
  if (ks_p) PetscCall(calib_ks_uniform(f, nsim, NULL, ks_p));
  PetscCall(PetscFree(f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode calib_quantiles(PetscInt n, const double *x, PetscInt nq, const double *q, double *out)
{
  double *y;
  PetscInt m = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(n, 1), &y));
  for (PetscInt i = 0; i < n; i++)
    if (isfinite(x[i])) y[m++] = x[i];
  qsort(y, (size_t)m, sizeof(double), cmp_double);
  for (PetscInt j = 0; j < nq; j++) {
    PetscCheck(q[j] >= 0 && q[j] <= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "quantile %g outside [0, 1]", q[j]);
    if (m == 0) {
      out[j] = NAN;
      continue;
    }
    double h = q[j] * (double)(m - 1);
    PetscInt i = (PetscInt)floor(h);
    out[j] = i + 1 < m ? y[i] + (h - (double)i) * (y[i + 1] - y[i]) : y[m - 1];
  }
  PetscCall(PetscFree(y));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode calib_ape(PetscInt n, PetscInt D, const double *mean, const double *truth, double *q25, double *median,
                         double *q75, double all[3])
{
  const double q[3] = {0.25, 0.5, 0.75};
  double *ape, *col, r[3];
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(PetscMax(n * D, 1), &ape, PetscMax(n, 1), &col));
  for (PetscInt i = 0; i < n * D; i++) ape[i] = fabs(mean[i] - truth[i]) / fabs(truth[i]) * 100.0;
  for (PetscInt d = 0; d < D; d++) {
    for (PetscInt i = 0; i < n; i++) col[i] = ape[i * D + d];
    PetscCall(calib_quantiles(n, col, 3, q, r));
    if (q25) q25[d] = r[0];
    if (median) median[d] = r[1];
    if (q75) q75[d] = r[2];
  }
  if (all) PetscCall(calib_quantiles(n * D, ape, 3, q, all));
  PetscCall(PetscFree2(ape, col));
  PetscFunctionReturn(PETSC_SUCCESS);
}
