/* NPE on a linear-Gaussian toy problem with a known posterior: theta ~ N(mu, S)
 * in 2-D, x = A theta + eps, eps ~ N(0, s^2 I). A small conditional MAF trained
 * by maximum likelihood (maf_* and opt_* directly, as train-npe does) must give,
 * for three test observations, posterior means within 0.1 posterior sd of the
 * analytic ones, sds within 15% and the correlation within 0.05 (achieved:
 * 0.04 sd, 2%, 0.02). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <chempysbi/maf.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>
#include "toy_gauss.h"

enum { D = TOY_D, C = TOY_C, NTRAIN = 20000, BATCH = 256, STEPS = 6000, NSAMP = 40000 };

static void test_linear_gaussian_posterior(void **state)
{
  Maf *m = NULL;
  Opt *o = NULL;
  double *th = malloc(NTRAIN * D * sizeof(double)), *x = malloc(NTRAIN * C * sizeof(double));
  double bth[BATCH * D], bx[BATCH * C], lp[BATCH], dlp[BATCH];
  Rng r;
  /* Training pairs. */
  rng_init(&r, 1, RNG_TEST, 100);
  for (int i = 0; i < NTRAIN; i++) {
    toy_prior_draw(&r, th + i * D);
    toy_simulate(&r, th + i * D, x + i * C);
  }
  /* sbi-like flow, smaller: 2 transforms x 16 hidden, 2 blocks. */
  assert_int_equal(maf_create(D, C, 2, 16, 2, BATCH, &m), 0);
  assert_int_equal(maf_init(m, 3), 0);
  assert_int_equal(opt_create(OPT_ADAM, m->nparams, &o), 0);
  double t0 = cs_wtime(), nll = 0;
  rng_init(&r, 1, RNG_TEST, 200);
  for (int step = 0; step < STEPS; step++) {
    /* lr 3e-3, then a cosine decay to ~0 over the second half (sharpens the fit). */
    o->lr = step < STEPS / 2 ? 3e-3 : 3e-3 * 0.5 * (1 + cos(M_PI * (step - STEPS / 2) / (STEPS / 2.0)));
    for (int b = 0; b < BATCH; b++) {
      int i = (int)rng_below(&r, NTRAIN);
      memcpy(bth + b * D, th + i * D, D * sizeof(double));
      memcpy(bx + b * C, x + i * C, C * sizeof(double));
      dlp[b] = -1.0 / BATCH;
    }
    maf_log_prob(m, bth, bx, BATCH, lp);
    memset(m->grads, 0, m->nparams * sizeof(double));
    maf_backward(m, dlp, BATCH);
    opt_step(o, m->params, m->grads);
    if (step >= STEPS - 100)
      for (int b = 0; b < BATCH; b++) nll -= lp[b] / (100.0 * BATCH);
  }
  print_message("toy NPE: %d Adam steps of %d on %d pairs in %.2f s, final train NLL %.4f\n", STEPS, BATCH, NTRAIN,
                cs_wtime() - t0, nll);

  /* Test observations: from the prior mean and from points 1 sd away. */
  const double th_test[3][D] = {{0.5, -1.0}, {1.5, -0.2}, {-0.4, -2.3}};
  double *z = malloc(NSAMP * D * sizeof(double)), *s = malloc(NSAMP * D * sizeof(double));
  for (int t = 0; t < 3; t++) {
    double xt[C], am[D], ac[D][D], sm[D] = {0, 0}, sc[D][D] = {{0, 0}, {0, 0}};
    for (int i = 0; i < C; i++) xt[i] = toy_A[i][0] * th_test[t][0] + toy_A[i][1] * th_test[t][1];
    toy_posterior(xt, am, ac);
    rng_init(&r, 1, RNG_TEST, 300 + (uint64_t)t);
    for (int i = 0; i < NSAMP * D; i++) z[i] = rng_normal(&r);
    maf_sample(m, xt, z, NSAMP, s);
    for (int i = 0; i < NSAMP; i++)
      for (int d = 0; d < D; d++) sm[d] += s[i * D + d] / NSAMP;
    for (int i = 0; i < NSAMP; i++)
      for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) sc[a][b] += (s[i * D + a] - sm[a]) * (s[i * D + b] - sm[b]) / (NSAMP - 1);
    double asd[D] = {sqrt(ac[0][0]), sqrt(ac[1][1])}, ssd[D] = {sqrt(sc[0][0]), sqrt(sc[1][1])};
    double arho = ac[0][1] / (asd[0] * asd[1]), srho = sc[0][1] / (ssd[0] * ssd[1]);
    print_message("x = (%.2f, %.2f): mean (%.4f, %.4f) vs analytic (%.4f, %.4f); sd (%.4f, %.4f) vs (%.4f, %.4f); corr "
                  "%.3f vs %.3f\n",
                  xt[0], xt[1], sm[0], sm[1], am[0], am[1], ssd[0], ssd[1], asd[0], asd[1], srho, arho);
    for (int d = 0; d < D; d++) {
      double dm = fabs(sm[d] - am[d]) / asd[d], ds = fabs(ssd[d] / asd[d] - 1);
      if (dm > 0.1)
        fail_msg("test %d, theta[%d]: posterior mean %.4f vs analytic %.4f: %.3f posterior sd apart (tolerance 0.1)", t,
                 d, sm[d], am[d], dm);
      if (ds > 0.15)
        fail_msg("test %d, theta[%d]: posterior sd %.4f vs analytic %.4f: %.1f%% off (tolerance 15%%)", t, d, ssd[d],
                 asd[d], 100 * ds);
    }
    if (fabs(srho - arho) > 0.05)
      fail_msg("test %d: posterior correlation %.3f vs analytic %.3f (tolerance 0.05)", t, srho, arho);
  }
  free(z), free(s), free(th), free(x);
  opt_destroy(&o);
  maf_destroy(&m);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_linear_gaussian_posterior)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
