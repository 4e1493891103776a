/* Calibration statistics: the Kolmogorov law at tabulated critical values, KS
 * on constructed samples of known D, and SBC/TARP on synthetic posteriors that
 * are calibrated by construction or deliberately over-confident or biased. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <chempysbi/calib.h>
#include <chempysbi/rng.h>

static void check_close(const char *what, double got, double want, double tol)
{
  if (!(fabs(got - want) <= tol)) fail_msg("%s: got %.10g, want %.10g (tol %.3g)", what, got, want, tol);
}

/* Tabulated critical values of the Kolmogorov distribution (e.g. Smirnov
 * 1948; Massey 1951): P(K > 1.2238) = 0.10, 1.3581 -> 0.05, 1.6276 -> 0.01,
 * and the median 0.8276 -> 0.50. Both series branches are exercised. */
static void test_kolmogorov_table(void **state)
{
  check_close("Q(0.8276)", calib_kolmogorov_q(0.8276), 0.50, 2e-4);
  check_close("Q(1.2238)", calib_kolmogorov_q(1.2238), 0.10, 2e-4);
  check_close("Q(1.3581)", calib_kolmogorov_q(1.3581), 0.05, 2e-4);
  check_close("Q(1.6276)", calib_kolmogorov_q(1.6276), 0.01, 2e-4);
  check_close("Q(0)", calib_kolmogorov_q(0.0), 1.0, 0);
  check_close("Q(0.1)", calib_kolmogorov_q(0.1), 1.0, 1e-12);
  check_close("Q(5)", calib_kolmogorov_q(5.0), 0.0, 1e-20);
  /* Continuity where the two series meet. */
  check_close("Q(1.18-)", calib_kolmogorov_q(1.18 - 1e-9), calib_kolmogorov_q(1.18 + 1e-9), 1e-8);
}

/* x_i = s (i - 0.5)/n has D = 1 - s (n - 0.5)/n exactly; pick s so that the
 * Stephens-corrected statistic is the 5% critical value 1.3581. */
static void test_ks_known_D(void **state)
{
  const PetscInt n = 100;
  double x[100], D, p, Dwant = 1.3581 / (10.0 + 0.12 + 0.011);
  double s = (1 - Dwant) * n / (n - 0.5);
  for (PetscInt i = 0; i < n; i++) x[(i * 37) % n] = s * (i + 0.5) / n; /* shuffled: the test must sort */
  assert_int_equal(calib_ks_uniform(x, n, &D, &p), 0);
  check_close("D", D, Dwant, 1e-12);
  check_close("p", p, 0.05, 2e-4);
  /* Three values by hand: {0.1, 0.4, 0.7}: D = max(1/3-0.1, 2/3-0.4, 1-0.7, 0.1, ...) = 0.3. */
  double y[3] = {0.7, 0.1, 0.4};
  assert_int_equal(calib_ks_uniform(y, 3, &D, &p), 0);
  check_close("D3", D, 0.3, 1e-15);
  check_close("p3", p, calib_kolmogorov_q((sqrt(3.0) + 0.12 + 0.11 / sqrt(3.0)) * 0.3), 1e-15);
}

static void test_ks_uniform_and_shifted(void **state)
{
  const PetscInt n = 2000;
  double *u = malloc(sizeof(double) * n), D, p;
  Rng r;
  rng_init(&r, 3, RNG_TEST, 0);
  for (PetscInt i = 0; i < n; i++) u[i] = rng_uniform(&r);
  assert_int_equal(calib_ks_uniform(u, n, &D, &p), 0);
  if (p < 0.01) fail_msg("uniform sample: p = %g (D = %g)", p, D);
  for (PetscInt i = 0; i < n; i++) u[i] = pow(u[i], 1.2); /* slightly tilted towards 0 */
  assert_int_equal(calib_ks_uniform(u, n, &D, &p), 0);
  if (p >= 1e-3) fail_msg("tilted sample: p = %g (D = %g) not < 1e-3", p, D);
  u[5] = 1.5;
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(calib_ks_uniform(u, n, &D, &p), 0);
  PetscPopErrorHandler();
  free(u);
}

/* Synthetic posteriors in D dims: per simulation a centre m ~ U(-5, 5), a
 * width s = exp(U(-3, -1)); the truth and the samples are both drawn from
 * N(m, s) (calibrated) or the samples from N(m + shift*s, width*s). */
static void make_case(PetscInt nsim, PetscInt L, PetscInt D, double width, double shift, double *samples,
                      double *truths)
{
  for (PetscInt i = 0; i < nsim; i++) {
    Rng r;
    rng_init(&r, 21, RNG_TEST, (uint64_t)i);
    for (PetscInt d = 0; d < D; d++) {
      double m = -5 + 10 * rng_uniform(&r), s = exp(-3 + 2 * rng_uniform(&r));
      truths[i * D + d] = m + s * rng_normal(&r);
      for (PetscInt l = 0; l < L; l++)
        samples[((size_t)i * L + l) * D + d] = m + shift * s + width * s * rng_normal(&r);
    }
  }
}

static void test_sbc(void **state)
{
  const PetscInt nsim = 1000, L = 200, D = 2;
  double *x = malloc(sizeof(double) * nsim * L * D), t[1000 * 2], Dks, p;
  PetscInt rk[1000 * 2];
  make_case(nsim, L, D, 1.0, 0.0, x, t);
  for (PetscInt i = 0; i < nsim; i++) calib_sbc_ranks(L, D, x + (size_t)i * L * D, t + i * D, rk + i * D);
  for (PetscInt d = 0; d < D; d++) {
    assert_int_equal(calib_sbc_ks(nsim, L, rk + d, D, &Dks, &p), 0);
    printf("# SBC calibrated dim %d: D = %.4f p = %.3g\n", (int)d, Dks, p);
    if (p < 0.01) fail_msg("calibrated SBC dim %d: p = %g", (int)d, p);
  }
  make_case(nsim, L, D, 1.0, 0.3, x, t); /* posterior biased by 0.3 sd */
  for (PetscInt i = 0; i < nsim; i++) calib_sbc_ranks(L, D, x + (size_t)i * L * D, t + i * D, rk + i * D);
  for (PetscInt d = 0; d < D; d++) {
    assert_int_equal(calib_sbc_ks(nsim, L, rk + d, D, &Dks, &p), 0);
    printf("# SBC biased dim %d: D = %.4f p = %.3g\n", (int)d, Dks, p);
    if (p >= 1e-3) fail_msg("biased SBC dim %d: p = %g not < 1e-3", (int)d, p);
  }
  free(x);
}

/* nalpha = 31 (sbi's default 30 bins): atc sums the 16 points alpha >= 0.5.
 * For a calibrated posterior ecp is an empirical CDF of U(0,1), so atc has sd
 * sqrt(sum_jk (min(a_j,a_k) - a_j a_k) / nsim) = 0.113 for nsim = 2000: the
 * bound 0.35 is ~3 sd. Samples half as wide leave many truths outside every
 * central region: atc ~ -1.4, far beyond -1. */
static void test_tarp(void **state)
{
  const PetscInt nsim = 2000, L = 300, D = 3, na = 31;
  double *x = malloc(sizeof(double) * nsim * L * D), *t = malloc(sizeof(double) * nsim * D);
  double ecp[31], alpha[31], atc, ksp, atc_narrow, ksp_narrow;
  make_case(nsim, L, D, 1.0, 0.0, x, t);
  assert_int_equal(calib_tarp(nsim, L, D, x, t, NULL, NULL, 5, na, ecp, alpha, &atc, &ksp), 0);
  printf("# TARP calibrated: atc = %.4f ks_p = %.3g\n", atc, ksp);
  check_close("alpha[0]", alpha[0], 0, 0);
  check_close("alpha[15]", alpha[15], 0.5, 1e-15);
  check_close("ecp[0]", ecp[0], 0, 0);
  check_close("ecp[30]", ecp[30], 1, 0);
  for (int k = 1; k < na; k++) assert_true(ecp[k] >= ecp[k - 1]);
  if (fabs(atc) > 0.35) fail_msg("calibrated TARP: |atc| = %g > 0.35 (3 sd)", fabs(atc));
  if (ksp < 0.01) fail_msg("calibrated TARP: KS p = %g < 0.01", ksp);
  /* Same answer with an explicit box equal to the data-driven one. */
  double lo[3], hi[3], atc_box;
  for (PetscInt d = 0; d < D; d++) {
    lo[d] = INFINITY;
    hi[d] = -INFINITY;
    for (PetscInt i = 0; i < nsim; i++) {
      lo[d] = fmin(lo[d], t[i * D + d]);
      hi[d] = fmax(hi[d], t[i * D + d]);
    }
    hi[d] += 1e-10;
  }
  assert_int_equal(calib_tarp(nsim, L, D, x, t, lo, hi, 5, na, NULL, NULL, &atc_box, NULL), 0);
  check_close("atc with explicit box", atc_box, atc, 1e-12);

  make_case(nsim, L, D, 0.5, 0.0, x, t);
  assert_int_equal(calib_tarp(nsim, L, D, x, t, NULL, NULL, 5, na, ecp, alpha, &atc_narrow, &ksp_narrow), 0);
  printf("# TARP over-confident (half width): atc = %.4f ks_p = %.3g\n", atc_narrow, ksp_narrow);
  if (!(atc_narrow < -1.0)) fail_msg("over-confident TARP: atc = %g, expected < -1", atc_narrow);
  if (!(ksp_narrow < 1e-3)) fail_msg("over-confident TARP: KS p = %g, expected < 1e-3", ksp_narrow);
  free(x);
  free(t);
}

static void test_quantiles_and_ape(void **state)
{
  const double v[5] = {4, NAN, 1, 3, 2}, q[3] = {0.25, 0.5, 1.0};
  double out[3];
  assert_int_equal(calib_quantiles(5, v, 3, q, out), 0);
  check_close("q25 of 1..4", out[0], 1.75, 1e-15); /* numpy.quantile([1,2,3,4], .25) */
  check_close("median of 1..4", out[1], 2.5, 1e-15);
  check_close("max", out[2], 4, 0);
  /* APE: rows (truth, mean) give 10%, 20%, 50% for parameter 0 and 1%, 2%, 3%
   * for parameter 1; a zero truth (row 3) is left out. */
  const double truth[8] = {1, -2, -2, 100, 4, 10, 0, 1};
  const double mean[8] = {1.1, -2.02, -1.6, 102, 2, 10.3, 0.5, 1};
  double q25[2], med[2], q75[2], all[3];
  assert_int_equal(calib_ape(4, 2, mean, truth, q25, med, q75, all), 0);
  check_close("median APE 0", med[0], 20, 1e-12);
  check_close("q25 APE 0", q25[0], 15, 1e-12);
  check_close("q75 APE 0", q75[0], 35, 1e-12);
  check_close("median APE 1", med[1], 1.5, 1e-12); /* {1, 2, 3, 0} */
  check_close("pooled median", all[1], 3, 1e-12);  /* {10,20,50,1,2,3,0} */
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kolmogorov_table),
      cmocka_unit_test(test_ks_known_D),
      cmocka_unit_test(test_ks_uniform_and_shifted),
      cmocka_unit_test(test_sbc),
      cmocka_unit_test(test_tarp),
      cmocka_unit_test(test_quantiles_and_ape),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
