/* Star catalogues: columns found by name in CSV and HDF5, bad stars flagged
 * with id and column, malformed files rejected naming file and column/dataset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <chempysbi/cat.h>
#include <chempysbi/h5.h>
#include "testutil.h"

static PetscErrorCode try_read(const char *path, Catalogue *c)
{
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = cat_read(path, c);
  PetscPopErrorHandler();
  return e;
}

static void expect_in(const char *msg, const char *needle)
{
  if (!strstr(msg, needle)) fail_msg("message '%s' lacks '%s'", msg, needle);
}

/* Index of an element in cs_elem_names (which starts C_Fe, Fe_H, ...). */
static int el(const char *name)
{
  for (int e = 0; e < CS_NELEM; e++)
    if (!strcmp(cs_elem_names[e], name)) return e;
  fail_msg("no element %s", name);
  return -1;
}

static const char *csv_ok = "Si_Fe,id,Fe_H,Mg_Fe_err,C_Fe,He_Fe,truth_T,Mg_Fe,N_Fe,Ne_Fe,O_Fe\n"
                            "0.8,starA,-0.1,0.05,0.1,0.2,7.5,0.3,0.4,0.5,0.6\n"
                            "1.8,starB,-1.1,0.04,1.1,1.2,3.0,1.3,1.4,1.5,1.6\n";

static void test_csv_shuffled(void **state)
{
  Catalogue c;
  write_file("/tmp/cs_cat.csv", csv_ok);
  assert_int_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  assert_int_equal(c.n, 2);
  assert_int_equal(c.nunusable, 0);
  assert_true(c.usable[0] && c.usable[1]);
  assert_string_equal(c.ids[0], "starA");
  assert_string_equal(c.ids[1], "starB");
  const char *order[8] = {"C_Fe", "Fe_H", "He_Fe", "Mg_Fe", "N_Fe", "Ne_Fe", "O_Fe", "Si_Fe"};
  const double want0[8] = {0.1, -0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8};
  for (int k = 0; k < 8; k++) {
    assert_true(c.abund[el(order[k])] == want0[k]);
    assert_true(fabs(c.abund[CS_NELEM + el(order[k])] - (want0[k] + (k == 1 ? -1.0 : 1.0))) < 1e-12);
  }
  assert_true(c.err_present[el("Mg_Fe")] && !c.err_present[el("Fe_H")]);
  assert_true(c.err[CS_NELEM + el("Mg_Fe")] == 0.04);
  assert_true(isnan(c.err[el("O_Fe")]));
  cat_destroy(&c);
}

/* A NaN abundance flags exactly that star, and the message names its id and
 * the column; a star without an id is named by its row. */
static void test_csv_nan_star(void **state)
{
  Catalogue c;
  char msg[512];
  write_file("/tmp/cs_cat.csv", "id,C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe,O_Fe_err\n"
                                "s1,0,0,0,0,0,0,0,0,0.05\n"
                                "s2,0,0,0,nan,0,0,0,0,0.05\n"
                                "s3,0,0,0,0,0,0,0,0,0.05\n"
                                "s4,0,0,0,0,0,0,0,inf,\n");
  assert_int_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  assert_int_equal(c.n, 4);
  assert_int_equal(c.nunusable, 2);
  assert_true(c.usable[0] && !c.usable[1] && c.usable[2] && !c.usable[3]);
  cat_star_problem(&c, 1, msg, sizeof(msg));
  assert_string_equal(msg, "star 's2' (row 1): no valid value for Mg_Fe");
  cat_star_problem(&c, 3, msg, sizeof(msg));
  assert_string_equal(msg, "star 's4' (row 3): no valid value for Si_Fe, O_Fe_err");
  cat_star_problem(&c, 0, msg, sizeof(msg));
  assert_string_equal(msg, "");
  cat_destroy(&c);

  write_file("/tmp/cs_cat.csv", "C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe\n0,0,0,0,0,0,0,0\n0,,0,0,0,0,0,0\n");
  assert_int_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  assert_true(c.usable[0] && !c.usable[1]);
  assert_string_equal(c.ids[0], "0");
  cat_star_problem(&c, 1, msg, sizeof(msg));
  assert_string_equal(msg, "star '1' (row 1): no valid value for Fe_H");
  cat_destroy(&c);
}

static void test_csv_missing_column(void **state)
{
  Catalogue c;
  write_file("/tmp/cs_cat.csv", "id,C_Fe,Fe_H,He_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe\ns1,0,0,0,0,0,0,0\n");
  assert_int_not_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  expect_in(errbuf, "/tmp/cs_cat.csv");
  expect_in(errbuf, "'Mg_Fe'");
  /* A wrong field count on a row is the CSV reader's error, with the line. */
  write_file("/tmp/cs_cat.csv", "id,C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe\ns1,0,0,0,0,0,0,0\n");
  assert_int_not_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  expect_in(errbuf, "line 2");
  assert_int_not_equal(try_read("/tmp/cs_cat_does_not_exist.csv", &c), 0);
  expect_in(errbuf, "cs_cat_does_not_exist.csv");
}

static void test_h5_roundtrip(void **state)
{
  Catalogue c, r;
  assert_int_equal(cat_alloc(3, &c), 0);
  for (PetscInt i = 0; i < 3 * CS_NELEM; i++) {
    c.abund[i] = 0.01 * i - 0.1;
    c.err[i] = 0.05 + 0.001 * i;
  }
  for (int e = 0; e < CS_NELEM; e++) c.err_present[e] = PETSC_TRUE;
  c.abund[2 * CS_NELEM + el("Ne_Fe")] = NAN;
  snprintf(c.ids[0], CAT_ID_LEN, "Gaia DR3 123");
  snprintf(c.ids[2], CAT_ID_LEN, "last");
  assert_int_equal(cat_write_h5("/tmp/cs_cat.h5", &c), 0);
  assert_int_equal(try_read("/tmp/cs_cat.h5", &r), 0);
  assert_int_equal(r.n, 3);
  for (PetscInt i = 0; i < 3 * CS_NELEM; i++) {
    assert_true(r.abund[i] == c.abund[i] || (isnan(r.abund[i]) && isnan(c.abund[i])));
    assert_true(r.err[i] == c.err[i]);
  }
  assert_string_equal(r.ids[0], "Gaia DR3 123");
  assert_string_equal(r.ids[1], "1");
  assert_string_equal(r.ids[2], "last");
  assert_true(r.usable[0] && r.usable[1] && !r.usable[2]);
  assert_int_equal(r.nunusable, 1);
  cat_destroy(&c);
  cat_destroy(&r);
}

/* A file written by the h5 layer with the columns in another order and no
 * ids or errors: mapped by name, ids are row numbers. */
static void test_h5_by_name(void **state)
{
  const char *cols[8] = {"Si_Fe", "O_Fe", "Ne_Fe", "N_Fe", "Mg_Fe", "He_Fe", "Fe_H", "C_Fe"};
  double d[2 * 8];
  H5File f;
  Catalogue c;
  for (int i = 0; i < 16; i++) d[i] = i;
  assert_int_equal(h5_create(PETSC_COMM_SELF, "/tmp/cs_cat2.h5", &f), 0);
  assert_int_equal(h5_table_write(&f, "/abundances", H5T_NATIVE_DOUBLE, 2, 8, cols, d), 0);
  assert_int_equal(h5_commit(&f), 0);
  assert_int_equal(try_read("/tmp/cs_cat2.h5", &c), 0);
  assert_int_equal(c.n, 2);
  for (int k = 0; k < 8; k++) assert_true(c.abund[CS_NELEM + el(cols[k])] == 8 + k);
  assert_string_equal(c.ids[1], "1");
  for (int e = 0; e < CS_NELEM; e++) assert_false(c.err_present[e]);
  assert_int_equal(c.nunusable, 0);
  cat_destroy(&c);
}

/* Ids as variable-length strings (what h5py writes for a list of str). The
 * MPI-IO driver cannot write those, so this file is made with the default
 * (serial) driver; cat_read reads it through the h5 layer as any other. */
static void test_h5_vlen_ids(void **state)
{
  const char *ids[2] = {"alpha", "a-much-longer-identifier"};
  double d[2 * 8] = {0};
  char cols[256] = "";
  hsize_t n = 2, dims[2] = {2, 8};
  hid_t fid, t, sp, ds, a;
  Catalogue c;
  for (int e = 0; e < CS_NELEM; e++) {
    if (e) strcat(cols, ",");
    strcat(cols, cs_elem_names[e]);
  }
  fid = H5Fcreate("/tmp/cs_cat3.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(fid >= 0);
  sp = H5Screate_simple(2, dims, NULL);
  ds = H5Dcreate2(fid, "/abundances", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d) >= 0);
  H5Sclose(sp);
  t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, strlen(cols) + 1);
  sp = H5Screate(H5S_SCALAR);
  a = H5Acreate2(ds, "columns", t, sp, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Awrite(a, t, cols) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  H5Dclose(ds);
  t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  sp = H5Screate_simple(1, &n, NULL);
  ds = H5Dcreate2(fid, "/ids", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids) >= 0);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Tclose(t);
  H5Fclose(fid);
  assert_int_equal(try_read("/tmp/cs_cat3.h5", &c), 0);
  assert_string_equal(c.ids[0], "alpha");
  assert_string_equal(c.ids[1], "a-much-longer-identifier");
  cat_destroy(&c);
}

static void test_h5_seven_columns(void **state)
{
  double d[2 * 7] = {0};
  H5File f;
  Catalogue c;
  assert_int_equal(h5_create(PETSC_COMM_SELF, "/tmp/cs_cat7.h5", &f), 0);
  assert_int_equal(h5_table_write(&f, "/abundances", H5T_NATIVE_DOUBLE, 2, 7, cs_elem_names, d), 0);
  assert_int_equal(h5_commit(&f), 0);
  assert_int_not_equal(try_read("/tmp/cs_cat7.h5", &c), 0);
  expect_in(errbuf, "/tmp/cs_cat7.h5");
  expect_in(errbuf, "/abundances");
  expect_in(errbuf, "7 columns");

  /* Right count, but a column name that is not an element. */
  const char *cols[8] = {"C_Fe", "Fe_H", "He_Fe", "Mg_Fe", "N_Fe", "Ne_Fe", "O_Fe", "S_Fe"};
  double e8[2 * 8] = {0};
  assert_int_equal(h5_create(PETSC_COMM_SELF, "/tmp/cs_cat7.h5", &f), 0);
  assert_int_equal(h5_table_write(&f, "/abundances", H5T_NATIVE_DOUBLE, 2, 8, cols, e8), 0);
  assert_int_equal(h5_commit(&f), 0);
  assert_int_not_equal(try_read("/tmp/cs_cat7.h5", &c), 0);
  expect_in(errbuf, "/tmp/cs_cat7.h5");
  expect_in(errbuf, "'Si_Fe' is missing");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_shuffled),       cmocka_unit_test(test_csv_nan_star),
      cmocka_unit_test(test_csv_missing_column), cmocka_unit_test(test_h5_roundtrip),
      cmocka_unit_test(test_h5_by_name),         cmocka_unit_test(test_h5_vlen_ids),
      cmocka_unit_test(test_h5_seven_columns),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
