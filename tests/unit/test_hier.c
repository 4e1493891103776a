/* The hierarchical model: the per-star log density's gradients (locals and
 * the globals' share) and the global score and Hessian against central
 * differences, with missing elements and per-star errors; a missing element
 * removes exactly its own likelihood term; the transforms round-trip; a
 * values-only likelihood (nre) reproduces the built-in one, score and Hessian. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "testutil.h"
#include <chempysbi/gce.h>
#include <chempysbi/hier.h>

#define NS 7

static Emulator *E;
static HierModel *M;
static double X[NS * CS_NELEM], ERR[NS * CS_NELEM], ETAZ[NS * HIER_NZ], ETAL[HIER_NL];

static void fill(double *x, int n, uint64_t idx, double lo, double hi)
{
  Rng r;
  rng_init(&r, 31, RNG_TEST, idx);
  for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(&r);
}

static int setup(void **state)
{
  const PetscInt hidden[2] = {12, 9};
  Prior p;
  HierPrior hp;
  HierMean mean;
  if (emu_create(hidden, 2, 4, &E) || mlp_init(E->mlp, 3)) return 1; /* batch 4 < NS: several batches */
  fill(E->in_mean, CS_NPARAM, 1, -0.5, 0.5);
  fill(E->in_sd, CS_NPARAM, 2, 0.3, 2.0);
  fill(E->out_mean, CS_NELEM, 3, -0.3, 0.3);
  fill(E->out_sd, CS_NELEM, 4, 0.1, 0.5);
  prior_init(PRIOR_GAUSS, &p);
  hier_prior_from(&p, &hp);
  hier_mean_emulator(E, &mean);
  fill(X, NS * CS_NELEM, 5, -0.5, 0.5);
  fill(ERR, NS * CS_NELEM, 6, 0.02, 0.2);
  X[1 * CS_NELEM + 2] = NAN; /* missing values, and a star with no error column */
  X[3 * CS_NELEM + 5] = NAN;
  X[3 * CS_NELEM + 0] = NAN;
  for (int k = 0; k < CS_NELEM; k++) ERR[4 * CS_NELEM + k] = NAN;
  for (int i = 0; i < NS; i++) {
    double th[CS_NPARAM];
    prior_sample(&p, 9, RNG_TEST, (uint64_t)i, th);
    th[3] = 0.5, th[5] = 4 + i; /* inside the SFR rule */
    for (int q = 0; q < HIER_NZ; q++) ETAZ[i * HIER_NZ + q] = hier_to_eta(&hp, 2 + q, th[2 + q]);
  }
  ETAL[0] = hier_to_eta(&hp, 0, -2.2), ETAL[1] = hier_to_eta(&hp, 1, -2.95);
  return hier_create(&mean, &hp, NS, X, ERR, 0.05, &M) ? 1 : 0;
}

static int teardown(void **state) { return hier_destroy(&M) || emu_destroy(&E); }

static double total(const double *etaL, const double *etaz)
{
  double lp[NS], s = hier_global_logp(&M->prior, etaL, NULL);
  assert_int_equal(hier_star_logp(M, etaL, etaz, lp, NULL, NULL), 0);
  for (int i = 0; i < NS; i++) s += lp[i];
  return s;
}

static void test_gradient_fd(void **state)
{
  double lp[NS], gz[NS * HIER_NZ], gL[NS * HIER_NL], g[HIER_NL], ez[NS * HIER_NZ], eL[HIER_NL], h = 1e-6;
  assert_int_equal(hier_star_logp(M, ETAL, ETAZ, lp, gz, gL), 0);
  hier_global_logp(&M->prior, ETAL, g);
  for (int i = 0; i < NS; i++) g[0] += gL[2 * i], g[1] += gL[2 * i + 1];
  double maxd = 0, maxf = 0;
  memcpy(ez, ETAZ, sizeof(ez));
  for (int j = 0; j < NS * HIER_NZ; j++) {
    ez[j] = ETAZ[j] + h;
    double p = total(ETAL, ez);
    ez[j] = ETAZ[j] - h;
    double q = total(ETAL, ez);
    ez[j] = ETAZ[j];
    double fd = (p - q) / (2 * h);
    maxd = fmax(maxd, fabs(fd - gz[j])), maxf = fmax(maxf, fabs(fd));
  }
  for (int a = 0; a < HIER_NL; a++) {
    memcpy(eL, ETAL, sizeof(eL));
    eL[a] += h;
    double p = total(eL, ETAZ);
    eL[a] -= 2 * h;
    double q = total(eL, ETAZ), fd = (p - q) / (2 * h);
    maxd = fmax(maxd, fabs(fd - g[a])), maxf = fmax(maxf, fabs(fd));
  }
  print_message("hier gradient: max |analytic - FD| = %.2e (max |FD| %.2e)\n", maxd, maxf);
  if (maxd > 1e-6 * fmax(1, maxf)) fail_msg("hier gradient differs from FD by %.3e", maxd);
}

/* Log-likelihood only, in theta_L: the total minus the terms without L. */
static double loglik(const double thL[2])
{
  double eL[2] = {hier_to_eta(&M->prior, 0, thL[0]), hier_to_eta(&M->prior, 1, thL[1])}, lp[NS], s = 0;
  assert_int_equal(hier_star_logp(M, eL, ETAZ, lp, NULL, NULL), 0);
  for (int i = 0; i < NS; i++) s += lp[i];
  return s; /* the locals' prior terms do not depend on L */
}

static void test_score_fd(void **state)
{
  double s[NS * 2], H[NS * 3], th[2] = {-2.2, -2.95}, S[2] = {0, 0}, HH[3] = {0, 0, 0}, h = 1e-4;
  assert_int_equal(hier_star_score(M, th, ETAZ, s, H), 0);
  for (int i = 0; i < NS; i++) {
    S[0] += s[2 * i], S[1] += s[2 * i + 1];
    for (int a = 0; a < 3; a++) HH[a] += H[3 * i + a];
  }
  double f[3][3];
  for (int a = -1; a <= 1; a++)
    for (int b = -1; b <= 1; b++) {
      double t[2] = {th[0] + a * h, th[1] + b * h};
      f[a + 1][b + 1] = loglik(t);
    }
  double fs[2] = {(f[2][1] - f[0][1]) / (2 * h), (f[1][2] - f[1][0]) / (2 * h)};
  double fh[3] = {(f[2][1] - 2 * f[1][1] + f[0][1]) / (h * h), (f[2][2] - f[2][0] - f[0][2] + f[0][0]) / (4 * h * h),
                  (f[1][2] - 2 * f[1][1] + f[1][0]) / (h * h)};
  double es = fmax(fabs(S[0] - fs[0]), fabs(S[1] - fs[1])), eh = 0, sc = 0;
  for (int a = 0; a < 3; a++) eh = fmax(eh, fabs(HH[a] - fh[a])), sc = fmax(sc, fabs(fh[a]));
  print_message("hier score: |score - FD| %.2e, |Hessian - FD| %.2e (scale %.2e)\n", es, eh, sc);
  if (es > 1e-5 * fmax(1, fabs(fs[0]) + fabs(fs[1])) || eh > 1e-4 * fmax(1, sc))
    fail_msg("score/Hessian differ from FD: %.3e, %.3e", es, eh);
}

/* A values-only likelihood (HierLik, as nre's ratio estimator): the emulator's own Gaussian
 * likelihood, written out here. Its log density must equal the built-in one, and its score and
 * Hessian in the globals (central differences in hier.c) the analytic ones from the emulator's jet. */
typedef struct {
  Emulator *e;
  double w[CS_NELEM];
} GaussLik;

static PetscErrorCode gauss_loglik(void *ctx, const double *theta, const double *x, int n, double *ll)
{
  GaussLik *g = ctx;
  for (int j = 0; j < n; j++) {
    double f[CS_NELEM];
    emu_predict(g->e, theta + j * CS_NPARAM, 1, f);
    ll[j] = 0;
    for (int k = 0; k < CS_NELEM; k++)
      ll[j] -= 0.5 * g->w[k] * (x[j * CS_NELEM + k] - f[k]) * (x[j * CS_NELEM + k] - f[k]);
  }
  return PETSC_SUCCESS;
}

static void test_values_only_likelihood(void **state)
{
  double x[NS * CS_NELEM], lp[NS], lq[NS], s[NS * 2], h[NS * 3], s2[NS * 2], h2[NS * 3], th[2] = {-2.2, -2.95};
  HierModel *Mg, *Ml;
  GaussLik g = {.e = E};
  HierLik lik = {.ctx = &g, .loglik = gauss_loglik};
  for (int k = 0; k < CS_NELEM; k++) g.w[k] = 1 / (0.05 * 0.05);
  for (int i = 0; i < NS * CS_NELEM; i++) x[i] = isfinite(X[i]) ? X[i] : 0.1;
  assert_int_equal(hier_create(&M->mean, &M->prior, NS, x, NULL, 0.05, &Mg), 0);
  assert_int_equal(hier_create(&M->mean, &M->prior, NS, x, NULL, 0.05, &Ml), 0);
  assert_int_equal(hier_set_lik(Ml, &lik), 0);
  assert_int_equal(hier_star_logp(Mg, ETAL, ETAZ, lp, NULL, NULL), 0);
  assert_int_equal(hier_star_logp(Ml, ETAL, ETAZ, lq, NULL, NULL), 0);
  for (int i = 0; i < NS; i++)
    if (fabs(lp[i] - lq[i]) > 1e-9 * fmax(1, fabs(lp[i])))
      fail_msg("star %d: log density %.12g vs %.12g", i, lq[i], lp[i]);
  assert_int_equal(hier_star_score(Mg, th, ETAZ, s, h), 0);
  assert_int_equal(hier_star_score(Ml, th, ETAZ, s2, h2), 0);
  double es = 0, eh = 0, ss = 0, sh = 0;
  for (int i = 0; i < NS * 2; i++) es = fmax(es, fabs(s[i] - s2[i])), ss = fmax(ss, fabs(s[i]));
  for (int i = 0; i < NS * 3; i++) eh = fmax(eh, fabs(h[i] - h2[i])), sh = fmax(sh, fabs(h[i]));
  print_message(
      "values-only likelihood: |score - analytic| %.2e (scale %.2e), |Hessian - analytic| %.2e (scale %.2e)\n", es, ss,
      eh, sh);
  if (es > 1e-5 * fmax(1, ss) || eh > 1e-3 * fmax(1, sh)) fail_msg("central differences off: %.3e, %.3e", es, eh);
  double gz[NS * HIER_NZ];
  assert_int_not_equal(hier_star_logp(Ml, ETAL, ETAZ, lq, gz, NULL), 0); /* no gradients: refused */
  x[2 * CS_NELEM + 3] = NAN;
  HierModel *Mm;
  assert_int_equal(hier_create(&M->mean, &M->prior, NS, x, NULL, 0.05, &Mm), 0);
  assert_int_not_equal(hier_set_lik(Mm, &lik), 0); /* a missing element: refused */
  hier_destroy(&Mm);
  hier_destroy(&Mg);
  hier_destroy(&Ml);
}

/* Dropping element k of star 0 removes exactly -0.5 (x_k - f_k)^2 / sigma_k^2. */
static void test_missing_element(void **state)
{
  double lp[NS], lq[NS], th[CS_NPARAM], f[CS_NELEM], x2[NS * CS_NELEM];
  HierModel *M2;
  const int k = 6;
  memcpy(x2, X, sizeof(x2));
  x2[k] = NAN;
  assert_int_equal(hier_create(&M->mean, &M->prior, NS, x2, ERR, 0.05, &M2), 0);
  assert_int_equal(hier_star_logp(M, ETAL, ETAZ, lp, NULL, NULL), 0);
  assert_int_equal(hier_star_logp(M2, ETAL, ETAZ, lq, NULL, NULL), 0);
  for (int a = 0; a < HIER_NL; a++) th[a] = hier_to_theta(&M->prior, a, ETAL[a]);
  for (int q = 0; q < HIER_NZ; q++) th[2 + q] = hier_to_theta(&M->prior, 2 + q, ETAZ[q]);
  emu_predict(E, th, 1, f);
  double want = -0.5 * (X[k] - f[k]) * (X[k] - f[k]) / (ERR[k] * ERR[k]);
  print_message("missing element: lp difference %.12g, expected %.12g\n", lp[0] - lq[0], want);
  assert_true(fabs((lp[0] - lq[0]) - want) < 1e-9 * fmax(1, fabs(want)));
  for (int i = 1; i < NS; i++) assert_true(lp[i] == lq[i]);
  assert_int_equal(hier_destroy(&M2), 0);
}

/* The SFR rule is part of the locals' prior: no mass where CHEMPY rejects. */
static void test_sfr_rule(void **state)
{
  double ez[NS * HIER_NZ], lp[NS];
  HierModel *M2;
  HierPrior hp = M->prior;
  hp.hi[5] = 13.8; /* the wide box reaches the late births CHEMPY rejects */
  assert_int_equal(hier_create(&M->mean, &hp, NS, X, ERR, 0.05, &M2), 0);
  memcpy(ez, ETAZ, sizeof(ez));
  ez[3] = hier_to_eta(&hp, 5, 13.7), ez[1] = hier_to_eta(&hp, 3, 0.30); /* early peak, late birth */
  assert_false(gce_sfr_rule_accepts(0.30, 13.7));
  assert_true(gce_sfr_rule_accepts(0.55, 8.0));
  assert_int_equal(hier_star_logp(M2, ETAL, ez, lp, NULL, NULL), 0);
  assert_true(lp[0] == -INFINITY && isfinite(lp[1]));
  assert_int_equal(hier_destroy(&M2), 0);
  for (int k = 0; k < CS_NPARAM; k++) {
    double t = M->prior.lo[k] + 0.37 * (M->prior.hi[k] - M->prior.lo[k]);
    assert_true(fabs(hier_to_theta(&M->prior, k, hier_to_eta(&M->prior, k, t)) - t) < 1e-12);
  }
}

int main(int argc, char **argv)
{
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_fd),
      cmocka_unit_test(test_score_fd),
      cmocka_unit_test(test_values_only_likelihood),
      cmocka_unit_test(test_missing_element),
      cmocka_unit_test(test_sfr_rule),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  PetscFinalize();
  return rc;
}
