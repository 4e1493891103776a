/* Neural ratio estimation (nre.h). The binary cross-entropy's gradient against
 * central finite differences, and the linear-Gaussian toy with a known
 * posterior: theta ~ N(mu, S) in 2-D, x = A theta + N(0, 0.5^2 I). A small
 * classifier trained on fresh matched / prior-contrastive pairs must give,
 * for three observations, a posterior r(theta, x) prior(theta) (on a grid)
 * with means within 0.1 posterior sd of the analytic ones and sds within 10%
 * (measured: 0.02 sd and 1.2% at worst). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <chempysbi/nre.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>
#include "toy_gauss.h"

enum { D = TOY_D, C = TOY_C, BATCH = 256, STEPS = 5000, G = 241 };

/* A batch of n matched pairs and n prior-contrastive thetas. */
static void batch(Rng *r, int n, double *th, double *thm, double *x)
{
  for (int b = 0; b < n; b++) {
    toy_prior_draw(r, th + b * D);
    toy_simulate(r, th + b * D, x + b * C);
    toy_prior_draw(r, thm + b * D);
  }
}

/* d(sum of BCE)/d(param) against central differences at 40 parameters of a random network. */
static void test_bce_gradient(void **state)
{
  const PetscInt hidden[2] = {7, 5};
  Nre *r = NULL;
  double th[8 * D], thm[8 * D], x[8 * C];
  Rng g;
  assert_int_equal(nre_create(D, C, hidden, 2, 16, &r), 0);
  assert_int_equal(mlp_init(r->mlp, 5), 0);
  r->th_mean[0] = 0.3, r->th_sd[1] = 2.0, r->x_mean[1] = -0.2, r->x_sd[0] = 0.7;
  rng_init(&g, 2, RNG_TEST, 1);
  batch(&g, 8, th, thm, x);
  memset(r->mlp->grads, 0, r->mlp->nparams * sizeof(double));
  PetscInt hits;
  double l0 = nre_bce(r, th, thm, x, 8, 1.0, PETSC_TRUE, &hits);
  assert_true(isfinite(l0) && hits >= 0 && hits <= 16);
  double maxerr = 0;
  for (int t = 0; t < 40; t++) {
    size_t k = (size_t)rng_below(&g, r->mlp->nparams);
    double p = r->mlp->params[k], h = 1e-5;
    r->mlp->params[k] = p + h;
    double lp = nre_bce(r, th, thm, x, 8, 1.0, PETSC_FALSE, NULL);
    r->mlp->params[k] = p - h;
    double lm = nre_bce(r, th, thm, x, 8, 1.0, PETSC_FALSE, NULL);
    r->mlp->params[k] = p;
    double fd = (lp - lm) / (2 * h), err = fabs(fd - r->mlp->grads[k]) / (fabs(fd) + 1e-6);
    if (err > maxerr) maxerr = err;
  }
  print_message("BCE gradient vs central differences: max relative error %.2e over 40 parameters\n", maxerr);
  assert_true(maxerr < 1e-5);
  /* A known value: with zero weights every logit is 0 and each row costs log 2. */
  memset(r->mlp->params, 0, r->mlp->nparams * sizeof(double));
  assert_true(fabs(nre_bce(r, th, thm, x, 8, 1.0, PETSC_FALSE, NULL) - 16 * log(2.0)) < 1e-12);
  assert_int_equal(nre_destroy(&r), 0);
}

static void test_linear_gaussian_posterior(void **state)
{
  const PetscInt hidden[2] = {32, 32};
  Nre *r = NULL;
  Opt *o = NULL;
  double th[BATCH * D], thm[BATCH * D], x[BATCH * C];
  Rng g;
  assert_int_equal(nre_create(D, C, hidden, 2, 2 * BATCH, &r), 0);
  assert_int_equal(mlp_init(r->mlp, 3), 0);
  /* Standardisation from the prior predictive, as train-nre does from its simulations. */
  for (int k = 0; k < D; k++) r->th_mean[k] = toy_mu[k], r->th_sd[k] = sqrt(toy_S[k][k]);
  for (int k = 0; k < C; k++) {
    double m = toy_A[k][0] * toy_mu[0] + toy_A[k][1] * toy_mu[1], v = toy_noise * toy_noise;
    for (int a = 0; a < D; a++)
      for (int b = 0; b < D; b++) v += toy_A[k][a] * toy_S[a][b] * toy_A[k][b];
    r->x_mean[k] = m, r->x_sd[k] = sqrt(v);
  }
  assert_int_equal(opt_create(OPT_ADAM, r->mlp->nparams, &o), 0);
  double t0 = cs_wtime(), loss = 0;
  rng_init(&g, 1, RNG_TEST, 200);
  for (int step = 0; step < STEPS; step++) {
    o->lr = step < STEPS / 2 ? 3e-3 : 3e-3 * 0.5 * (1 + cos(M_PI * (step - STEPS / 2) / (STEPS / 2.0)));
    batch(&g, BATCH, th, thm, x); /* fresh simulations every step: no overfitting to judge */
    memset(r->mlp->grads, 0, r->mlp->nparams * sizeof(double));
    double l = nre_bce(r, th, thm, x, BATCH, 1.0 / (2 * BATCH), PETSC_TRUE, NULL);
    opt_step(o, r->mlp->params, r->mlp->grads);
    if (step >= STEPS - 200) loss += l / (200.0 * 2 * BATCH);
  }
  print_message("toy NRE: %d Adam steps of %d + %d pairs in %.2f s, final BCE %.4f (log 2 = 0.6931)\n", STEPS, BATCH,
                BATCH, cs_wtime() - t0, loss);

  const double th_test[3][D] = {{0.5, -1.0}, {1.5, -0.2}, {-0.4, -2.3}};
  double *gth = malloc(G * G * D * sizeof(double)), *gx = malloc(G * G * C * sizeof(double));
  double *lr = malloc(G * G * sizeof(double));
  for (int t = 0; t < 3; t++) {
    double xt[C], am[D], ac[D][D];
    for (int i = 0; i < C; i++) xt[i] = toy_A[i][0] * th_test[t][0] + toy_A[i][1] * th_test[t][1];
    toy_posterior(xt, am, ac);
    double asd[D] = {sqrt(ac[0][0]), sqrt(ac[1][1])};
    /* Grid over the analytic mean +- 6 sd. */
    for (int a = 0; a < G; a++)
      for (int b = 0; b < G; b++) {
        double *p = gth + (a * G + b) * D;
        p[0] = am[0] + asd[0] * (-6 + 12.0 * a / (G - 1));
        p[1] = am[1] + asd[1] * (-6 + 12.0 * b / (G - 1));
        gx[(a * G + b) * C] = xt[0], gx[(a * G + b) * C + 1] = xt[1];
      }
    nre_log_ratio(r, gth, gx, G * G, lr);
    double lmax = -INFINITY, sw = 0, m[D] = {0, 0}, v[D] = {0, 0};
    for (int q = 0; q < G * G; q++) lr[q] += toy_prior_logpdf(gth + q * D), lmax = fmax(lmax, lr[q]);
    for (int q = 0; q < G * G; q++) {
      double w = exp(lr[q] - lmax);
      sw += w;
      for (int d = 0; d < D; d++) m[d] += w * gth[q * D + d];
    }
    for (int d = 0; d < D; d++) m[d] /= sw;
    for (int q = 0; q < G * G; q++) {
      double w = exp(lr[q] - lmax) / sw;
      for (int d = 0; d < D; d++) v[d] += w * (gth[q * D + d] - m[d]) * (gth[q * D + d] - m[d]);
    }
    print_message("x = (%.2f, %.2f): mean (%.4f, %.4f) vs analytic (%.4f, %.4f); sd (%.4f, %.4f) vs (%.4f, %.4f)\n",
                  xt[0], xt[1], m[0], m[1], am[0], am[1], sqrt(v[0]), sqrt(v[1]), asd[0], asd[1]);
    for (int d = 0; d < D; d++) {
      double dm = fabs(m[d] - am[d]) / asd[d], ds = fabs(sqrt(v[d]) / asd[d] - 1);
      if (dm > 0.1)
        fail_msg("test %d, theta[%d]: posterior mean %.4f vs analytic %.4f: %.3f posterior sd apart (tolerance 0.1)", t,
                 d, m[d], am[d], dm);
      if (ds > 0.1)
        fail_msg("test %d, theta[%d]: posterior sd %.4f vs analytic %.4f: %.1f%% off (tolerance 10%%)", t, d,
                 sqrt(v[d]), asd[d], 100 * ds);
    }
  }
  free(gth), free(gx), free(lr);
  assert_int_equal(opt_destroy(&o), 0);
  assert_int_equal(nre_destroy(&r), 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_bce_gradient),
                                     cmocka_unit_test(test_linear_gaussian_posterior)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
