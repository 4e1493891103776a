/* CHEMPY discrete scheme against the Python reference: every row of the 28-step
 * reference tables (same rejected rows, max |diff| <= 1e-6 dex over all nine
 * outputs) and the check values of chempy-model.md section 12 at 28 and 224 steps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <chempysbi/gce.h>
#include "testutil.h"

static GceWork *make_work(PetscInt n0, double cosmic)
{
  GceConfig c;
  GceWork *w = NULL;
  if (gce_config_default(&c)) return NULL;
  c.scheme = GCE_SCHEME_DISCRETE;
  c.time_steps = n0;
  c.cosmic_accretion_factor = cosmic;
  if (gce_work_create(Y, &c, &w)) return NULL;
  return w;
}

/* Compare every row of a reference CSV (6 inputs, 9 outputs; nan = rejected), made
   with CHEMPY's sfr_factor_for_cosmic_accretion = cosmic. */
static void check_reference(const char *file, double cosmic, double tol)
{
  CsvTable t;
  read_reference(file, &t);
  GceWork *w = make_work(28, cosmic);
  assert_non_null(w);
  double maxd = 0;
  int nrow = 0, nbad = 0, nrej = 0, worst_row = -1, worst_col = -1;
  for (PetscInt r = 0; r < t.nrows; r++) {
    const double *v = t.data + r * REF_NCOL;
    double ab[8], a9[9];
    GceStatus st;
    assert_int_equal(gce_run(w, v, ab, &st, NULL), 0);
    assert_int_equal(gce_last_abund9(w, a9), 0);
    int refok = !isnan(v[6]);
    if (refok != (st == GCE_OK)) {
      print_message("%s row %d: reference %s, port %s\n", file, nrow, refok ? "accepted" : "rejected",
                    gce_status_name(st));
      nbad++;
    } else if (refok) {
      for (int i = 0; i < 9; i++) {
        double d = fabs(a9[i] - v[6 + i]);
        if (!(d <= maxd)) {
          maxd = d;
          worst_row = nrow;
          worst_col = i;
        }
      }
    } else
      nrej++;
    nrow++;
  }
  csv_table_destroy(&t);
  gce_work_destroy(&w);
  print_message("%s: %d rows, %d rejected by both, max |diff| %.3e dex (row %d, output %d)\n", file, nrow, nrej, maxd,
                worst_row, worst_col);
  if (nbad) fail_msg("%s: %d rows with different rejection", file, nbad);
  if (!(maxd <= tol))
    fail_msg("%s: max |diff| %.3e dex at row %d output %d exceeds %.1e", file, maxd, worst_row, worst_col, tol);
}

static void test_ref28(void **state) { check_reference("chempy_ref_28steps.csv", 1.0, 1e-6); }
static void test_wide28(void **state) { check_reference("chempy_wide_28steps.csv", 1.0, 1e-6); }
/* The ChempyMulti mock-catalogue configuration (cosmic accretion factor 1e-6). */
static void test_cosmic6_28(void **state) { check_reference("chempy_cosmic6_28steps.csv", 1e-6, 1e-6); }

/* chempy-model.md section 12 (alpha -2.3, log SFE -0.3, log s 0.55, x_out 0.5). */
static void test_spec_values(void **state)
{
  static const struct {
    int n0;
    double nia, T, out[9];
  } ref[] = {
      {28,
       -2.89,
       4,
       {0.1014251531, -0.3169190192, 0.3169190192, 0.3257776591, 0.3379241146, 0.1311759207, 0.6224694256, 0.4579569355,
        0.3169025140}},
      {28,
       -2.89,
       10,
       {0.0332093468, 0.1440637120, -0.1440637120, -0.0925199687, 0.2100929497, 0.0459278695, 0.5135038615,
        0.3055653188, 0.1706292829}},
      {224,
       -2.89,
       4,
       {0.0912334860, -0.3041918453, 0.3041918453, 0.3130664776, 0.3258668307, 0.1181511599, 0.6116429878, 0.4447605565,
        0.3049714123}},
      {224,
       -2.89,
       10,
       {0.0243622839, 0.1561035881, -0.1561035881, -0.1040708401, 0.1992390689, 0.0384350029, 0.5030764061,
        0.2939407202, 0.1612864462}},
      {28,
       -2.75,
       10,
       {-0.0484031006, 0.2290807734, -0.2290807734, -0.1773323951, 0.1264305336, -0.0387468682, 0.4289026583,
        0.2225520318, 0.1100366810}},
  };
  for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
    GceWork *w = make_work(ref[i].n0, 1.0);
    double th[6] = {-2.3, ref[i].nia, -0.3, 0.55, 0.5, ref[i].T}, ab[8], a9[9];
    GceStatus st;
    assert_non_null(w);
    assert_int_equal(gce_run(w, th, ab, &st, NULL), 0);
    assert_int_equal(st, GCE_OK);
    gce_last_abund9(w, a9);
    double md = 0;
    for (int k = 0; k < 9; k++) md = fmax(md, fabs(a9[k] - ref[i].out[k]));
    print_message("N0 = %d, log N_Ia = %.2f, T = %g: max |diff| %.2e dex\n", ref[i].n0, ref[i].nia, ref[i].T, md);
    if (!(md <= 1e-6)) fail_msg("section 12, N0 = %d, T = %g: max |diff| %.3e dex > 1e-6", ref[i].n0, ref[i].T, md);
    gce_work_destroy(&w);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_spec_values), cmocka_unit_test(test_ref28),
                                     cmocka_unit_test(test_wide28), cmocka_unit_test(test_cosmic6_28)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, gce_test_setup, gce_test_teardown);
  PetscCall(PetscFinalize());
  return rc;
}
