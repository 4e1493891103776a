/* The NPE's training range (issue 13): npe_set_range against quantiles of a
 * known sample, npe_star_in_range at the edges, for NaN and per column, and
 * the HDF5 round trip, including a file without the range (made before it was
 * stored), which reads back with has_range false and checks nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include <chempysbi/npe.h>
#include "testutil.h"

/* 1001 rows: element k takes the values k + 0, k + 0.001, ..., k + 1 (in a scrambled order). */
#define NR 1001
static void fill(double *x)
{
  for (int i = 0; i < NR; i++)
    for (int k = 0; k < CS_NELEM; k++) x[i * CS_NELEM + k] = k + (double)((i * 7919) % NR) / (NR - 1);
}

static void test_set_range(void **state)
{
  ParCtx ctx;
  Npe *npe;
  double *x = malloc(sizeof(double) * NR * CS_NELEM);
  fill(x);
  assert_int_equal(par_ctx_init(PETSC_COMM_SELF, &ctx), 0);
  assert_int_equal(npe_create(1, 4, 1, 16, &npe), 0);
  npe->noise = 0.05;
  assert_int_equal(npe_set_range(npe, &ctx, NR, x), 0);
  assert_true(npe->has_range);
  /* The 0.1% and 99.9% quantiles of a uniform grid on [k, k + 1] are k + 0.001 and k + 0.999
   * (to the grid's spacing), then widened by 5 x 0.05 dex. */
  for (int k = 0; k < CS_NELEM; k++) {
    if (fabs(npe->x_lo[k] - (k + 0.001 - 0.25)) > 1.1e-3)
      fail_msg("x_lo[%d] = %g, expected %g", k, npe->x_lo[k], k - 0.249);
    if (fabs(npe->x_hi[k] - (k + 0.999 + 0.25)) > 1.1e-3)
      fail_msg("x_hi[%d] = %g, expected %g", k, npe->x_hi[k], k + 1.249);
  }
  double s[CS_NELEM];
  char why[256];
  for (int k = 0; k < CS_NELEM; k++) s[k] = k + 0.5;
  assert_true(npe_star_in_range(npe, s, why, sizeof(why)));
  assert_string_equal(why, "");
  s[6] = 1e300; /* O_Fe */
  assert_false(npe_star_in_range(npe, s, why, sizeof(why)));
  if (!strstr(why, "O_Fe = 1e+300 outside the training range")) fail_msg("why = '%s' does not name O_Fe", why);
  s[6] = 6.5;
  s[1] = NAN; /* Fe_H: NaN is outside too */
  assert_false(npe_star_in_range(npe, s, why, sizeof(why)));
  assert_non_null(strstr(why, "Fe_H"));
  s[1] = npe->x_hi[1]; /* the edge is inside */
  assert_true(npe_star_in_range(npe, s, NULL, 0));
  s[1] = nextafter(npe->x_hi[1], 10);
  assert_false(npe_star_in_range(npe, s, NULL, 0));

  /* Screening: left out by default, kept with keep; the star is reported either way. */
  PetscBool use, outside;
  assert_int_equal(npe_star_screen(npe, "s1", 0, s, PETSC_FALSE, &use, &outside), 0);
  assert_true(outside && !use);
  assert_int_equal(npe_star_screen(npe, "s1", 0, s, PETSC_TRUE, &use, &outside), 0);
  assert_true(outside && use);
  assert_int_equal(npe_destroy(&npe), 0);
  free(x);
}

static void roundtrip(PetscBool with_range, Npe **back)
{
  Npe *npe;
  H5File f;
  assert_int_equal(npe_create(1, 4, 1, 16, &npe), 0);
  if (with_range) {
    npe->has_range = PETSC_TRUE;
    for (int k = 0; k < CS_NELEM; k++) npe->x_lo[k] = -1 - k, npe->x_hi[k] = 1 + k;
  }
  assert_int_equal(h5_create(PETSC_COMM_SELF, "/tmp/cs_npe_range.h5", &f), 0);
  assert_int_equal(npe_write_h5(npe, &f, "/npe"), 0);
  assert_int_equal(h5_commit(&f), 0);
  assert_int_equal(npe_destroy(&npe), 0);
  assert_int_equal(npe_read_h5("/tmp/cs_npe_range.h5", "/npe", 16, back), 0);
}

static void test_h5_roundtrip(void **state)
{
  Npe *npe;
  double s[CS_NELEM] = {0};
  roundtrip(PETSC_TRUE, &npe);
  assert_true(npe->has_range);
  for (int k = 0; k < CS_NELEM; k++) assert_true(npe->x_lo[k] == -1 - k && npe->x_hi[k] == 1 + k);
  s[7] = 9; /* Si_Fe above 8 */
  assert_false(npe_star_in_range(npe, s, NULL, 0));
  assert_int_equal(npe_destroy(&npe), 0);
  /* An NPE file without the range: nothing is checked, every star passes (with one warning). */
  roundtrip(PETSC_FALSE, &npe);
  assert_false(npe->has_range);
  s[7] = 1e300;
  assert_true(npe_star_in_range(npe, s, NULL, 0));
  PetscBool use, outside;
  assert_int_equal(npe_star_screen(npe, "s1", 0, s, PETSC_FALSE, &use, &outside), 0);
  assert_true(use && !outside && npe->range_warned);
  assert_int_equal(npe_destroy(&npe), 0);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_set_range), cmocka_unit_test(test_h5_roundtrip)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return rc;
}
