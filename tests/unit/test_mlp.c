/* MLP emulator network: backward against central differences over every
 * parameter, initialisation bounds and reproducibility, and learning a linear
 * map with Adam to a small error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <chempysbi/mlp.h>
#include <chempysbi/nn.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>

static void fill(double *x, size_t n, uint64_t idx, double scale)
{
  Rng r;
  rng_init(&r, 21, RNG_TEST, idx);
  for (size_t i = 0; i < n; i++) x[i] = scale * (2.0 * rng_uniform(&r) - 1.0);
}

/* loss = sum(y * R), so dy = R. */
static double mlp_loss(Mlp *m, const double *x, int n, const double *R, double *y)
{
  mlp_forward(m, x, n, y);
  double s = 0;
  for (int i = 0; i < n * m->sizes[m->nsizes - 1]; i++) s += y[i] * R[i];
  return s;
}

/* max |analytic - FD| <= 1e-7 max |FD| over all parameters (h = 1e-6). */
static void test_backward_fd(void **state)
{
  const int sizes[] = {6, 10, 7, 8}, n = 9;
  Mlp *m;
  double x[9 * 6], R[9 * 8], y[9 * 8];
  assert_int_equal(mlp_create(sizes, 4, 16, &m), 0);
  assert_int_equal(mlp_init(m, 5), 0);
  fill(x, 9 * 6, 1, 1.5), fill(R, 9 * 8, 2, 1.0);
  memset(m->grads, 0, m->nparams * sizeof(double));
  mlp_loss(m, x, n, R, y);
  mlp_backward(m, R, n);
  double maxd = 0, maxf = 0;
  size_t worst = 0;
  for (size_t i = 0; i < m->nparams; i++) {
    double keep = m->params[i], h = 1e-6;
    m->params[i] = keep + h;
    double lp = mlp_loss(m, x, n, R, y);
    m->params[i] = keep - h;
    double lm = mlp_loss(m, x, n, R, y);
    m->params[i] = keep;
    double fd = (lp - lm) / (2 * h), d = fabs(fd - m->grads[i]);
    if (d > maxd) maxd = d, worst = i;
    maxf = fmax(maxf, fabs(fd));
  }
  print_message("mlp_backward: max |analytic - FD| / max |FD| = %.2e\n", maxd / maxf);
  if (maxd > 1e-7 * maxf)
    fail_msg("mlp_backward: max |analytic - FD| = %.3e at param %zu (max |FD| %.3e)", maxd, worst, maxf);
  assert_int_equal(mlp_destroy(&m), 0);
}

static void test_init(void **state)
{
  const int sizes[] = {6, 100, 40, 8};
  Mlp *a, *b;
  assert_int_equal(mlp_create(sizes, 4, 64, &a), 0);
  assert_int_equal(mlp_create(sizes, 4, 8, &b), 0);
  assert_int_equal(a->nparams, 100 * 6 + 100 + 40 * 100 + 40 + 8 * 40 + 8);
  mlp_init(a, 3), mlp_init(b, 3);
  if (memcmp(a->params, b->params, a->nparams * sizeof(double))) fail_msg("same seed gave different weights");
  for (int l = 0; l < 3; l++) {
    double bound = 1 / sqrt(sizes[l]), mx = 0;
    for (int i = 0; i < sizes[l + 1] * sizes[l]; i++) mx = fmax(mx, fabs(a->W[l][i]));
    for (int i = 0; i < sizes[l + 1]; i++) mx = fmax(mx, fabs(a->b[l][i]));
    if (mx > bound || mx < 0.9 * bound) fail_msg("layer %d: max |w| %g, bound %g", l, mx, bound);
  }
  mlp_init(b, 4);
  if (!memcmp(a->params, b->params, a->nparams * sizeof(double))) fail_msg("different seeds gave the same weights");
  /* mlp_predict in chunks equals one forward. */
  double x[20 * 6], y1[20 * 8], y2[20 * 8];
  fill(x, 20 * 6, 3, 1.0);
  mlp_init(b, 3);
  mlp_forward(a, x, 20, y1);
  mlp_predict(b, x, 20, y2); /* max_batch 8: chunks 8, 8, 4 */
  for (int i = 0; i < 20 * 8; i++)
    if (fabs(y1[i] - y2[i]) > 1e-14) fail_msg("mlp_predict differs from mlp_forward at %d: %g vs %g", i, y2[i], y1[i]);
  mlp_destroy(&a), mlp_destroy(&b);
}

/* y = A x + c with 3 inputs, 2 outputs, learnt by a 3-16-2 tanh net with Adam
 * (lr 1e-2, batch 32, 3000 steps): validation MSE below 1e-4 (targets have
 * variance ~1; an untrained net is at ~1). */
static void test_learn_linear(void **state)
{
  const int sizes[] = {3, 16, 2}, B = 32;
  const double A[2][3] = {{0.5, -1.0, 0.3}, {0.2, 0.4, -0.7}}, c[2] = {0.1, -0.3};
  Mlp *m;
  Opt *o;
  double x[32 * 3], t[32 * 2], y[32 * 2], dy[32 * 2];
  assert_int_equal(mlp_create(sizes, 3, B, &m), 0);
  mlp_init(m, 1);
  assert_int_equal(opt_create(OPT_ADAM, m->nparams, &o), 0);
  o->lr = 1e-2;
  for (int step = 0; step < 3000; step++) {
    fill(x, B * 3, 1000 + step, 1.0);
    for (int i = 0; i < B; i++)
      for (int k = 0; k < 2; k++)
        t[i * 2 + k] = A[k][0] * x[i * 3] + A[k][1] * x[i * 3 + 1] + A[k][2] * x[i * 3 + 2] + c[k];
    memset(m->grads, 0, m->nparams * sizeof(double));
    mlp_forward(m, x, B, y);
    memset(dy, 0, sizeof dy);
    mse_backward(dy, y, t, B, 2, 1.0 / (B * 2));
    mlp_backward(m, dy, B);
    opt_step(o, m->params, m->grads);
  }
  fill(x, B * 3, 999, 1.0);
  for (int i = 0; i < B; i++)
    for (int k = 0; k < 2; k++)
      t[i * 2 + k] = A[k][0] * x[i * 3] + A[k][1] * x[i * 3 + 1] + A[k][2] * x[i * 3 + 2] + c[k];
  mlp_forward(m, x, B, y);
  double mse = mse_forward(y, t, B, 2);
  print_message("linear map: validation MSE after 3000 Adam steps %.3e\n", mse);
  if (!(mse < 1e-4)) fail_msg("validation MSE %.3e not below 1e-4", mse);
  opt_destroy(&o), mlp_destroy(&m);
}

static void test_bad_sizes(void **state)
{
  const int sizes[] = {6, 0, 8};
  Mlp *m = NULL;
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  PetscErrorCode ierr = mlp_create(sizes, 3, 8, &m);
  PetscPopErrorHandler();
  if (ierr == 0) fail_msg("mlp_create accepted a zero layer size");
}

/* Input gradient against central differences in every input of every row. */
static void test_backward_input_fd(void **state)
{
  const int sizes[] = {6, 10, 7, 8}, n = 9;
  Mlp *m;
  double x[9 * 6], R[9 * 8], y[9 * 8], dx[9 * 6];
  assert_int_equal(mlp_create(sizes, 4, 16, &m), 0);
  assert_int_equal(mlp_init(m, 5), 0);
  fill(x, 9 * 6, 3, 1.5), fill(R, 9 * 8, 4, 1.0);
  mlp_loss(m, x, n, R, y);
  mlp_backward_input(m, R, n, dx);
  double maxd = 0, maxf = 0;
  for (int i = 0; i < n * 6; i++) {
    double keep = x[i], h = 1e-6;
    x[i] = keep + h;
    double lp = mlp_loss(m, x, n, R, y);
    x[i] = keep - h;
    double lm = mlp_loss(m, x, n, R, y);
    x[i] = keep;
    double fd = (lp - lm) / (2 * h);
    maxd = fmax(maxd, fabs(fd - dx[i])), maxf = fmax(maxf, fabs(fd));
  }
  print_message("mlp_backward_input: max |analytic - FD| / max |FD| = %.2e\n", maxd / maxf);
  if (maxd > 1e-7 * maxf) fail_msg("mlp_backward_input: max |analytic - FD| = %.3e (max |FD| %.3e)", maxd, maxf);
  assert_int_equal(mlp_destroy(&m), 0);
}

/* Forward-mode jet: value equals mlp_forward, first and second directional
 * derivatives equal central differences of the value along u and v. */
static void test_forward_jet_fd(void **state)
{
  const int sizes[] = {6, 10, 7, 8}, n = 5, no = 8;
  Mlp *m;
  double x[5 * 6], xp[5 * 6], u[6], v[6], y[5 * 8], y0[5 * 8], dy[5 * 16], d2y[5 * 24];
  double f[3][3][5 * 8];
  assert_int_equal(mlp_create(sizes, 4, 16, &m), 0);
  assert_int_equal(mlp_init(m, 6), 0);
  fill(x, 5 * 6, 5, 1.5), fill(u, 6, 6, 1.0), fill(v, 6, 7, 1.0);
  assert_int_equal(mlp_forward_jet(m, x, u, v, n, y, dy, d2y), 0);
  mlp_forward(m, x, n, y0);
  const double h = 1e-4;
  for (int a = -1; a <= 1; a++)
    for (int b = -1; b <= 1; b++) {
      for (int i = 0; i < n * 6; i++) xp[i] = x[i] + h * (a * u[i % 6] + b * v[i % 6]);
      mlp_forward(m, xp, n, f[a + 1][b + 1]);
    }
  double e0 = 0, e1 = 0, e2 = 0, sc = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < no; k++) {
      int o = i * no + k;
      double fu = (f[2][1][o] - f[0][1][o]) / (2 * h), fv = (f[1][2][o] - f[1][0][o]) / (2 * h);
      double fuu = (f[2][1][o] - 2 * f[1][1][o] + f[0][1][o]) / (h * h);
      double fvv = (f[1][2][o] - 2 * f[1][1][o] + f[1][0][o]) / (h * h);
      double fuv = (f[2][2][o] - f[2][0][o] - f[0][2][o] + f[0][0][o]) / (4 * h * h);
      e0 = fmax(e0, fabs(y[o] - y0[o]));
      e1 = fmax(e1, fmax(fabs(dy[i * 2 * no + k] - fu), fabs(dy[i * 2 * no + no + k] - fv)));
      e2 = fmax(e2, fmax(fabs(d2y[i * 3 * no + k] - fuu),
                         fmax(fabs(d2y[i * 3 * no + no + k] - fuv), fabs(d2y[i * 3 * no + 2 * no + k] - fvv))));
      sc = fmax(sc, fabs(fuu));
    }
  print_message("mlp_forward_jet: value %.1e, first %.1e, second %.1e (scale %.2f)\n", e0, e1, e2, sc);
  if (e0 > 1e-14 || e1 > 1e-7 || e2 > 1e-5 * fmax(1, sc))
    fail_msg("mlp_forward_jet differs: value %.2e, first %.2e, second %.2e", e0, e1, e2);
  assert_int_equal(mlp_destroy(&m), 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backward_fd),    cmocka_unit_test(test_backward_input_fd),
      cmocka_unit_test(test_forward_jet_fd), cmocka_unit_test(test_init),
      cmocka_unit_test(test_learn_linear),   cmocka_unit_test(test_bad_sizes),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
