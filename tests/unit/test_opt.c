/* Optimisers: Adam's first step has the analytic value lr g / (|g| + eps);
 * Adam and schedule-free AdamW minimise a quadratic; schedule-free's x is the
 * lr^2-weighted average of its z iterates (its defining property); y <-> x
 * round-trips; a resume from the saved state continues bit for bit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>

enum { N = 20 };

/* f(p) = 0.5 sum a_i (p_i - c_i)^2 with curvatures a_i spread over 1e-2..1e1. */
static void quad_grad(const double *p, double *g, double *f)
{
  double s = 0;
  for (int i = 0; i < N; i++) {
    double a = pow(10.0, -2.0 + 3.0 * i / (N - 1)), c = sin(i + 1.0);
    g[i] = a * (p[i] - c);
    s += 0.5 * a * (p[i] - c) * (p[i] - c);
  }
  if (f) *f = s;
}

static double max_dist_to_min(const double *p)
{
  double d = 0;
  for (int i = 0; i < N; i++) d = fmax(d, fabs(p[i] - sin(i + 1.0)));
  return d;
}

static void test_adam_first_step(void **state)
{
  Opt *o;
  double p[N], p0[N], g[N];
  for (int i = 0; i < N; i++) p[i] = p0[i] = 0.1 * i, g[i] = (i % 2 ? 1 : -1) * pow(10.0, -6.0 + 0.5 * i);
  assert_int_equal(opt_create(OPT_ADAM, N, &o), 0);
  o->lr = 1e-3;
  opt_step(o, p, g);
  double maxd = 0;
  for (int i = 0; i < N; i++) {
    double want = p0[i] - o->lr * g[i] / (fabs(g[i]) + o->eps); /* = lr sign(g) for |g| >> eps */
    maxd = fmax(maxd, fabs(p[i] - want));
    if (fabs(g[i]) > 1e-4 && fabs(fabs(p[i] - p0[i]) - 1e-3) > 1e-3 * 1e-4)
      fail_msg("Adam first step %g at %d is not lr sign(g)", p[i] - p0[i], i);
  }
  if (maxd > 1e-17) fail_msg("Adam first step: max difference from lr g/(|g|+eps) is %.3e", maxd);
  assert_int_equal(o->step, 1);
  opt_destroy(&o);
}

static void test_adam_quadratic(void **state)
{
  Opt *o;
  double p[N] = {0}, g[N], f0, f;
  quad_grad(p, g, &f0);
  assert_int_equal(opt_create(OPT_ADAM, N, &o), 0);
  o->lr = 1e-2;
  for (int k = 0; k < 5000; k++) quad_grad(p, g, NULL), opt_step(o, p, g);
  quad_grad(p, g, &f);
  double d = max_dist_to_min(p);
  print_message("Adam: f %.3e -> %.3e, max |p - p*| %.3e\n", f0, f, d);
  if (!(d < 1e-3)) fail_msg("Adam did not reach the minimum: max |p - p*| = %.3e (tolerance 1e-3)", d);
  opt_destroy(&o);
}

static void test_schedulefree_quadratic(void **state)
{
  Opt *o;
  double p[N] = {0}, g[N], f0, f;
  quad_grad(p, g, &f0);
  assert_int_equal(opt_create(OPT_SCHEDULEFREE, N, &o), 0);
  o->lr = 1e-2;
  o->warmup_steps = 100;
  for (int k = 0; k < 5000; k++) quad_grad(p, g, NULL), opt_step(o, p, g);
  opt_eval_mode(o, p);
  quad_grad(p, g, &f);
  double d = max_dist_to_min(p);
  print_message("schedule-free AdamW: f %.3e -> %.3e at x, max |x - p*| %.3e\n", f0, f, d);
  if (!(d < 1e-3)) fail_msg("schedule-free did not reach the minimum: max |x - p*| = %.3e (tolerance 1e-3)", d);
  opt_destroy(&o);
}

/* x_T = sum_t w_t z_t / sum_t w_t with w_t = t^r lr_max_t^power (warmup makes
 * the weights unequal); x is read back through opt_eval_mode. */
static void test_schedulefree_average(void **state)
{
  Opt *o;
  double p[N], g[N], zsum[N] = {0}, wsum = 0, lrmax = 0;
  for (int i = 0; i < N; i++) p[i] = 0.3;
  assert_int_equal(opt_create(OPT_SCHEDULEFREE, N, &o), 0);
  o->lr = 5e-3, o->warmup_steps = 30, o->r = 0.5, o->weight_decay = 1e-2;
  for (int t = 1; t <= 60; t++) {
    quad_grad(p, g, NULL);
    opt_step(o, p, g);
    double lr = 5e-3 * (t <= 30 ? t / 30.0 : 1.0);
    lrmax = fmax(lrmax, lr);
    double w = pow(t, 0.5) * lrmax * lrmax;
    wsum += w;
    for (int i = 0; i < N; i++) zsum[i] += w * o->state[i];
  }
  double y[N], maxd = 0;
  memcpy(y, p, sizeof p);
  opt_eval_mode(o, p);
  for (int i = 0; i < N; i++) maxd = fmax(maxd, fabs(p[i] - zsum[i] / wsum));
  if (maxd > 1e-13) fail_msg("schedule-free x differs from the weighted mean of z by %.3e", maxd);
  opt_train_mode(o, p);
  maxd = 0;
  for (int i = 0; i < N; i++) maxd = fmax(maxd, fabs(p[i] - y[i]));
  if (maxd > 1e-15) fail_msg("eval/train round trip moved y by %.3e", maxd);
  opt_destroy(&o);
}

/* Run 40 steps, save (params, state, step, lr_max, weight_sum, train_mode),
 * run 40 more; a fresh optimiser restored from the save must end identical. */
static void run_resume(OptKind kind)
{
  Opt *a, *b;
  double pa[N], pb[N], g[N];
  for (int i = 0; i < N; i++) pa[i] = 0.0;
  opt_create(kind, N, &a), opt_create(kind, N, &b);
  a->lr = b->lr = 1e-2;
  a->warmup_steps = b->warmup_steps = 50;
  for (int k = 0; k < 40; k++) quad_grad(pa, g, NULL), opt_step(a, pa, g);
  memcpy(pb, pa, sizeof pa);
  memcpy(b->state, a->state, a->nstate * sizeof(double));
  b->step = a->step, b->lr_max = a->lr_max, b->weight_sum = a->weight_sum, b->train_mode = a->train_mode;
  for (int k = 0; k < 40; k++) {
    quad_grad(pa, g, NULL), opt_step(a, pa, g);
    quad_grad(pb, g, NULL), opt_step(b, pb, g);
  }
  if (memcmp(pa, pb, sizeof pa) || memcmp(a->state, b->state, a->nstate * sizeof(double)))
    fail_msg("%s: resumed run differs from the uninterrupted one", kind == OPT_ADAM ? "Adam" : "schedule-free");
  opt_destroy(&a), opt_destroy(&b);
}

static void test_resume(void **state)
{
  run_resume(OPT_ADAM);
  run_resume(OPT_SCHEDULEFREE);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adam_first_step),
      cmocka_unit_test(test_adam_quadratic),
      cmocka_unit_test(test_schedulefree_quadratic),
      cmocka_unit_test(test_schedulefree_average),
      cmocka_unit_test(test_resume),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
