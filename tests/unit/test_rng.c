/* Counter-based streams: the numbers of index i do not depend on the order in
 * which indices are visited, and the normals have the right moments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <chempysbi/rng.h>

static void draw_row(uint64_t i, double out[5])
{
  Rng r;
  rng_init(&r, 1234, RNG_TEST, i);
  for (int k = 0; k < 5; k++) out[k] = k < 3 ? rng_uniform(&r) : rng_normal(&r);
}

static void test_order_independent(void **state)
{
  enum { N = 1000 };
  static double fwd[N][5], rev[N][5];
  for (int i = 0; i < N; i++) draw_row((uint64_t)i, fwd[i]);
  for (int i = N - 1; i >= 0; i--) draw_row((uint64_t)i, rev[i]); /* another "partition" */
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 5; k++) assert_true(fwd[i][k] == rev[i][k]);
  /* Distinct rows, seeds and purposes give distinct streams. */
  Rng a, b;
  rng_init(&a, 1234, RNG_TEST, 0);
  rng_init(&b, 1235, RNG_TEST, 0);
  assert_true(rng_uniform(&a) != rng_uniform(&b));
  rng_init(&a, 1234, RNG_TEST, 0);
  rng_init(&b, 1234, RNG_PARAMS, 0);
  assert_true(rng_uniform(&a) != rng_uniform(&b));
  assert_true(fwd[0][0] != fwd[1][0]);
}

static void test_normal_moments(void **state)
{
  const int n = 1000000;
  Rng r;
  double s = 0, s2 = 0, s4 = 0;
  rng_init(&r, 7, RNG_TEST, 42);
  for (int i = 0; i < n; i++) {
    double x = rng_normal(&r);
    s += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n;
  /* 5 standard errors: sd(mean) = 1e-3, sd(var) = sqrt(2/n) = 1.4e-3, sd(E x^4) = sqrt(96/n) ~ 1e-2. */
  if (fabs(mean) > 5e-3) fail_msg("mean %g differs from 0 by more than 5e-3", mean);
  if (fabs(var - 1) > 7e-3) fail_msg("variance %g differs from 1 by more than 7e-3", var);
  if (fabs(kurt - 3) > 5e-2) fail_msg("fourth moment %g differs from 3 by more than 5e-2", kurt);
}

static void test_uniform(void **state)
{
  const int n = 1000000;
  Rng r;
  double s = 0, lo = 1, hi = 0;
  long hist[10] = {0};
  rng_init(&r, 9, RNG_TEST, 3);
  for (int i = 0; i < n; i++) {
    double u = rng_uniform(&r);
    s += u;
    lo = fmin(lo, u);
    hi = fmax(hi, u);
    hist[(int)(u * 10)]++;
  }
  assert_true(lo > 0 && hi < 1);
  if (fabs(s / n - 0.5) > 1.5e-3) fail_msg("uniform mean %g", s / n);
  double chi2 = 0;
  for (int k = 0; k < 10; k++) chi2 += (hist[k] - n / 10.0) * (hist[k] - n / 10.0) / (n / 10.0);
  if (chi2 > 27.9) fail_msg("chi2 %g over 10 bins exceeds the 0.1%% point 27.9", chi2); /* 9 dof */
  for (int i = 0; i < 1000; i++) assert_true(rng_below(&r, 7) < 7);
}

int main(void)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_order_independent), cmocka_unit_test(test_normal_moments),
                                     cmocka_unit_test(test_uniform)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
