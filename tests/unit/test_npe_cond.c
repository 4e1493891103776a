/* The conditioned NPE's inputs and file format, and the observation model:
 * a masked element's value cannot change the posterior (the samples are
 * bitwise the same whatever it holds), a fixed-noise NPE refuses missing
 * values, errors outside the trained range are handled as documented, a
 * conditioned model reads back exactly, a fixed one is written without the
 * new attributes (the old format), and obs_draw reproduces the fixed-noise
 * draws and has the configured error range and missing fractions. The
 * birth time through the logit of its bounds (th_logit): the density's
 * Jacobian agrees with finite differences of the map, the map inverts,
 * there is no density outside the bounds, every draw is inside them, the
 * flag survives the file, and without it the density is the affine one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <chempysbi/npe.h>
#include <chempysbi/obs.h>
#include "testutil.h"

enum { NS = 200 };

static Npe *make_npe(NpeKind kind)
{
  Npe *npe = NULL;
  assert_int_equal(npe_create_kind(kind, 3, 16, 2, 256, &npe), 0);
  assert_int_equal(npe->est->ops->init(npe->est, 5), 0);
  for (int k = 0; k < CS_NELEM; k++) {
    npe->x_mean[k] = 0.1 * k;
    npe->x_sd[k] = 0.2 + 0.01 * k;
  }
  for (int k = 0; k < CS_NPARAM; k++) {
    npe->th_mean[k] = npe->prior.mean[k];
    npe->th_sd[k] = k == 5 ? 3 : npe->prior.sd[k];
  }
  if (kind == NPE_CONDITIONED) {
    npe->obs.lo = 0.01;
    npe->obs.hi = 0.2;
    npe->obs.p_missing = 0.2;
    npe->obs.drop = 1u << 2 | 1u << 5;
    npe->obs.p_drop = 0.5;
    npe->noise = sqrt(0.01 * 0.2);
  }
  return npe;
}

static void sample(Npe *npe, const double *ctx, double *th)
{
  NpeSampleStats st;
  assert_int_equal(npe_sample_ctx(npe, ctx, NS, 3, RNG_TEST, 17, 100 * NS, th, &st), 0);
  assert_int_equal(st.accepted, NS);
}

static void test_mask_invariance(void **state)
{
  Npe *npe = make_npe(NPE_CONDITIONED);
  double x[CS_NELEM], s[CS_NELEM], c1[NPE_CTX_MAX], c2[NPE_CTX_MAX], c3[NPE_CTX_MAX], t1[NS * CS_NPARAM],
      t2[NS * CS_NPARAM], t3[NS * CS_NPARAM];
  for (int k = 0; k < CS_NELEM; k++) {
    x[k] = 0.05 * k - 0.1;
    s[k] = 0.02 + 0.01 * k;
  }
  /* Element 3 missing: as NaN value, as NaN error with a wild value, as NaN both. */
  double xa[CS_NELEM], sa[CS_NELEM], xb[CS_NELEM], sb[CS_NELEM];
  memcpy(xa, x, sizeof(x));
  memcpy(sa, s, sizeof(s));
  memcpy(xb, x, sizeof(x));
  memcpy(sb, s, sizeof(s));
  xa[3] = NAN;
  xb[3] = 123.0;
  sb[3] = NAN;
  assert_true(npe_context(npe, xa, sa, c1, NULL));
  assert_true(npe_context(npe, xb, sb, c2, NULL));
  assert_memory_equal(c1, c2, sizeof(double) * 3 * CS_NELEM);
  assert_true(c1[3] == 0 && c1[CS_NELEM + 3] == 0 && c1[2 * CS_NELEM + 3] == 0);
  assert_true(c1[2 * CS_NELEM + 4] == 1);
  sample(npe, c1, t1);
  sample(npe, c2, t2);
  assert_memory_equal(t1, t2, sizeof(t1));
  /* The same star with element 3 present gives another posterior: the mask is seen. */
  assert_true(npe_context(npe, x, s, c3, NULL));
  sample(npe, c3, t3);
  assert_true(memcmp(t1, t3, sizeof(t1)) != 0);
  /* A sigma above the trained range drops the element; below it is raised to the range. */
  int wide;
  sb[3] = 0.5;
  xb[3] = x[3];
  assert_true(npe_context(npe, xb, sb, c2, &wide));
  assert_int_equal(wide, 1);
  assert_memory_equal(c1, c2, sizeof(double) * 3 * CS_NELEM);
  sa[3] = 0.001;
  xa[3] = x[3];
  assert_true(npe_context(npe, xa, sa, c1, NULL));
  sa[3] = 0.01;
  assert_true(npe_context(npe, xa, sa, c2, NULL));
  assert_memory_equal(c1, c2, sizeof(double) * 3 * CS_NELEM);
  /* A fixed-noise NPE cannot take a missing value; npe_sample refuses one too. */
  Npe *f = make_npe(NPE_FIXED);
  x[2] = NAN;
  assert_false(npe_context(f, x, NULL, c1, NULL));
  NpeSampleStats st;
  PetscPushErrorHandler(capture, NULL);
  assert_int_not_equal(npe_sample(f, x, NS, 3, RNG_TEST, 1, 100 * NS, t1, &st), 0);
  PetscPopErrorHandler();
  assert_non_null(strstr(errbuf, "He_Fe"));
  npe_destroy(&f);
  npe_destroy(&npe);
}

static void write_npe(Npe *npe, const char *path)
{
  H5File f;
  assert_int_equal(h5_create(PETSC_COMM_SELF, path, &f), 0);
  assert_int_equal(npe_write_h5(npe, &f, "/npe"), 0);
  assert_int_equal(h5_commit(&f), 0);
}

static void test_file_format(void **state)
{
  Npe *c = make_npe(NPE_CONDITIONED), *r = NULL, *f = make_npe(NPE_FIXED);
  H5File h;
  double th[4 * CS_NPARAM], ctx[4 * NPE_CTX_MAX], lp1[4], lp2[4];
  write_npe(c, "/tmp/cs_npe_cond.h5");
  assert_int_equal(npe_read_h5("/tmp/cs_npe_cond.h5", "/npe", 64, &r), 0);
  assert_int_equal(r->kind, NPE_CONDITIONED);
  assert_int_equal(r->est->C, 3 * CS_NELEM);
  assert_true(r->obs.lo == 0.01 && r->obs.hi == 0.2 && r->obs.p_missing == 0.2 && r->obs.p_drop == 0.5);
  assert_int_equal(r->obs.drop, c->obs.drop);
  assert_memory_equal(r->est->params, c->est->params, sizeof(double) * c->est->nparams);
  for (int i = 0; i < 4; i++) {
    double x[CS_NELEM], s[CS_NELEM];
    for (int k = 0; k < CS_NELEM; k++) {
      x[k] = 0.01 * (i + k);
      s[k] = (i + k) % 3 ? 0.05 : NAN;
    }
    npe_context(c, x, s, ctx + i * NPE_CTX_MAX, NULL);
    for (int k = 0; k < CS_NPARAM; k++) th[i * CS_NPARAM + k] = c->prior.mean[k] + 0.01 * i;
  }
  npe_log_prob_ctx(c, th, ctx, 4, lp1);
  npe_log_prob_ctx(r, th, ctx, 4, lp2);
  for (int i = 0; i < 4; i++) assert_true(lp1[i] == lp2[i] && isfinite(lp1[i]));
  npe_destroy(&r);
  /* A fixed-noise model keeps the old layout: no kind, 8 inputs; it reads back as fixed. */
  write_npe(f, "/tmp/cs_npe_fixed.h5");
  assert_int_equal(h5_open(PETSC_COMM_SELF, "/tmp/cs_npe_fixed.h5", PETSC_FALSE, &h), 0);
  assert_false(h5_attr_exists(&h, "/npe", "kind"));
  assert_false(h5_attr_exists(&h, "/npe", "noise_range_dex"));
  assert_int_equal(h5_close(&h), 0);
  assert_int_equal(npe_read_h5("/tmp/cs_npe_fixed.h5", "/npe", 64, &r), 0);
  assert_int_equal(r->kind, NPE_FIXED);
  assert_int_equal(r->est->C, CS_NELEM);
  assert_true(obs_is_fixed(&r->obs) && r->obs.lo == 0.05);
  npe_destroy(&r);
  npe_destroy(&c);
  npe_destroy(&f);
}

static void test_obs_model(void **state)
{
  ObsModel m;
  double clean[CS_NELEM], x[CS_NELEM], s[CS_NELEM];
  unsigned char why[CS_NELEM];
  Rng r, q;
  for (int k = 0; k < CS_NELEM; k++) clean[k] = 0.1 * k;
  /* Fixed: the same eight normals as clean + noise * rng_normal. */
  obs_fixed(0.05, &m);
  rng_init(&r, 9, RNG_TEST, 4);
  rng_init(&q, 9, RNG_TEST, 4);
  obs_draw(&m, &r, clean, x, s, why);
  for (int k = 0; k < CS_NELEM; k++) {
    assert_true(x[k] == clean[k] + 0.05 * rng_normal(&q));
    assert_true(s[k] == 0.05 && why[k] == OBS_PRESENT);
  }
  /* Range, missing fraction and pattern over many stars. */
  m.lo = 0.01;
  m.hi = 0.2;
  m.p_missing = 0.2;
  assert_int_equal(obs_parse_elements(PETSC_COMM_SELF, "-drop", "He_Fe,Ne_Fe", &m.drop), 0);
  m.p_drop = 0.5;
  enum { N = 20000 };
  long nmiss = 0, npat = 0, nother = 0;
  double mlog = 0;
  for (int i = 0; i < N; i++) {
    rng_init(&r, 9, RNG_TEST, (uint64_t)i);
    obs_draw(&m, &r, clean, x, s, why);
    for (int k = 0; k < CS_NELEM; k++) {
      assert_true(s[k] >= 0.01 && s[k] <= 0.2);
      mlog += log(s[k]);
      PetscBool in = (m.drop >> k & 1u) ? PETSC_TRUE : PETSC_FALSE;
      if (why[k] == OBS_PATTERN) {
        assert_true(in);
        npat++;
      } else if (!in)
        nother++, nmiss += why[k] == OBS_RANDOM;
    }
    obs_mask(why, x, s);
    for (int k = 0; k < CS_NELEM; k++) assert_true(why[k] == OBS_PRESENT ? isfinite(x[k]) : isnan(x[k]) && isnan(s[k]));
  }
  double f = (double)nmiss / nother, fp = (double)npat / (2.0 * N);
  /* Binomial 5-sigma bands. */
  if (fabs(f - 0.2) > 5 * sqrt(0.16 / nother)) fail_msg("random missing fraction %g, expected 0.2", f);
  if (fabs(fp - 0.5) > 5 * sqrt(0.25 / N)) fail_msg("pattern fraction %g, expected 0.5", fp);
  /* log sigma uniform on [log 0.01, log 0.2]: mean at the midpoint, sd of the mean (b-a)/sqrt(12 n). */
  double a = log(0.01), b = log(0.2), mid = 0.5 * (a + b);
  mlog /= 8.0 * N;
  if (fabs(mlog - mid) > 5 * (b - a) / sqrt(12.0 * 8 * N)) fail_msg("mean log sigma %g, expected %g", mlog, mid);
  /* Bad element names are named. */
  unsigned mask;
  PetscPushErrorHandler(capture, NULL);
  assert_int_not_equal(obs_parse_elements(PETSC_COMM_SELF, "-drop", "He_Fe,Xx_Fe", &mask), 0);
  PetscPopErrorHandler();
  assert_non_null(strstr(errbuf, "Xx_Fe"));
}

static void test_logit_theta(void **state)
{
  Npe *a = make_npe(NPE_CONDITIONED), *l = make_npe(NPE_CONDITIONED), *r = NULL;
  double x[CS_NELEM], s[CS_NELEM], c[NPE_CTX_MAX], th[CS_NPARAM], t[CS_NPARAM], back[CS_NPARAM], lj, lpa, lpl;
  const double lo = l->prior.lo[5], hi = l->prior.hi[5];
  l->th_logit = npe_uniform_params(&l->prior);
  assert_true(l->th_logit == 1u << 5);
  l->th_mean[5] = 0.3, l->th_sd[5] = 1.7; /* of the logit */
  for (int k = 0; k < CS_NELEM; k++) x[k] = 0.05 * k - 0.1, s[k] = 0.03;
  assert_true(npe_context(l, x, s, c, NULL));
  for (int k = 0; k < CS_NPARAM; k++) th[k] = l->prior.mean[k] + 0.1 * l->prior.sd[k];
  for (int j = 0; j < 5; j++) {
    th[5] = lo + (hi - lo) * (0.001 + 0.2495 * j); /* near both edges and inside */
    assert_true(npe_theta_to_flow(l, th, t, &lj));
    npe_flow_to_theta(l, t, back);
    for (int k = 0; k < CS_NPARAM; k++) assert_true(fabs(back[k] - th[k]) <= 1e-9 * (1 + fabs(th[k])));
    /* log |dt/dtheta| against central differences of the map, one parameter at a time. */
    double fd = 0;
    for (int k = 0; k < CS_NPARAM; k++) {
      double h = 1e-6 * (k == 5 ? (hi - lo) * 0.001 : 1), p[CS_NPARAM], m[CS_NPARAM], tp[CS_NPARAM], tm[CS_NPARAM];
      memcpy(p, th, sizeof(p));
      memcpy(m, th, sizeof(m));
      p[k] += h, m[k] -= h;
      assert_true(npe_theta_to_flow(l, p, tp, NULL) && npe_theta_to_flow(l, m, tm, NULL));
      fd += log(fabs(tp[k] - tm[k]) / (2 * h));
    }
    if (fabs(fd - lj) > 1e-5 * (1 + fabs(lj))) fail_msg("log Jacobian %.10g, finite differences %.10g", lj, fd);
    /* The density is the flow's at t plus that Jacobian. */
    estimator_log_prob(l->est, t, c, 1, &lpa);
    npe_log_prob_ctx(l, th, c, 1, &lpl);
    assert_true(fabs(lpl - (lpa + lj)) <= 1e-12 * (1 + fabs(lpl)));
  }
  /* Without th_logit: the affine density, exactly as before the option existed. */
  assert_true(npe_theta_to_flow(a, th, t, &lj));
  double ls = 0;
  for (int k = 0; k < CS_NPARAM; k++) {
    assert_true(t[k] == (th[k] - a->th_mean[k]) / a->th_sd[k]);
    ls += log(a->th_sd[k]);
  }
  estimator_log_prob(a->est, t, c, 1, &lpa);
  npe_log_prob_ctx(a, th, c, 1, &lpl);
  assert_true(lpl == lpa - ls);
  /* No density on or beyond the bounds; every draw strictly inside them. */
  th[5] = hi;
  npe_log_prob_ctx(l, th, c, 1, &lpl);
  assert_true(isinf(lpl) && lpl < 0);
  th[5] = lo - 1;
  assert_false(npe_theta_to_flow(l, th, t, NULL));
  double d[NS * CS_NPARAM];
  sample(l, c, d);
  for (int i = 0; i < NS; i++) assert_true(d[i * CS_NPARAM + 5] > lo && d[i * CS_NPARAM + 5] < hi);
  /* The flag travels with the file (and files without it read as affine). */
  write_npe(l, "/tmp/cs_npe_logit.h5");
  assert_int_equal(npe_read_h5("/tmp/cs_npe_logit.h5", "/npe", 64, &r), 0);
  assert_true(r->th_logit == l->th_logit);
  npe_destroy(&r);
  write_npe(a, "/tmp/cs_npe_affine.h5");
  assert_int_equal(npe_read_h5("/tmp/cs_npe_affine.h5", "/npe", 64, &r), 0);
  assert_true(r->th_logit == 0);
  npe_destroy(&r);
  remove("/tmp/cs_npe_logit.h5");
  remove("/tmp/cs_npe_affine.h5");
  npe_destroy(&a);
  npe_destroy(&l);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask_invariance),
      cmocka_unit_test(test_file_format),
      cmocka_unit_test(test_obs_model),
      cmocka_unit_test(test_logit_theta),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
