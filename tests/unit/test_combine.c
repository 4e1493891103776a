/* Multi-star combination against values worked out independently here: the
 * 2x2 form by explicit inversion formulas, the 1-D form by Eqs. 8-9 by hand,
 * and the Gaussian fit against samples from a known Gaussian. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <chempysbi/combine.h>
#include <chempysbi/rng.h>

static const double mu0[2] = {-2.3, -2.89};
static const double S0[4] = {0.09, 0.0, 0.0, 0.09}; /* the NPE prior, sd 0.3 each */

/* Three stars with correlated posteriors. */
static const double mus[3][2] = {{-2.25, -2.95}, {-2.40, -2.80}, {-2.31, -2.88}};
static const double Ss[3][4] = {{0.04, 0.01, 0.01, 0.0625}, {0.02, -0.005, -0.005, 0.03}, {0.01, 0.002, 0.002, 0.02}};

static void check_close(const char *what, double got, double want, double tol)
{
  if (!(fabs(got - want) <= tol))
    fail_msg("%s: got %.17g, want %.17g (diff %.3g > tol %.3g)", what, got, want, fabs(got - want), tol);
}

static void test_three_stars_2x2_and_1d(void **state)
{
  double acc[COMBINE_NACC];
  CombineResult r;
  combine_acc_zero(acc);
  for (int i = 0; i < 3; i++) assert_true(combine_accumulate(acc, mus[i], Ss[i]));
  combine_finish(acc, mu0, S0, &r);
  assert_true(r.pd);
  assert_true(r.n == 3);

  /* Expected, written out: P_i = [d -b; -b a] / (a d - b^2). */
  double Pa = 0, Pb = 0, Pd = 0, h0 = 0, h1 = 0;
  for (int i = 0; i < 3; i++) {
    double a = Ss[i][0], b = Ss[i][1], d = Ss[i][3], det = a * d - b * b;
    Pa += d / det;
    Pb += -b / det;
    Pd += a / det;
    h0 += (d * mus[i][0] - b * mus[i][1]) / det;
    h1 += (-b * mus[i][0] + a * mus[i][1]) / det;
  }
  /* Minus (N-1) = 2 times the prior precision diag(1/0.09, 1/0.09). */
  Pa -= 2 / 0.09;
  Pd -= 2 / 0.09;
  h0 -= 2 * mu0[0] / 0.09;
  h1 -= 2 * mu0[1] / 0.09;
  double det = Pa * Pd - Pb * Pb;
  double C00 = Pd / det, C01 = -Pb / det, C11 = Pa / det;
  double m0 = C00 * h0 + C01 * h1, m1 = C01 * h0 + C11 * h1;
  check_close("2x2 mean alpha_IMF", r.mean[0], m0, 1e-12);
  check_close("2x2 mean log10_N_Ia", r.mean[1], m1, 1e-12);
  check_close("2x2 cov00", r.cov[0], C00, 1e-14);
  check_close("2x2 cov01", r.cov[1], C01, 1e-14);
  check_close("2x2 cov10", r.cov[2], C01, 1e-14);
  check_close("2x2 cov11", r.cov[3], C11, 1e-14);
  check_close("2x2 sd0", r.sd[0], sqrt(C00), 1e-14);
  check_close("2x2 corr", r.corr, C01 / sqrt(C00 * C11), 1e-12);

  /* Eqs. 8-9 by hand with sigma_i^2 the diagonal entries:
   * alpha_IMF: 1/s^2 = 1/0.04 + 1/0.02 + 1/0.01 - 2/0.09 = 25 + 50 + 100 - 22.2222...
   *            mu    = s^2 (-2.25/0.04 - 2.40/0.02 - 2.31/0.01 + 2*2.3/0.09)
   * log10_N_Ia: 1/s^2 = 1/0.0625 + 1/0.03 + 1/0.02 - 2/0.09 = 16 + 33.333... + 50 - 22.222... */
  double w0 = 175.0 - 200.0 / 9.0;
  double mean0 = (-56.25 - 120.0 - 231.0 + 460.0 / 9.0) / w0;
  double w1 = 16.0 + 100.0 / 3.0 + 50.0 - 200.0 / 9.0;
  double mean1 = (-2.95 / 0.0625 - 2.80 / 0.03 - 2.88 / 0.02 + 2 * 2.89 / 0.09) / w1;
  assert_true(r.pd1[0] && r.pd1[1]);
  check_close("1-D mean alpha_IMF", r.mean1[0], mean0, 1e-12);
  check_close("1-D sd alpha_IMF", r.sd1[0], 1 / sqrt(w0), 1e-14);
  check_close("1-D mean log10_N_Ia", r.mean1[1], mean1, 1e-12);
  check_close("1-D sd log10_N_Ia", r.sd1[1], 1 / sqrt(w1), 1e-14);
}

/* Identical stars: P = N P_s - (N-1) P0 exactly, and N = 1 gives the star back. */
static void test_identical_stars(void **state)
{
  const double mu[2] = {-2.2, -3.0}, S[4] = {0.01, 0, 0, 0.04};
  double acc[COMBINE_NACC];
  CombineResult r;
  combine_acc_zero(acc);
  assert_true(combine_accumulate(acc, mu, S));
  combine_finish(acc, mu0, S0, &r);
  check_close("N=1 mean", r.mean[0], mu[0], 1e-14);
  check_close("N=1 var", r.cov[3], S[3], 1e-15);
  for (int i = 1; i < 100; i++) combine_accumulate(acc, mu, S);
  combine_finish(acc, mu0, S0, &r);
  double w = 100 / 0.01 - 99 / 0.09;
  check_close("N=100 var alpha_IMF", r.cov[0], 1 / w, 1e-15);
  check_close("N=100 mean alpha_IMF", r.mean[0], (100 * mu[0] / 0.01 - 99 * mu0[0] / 0.09) / w, 1e-12);
  check_close("N=100 corr", r.corr, 0.0, 1e-15);
}

/* Posteriors wider than the prior: dividing the prior out 2 times leaves a
 * negative precision, which must be flagged, not turned into numbers. */
static void test_not_pd_flagged(void **state)
{
  const double S[4] = {0.36, 0, 0, 0.36};
  double acc[COMBINE_NACC];
  CombineResult r;
  combine_acc_zero(acc);
  for (int i = 0; i < 3; i++) assert_true(combine_accumulate(acc, mus[i], S));
  combine_finish(acc, mu0, S0, &r);
  assert_false(r.pd);
  assert_true(isnan(r.mean[0]) && isnan(r.mean[1]) && isnan(r.cov[0]) && isnan(r.sd[1]) && isnan(r.corr));
  assert_false(r.pd1[0] || r.pd1[1]);
  assert_true(isnan(r.mean1[0]) && isnan(r.sd1[1]));
}

/* A star whose own covariance is not positive definite is refused, and the
 * accumulator is left as it was. */
static void test_bad_star_refused(void **state)
{
  const double bad[3][4] = {{0.01, 0.02, 0.02, 0.01}, {-0.01, 0, 0, 0.01}, {NAN, 0, 0, 0.01}};
  double acc[COMBINE_NACC], before[COMBINE_NACC];
  combine_acc_zero(acc);
  combine_accumulate(acc, mus[0], Ss[0]);
  for (int k = 0; k < COMBINE_NACC; k++) before[k] = acc[k];
  for (int j = 0; j < 3; j++) assert_false(combine_accumulate(acc, mus[1], bad[j]));
  for (int k = 0; k < COMBINE_NACC; k++) assert_true(acc[k] == before[k]);
}

/* Sums of two partial accumulators (what MPI_Allreduce does) equal one pass,
 * and the running estimate at n equals the combination of the first n stars. */
static void test_additive_and_running(void **state)
{
  double all[COMBINE_NACC], a[COMBINE_NACC], b[COMBINE_NACC], mu[4 * 2], S[4 * 4];
  CombineResult r_all, r_sum, run[4];
  PetscInt nrej;
  combine_acc_zero(all);
  combine_acc_zero(a);
  combine_acc_zero(b);
  for (int i = 0; i < 3; i++) {
    combine_accumulate(all, mus[i], Ss[i]);
    combine_accumulate(i < 1 ? a : b, mus[i], Ss[i]);
  }
  for (int k = 0; k < COMBINE_NACC; k++) a[k] += b[k];
  combine_finish(all, mu0, S0, &r_all);
  combine_finish(a, mu0, S0, &r_sum);
  check_close("split mean", r_sum.mean[1], r_all.mean[1], 1e-13);
  check_close("split cov", r_sum.cov[1], r_all.cov[1], 1e-15);

  /* Stars 0, bad, 1, 2: the bad one is skipped and counted. */
  for (int k = 0; k < 2; k++) {
    mu[0 + k] = mus[0][k];
    mu[2 + k] = 0;
    mu[4 + k] = mus[1][k];
    mu[6 + k] = mus[2][k];
  }
  for (int k = 0; k < 4; k++) {
    S[0 + k] = Ss[0][k];
    S[4 + k] = k == 0 ? -1.0 : 0.0;
    S[8 + k] = Ss[1][k];
    S[12 + k] = Ss[2][k];
  }
  combine_running(4, mu, S, mu0, S0, run, &nrej);
  assert_int_equal(nrej, 1);
  assert_true(run[0].n == 1 && run[1].n == 1 && run[3].n == 3);
  check_close("running n=1", run[0].mean[0], mus[0][0], 1e-13);
  check_close("running n=4 mean", run[3].mean[0], r_all.mean[0], 1e-13);
  check_close("running n=4 sd", run[3].sd[1], r_all.sd[1], 1e-15);
}

/* Gaussian fit of samples from N(m, C): mean and covariance within 5 standard errors. */
static void test_fit_recovers_gaussian(void **state)
{
  const PetscInt n = 200000;
  const double m[CS_NPARAM] = {-2.3, -2.89, -0.3, 0.55, 0.5, 7.0};
  const double s[CS_NPARAM] = {0.05, 0.08, 0.3, 0.1, 0.1, 3.0};
  const double rho = -0.6; /* between the two globals */
  double *x = malloc(sizeof(double) * n * CS_NPARAM);
  CombineStar g;
  Rng rng;
  assert_non_null(x);
  rng_init(&rng, 11, RNG_TEST, 0);
  for (PetscInt i = 0; i < n; i++) {
    double z[CS_NPARAM];
    for (int p = 0; p < CS_NPARAM; p++) z[p] = rng_normal(&rng);
    /* Cholesky factor of the 2x2 block: [s0, 0; rho s1, sqrt(1-rho^2) s1]. */
    x[i * CS_NPARAM + 0] = m[0] + s[0] * z[0];
    x[i * CS_NPARAM + 1] = m[1] + s[1] * (rho * z[0] + sqrt(1 - rho * rho) * z[1]);
    for (int p = 2; p < CS_NPARAM; p++) x[i * CS_NPARAM + p] = m[p] + s[p] * z[p];
  }
  assert_int_equal(combine_fit(n, x, &g), 0);
  free(x);
  for (int p = 0; p < CS_NPARAM; p++) {
    check_close(cs_param_names[p], g.mean[p], m[p], 5 * s[p] / sqrt((double)n));
    check_close("sd", g.sd[p], s[p], 5 * s[p] / sqrt(2.0 * n));
  }
  double c01 = rho * s[0] * s[1];
  check_close("S00", g.S2[0], s[0] * s[0], 5 * sqrt(2.0 / n) * s[0] * s[0]);
  check_close("S01", g.S2[1], c01, 5 * sqrt((s[0] * s[0] * s[1] * s[1] + c01 * c01) / n));
  assert_true(g.S2[1] == g.S2[2] && g.mu2[0] == g.mean[0] && g.mu2[1] == g.mean[1]);
}

static void test_fit_rejects(void **state)
{
  double x[2 * CS_NPARAM] = {0};
  CombineStar g;
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(combine_fit(1, x, &g), 0);
  x[7] = NAN;
  assert_int_not_equal(combine_fit(2, x, &g), 0);
  PetscPopErrorHandler();
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_stars_2x2_and_1d),
      cmocka_unit_test(test_identical_stars),
      cmocka_unit_test(test_not_pd_flagged),
      cmocka_unit_test(test_bad_star_refused),
      cmocka_unit_test(test_additive_and_running),
      cmocka_unit_test(test_fit_recovers_gaussian),
      cmocka_unit_test(test_fit_rejects),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
