/* Bad input never crashes and never gives a silently wrong number: missing or
 * corrupt data files are PETSc errors naming the file; non-finite or out-of-range
 * parameters, too old stars and too little late star formation are per-run
 * statuses with NaN abundances, for both schemes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <chempysbi/gce.h>

static GceYields *Y;
static char datadir[PETSC_MAX_PATH_LEN];

static int setup(void **state)
{
  GceConfig c;
  if (gce_config_default(&c)) return 1;
  snprintf(datadir, sizeof(datadir), "%s", c.data_dir);
  return gce_yields_load(c.data_dir, "tng", &Y) ? 1 : 0;
}
static int teardown(void **state) { return gce_yields_destroy(&Y) ? 1 : 0; }

static void test_missing_and_corrupt_files(void **state)
{
  GceYields *y = NULL;
  PetscErrorCode ierr;
  char dir[] = "/tmp/gce_bad_XXXXXX", path[512];
  assert_int_equal(PetscPushErrorHandler(PetscIgnoreErrorHandler, NULL), 0);
  ierr = gce_yields_load("/nonexistent/chempy-data", "tng", &y);
  assert_int_not_equal(ierr, 0);
  assert_null(y);
  ierr = gce_yields_load(datadir, "bogus", &y);
  assert_int_not_equal(ierr, 0);
  /* a directory with a valid element table but a yield file that is not HDF5 */
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/elements.csv", dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "symbol,number,atomic_mass\nH,1,1.00794\nHe,2,4.002602\nC,6,12.0107\nN,7,14.0067\nO,8,15.9994\nNe,10,20."
              "1797\nMg,12,24.305\nSi,14,28.0855\nFe,26,55.845\n");
  fclose(fp);
  snprintf(path, sizeof(path), "%s/yields", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof(path), "%s/yields/TNG", dir);
  mkdir(path, 0700);
  snprintf(path, sizeof(path), "%s/yields/TNG/SNII.hdf5", dir);
  fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "this is not an HDF5 file\n");
  fclose(fp);
  ierr = gce_yields_load(dir, "tng", &y);
  assert_int_not_equal(ierr, 0);
  /* element table without iron */
  snprintf(path, sizeof(path), "%s/elements.csv", dir);
  fp = fopen(path, "w");
  fprintf(fp, "symbol,number,atomic_mass\nH,1,1.00794\n");
  fclose(fp);
  ierr = gce_yields_load(dir, "tng", &y);
  assert_int_not_equal(ierr, 0);
  /* alternative set from a directory without its files */
  ierr = gce_yields_load(dir, "alt", &y);
  assert_int_not_equal(ierr, 0);
  assert_int_equal(PetscPopErrorHandler(), 0);
  unlink(path);
  snprintf(path, sizeof(path), "%s/yields/TNG/SNII.hdf5", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/yields/TNG", dir);
  rmdir(path);
  snprintf(path, sizeof(path), "%s/yields", dir);
  rmdir(path);
  rmdir(dir);
}

static void expect_status(GceWork *w, const double th[6], GceStatus want, const char *what)
{
  double ab[8];
  GceStatus st;
  assert_int_equal(gce_run(w, th, ab, &st, NULL), 0);
  if (st != want) fail_msg("%s: status %s, expected %s", what, gce_status_name(st), gce_status_name(want));
  for (int i = 0; i < 8; i++)
    if (!isnan(ab[i])) fail_msg("%s: abundance %d = %g, expected NaN", what, i, ab[i]);
}

static void test_bad_theta(void **state)
{
  for (int sch = 0; sch < 2; sch++) {
    GceConfig c;
    GceWork *w;
    assert_int_equal(gce_config_default(&c), 0);
    c.scheme = (GceScheme)sch;
    assert_int_equal(gce_work_create(Y, &c, &w), 0);
    const double good[6] = {-2.3, -2.89, -0.3, 0.55, 0.5, 10};
    double th[6];
    for (int i = 0; i < 6; i++) {
      for (int k = 0; k < 6; k++) th[k] = good[k];
      th[i] = NAN;
      expect_status(w, th, GCE_REJ_BOUNDS, "NaN parameter");
      th[i] = INFINITY;
      expect_status(w, th, GCE_REJ_BOUNDS, "infinite parameter");
    }
    const int idx[6] = {0, 1, 2, 3, 4, 5};
    const double bad[6] = {-0.5, 0.0, 3.0, 1.5, 1.2, 14.5};
    for (int i = 0; i < 6; i++) {
      for (int k = 0; k < 6; k++) th[k] = good[k];
      th[idx[i]] = bad[i];
      expect_status(w, th, GCE_REJ_BOUNDS, "out-of-range parameter");
    }
    for (int k = 0; k < 6; k++) th[k] = good[k];
    th[4] = -0.1;
    expect_status(w, th, GCE_REJ_BOUNDS, "negative x_out");
    th[4] = 0.5;
    th[5] = 0.5; /* star older than 13 Gyr */
    expect_status(w, th, GCE_REJ_AGE, "age above 13 Gyr");
    th[5] = 13.7; /* late birth with an early, narrow SFR: below 5 % of the mean (spec 3.3) */
    th[3] = 0.296;
    expect_status(w, th, GCE_REJ_SFR, "5 % SFR rule");
    /* a good run afterwards is unaffected (no state leaks from rejections) */
    double ab[8];
    GceStatus st;
    assert_int_equal(gce_run(w, good, ab, &st, NULL), 0);
    assert_int_equal(st, GCE_OK);
    for (int i = 0; i < 8; i++) assert_true(isfinite(ab[i]));
    gce_work_destroy(&w);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_missing_and_corrupt_files),
                                     cmocka_unit_test(test_bad_theta)};
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  PetscCall(PetscFinalize());
  return rc;
}
