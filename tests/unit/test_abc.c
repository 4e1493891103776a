/* Rejection ABC (abc.h) on the lecture's toy problem with a known answer:
 * theta ~ U(0.5, 3), D = theta^-1.5 + N(0, 0.1^2), observed D = 0.5. The
 * exact posterior (skewed: the model is non-linear) is computed on a grid of
 * 200,001 points. Every variant must give the posterior mean within 0.1
 * posterior sd and the sd within 10% (measured: 0.001 sd and 1.5% for
 * rejection, 0.04 sd and 6% adjusted, 0.000 and 0.0% for the Gaussian
 * kernel): rejection at a small acceptance quantile (0.002), the regression
 * adjustment at a 100x larger one (0.2) where unadjusted rejection must fail
 * (20% too wide: the test can tell a bad posterior), the Gaussian kernel, and
 * rejection from a table drawn from a wider prior with prior-ratio weights.
 * Also: quickselect against a sort, and systematic resampling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <chempysbi/abc.h>
#include <chempysbi/rng.h>

static const double LO = 0.5, HI = 3.0, SIGMA = 0.1, DOBS = 0.5;

static double model(double th) { return pow(th, -1.5); }

/* Exact posterior mean and sd on a grid (prior flat on [LO, HI]). */
static void grid_posterior(double *mean, double *sd)
{
  const int G = 200001;
  double s0 = 0, s1 = 0, s2 = 0;
  for (int g = 0; g < G; g++) {
    double th = LO + (HI - LO) * g / (G - 1), z = (DOBS - model(th)) / SIGMA, p = exp(-0.5 * z * z);
    s0 += p, s1 += p * th, s2 += p * th * th;
  }
  *mean = s1 / s0;
  *sd = sqrt(s2 / s0 - *mean * *mean);
}

typedef struct {
  PetscInt n;
  double *theta, *sim, *noise, *logw;
} Toy;

/* n rows with theta ~ U(lo, hi); logw marks rows outside [LO, HI] when the table prior is wider. */
static void toy_table(Toy *t, PetscInt n, double lo, double hi, uint64_t seed)
{
  Rng r;
  t->n = n;
  t->theta = malloc(n * sizeof(double));
  t->sim = malloc(n * sizeof(double));
  t->noise = malloc(n * sizeof(double));
  t->logw = malloc(n * sizeof(double));
  rng_init(&r, seed, RNG_TEST, 0);
  for (PetscInt i = 0; i < n; i++) {
    t->theta[i] = lo + (hi - lo) * rng_uniform(&r);
    t->sim[i] = model(t->theta[i]);
    t->noise[i] = rng_normal(&r);
    t->logw[i] = t->theta[i] >= LO && t->theta[i] <= HI ? 0 : -INFINITY;
  }
}

static void toy_free(Toy *t) { free(t->theta), free(t->sim), free(t->noise), free(t->logw); }

/* ABC posterior mean and sd (weighted) of the toy observation. */
static void run_abc(const Toy *toy, AbcKernel kernel, PetscInt k, PetscBool adjust, PetscBool use_logw, double *mean,
                    double *sd, AbcStats *st)
{
  const double lo[1] = {LO}, hi[1] = {HI}, x[1] = {DOBS}, sig[1] = {SIGMA};
  AbcTable t = {.n = toy->n,
                .P = 1,
                .E = 1,
                .theta = toy->theta,
                .sim = toy->sim,
                .noise = toy->noise,
                .logw = use_logw ? toy->logw : NULL,
                .lo = lo,
                .hi = hi};
  AbcOptions o = {.kernel = kernel, .k = k, .adjust = adjust};
  AbcWork *w = NULL;
  double *th = malloc(k * sizeof(double)), *wt = malloc(k * sizeof(double));
  assert_int_equal(abc_work_create(&t, k, &w), 0);
  assert_int_equal(abc_star(&t, &o, x, sig, w, th, wt, st), 0);
  double m = 0, v = 0, sw = 0;
  for (PetscInt a = 0; a < k; a++) m += wt[a] * th[a], sw += wt[a];
  assert_true(fabs(sw - 1) < 1e-9);
  for (PetscInt a = 0; a < k; a++) v += wt[a] * (th[a] - m) * (th[a] - m);
  *mean = m;
  *sd = sqrt(v);
  assert_int_equal(abc_work_destroy(&w), 0);
  free(th), free(wt);
}

/* |mean error| in posterior sd and relative sd error of one variant; the message names it. */
static void check(const char *what, double m, double s, double tm, double ts, const AbcStats *st, double *dm,
                  double *ds)
{
  *dm = fabs(m - tm) / ts;
  *ds = fabs(s / ts - 1);
  print_message("%-38s mean %.4f sd %.4f (exact %.4f %.4f): %.3f sd, %4.1f%%; eps %.3g, rate %.2g, ESS %.0f%s\n", what,
                m, s, tm, ts, *dm, 100 * *ds, st->eps, st->rate, st->ess, st->adjusted ? ", adjusted" : "");
}

static void test_toy_posterior(void **state)
{
  double tm, ts, m, s, dm, ds;
  AbcStats st;
  Toy toy, wide;
  grid_posterior(&tm, &ts);
  toy_table(&toy, 1000000, LO, HI, 1);

  run_abc(&toy, ABC_KERNEL_UNIFORM, 2000, PETSC_FALSE, PETSC_FALSE, &m, &s, &st);
  check("rejection, k 2000 of 1e6", m, s, tm, ts, &st, &dm, &ds);
  if (dm > 0.1 || ds > 0.1) fail_msg("rejection ABC: %.3f sd and %.1f%% off (tolerances 0.1 sd, 10%%)", dm, 100 * ds);
  assert_int_equal(st.accepted, 2000);
  assert_true(fabs(st.rate - 0.002) < 1e-12);

  /* At a 100x larger quantile (rate 0.2) unadjusted rejection is visibly too wide; the adjustment repairs it. */
  double dm_raw, ds_raw;
  run_abc(&toy, ABC_KERNEL_UNIFORM, 200000, PETSC_FALSE, PETSC_FALSE, &m, &s, &st);
  check("rejection, k 200000 (too tolerant)", m, s, tm, ts, &st, &dm_raw, &ds_raw);
  if (ds_raw < 0.15) fail_msg("rejection at rate 0.2 should be far too wide, got sd %.1f%% off", 100 * ds_raw);
  run_abc(&toy, ABC_KERNEL_UNIFORM, 200000, PETSC_TRUE, PETSC_FALSE, &m, &s, &st);
  check("rejection + regression, k 200000", m, s, tm, ts, &st, &dm, &ds);
  assert_true(st.adjusted);
  if (dm > 0.1 || ds > 0.1) fail_msg("adjusted ABC: %.3f sd and %.1f%% off (tolerances 0.1 sd, 10%%)", dm, 100 * ds);

  /* Gaussian kernel: the clean outputs weighted by the noise density; k must cover the kernel's reach. */
  run_abc(&toy, ABC_KERNEL_GAUSS, 900000, PETSC_FALSE, PETSC_FALSE, &m, &s, &st);
  check("gaussian kernel, k 900000", m, s, tm, ts, &st, &dm, &ds);
  if (dm > 0.1 || ds > 0.1)
    fail_msg("gauss-kernel ABC: %.3f sd and %.1f%% off (tolerances 0.1 sd, 10%%)", dm, 100 * ds);
  if (st.eps < 4) fail_msg("gauss kernel: k should reach 4 noise sd, eps %.2f", st.eps);

  /* A table from the wider prior U(0.2, 5) with the rows outside [0.5, 3] weighted out. */
  toy_table(&wide, 2000000, 0.2, 5.0, 2);
  run_abc(&wide, ABC_KERNEL_UNIFORM, 2000, PETSC_FALSE, PETSC_TRUE, &m, &s, &st);
  check("rejection, wider table + prior ratio", m, s, tm, ts, &st, &dm, &ds);
  if (dm > 0.1 || ds > 0.1) fail_msg("prior-ratio ABC: %.3f sd and %.1f%% off (tolerances 0.1 sd, 10%%)", dm, 100 * ds);
  if (st.eligible > 1100000 || st.eligible < 1000000) fail_msg("eligible rows %d, expected ~1.04e6", (int)st.eligible);
  toy_free(&toy);
  toy_free(&wide);
}

/* The k accepted rows are exactly the k smallest distances (against a full sort). */
static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void test_select_k(void **state)
{
  const PetscInt n = 5001;
  double *th = malloc(n * sizeof(double)), *sim = malloc(n * sizeof(double)), *nz = calloc(n, sizeof(double));
  double *d = malloc(n * sizeof(double)), acc[700], wt[700];
  Rng r;
  rng_init(&r, 3, RNG_TEST, 0);
  for (PetscInt i = 0; i < n; i++) {
    th[i] = (double)i;
    sim[i] = (i % 7 == 0) ? 0.25 : rng_normal(&r); /* ties among the nearest */
    d[i] = fabs(sim[i]);
  }
  qsort(d, n, sizeof(double), cmp_double);
  const double x[1] = {0}, sig[1] = {1};
  AbcTable t = {.n = n, .P = 1, .E = 1, .theta = th, .sim = sim, .noise = nz};
  AbcWork *w = NULL;
  AbcStats st;
  assert_int_equal(abc_work_create(&t, 700, &w), 0);
  for (PetscInt k = 1; k <= 700; k += 233) {
    AbcOptions o = {.kernel = ABC_KERNEL_UNIFORM, .k = k, .adjust = PETSC_FALSE};
    assert_int_equal(abc_star(&t, &o, x, sig, w, acc, wt, &st), 0);
    assert_true(st.eps == d[k - 1]);
    for (PetscInt a = 0; a < k; a++) assert_true(fabs(sim[(PetscInt)acc[a]]) <= d[k - 1]);
    qsort(acc, k, sizeof(double), cmp_double); /* distinct rows */
    for (PetscInt a = 1; a < k; a++) assert_true(acc[a] > acc[a - 1]);
  }
  /* Systematic resampling reproduces the weights' means. */
  double wts[3] = {0.2, 0.5, 0.3}, vals[3] = {1, 2, 3}, out[1000], m = 0;
  abc_resample(3, 1, vals, wts, 1000, 0.37, out);
  for (int l = 0; l < 1000; l++) m += out[l] / 1000;
  assert_true(fabs(m - 2.1) < 2e-3);
  assert_int_equal(abc_work_destroy(&w), 0);
  free(th), free(sim), free(nz), free(d);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_toy_posterior), cmocka_unit_test(test_select_k)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
