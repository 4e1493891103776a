/* MCMC diagnostics against theory: AR(1) chains with coefficient phi have
 * ESS = N (1 - phi) / (1 + phi); independent chains from one distribution have
 * R-hat near 1, chains with shifted means a large R-hat; the normal quantile
 * inverts erfc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <chempysbi/mcmc.h>
#include <chempysbi/rng.h>

static void ar1(double *x, int chains, int n, double phi, double shift, uint64_t seed)
{
  for (int c = 0; c < chains; c++) {
    Rng r;
    rng_init(&r, seed, RNG_TEST, (uint64_t)c);
    double v = rng_normal(&r);
    for (int t = 0; t < n; t++) {
      v = phi * v + sqrt(1 - phi * phi) * rng_normal(&r);
      x[c * n + t] = v + shift * c;
    }
  }
}

static void test_ess_ar1(void **state)
{
  const int chains = 4, n = 4000;
  double *x = malloc(sizeof(double) * chains * n);
  for (int k = 0; k < 2; k++) {
    double phi = k ? 0.9 : 0.5, want = chains * n * (1 - phi) / (1 + phi);
    ar1(x, chains, n, phi, 0, 11 + k);
    double e = mcmc_ess_raw(x, chains, n), eb = mcmc_ess_bulk(x, chains, n);
    print_message("AR(1) phi %.1f: ESS %.0f, bulk %.0f, theory %.0f\n", phi, e, eb, want);
    assert_true(fabs(e / want - 1) < 0.15);
    assert_true(fabs(eb / want - 1) < 0.15);
  }
  free(x);
}

static void test_rhat(void **state)
{
  const int chains = 4, n = 1000;
  double *x = malloc(sizeof(double) * chains * n);
  ar1(x, chains, n, 0.3, 0, 21);
  double r = mcmc_rhat(x, chains, n);
  ar1(x, chains, n, 0.3, 0.5, 21);
  double rs = mcmc_rhat(x, chains, n);
  print_message("R-hat: mixed %.4f, shifted chains %.4f\n", r, rs);
  assert_true(r < 1.01);
  assert_true(rs > 1.05);
  free(x);
}

static void test_quantile(void **state)
{
  for (double p = 1e-6; p < 1; p += 0.0371) {
    double x = mcmc_norm_quantile(p);
    assert_true(fabs(0.5 * erfc(-x / sqrt(2)) - p) < 1e-12 * fmax(p, 1e-3));
  }
  assert_true(fabs(mcmc_norm_quantile(0.975) - 1.959963984540054) < 1e-12);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ess_ar1),
      cmocka_unit_test(test_rhat),
      cmocka_unit_test(test_quantile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
