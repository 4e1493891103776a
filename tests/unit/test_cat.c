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
#include <fitsio.h>
#include "testutil.h"

static PetscErrorCode try_read(const char *path, Catalogue *c)
{
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = cat_read(path, c);
  PetscPopErrorHandler();
  return e;
}

static PetscErrorCode try_read_opts(const char *path, const CatOptions *o, Catalogue *c)
{
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = cat_read_opts(path, o, c);
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
  assert_true(c.err[el("O_Fe")] == 0.05); /* no O_Fe_err column: -error_default */
  cat_destroy(&c);
}

/* A NaN, infinite or empty abundance is missing (NaN) for exactly that star
 * and element, and the star stays usable; a present value whose error column
 * is empty is missing too. With -min_elements 8 those stars are left out and
 * the message names id, count and columns; a star without an id is named by
 * its row. */
static void test_csv_nan_star(void **state)
{
  Catalogue c;
  CatOptions o;
  char msg[512];
  write_file("/tmp/cs_cat.csv", "id,C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe,O_Fe_err\n"
                                "s1,0,0,0,0,0,0,0,0,0.05\n"
                                "s2,0,0,0,nan,0,0,0,0,0.05\n"
                                "s3,0,0,0,0,0,0,0,0,0.05\n"
                                "s4,0,0,0,0,0,0,0,inf,\n");
  assert_int_equal(try_read("/tmp/cs_cat.csv", &c), 0);
  assert_int_equal(c.n, 4);
  assert_int_equal(c.nunusable, 0);
  assert_true(c.usable[0] && c.usable[1] && c.usable[2] && c.usable[3]);
  assert_true(isnan(c.abund[1 * CS_NELEM + el("Mg_Fe")]) && c.missing[1 * CS_NELEM + el("Mg_Fe")] == CAT_NO_VALUE);
  assert_true(isnan(c.abund[3 * CS_NELEM + el("Si_Fe")]) && c.missing[3 * CS_NELEM + el("Si_Fe")] == CAT_NO_VALUE);
  assert_true(isnan(c.abund[3 * CS_NELEM + el("O_Fe")]) && c.missing[3 * CS_NELEM + el("O_Fe")] == CAT_BAD_ERROR);
  assert_int_equal(cat_npresent(&c, 1), 7);
  assert_int_equal(cat_npresent(&c, 3), 6);
  for (PetscInt i = 0; i < c.n * CS_NELEM; i++) /* missing values carry no error, present ones an effective one */
    assert_true(isnan(c.abund[i]) ? isnan(c.err[i]) : c.err[i] > 0);
  cat_destroy(&c);

  assert_int_equal(cat_options_default(&o), 0);
  o.min_elements = 8;
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  assert_int_equal(cat_read_opts("/tmp/cs_cat.csv", &o, &c), 0);
  PetscPopErrorHandler();
  assert_int_equal(c.nunusable, 2);
  assert_true(c.usable[0] && !c.usable[1] && c.usable[2] && !c.usable[3]);
  cat_star_problem(&c, 1, msg, sizeof(msg));
  assert_string_equal(msg, "star 's2' (row 1): 7 of 8 elements present, fewer than -min_elements 8 (missing: Mg_Fe "
                           "no value)");
  cat_star_problem(&c, 3, msg, sizeof(msg));
  assert_string_equal(msg, "star 's4' (row 3): 6 of 8 elements present, fewer than -min_elements 8 (missing: O_Fe "
                           "bad error, Si_Fe no value)");
  cat_star_problem(&c, 0, msg, sizeof(msg));
  assert_string_equal(msg, "");
  cat_destroy(&c);

  write_file("/tmp/cs_cat.csv", "C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe\n0,0,0,0,0,0,0,0\n0,,0,0,0,0,0,0\n");
  assert_int_equal(cat_read_opts("/tmp/cs_cat.csv", &o, &c), 0);
  assert_true(c.usable[0] && !c.usable[1]);
  assert_string_equal(c.ids[0], "0");
  cat_star_problem(&c, 1, msg, sizeof(msg));
  assert_string_equal(msg, "star '1' (row 1): 7 of 8 elements present, fewer than -min_elements 8 (missing: Fe_H no "
                           "value)");
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
    assert_true(isnan(c.abund[i]) ? isnan(r.err[i]) : r.err[i] == c.err[i]);
  }
  assert_string_equal(r.ids[0], "Gaia DR3 123");
  assert_string_equal(r.ids[1], "1");
  assert_string_equal(r.ids[2], "last");
  assert_true(r.usable[0] && r.usable[1] && r.usable[2]); /* star 2 lacks only Ne_Fe */
  assert_true(r.missing[2 * CS_NELEM + el("Ne_Fe")] == CAT_NO_VALUE);
  assert_int_equal(r.nunusable, 0);
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

/* Five APOGEE-style stars (allStar names: APOGEE_ID, FE_H, X_FE, X_FE_ERR,
 * X_FE_FLAG, no He or Ne), values exact in single precision so the FITS
 * float columns and the CSV text hold the same numbers. Star 1 has Mg flagged,
 * star 2 the sentinel -9999.99 for O, star 3 no Fe_H, star 4 only C and Fe. */
enum { AP_N = 5, AP_NC = 6 };
static const char *const ap_el[AP_NC] = {"C_FE", "N_FE", "O_FE", "MG_FE", "SI_FE", "FE_H"};
static const char *const ap_ids[AP_N] = {"2M00000002+7417074", "2M00000019-1924498", "2M00000032+5737103",
                                         "2M00000068+5710233", "2M00000211+6327470"};
static float ap_val(int i, int k)
{
  if ((i == 2 && k == 2) || (i == 4 && k >= 1 && k <= 4)) return -9999.99f;
  if (i == 3 && k == 5) return NAN;
  return 0.125f * (float)(k + 1) - 0.25f * (float)i;
}
static float ap_err(int i, int k) { return k == 3 && i == 0 ? 0.0078125f : 0.03125f + 0.015625f * (float)k; }
static int ap_flag(int i, int k) { return i == 1 && k == 3 ? 4 : 0; }

static void ap_write_fits(const char *path)
{
  fitsfile *f = NULL;
  int status = 0, nc = 1 + 3 * AP_NC + 1;
  char *ttype[1 + 3 * AP_NC + 1], *tform[1 + 3 * AP_NC + 1], names[3 * AP_NC][32];
  ttype[0] = "APOGEE_ID";
  tform[0] = "18A";
  for (int k = 0; k < AP_NC; k++) {
    snprintf(names[3 * k], 32, "%s", ap_el[k]);
    snprintf(names[3 * k + 1], 32, "%s_ERR", ap_el[k]);
    snprintf(names[3 * k + 2], 32, "%s_FLAG", ap_el[k]);
    for (int j = 0; j < 3; j++) {
      ttype[1 + 3 * k + j] = names[3 * k + j];
      tform[1 + 3 * k + j] = j == 2 ? "1J" : "1E";
    }
  }
  ttype[nc - 1] = "TEFF"; /* an extra column, ignored */
  tform[nc - 1] = "1E";
  remove(path);
  fits_create_file(&f, path, &status);
  fits_create_tbl(f, BINARY_TBL, AP_N, nc, ttype, tform, NULL, "allStar", &status);
  fits_write_col(f, TSTRING, 1, 1, 1, AP_N, (void *)ap_ids, &status);
  for (int k = 0; k < AP_NC; k++) {
    float v[AP_N], e[AP_N];
    int fl[AP_N];
    for (int i = 0; i < AP_N; i++) {
      v[i] = ap_val(i, k);
      e[i] = ap_err(i, k);
      fl[i] = ap_flag(i, k);
    }
    fits_write_col(f, TFLOAT, 2 + 3 * k, 1, 1, AP_N, v, &status);
    fits_write_col(f, TFLOAT, 3 + 3 * k, 1, 1, AP_N, e, &status);
    fits_write_col(f, TINT, 4 + 3 * k, 1, 1, AP_N, fl, &status);
  }
  float teff[AP_N] = {4500, 4600, 4700, 4800, 4900};
  fits_write_col(f, TFLOAT, nc, 1, 1, AP_N, teff, &status);
  fits_close_file(f, &status);
  assert_int_equal(status, 0);
}

static void ap_write_csv(const char *path)
{
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fprintf(fp, "TEFF,APOGEE_ID");
  for (int k = AP_NC - 1; k >= 0; k--) fprintf(fp, ",%s_FLAG,%s,%s_ERR", ap_el[k], ap_el[k], ap_el[k]);
  fprintf(fp, "\n");
  for (int i = 0; i < AP_N; i++) {
    fprintf(fp, "4500,%s", ap_ids[i]);
    for (int k = AP_NC - 1; k >= 0; k--) {
      float v = ap_val(i, k);
      if (isnan(v))
        fprintf(fp, ",%d,,%.9g", ap_flag(i, k), ap_err(i, k));
      else
        fprintf(fp, ",%d,%.9g,%.9g", ap_flag(i, k), v, ap_err(i, k));
    }
    fprintf(fp, "\n");
  }
  fclose(fp);
}

static void ap_read(const char *path, PetscInt min_el, Catalogue *c)
{
  CatOptions o;
  assert_int_equal(cat_options_default(&o), 0);
  snprintf(o.columns, sizeof(o.columns), "apogee");
  o.min_elements = min_el;
  errbuf[0] = 0;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = cat_read_opts(path, &o, c);
  PetscPopErrorHandler();
  if (e) fail_msg("reading %s: %s", path, errbuf);
}

/* The FITS table and the CSV give the same stars, value for value, and
 * flags, sentinels and NaNs become missing values of the right element. */
static void test_apogee_fits_csv(void **state)
{
  Catalogue f, c;
  ap_write_fits("/tmp/cs_apogee.fits");
  ap_write_csv("/tmp/cs_apogee.csv");
  assert_true(cat_is_fits("/tmp/cs_apogee.fits") && !cat_is_fits("/tmp/cs_apogee.csv"));
  ap_read("/tmp/cs_apogee.fits", 3, &f);
  ap_read("/tmp/cs_apogee.csv", 3, &c);
  assert_int_equal(f.n, AP_N);
  assert_int_equal(c.n, AP_N);
  for (PetscInt i = 0; i < AP_N; i++) {
    assert_string_equal(f.ids[i], ap_ids[i]);
    assert_string_equal(c.ids[i], ap_ids[i]);
    assert_int_equal(f.usable[i], c.usable[i]);
    for (int e = 0; e < CS_NELEM; e++) {
      PetscInt j = i * CS_NELEM + e;
      if (f.missing[j] != c.missing[j])
        fail_msg("star %d %s: reason %d (FITS) vs %d (CSV)", (int)i, cs_elem_names[e], f.missing[j], c.missing[j]);
      assert_true(f.abund[j] == c.abund[j] || (isnan(f.abund[j]) && isnan(c.abund[j])));
      assert_true(f.err[j] == c.err[j] || (isnan(f.err[j]) && isnan(c.err[j])));
    }
  }
  /* Against the values written. */
  assert_true(f.abund[0 * CS_NELEM + el("Mg_Fe")] == 0.125 * 4);
  assert_true(f.err[0 * CS_NELEM + el("Mg_Fe")] == 0.01); /* 0.0078 raised to -error_floor */
  assert_true(f.err[0 * CS_NELEM + el("C_Fe")] == 0.03125);
  assert_int_equal(f.missing[1 * CS_NELEM + el("Mg_Fe")], CAT_FLAGGED);
  assert_true(isnan(f.abund[1 * CS_NELEM + el("Mg_Fe")]));
  assert_int_equal(f.missing[2 * CS_NELEM + el("O_Fe")], CAT_SENTINEL);
  assert_int_equal(f.missing[3 * CS_NELEM + el("Fe_H")], CAT_NO_VALUE);
  for (PetscInt i = 0; i < AP_N; i++) {
    assert_int_equal(f.missing[i * CS_NELEM + el("He_Fe")], CAT_NO_COLUMN);
    assert_int_equal(f.missing[i * CS_NELEM + el("Ne_Fe")], CAT_NO_COLUMN);
  }
  assert_int_equal(cat_npresent(&f, 0), 6);
  assert_int_equal(cat_npresent(&f, 1), 5);
  /* Star 4 keeps 2 elements: below -min_elements 3, left out and named. */
  char msg[512];
  assert_int_equal(f.nunusable, 1);
  assert_false(f.usable[4]);
  cat_star_problem(&f, 4, msg, sizeof(msg));
  expect_in(msg, "star '2M00000211+6327470' (row 4): 2 of 8 elements present, fewer than -min_elements 3");
  expect_in(msg, "O_Fe sentinel");
  expect_in(msg, "He_Fe no column");
  cat_destroy(&f);
  cat_destroy(&c);
}

/* GALAH names (fe_h, Mg_fe, e_Mg_fe, flag_Mg_fe) with numeric sobject_id, and
 * a map file that renames columns, drops one, and rejects an unknown key. */
static void test_galah_and_map_file(void **state)
{
  Catalogue c;
  CatOptions o;
  write_file("/tmp/cs_galah.csv", "sobject_id,fe_h,e_fe_h,flag_fe_h,Mg_fe,e_Mg_fe,flag_Mg_fe,O_fe,e_O_fe,flag_O_fe\n"
                                  "131116000501002,-0.2,0.05,0,0.1,0.03,0,0.3,0.07,1\n"
                                  "131116000501003,-0.4,0.06,0,0.2,,0,0.4,0.08,0\n");
  assert_int_equal(cat_options_default(&o), 0);
  snprintf(o.columns, sizeof(o.columns), "galah");
  assert_int_equal(cat_read_opts("/tmp/cs_galah.csv", &o, &c), 0);
  assert_string_equal(c.ids[0], "131116000501002");
  assert_true(c.abund[el("Fe_H")] == -0.2 && c.err[el("Fe_H")] == 0.05);
  assert_true(c.abund[el("Mg_Fe")] == 0.1 && c.err[el("Mg_Fe")] == 0.03);
  assert_int_equal(c.missing[el("O_Fe")], CAT_FLAGGED);
  assert_int_equal(c.missing[CS_NELEM + el("Mg_Fe")], CAT_BAD_ERROR); /* empty e_Mg_fe */
  assert_true(c.abund[CS_NELEM + el("O_Fe")] == 0.4);
  assert_int_equal(c.missing[el("C_Fe")], CAT_NO_COLUMN);
  cat_destroy(&c);

  write_file("/tmp/cs_map.opts", "# my survey\n-like galah\n-id star\n-Mg_Fe MG\n-Mg_Fe_err none\n-O_Fe none\n");
  write_file("/tmp/cs_mine.csv", "star,fe_h,e_fe_h,MG,O_fe\nx1,-0.2,0.05,0.1,0.3\n");
  snprintf(o.columns, sizeof(o.columns), "/tmp/cs_map.opts");
  assert_int_equal(cat_read_opts("/tmp/cs_mine.csv", &o, &c), 0);
  assert_string_equal(c.ids[0], "x1");
  assert_true(c.abund[el("Mg_Fe")] == 0.1 && c.err[el("Mg_Fe")] == 0.05); /* no error column: -error_default */
  assert_int_equal(c.missing[el("O_Fe")], CAT_NO_COLUMN);
  assert_false(c.err_present[el("Mg_Fe")]);
  assert_true(c.err_present[el("Fe_H")]);
  cat_destroy(&c);

  write_file("/tmp/cs_map.opts", "-like galah\n-Mg_Fe_error MG\n");
  assert_int_not_equal(try_read_opts("/tmp/cs_mine.csv", &o, &c), 0);
  expect_in(errbuf, "/tmp/cs_map.opts");
  expect_in(errbuf, "Mg_Fe_error");
  write_file("/tmp/cs_map.opts", "-like gaia\n");
  assert_int_not_equal(try_read_opts("/tmp/cs_mine.csv", &o, &c), 0);
  expect_in(errbuf, "gaia");
  /* Our own format still requires its eight value columns; HDF5 only takes our layout. */
  snprintf(o.columns, sizeof(o.columns), "apogee");
  assert_int_not_equal(try_read_opts("/tmp/cs_cat2.h5", &o, &c), 0);
  expect_in(errbuf, "chempysbi layout");
}

/* Sentinels: the survey maps treat |value| >= 900 as missing; ours keeps the
 * value (we write NaN for missing) unless -bad_above says otherwise. */
static void test_sentinels(void **state)
{
  Catalogue c;
  CatOptions o;
  write_file("/tmp/cs_sent.csv", "C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe\n0,0,0,0,0,0,-9999.99,0\n");
  assert_int_equal(cat_options_default(&o), 0);
  assert_int_equal(try_read_opts("/tmp/cs_sent.csv", &o, &c), 0);
  assert_true(c.abund[el("O_Fe")] == -9999.99 && c.missing[el("O_Fe")] == CAT_PRESENT);
  cat_destroy(&c);
  o.bad_above = 900;
  assert_int_equal(try_read_opts("/tmp/cs_sent.csv", &o, &c), 0);
  assert_int_equal(c.missing[el("O_Fe")], CAT_SENTINEL);
  cat_destroy(&c);
}

/* A FITS table written by cat_write_table reads back exactly, NaNs and all. */
static void test_fits_write_roundtrip(void **state)
{
  enum { NC = 2 * CS_NELEM + 1 };
  char buf[NC][32];
  const char *names[NC];
  double d[3 * NC];
  Catalogue c;
  snprintf(buf[0], 32, "id");
  for (int e = 0; e < CS_NELEM; e++) {
    snprintf(buf[1 + e], 32, "%s", cs_elem_names[e]);
    snprintf(buf[1 + CS_NELEM + e], 32, "%s_err", cs_elem_names[e]);
  }
  for (int k = 0; k < NC; k++) names[k] = buf[k];
  for (int i = 0; i < 3 * NC; i++) d[i] = (i % NC == 0) ? 100 + i / NC : 0.1 + 0.013 * i;
  d[1 * NC + 1 + el("N_Fe")] = NAN;
  assert_int_equal(cat_write_table("/tmp/cs_w.fits", NC, names, 3, d), 0);
  assert_int_equal(try_read("/tmp/cs_w.fits", &c), 0);
  assert_int_equal(c.n, 3);
  assert_string_equal(c.ids[2], "102");
  for (int i = 0; i < 3; i++)
    for (int e = 0; e < CS_NELEM; e++) {
      double v = d[i * NC + 1 + e];
      assert_true(c.abund[i * CS_NELEM + e] == v || (isnan(v) && isnan(c.abund[i * CS_NELEM + e])));
      if (!isnan(v)) assert_true(c.err[i * CS_NELEM + e] == d[i * NC + 1 + CS_NELEM + e]);
    }
  cat_destroy(&c);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_shuffled),       cmocka_unit_test(test_csv_nan_star),
      cmocka_unit_test(test_csv_missing_column), cmocka_unit_test(test_h5_roundtrip),
      cmocka_unit_test(test_h5_by_name),         cmocka_unit_test(test_h5_vlen_ids),
      cmocka_unit_test(test_h5_seven_columns),   cmocka_unit_test(test_apogee_fits_csv),
      cmocka_unit_test(test_galah_and_map_file), cmocka_unit_test(test_fits_write_roundtrip),
      cmocka_unit_test(test_sentinels),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
