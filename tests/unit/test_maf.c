/* Conditional MAF: inverse(forward(theta)) = theta (reference inverse and the
 * blocked sampler), log-det against a finite-difference Jacobian, backward
 * against central differences, and a 2-D flow's density integrating to 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <chempysbi/maf.h>
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>

static void fill(double *x, size_t n, uint64_t idx, double scale)
{
  Rng r;
  rng_init(&r, 31, RNG_TEST, idx);
  for (size_t i = 0; i < n; i++) x[i] = scale * (2.0 * rng_uniform(&r) - 1.0);
}

/* Random init, then every parameter scaled up so the flow is far from the
 * identity (init is near-affine) and the masks matter. */
static Maf *make_flow(int D, int C, int K, int H, int nb, int max_batch, double gain, uint64_t seed)
{
  Maf *m = NULL;
  assert_int_equal(maf_create(D, C, K, H, nb, max_batch, &m), 0);
  assert_int_equal(maf_init(m, seed), 0);
  for (size_t i = 0; i < m->nparams; i++) m->params[i] *= gain;
  return m;
}

/* The sbi default 6-D flow: parameter count by hand. */
static void test_sizes(void **state)
{
  Maf *m;
  assert_int_equal(maf_create(6, 8, 4, 8, 2, 16, &m), 0);
  size_t per = 8 * 6 + 8 + 8 * 8 + 8 + 2 * (8 * 8 + 8) + 12 * 8 + 12;
  assert_int_equal(m->nparams, 4 * per);
  /* nflows degrees for D = 6: h % 5 + 1 */
  for (int h = 0; h < 8; h++) assert_int_equal(m->deg[h], h % 5 + 1);
  maf_destroy(&m);
}

/* |inverse(forward(theta)) - theta| <= 1e-10 for the reference inverse with
 * per-row contexts and for maf_sample with one context (n not a multiple of
 * the sample block, to exercise the tail). */
static void test_inverse_identity(void **state)
{
  enum { D = 6, C = 8, N = 150 };
  Maf *m = make_flow(D, C, 4, 8, 2, N, 2.0, 7);
  static double th[N * D], ctx[N * C], z[N * D], ld[N], back[N * D], ctx1[N * C];
  fill(th, N * D, 1, 2.0), fill(ctx, N * C, 2, 1.5);
  maf_forward(m, th, ctx, N, z, ld);
  maf_inverse(m, z, ctx, N, back);
  double maxd = 0;
  for (int i = 0; i < N * D; i++) maxd = fmax(maxd, fabs(back[i] - th[i]));
  print_message("maf_inverse(maf_forward(theta)): max |diff| %.2e\n", maxd);
  if (maxd > 1e-10) fail_msg("maf_inverse(maf_forward(theta)): max |diff| %.3e > 1e-10", maxd);
  /* One context for all rows, through the sampler. */
  for (int r = 0; r < N; r++) memcpy(ctx1 + r * C, ctx, C * sizeof(double));
  maf_forward(m, th, ctx1, N, z, ld);
  maf_sample(m, ctx1, z, N, back);
  maxd = 0;
  for (int i = 0; i < N * D; i++) maxd = fmax(maxd, fabs(back[i] - th[i]));
  print_message("maf_sample(maf_forward(theta)): max |diff| %.2e\n", maxd);
  if (maxd > 1e-10) fail_msg("maf_sample(maf_forward(theta)): max |diff| %.3e > 1e-10", maxd);
  /* Other shapes: D = 1 (degree-0 hidden units), no context, no extra blocks. */
  int shapes[3][5] = {{1, 3, 3, 5, 2}, {3, 0, 2, 7, 1}, {4, 2, 5, 3, 0}};
  for (int s = 0; s < 3; s++) {
    int d = shapes[s][0], c = shapes[s][1];
    Maf *q = make_flow(d, c, shapes[s][2], shapes[s][3], shapes[s][4], N, 2.0, 8 + s);
    static double cc[N * C];
    for (int r = 0; r < N; r++) memcpy(cc + r * c, ctx, c * sizeof(double));
    maf_forward(q, th, cc, N, z, ld);
    maf_sample(q, cc, z, N, back);
    maxd = 0;
    for (int i = 0; i < N * d; i++) maxd = fmax(maxd, fabs(back[i] - th[i]));
    if (maxd > 1e-10) fail_msg("shape D=%d C=%d: maf_sample(maf_forward) max |diff| %.3e > 1e-10", d, c, maxd);
    maf_destroy(&q);
  }
  maf_destroy(&m);
}

/* log|det| by Gaussian elimination with partial pivoting. */
static double log_abs_det(double *A, int n)
{
  double s = 0;
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
    for (int j = 0; j < n; j++) {
      double t = A[c * n + j];
      A[c * n + j] = A[p * n + j], A[p * n + j] = t;
    }
    s += log(fabs(A[c * n + c]));
    for (int r = c + 1; r < n; r++) {
      double f = A[r * n + c] / A[c * n + c];
      for (int j = c; j < n; j++) A[r * n + j] -= f * A[c * n + j];
    }
  }
  return s;
}

/* logdet from maf_forward against log|det J| of central differences (h 1e-5):
 * |difference| <= 1e-6. */
static void test_logdet_fd(void **state)
{
  enum { D = 6, C = 8, R = 5 };
  Maf *m = make_flow(D, C, 4, 8, 2, 2 * D, 1.5, 9);
  double th[R * D], ctx[R * C], z[D], ld, J[D * D], tp[2 * D * D], cp[2 * D * C], zp[2 * D * D], ldp[2 * D];
  double h = 1e-5, maxd = 0;
  fill(th, R * D, 3, 1.5), fill(ctx, R * C, 4, 1.0);
  for (int r = 0; r < R; r++) {
    maf_forward(m, th + r * D, ctx + r * C, 1, z, &ld);
    for (int j = 0; j < D; j++)
      for (int sgn = 0; sgn < 2; sgn++) {
        memcpy(tp + (2 * j + sgn) * D, th + r * D, D * sizeof(double));
        tp[(2 * j + sgn) * D + j] += sgn ? -h : h;
        memcpy(cp + (2 * j + sgn) * C, ctx + r * C, C * sizeof(double));
      }
    maf_forward(m, tp, cp, 2 * D, zp, ldp);
    for (int i = 0; i < D; i++)
      for (int j = 0; j < D; j++) J[i * D + j] = (zp[(2 * j) * D + i] - zp[(2 * j + 1) * D + i]) / (2 * h);
    double fd = log_abs_det(J, D);
    maxd = fmax(maxd, fabs(fd - ld));
  }
  print_message("logdet vs FD Jacobian: max |diff| %.2e\n", maxd);
  if (maxd > 1e-6) fail_msg("logdet vs finite-difference Jacobian: max |diff| %.3e > 1e-6", maxd);
  maf_destroy(&m);
}

static double weighted_logp(Maf *m, const double *th, const double *ctx, int n, const double *w, double *lp)
{
  maf_log_prob(m, th, ctx, n, lp);
  double s = 0;
  for (int r = 0; r < n; r++) s += w[r] * lp[r];
  return s;
}

/* Gradient of sum_r w_r logp_r against central differences (h 1e-6) over every
 * unmasked parameter: max |analytic - FD| <= 1e-6 max |FD|; masked entries
 * must have exactly zero gradient. */
static void test_backward_fd(void **state)
{
  enum { D = 4, C = 3, N = 7 };
  Maf *m = make_flow(D, C, 3, 6, 2, N, 1.5, 10);
  double th[N * D], ctx[N * C], w[N], lp[N];
  fill(th, N * D, 5, 1.5), fill(ctx, N * C, 6, 1.0), fill(w, N, 7, 1.0);
  /* masked[i]: parameter i is a masked weight entry */
  char *masked = calloc(m->nparams, 1);
  for (int k = 0; k < m->K; k++) {
    for (int i = 0; i < m->H * D; i++) masked[m->p[k].W0 - m->params + i] = m->mask0[i] == 0;
    for (int j = 0; j < m->nblocks; j++)
      for (int i = 0; i < m->H * m->H; i++) masked[m->p[k].Wh[j] - m->params + i] = m->maskh[i] == 0;
    for (int i = 0; i < 2 * D * m->H; i++) masked[m->p[k].Wo - m->params + i] = m->masko[i] == 0;
  }
  memset(m->grads, 0, m->nparams * sizeof(double));
  weighted_logp(m, th, ctx, N, w, lp);
  maf_backward(m, w, N);
  double maxd = 0, maxf = 0;
  size_t worst = 0, nmasked = 0;
  for (size_t i = 0; i < m->nparams; i++) {
    if (masked[i]) {
      nmasked++;
      if (m->grads[i] != 0 || m->params[i] != 0)
        fail_msg("masked parameter %zu: value %g grad %g", i, m->params[i], m->grads[i]);
      continue;
    }
    double keep = m->params[i], h = 1e-6;
    m->params[i] = keep + h;
    double lpp = weighted_logp(m, th, ctx, N, w, lp);
    m->params[i] = keep - h;
    double lpm = weighted_logp(m, th, ctx, N, w, lp);
    m->params[i] = keep;
    double fd = (lpp - lpm) / (2 * h), d = fabs(fd - m->grads[i]);
    if (d > maxd) maxd = d, worst = i;
    maxf = fmax(maxf, fabs(fd));
  }
  assert_true(nmasked > 0);
  print_message("maf_backward: max |analytic - FD| / max |FD| = %.2e over %zu unmasked parameters\n", maxd / maxf,
                m->nparams - nmasked);
  if (maxd > 1e-6 * maxf)
    fail_msg("maf_backward: max |analytic - FD| %.3e at param %zu (max |FD| %.3e)", maxd, worst, maxf);
  free(masked);
  maf_destroy(&m);
}

/* A 2-D conditional flow (K 3, H 8) at a fixed context. The sample mean and
 * sd of 2e5 draws from maf_sample fix a box of +-8 sd; the density summed on
 * a 1600^2 grid over it is 1 within 1e-3, and the grid mean matches the sample
 * mean within 5 standard errors (so the sampler draws from maf_log_prob's q). */
static void test_density_integrates(void **state)
{
  enum { D = 2, C = 2, G = 1600 };
  Maf *m = make_flow(D, C, 3, 8, 2, G, 1.0, 11);
  const size_t NS = 200000;
  double ctx[G * C], th[G * D], lp[G], mass = 0, mean[2] = {0, 0}, smean[2] = {0, 0}, ssd[2] = {0, 0};
  double *z = malloc(NS * D * sizeof(double)), *s = malloc(NS * D * sizeof(double));
  for (int r = 0; r < G; r++) ctx[r * C] = 0.7, ctx[r * C + 1] = -0.4;
  Rng rg;
  rng_init(&rg, 5, RNG_TEST, 0);
  for (size_t i = 0; i < NS * D; i++) z[i] = rng_normal(&rg);
  maf_sample(m, ctx, z, NS, s);
  for (int d = 0; d < 2; d++) {
    for (size_t i = 0; i < NS; i++) smean[d] += s[i * D + d] / NS;
    for (size_t i = 0; i < NS; i++) ssd[d] += (s[i * D + d] - smean[d]) * (s[i * D + d] - smean[d]) / NS;
    ssd[d] = sqrt(ssd[d]);
  }
  double lo[2], step[2];
  for (int d = 0; d < 2; d++) lo[d] = smean[d] - 8 * ssd[d], step[d] = 16 * ssd[d] / G;
  for (int gi = 0; gi < G; gi++) {
    for (int gj = 0; gj < G; gj++)
      th[gj * D] = lo[0] + (gi + 0.5) * step[0], th[gj * D + 1] = lo[1] + (gj + 0.5) * step[1];
    maf_log_prob(m, th, ctx, G, lp);
    for (int gj = 0; gj < G; gj++) {
      double p = exp(lp[gj]) * step[0] * step[1];
      mass += p;
      for (int d = 0; d < 2; d++) mean[d] += p * th[gj * D + d];
    }
  }
  print_message(
      "2-D flow: grid mass %.6f over mean +- 8 sd, sd (%.3f, %.3f); mean grid (%.4f, %.4f) samples (%.4f, %.4f)\n",
      mass, ssd[0], ssd[1], mean[0], mean[1], smean[0], smean[1]);
  if (fabs(mass - 1) > 1e-3) fail_msg("density integrates to %.6f, not 1 within 1e-3", mass);
  for (int d = 0; d < 2; d++) {
    double se = ssd[d] / sqrt((double)NS);
    if (fabs(smean[d] - mean[d]) > 5 * se)
      fail_msg("sample mean[%d] %.5f vs density mean %.5f (5 se = %.2e)", d, smean[d], mean[d], 5 * se);
  }
  free(z), free(s);
  maf_destroy(&m);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),       cmocka_unit_test(test_inverse_identity),   cmocka_unit_test(test_logdet_fd),
      cmocka_unit_test(test_backward_fd), cmocka_unit_test(test_density_integrates),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
