/* Stellar ingredients with independent truths: IMF mass weights (normalisation,
 * m^alpha power law above 1 Msun, interval check values), the lifetime inversion
 * round trip, yield-table spot values and the SSP feedback check values of
 * chempy-model.md sections 6.1, 6.7, 6.11 and 8.2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "../../src/gce/gce_internal.h"

static GceYields *Y;

static int setup(void **state)
{
  GceConfig c;
  if (gce_config_default(&c)) return 1;
  return gce_yields_load(c.data_dir, "tng", &Y) ? 1 : 0;
}
static int teardown(void **state) { return gce_yields_destroy(&Y) ? 1 : 0; }

static void close_rel(const char *what, double got, double want, double rtol, double atol)
{
  if (!(fabs(got - want) <= rtol * fabs(want) + atol))
    fail_msg("%s: got %.10g, want %.10g (|diff| %.2e)", what, got, want, fabs(got - want));
}

/* Weights sum to 1, follow dn/dm ~ m^alpha above 1 Msun, and match the spec's
   interval values for alpha = -2.3 to 1e-10. */
static void test_imf(void **state)
{
  static GceImf imf;
  const double alphas[3] = {-1.5, -2.3, -3.5};
  for (int a = 0; a < 3; a++) {
    gce_imf_build(Y, alphas[a], &imf);
    double s = 0, worst = 0;
    for (int j = 0; j < GCE_NIMF; j++) s += imf.dm[j];
    close_rel("sum of IMF mass weights", s, 1.0, 0, 1e-12);
    /* number weights dn = dm/m: ratio between grid points above 1 Msun is (m1/m2)^alpha */
    for (int j = 1000; j < GCE_NIMF; j += 397) {
      int k = 100 + (j % 700) + 60; /* another point above 1 Msun */
      double r = (imf.dm[j] / Y->x[j]) / (imf.dm[k] / Y->x[k]), want = pow(Y->x[j] / Y->x[k], alphas[a]);
      worst = fmax(worst, fabs(r / want - 1));
    }
    print_message("alpha %.1f: sum %.15f, worst power-law deviation %.1e\n", alphas[a], s, worst);
    if (!(worst <= 1e-12)) fail_msg("alpha %.1f: dn/dm deviates from m^alpha by %.2e", alphas[a], worst);
  }
  gce_imf_build(Y, -2.3, &imf);
  close_rel("W(0.1,1)", gce_imf_weight(Y, &imf, 0.1, 1), 0.413317229922, 0, 1e-10);
  close_rel("W(1,8)", gce_imf_weight(Y, &imf, 1, 8), 0.362851771925, 0, 1e-10);
  close_rel("W(8,100)", gce_imf_weight(Y, &imf, 8, 100), 0.223819155735, 0, 1e-10);
  close_rel("dm at 100 Msun", imf.dm[GCE_NIMF - 1], 1.184242e-05, 1e-6, 0);
}

/* Dying mass inverts the lifetime: m -> tau(m, z) -> m to within a quarter of the
   0.02 Msun grid spacing (the inversion interpolates linearly between grid
   points), and the spec 6.2 check values to 1e-9. */
static void test_lifetime_roundtrip(void **state)
{
  const double zs[4] = {0.0, 1e-4, 0.01, 0.04};
  double worst = 0;
  for (int iz = 0; iz < 4; iz++)
    for (double m = 0.15; m < 95; m *= 1.13) {
      double tau = gce_lifetime(log10(m), zs[iz]), back = gce_dying_mass(Y, zs[iz], tau);
      worst = fmax(worst, fabs(back - m));
    }
  print_message("lifetime round trip: worst error %.2e Msun (grid spacing %.4f)\n", worst, Y->x[1] - Y->x[0]);
  if (!(worst <= 0.25 * (Y->x[1] - Y->x[0])))
    fail_msg("lifetime round trip error %.2e Msun > a quarter grid cell", worst);
  const double d = 10.0 / 27.0;
  close_rel("m_1(z=0)", gce_dying_mass(Y, 0, d), 2.1285818873, 1e-9, 0);
  close_rel("m_2(z=0)", gce_dying_mass(Y, 0, 2 * d), 1.5939056915, 1e-9, 0);
  close_rel("m_7(z=0)", gce_dying_mass(Y, 0, 7 * d), 0.9806531225, 1e-9, 0);
  close_rel("m_1(z=0.01)", gce_dying_mass(Y, 0.01, d), 2.9520065573, 1e-9, 0);
  close_rel("m_2(z=0.01)", gce_dying_mass(Y, 0.01, 2 * d), 2.2759159077, 1e-9, 0);
  close_rel("m_0", gce_dying_mass(Y, 0.01, 0), 100.0, 0, 0);
}

/* Spec 8.2 and 6.7: derived yield fractions of the TNG tables. */
static void test_yield_tables(void **state)
{
  const GceZTable *t = &Y->sn2.t[3]; /* Z = 0.02, masses 100 ... 8 */
  assert_int_equal(Y->sn2.nz, 4);
  assert_int_equal(t->nm, 12);
  close_rel("SN II Z=0.02 r(8)", t->r[11], 0.3594219, 1e-6, 0);
  close_rel("SN II Z=0.02 r(100)", t->r[0], 0.25432488, 1e-6, 0);
  close_rel("SN II Z=0.02 y_O(8)", t->y[11][E_O], 0.0076593375, 1e-6, 0);
  close_rel("SN II Z=0.02 y_O(40)", t->y[2][E_O], 0.1820140481, 1e-6, 0);
  close_rel("SN II Z=0.02 u(8)", t->u[11], 0.6405780891, 1e-8, 0);
  close_rel("SN II Z=0.02 u(100)", t->u[0], 0.745675114, 1e-8, 0);
  close_rel("SN II beta(1)", t->beta[1], 80.0, 0, 0);
  close_rel("SN II beta(11)", t->beta[11], 8.5, 0, 0);
  const GceZTable *a = &Y->agb.t[3];
  assert_int_equal(a->nm, 17);
  close_rel("AGB Z=0.02 r(7.5)", a->r[0], 0.35333335, 1e-6, 0);
  close_rel("AGB Z=0.02 r(1)", a->r[16], 0.56399965, 1e-6, 0);
  close_rel("AGB Z=0.02 u(7.5)", a->u[0], 0.6466230159, 1e-8, 0);
  close_rel("AGB Z=0.02 y_N(6)", a->y[2][E_N], 0.0060323807, 1e-6, 0);
  close_rel("M_Ia", Y->m_ia, 1.374341607093811, 1e-12, 0);
  close_rel("y_Ia Fe", Y->y_ia[E_FE], 0.540959358215332, 1e-12, 0);
  close_rel("y_Ia O", Y->y_ia[E_O], 0.10404984652996063, 1e-12, 0);
}

/* Spec 6.11: SSP table at Delta = 10/27 (T = 10, N = 28), primordial composition,
   alpha = -2.3, log N_Ia = -2.89; relative 1e-6, absolute 1e-11 (the float32 table
   precision times the returned fractions, relevant for entries near 1e-6). */
static void test_ssp_check_values(void **state)
{
  static GceImf imf;
  static double Y9[28][GCE_NE], t[28], m[28], phi[28];
  const double f[GCE_NE] = {0, 0, 0.76, 0.24, 0, 0, 0, 0, 0};
  const int ks[3] = {1, 2, 7};
  const int el[6] = {E_H, E_HE, E_C, E_N, E_O, E_FE};
  static const double want[2][3][6] = {
      {{1.69928152e-01, 1.00777586e-01, 3.07630816e-03, 7.44878780e-04, 2.21221366e-02, 7.90724577e-04},
       {2.33718476e-02, 1.17950320e-02, 8.47376315e-04, 1.85978992e-06, 3.79889754e-05, 1.24409412e-04},
       {-2.99299506e-05, 0, 1.98704600e-06, 4.77749331e-11, 5.88280297e-06, 3.05849304e-05}},
      {{1.56986343e-01, 8.86211082e-02, 2.42069178e-03, 8.51847560e-04, 1.50507322e-02, 8.95592882e-04},
       {2.44087469e-02, 9.46747719e-03, 3.42812598e-04, 2.59399808e-05, 1.84001819e-05, 1.24405203e-04},
       {3.52329553e-03, 1.23822628e-03, 6.40548735e-07, 2.79917903e-06, 5.84366148e-06, 3.05850634e-05}}};
  static const double sums[2][GCE_NE] = {
      {4.33044917e-03, 1.41817368e-03, 2.23346059e-01, 1.24926634e-01, 1.60023632e-03, 7.48330175e-04, 4.43151624e-03,
       2.22661238e-02, 2.15591418e-03},
      {2.93389172e-03, 1.52304119e-03, 2.53326456e-01, 1.23602247e-01, 1.43496338e-03, 9.31983799e-04, 4.99098060e-03,
       1.51661887e-02, 1.32601213e-03}};
  gce_imf_build(Y, -2.3, &imf);
  for (int n = 0; n < 28; n++) t[n] = n == 27 ? 10.000000000000002 : n * (10.000000000000002 / 27);
  for (int iz = 0; iz < 2; iz++) {
    double z = iz ? 0.01 : 0.0, worst = 0;
    gce_ssp_table(Y, &imf, z, f, t, 28, pow(10, -2.89), m, phi, Y9);
    for (int k = 0; k < 3; k++)
      for (int e = 0; e < 6; e++) {
        double got = Y9[ks[k]][el[e]], w = want[iz][k][e];
        if (!(fabs(got - w) <= 1e-6 * fabs(w) + 1e-11))
          fail_msg("SSP z=%g k=%d %s: got %.9e, want %.9e", z, ks[k], gce_elem_symbol[el[e]], got, w);
        worst = fmax(worst, fabs(got - w) / fmax(fabs(w), 1e-12));
      }
    for (int e = 0; e < GCE_NE; e++) {
      double s = 0;
      for (int k = 0; k < 28; k++) s += Y9[k][e];
      if (!(fabs(s - sums[iz][e]) <= 1e-6 * fabs(sums[iz][e])))
        fail_msg("SSP z=%g sum %s: got %.9e, want %.9e", z, gce_elem_symbol[e], s, sums[iz][e]);
    }
    print_message("SSP z = %g: worst relative deviation %.1e\n", z, worst);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_imf), cmocka_unit_test(test_lifetime_roundtrip),
                                     cmocka_unit_test(test_yield_tables), cmocka_unit_test(test_ssp_check_values)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  PetscCall(PetscFinalize());
  return rc;
}
