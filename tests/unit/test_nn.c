/* Layer kernels: every _backward against central finite differences of its
 * _forward in double precision, and the fast activations against libm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>

/* Gradient checks pass when max |analytic - FD| <= GRAD_TOL * max |FD|
 * (h = 1e-6: truncation ~1e-12, rounding ~1e-10 relative). */
#define GRAD_TOL 1e-7
#define FD_H     1e-6

static void fill(double *x, int n, uint64_t idx, double scale)
{
  Rng r;
  rng_init(&r, 11, RNG_TEST, idx);
  for (int i = 0; i < n; i++) x[i] = scale * (2.0 * rng_uniform(&r) - 1.0);
}

static double dot(const double *a, const double *b, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static void check_grad(const char *what, const double *ana, const double *fd, int n)
{
  double maxd = 0, maxf = 0;
  for (int i = 0; i < n; i++) {
    maxd = fmax(maxd, fabs(ana[i] - fd[i]));
    maxf = fmax(maxf, fabs(fd[i]));
  }
  if (!(maxd <= GRAD_TOL * fmax(maxf, 1e-12)))
    fail_msg("%s: max |analytic - FD| = %.3e, max |FD| = %.3e (tolerance %.1e relative)", what, maxd, maxf, GRAD_TOL);
}

enum { N = 5, NIN = 7, NOUT = 4 };

/* loss = sum(out * R) for a fixed random R, so dout = R. */
static double linear_loss(const double *x, const double *W, const double *b, const double *R, const double *mask)
{
  double out[N * NOUT], Wm[NOUT * NIN];
  for (int i = 0; i < NOUT * NIN; i++) Wm[i] = mask ? W[i] * mask[i] : W[i];
  linear_forward(out, x, Wm, b, N, NIN, NOUT);
  return dot(out, R, N * NOUT);
}

static void run_linear_check(const double *mask)
{
  double x[N * NIN], W[NOUT * NIN], b[NOUT], R[N * NOUT];
  double dx[N * NIN] = {0}, dW[NOUT * NIN] = {0}, db[NOUT] = {0};
  double fx[N * NIN], fW[NOUT * NIN], fb[NOUT];
  fill(x, N * NIN, 1, 1.0), fill(W, NOUT * NIN, 2, 0.5), fill(b, NOUT, 3, 0.5), fill(R, N * NOUT, 4, 1.0);
  if (mask) nn_mask_apply(W, mask, NOUT * NIN);
  /* The forward sees the stored (masked) weights; FD perturbs the raw entries. */
  if (mask)
    masked_linear_backward(dx, dW, db, R, x, W, mask, N, NIN, NOUT);
  else
    linear_backward(dx, dW, db, R, x, W, N, NIN, NOUT);
  double *ps[3] = {x, W, b}, *fs[3] = {fx, fW, fb};
  int ns[3] = {N * NIN, NOUT * NIN, NOUT};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < ns[k]; i++) {
      double keep = ps[k][i];
      ps[k][i] = keep + FD_H;
      double lp = linear_loss(x, W, b, R, mask);
      ps[k][i] = keep - FD_H;
      double lm = linear_loss(x, W, b, R, mask);
      ps[k][i] = keep;
      fs[k][i] = (lp - lm) / (2 * FD_H);
    }
  check_grad(mask ? "masked_linear dinp" : "linear dinp", dx, fx, N * NIN);
  check_grad(mask ? "masked_linear dW" : "linear dW", dW, fW, NOUT * NIN);
  check_grad(mask ? "masked_linear db" : "linear db", db, fb, NOUT);
  /* Accumulation: a second backward doubles the gradient. */
  double dW2[NOUT * NIN];
  memcpy(dW2, dW, sizeof dW);
  if (mask)
    masked_linear_backward(NULL, dW2, NULL, R, x, W, mask, N, NIN, NOUT);
  else
    linear_backward(NULL, dW2, NULL, R, x, W, N, NIN, NOUT);
  for (int i = 0; i < NOUT * NIN; i++)
    if (fabs(dW2[i] - 2 * dW[i]) > 1e-12 * (1 + fabs(dW[i]))) fail_msg("backward does not accumulate at %d", i);
  if (mask)
    for (int i = 0; i < NOUT * NIN; i++)
      if (mask[i] == 0 && (dW[i] != 0 || W[i] != 0)) fail_msg("masked entry %d has W %g dW %g", i, W[i], dW[i]);
}

static void test_linear_backward(void **state) { run_linear_check(NULL); }

static void test_masked_linear_backward(void **state)
{
  double mask[NOUT * NIN];
  for (int o = 0; o < NOUT; o++)
    for (int i = 0; i < NIN; i++) mask[o * NIN + i] = (o + 1) >= (i % 3) + 1 ? 1.0 : 0.0;
  run_linear_check(mask);
}

static void test_linear_forward_values(void **state)
{
  /* out = x W^T + b by hand for a 1x2 -> 1x3 case. */
  double x[2] = {1, 2}, W[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0.5, -1, 0}, out[3];
  linear_forward(out, x, W, b, 1, 2, 3);
  double want[3] = {1.5, 1, 3};
  for (int i = 0; i < 3; i++)
    if (fabs(out[i] - want[i]) > 1e-15) fail_msg("linear_forward out[%d] = %g, want %g", i, out[i], want[i]);
}

static void test_tanh_backward(void **state)
{
  enum { M = 40 };
  double x[M], y[M], R[M], dx[M] = {0}, fx[M];
  fill(x, M, 5, 4.0), fill(R, M, 6, 1.0);
  tanh_forward(y, x, M);
  tanh_backward(dx, R, y, M);
  for (int i = 0; i < M; i++) {
    double a = nn_tanh(x[i] + FD_H), b = nn_tanh(x[i] - FD_H);
    fx[i] = R[i] * (a - b) / (2 * FD_H);
  }
  check_grad("tanh dinp", dx, fx, M);
}

static void test_mse_backward(void **state)
{
  enum { R_ = 6, D = 3 };
  double p[R_ * D], t[R_ * D], dp[R_ * D] = {0}, fp[R_ * D];
  fill(p, R_ * D, 7, 1.0), fill(t, R_ * D, 8, 1.0);
  double l = mse_forward(p, t, R_, D), ref = 0;
  for (int i = 0; i < R_ * D; i++) ref += (p[i] - t[i]) * (p[i] - t[i]) / (R_ * D);
  if (fabs(l - ref) > 1e-15) fail_msg("mse_forward %.17g, want %.17g", l, ref);
  mse_backward(dp, p, t, R_, D, 1.0 / (R_ * D));
  for (int i = 0; i < R_ * D; i++) {
    double keep = p[i];
    p[i] = keep + FD_H;
    double lp = mse_forward(p, t, R_, D);
    p[i] = keep - FD_H;
    double lm = mse_forward(p, t, R_, D);
    p[i] = keep;
    fp[i] = (lp - lm) / (2 * FD_H);
  }
  check_grad("mse dpred", dp, fp, R_ * D);
}

/* The inline activations against libm: relative error <= 8 ulp on a dense
 * grid over [-40, 40] plus tiny arguments, and the softplus derivative. */
static void test_fast_math(void **state)
{
  const double tol = 8 * 2.220446049250313e-16;
  double et = 0, es = 0, eg = 0, ee = 0, xt = 0, xs = 0, xg = 0, xe = 0;
  for (int i = -400000; i <= 400000; i++) {
    double x = i * 1e-4;
    if (i % 997 == 0) x *= 1e-9; /* tiny arguments, where expm1 and tanh need care */
    double t = tanh(x), e = fabs(nn_tanh(x) - t) / fmax(fabs(t), 1e-300);
    if (e > et) et = e, xt = x;
    double sg, s = nn_softplus(x, &sg), sr = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    e = fabs(s - sr) / sr;
    if (e > es) es = e, xs = x;
    double gr = 1 / (1 + exp(-x));
    e = fabs(sg - gr) / gr;
    if (e > eg) eg = e, xg = x;
    if (x != 0) {
      double er = expm1(x);
      e = fabs(nn_expm1(x) - er) / fabs(er);
      if (e > ee) ee = e, xe = x;
    }
  }
  if (et > tol) fail_msg("nn_tanh rel. error %.3e at x = %g", et, xt);
  if (es > tol) fail_msg("nn_softplus rel. error %.3e at x = %g", es, xs);
  if (eg > tol) fail_msg("softplus derivative (sigmoid) rel. error %.3e at x = %g", eg, xg);
  if (ee > tol) fail_msg("nn_expm1 rel. error %.3e at x = %g", ee, xe);
  if (nn_tanh(1e6) != 1.0 || nn_tanh(-1e6) != -1.0) fail_msg("nn_tanh does not saturate");
  if (!(fabs(nn_softplus(-800, NULL)) < 1e-300) || nn_softplus(800, NULL) != 800) fail_msg("nn_softplus tails");
}

/* The four-lane versions give bitwise the scalar results, here in the build
 * for plain x86-64 (the AVX2 clones run the same operations). */
static void test_fast_math_v4(void **state)
{
  double x[4], y[4], s[4];
  long bad = 0;
  for (int i = -200000; i < 200000; i += 4) {
    for (int l = 0; l < 4; l++) x[l] = (i + l) * 3e-4 * (l == 2 ? 1e-8 : 1.0) * (l == 3 ? 10.0 : 1.0);
    nn_tanh4(y, x);
    nn_softplus4(s, x);
    for (int l = 0; l < 4; l++) {
      if (y[l] != nn_tanh(x[l])) {
        if (bad++ < 3) print_message("nn_tanh4(%.17g) = %.17g, scalar %.17g\n", x[l], y[l], nn_tanh(x[l]));
      }
      if (s[l] != nn_softplus(x[l], NULL)) {
        if (bad++ < 3)
          print_message("nn_softplus4(%.17g) = %.17g, scalar %.17g\n", x[l], s[l], nn_softplus(x[l], NULL));
      }
    }
  }
  if (bad) fail_msg("%ld four-lane results differ from the scalar functions", bad);
  /* tanh_forward (vector body + scalar tail) against nn_tanh */
  double in[11], out[11];
  for (int i = 0; i < 11; i++) in[i] = 0.37 * i - 2;
  tanh_forward(out, in, 11);
  for (int i = 0; i < 11; i++)
    if (fabs(out[i] - nn_tanh(in[i])) > 0)
      fail_msg("tanh_forward[%d] = %.17g, nn_tanh %.17g", i, out[i], nn_tanh(in[i]));
}

/* A row's output must not depend on the batch it came in: stars are sharded over ranks, and a
 * batch of 20 and one of 60 go through different dgemm kernels. Each row of batches of every size
 * and offset, bit for bit against the same row alone (forward and input gradient). */
static void test_linear_batch_invariance(void **state)
{
  enum { N = 100 };
  const int dims[][2] = {{6, 100}, {100, 100}, {100, 8}, {9, 50}};
  const int sizes[] = {1, 2, 5, 16, 20, 31, 33, 60, 64, 100};
  for (int d = 0; d < 4; d++) {
    const int nin = dims[d][0], nout = dims[d][1];
    double *W = malloc(sizeof(double) * nin * nout), *b = malloc(sizeof(double) * nout);
    double *x = malloc(sizeof(double) * N * nin), *g = malloc(sizeof(double) * N * nout);
    double *y1 = malloc(sizeof(double) * N * nout), *d1 = calloc((size_t)N * nin, sizeof(double));
    double *y = malloc(sizeof(double) * N * nout), *dx = malloc(sizeof(double) * N * nin);
    fill(W, nin * nout, 1, 0.5), fill(b, nout, 2, 0.5), fill(x, N * nin, 3, 1.0), fill(g, N * nout, 4, 1.0);
    for (int i = 0; i < N; i++) {
      linear_forward(y1 + i * nout, x + i * nin, W, b, 1, nin, nout);
      linear_backward(d1 + i * nin, NULL, NULL, g + i * nout, x + i * nin, W, 1, nin, nout);
    }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
      for (int o = 0; o + sizes[s] <= N; o += 7) {
        const int n = sizes[s];
        linear_forward(y, x + o * nin, W, b, n, nin, nout);
        memset(dx, 0, sizeof(double) * n * nin);
        linear_backward(dx, NULL, NULL, g + o * nout, x + o * nin, W, n, nin, nout);
        if (memcmp(y, y1 + o * nout, sizeof(double) * n * nout))
          fail_msg("linear_forward %dx%d: a batch of %d rows at row %d differs from the rows alone", nout, nin, n, o);
        if (memcmp(dx, d1 + o * nin, sizeof(double) * n * nin))
          fail_msg("linear_backward %dx%d: input gradient of a batch of %d rows at row %d differs", nout, nin, n, o);
      }
    free(W), free(b), free(x), free(g), free(y1), free(d1), free(y), free(dx);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear_forward_values),  cmocka_unit_test(test_linear_backward),
      cmocka_unit_test(test_masked_linear_backward), cmocka_unit_test(test_tanh_backward),
      cmocka_unit_test(test_mse_backward),           cmocka_unit_test(test_fast_math),
      cmocka_unit_test(test_fast_math_v4),           cmocka_unit_test(test_linear_batch_invariance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
