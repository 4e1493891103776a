/* Per-star posterior Gaussians and their product divided by the prior^(N-1)
 * (pipeline.md section 3). No MPI here: the accumulator is a flat array of sums
 * that the caller all-reduces, so the answer does not depend on the ranks. */
#include <chempysbi/combine.h>
#include <math.h>

PetscErrorCode combine_fit(PetscInt n, const double *samples, CombineStar *g)
{
  double m[CS_NPARAM] = {0}, s[CS_NPARAM] = {0}, c01 = 0;
  PetscFunctionBeginUser;
  PetscCheck(n >= 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "Gaussian fit needs at least 2 posterior samples, got %" PetscInt_FMT, n);
  for (PetscInt i = 0; i < n; i++)
    for (int p = 0; p < CS_NPARAM; p++) {
      double v = samples[i * CS_NPARAM + p];
      PetscCheck(isfinite(v), PETSC_COMM_SELF, PETSC_ERR_FP,
                 "posterior sample %" PetscInt_FMT ", parameter %s is not finite", i, cs_param_names[p]);
      m[p] += v;
    }
  for (int p = 0; p < CS_NPARAM; p++) m[p] /= (double)n;
  /* Two passes (mean, then deviations): a one-pass sum of squares loses the
   * ~1e-3 posterior widths against means of ~2 in cancellation. */
  for (PetscInt i = 0; i < n; i++) {
    const double *x = samples + i * CS_NPARAM;
    for (int p = 0; p < CS_NPARAM; p++) s[p] += (x[p] - m[p]) * (x[p] - m[p]);
    c01 += (x[0] - m[0]) * (x[1] - m[1]);
  }
  for (int p = 0; p < CS_NPARAM; p++) {
    g->mean[p] = m[p];
    g->sd[p] = sqrt(s[p] / (double)(n - 1));
  }
  g->mu2[0] = m[0];
  g->mu2[1] = m[1];
  g->S2[0] = s[0] / (double)(n - 1);
  g->S2[1] = g->S2[2] = c01 / (double)(n - 1);
  g->S2[3] = s[1] / (double)(n - 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Symmetric 2x2 {a, b; b, c} positive definite: a > 0 and det > 0 (then c > 0). */
static PetscBool sym2_pd(double a, double b, double c)
{
  return (isfinite(a) && isfinite(b) && isfinite(c) && a > 0 && a * c - b * b > 0) ? PETSC_TRUE : PETSC_FALSE;
}

/* Inverse of the symmetric 2x2 {a, b; b, c} as its 3 unique entries. */
static void sym2_inv(double a, double b, double c, double inv[3])
{
  double det = a * c - b * b;
  inv[0] = c / det;
  inv[1] = -b / det;
  inv[2] = a / det;
}

void combine_acc_zero(double acc[COMBINE_NACC])
{
  for (int k = 0; k < COMBINE_NACC; k++) acc[k] = 0.0;
}

PetscBool combine_accumulate(double acc[COMBINE_NACC], const double mu2[2], const double S2[4])
{
  /* Average the off-diagonals so a matrix that is symmetric only to rounding
   * is treated as the symmetric matrix it stands for. */
  double a = S2[0], b = 0.5 * (S2[1] + S2[2]), c = S2[3], P[3];
  if (!sym2_pd(a, b, c) || !isfinite(mu2[0]) || !isfinite(mu2[1])) return PETSC_FALSE;
  sym2_inv(a, b, c, P);
  acc[COMBINE_P00] += P[0];
  acc[COMBINE_P01] += P[1];
  acc[COMBINE_P11] += P[2];
  acc[COMBINE_H0] += P[0] * mu2[0] + P[1] * mu2[1];
  acc[COMBINE_H1] += P[1] * mu2[0] + P[2] * mu2[1];
  /* The paper's 1-D form uses each global's marginal variance alone. */
  acc[COMBINE_W0] += 1.0 / a;
  acc[COMBINE_W1] += 1.0 / c;
  acc[COMBINE_WM0] += mu2[0] / a;
  acc[COMBINE_WM1] += mu2[1] / c;
  acc[COMBINE_N] += 1.0;
  return PETSC_TRUE;
}

void combine_finish(const double acc[COMBINE_NACC], const double prior_mu[2], const double prior_S[4], CombineResult *r)
{
  double m = acc[COMBINE_N] - 1.0, P0[3] = {NAN, NAN, NAN};
  double a0 = prior_S[0], b0 = 0.5 * (prior_S[1] + prior_S[2]), c0 = prior_S[3];
  r->n = acc[COMBINE_N];
  r->pd = PETSC_FALSE;
  r->mean[0] = r->mean[1] = r->sd[0] = r->sd[1] = r->corr = NAN;
  for (int k = 0; k < 4; k++) r->cov[k] = NAN;
  for (int k = 0; k < 2; k++) {
    r->pd1[k] = PETSC_FALSE;
    r->mean1[k] = r->sd1[k] = NAN;
  }

  /* 2x2 form: P = sum P_i - (N-1) P0, P mu = sum P_i mu_i - (N-1) P0 mu0. */
  if (sym2_pd(a0, b0, c0)) sym2_inv(a0, b0, c0, P0);
  double pa = acc[COMBINE_P00] - m * P0[0], pb = acc[COMBINE_P01] - m * P0[1], pc = acc[COMBINE_P11] - m * P0[2];
  double h0 = acc[COMBINE_H0] - m * (P0[0] * prior_mu[0] + P0[1] * prior_mu[1]);
  double h1 = acc[COMBINE_H1] - m * (P0[1] * prior_mu[0] + P0[2] * prior_mu[1]);
  if (sym2_pd(pa, pb, pc)) {
    double C[3];
    sym2_inv(pa, pb, pc, C);
    r->pd = PETSC_TRUE;
    r->cov[0] = C[0];
    r->cov[1] = r->cov[2] = C[1];
    r->cov[3] = C[2];
    r->mean[0] = C[0] * h0 + C[1] * h1;
    r->mean[1] = C[1] * h0 + C[2] * h1;
    r->sd[0] = sqrt(C[0]);
    r->sd[1] = sqrt(C[2]);
    r->corr = C[1] / (r->sd[0] * r->sd[1]);
  }

  /* 1-D form, paper Eqs. 8-9. */
  for (int k = 0; k < 2; k++) {
    double s02 = prior_S[3 * k]; /* diagonal entry k */
    double w = acc[COMBINE_W0 + k] - m / s02;
    double wm = acc[COMBINE_WM0 + k] - m * prior_mu[k] / s02;
    if (s02 > 0 && isfinite(w) && w > 0) {
      r->pd1[k] = PETSC_TRUE;
      r->sd1[k] = 1.0 / sqrt(w);
      r->mean1[k] = wm / w;
    }
  }
}

void combine_running(PetscInt n, const double *mu2, const double *S2, const double prior_mu[2], const double prior_S[4],
                     CombineResult *out, PetscInt *nrejected)
{
  double acc[COMBINE_NACC];
  PetscInt bad = 0;
  combine_acc_zero(acc);
  for (PetscInt i = 0; i < n; i++) {
    if (!combine_accumulate(acc, mu2 + 2 * i, S2 + 4 * i)) bad++;
    combine_finish(acc, prior_mu, prior_S, &out[i]);
  }
  if (nrejected) *nrejected = bad;
}
