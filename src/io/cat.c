/* Star catalogues from CSV or HDF5. Columns are matched by name, never by
 * position, because a catalogue read in the wrong order still "works" and gives
 * a wrong galaxy. Bad stars are flagged and reported, never silently used. */
#include <chempysbi/cat.h>
#include <chempysbi/csv.h>
#include <chempysbi/h5.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

PetscErrorCode cat_alloc(PetscInt n, Catalogue *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->n = n;
  PetscCall(PetscMalloc4(n * CS_NELEM, &c->abund, n * CS_NELEM, &c->err, n, &c->ids, n, &c->usable));
  for (PetscInt i = 0; i < n * CS_NELEM; i++) c->abund[i] = c->err[i] = NAN;
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscSNPrintf(c->ids[i], CAT_ID_LEN, "%" PetscInt_FMT, i));
    c->usable[i] = PETSC_TRUE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_destroy(Catalogue *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(c->abund, c->err, c->ids, c->usable));
  c->n = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Value e of star i is bad: an abundance that is missing (NaN) or not finite,
 * or a given error that is so or negative. Slots CS_NELEM.. are the errors. */
static PetscBool cat_bad(const Catalogue *c, PetscInt i, int e)
{
  if (e < CS_NELEM) return isfinite(c->abund[i * CS_NELEM + e]) ? PETSC_FALSE : PETSC_TRUE;
  e -= CS_NELEM;
  double v = c->err[i * CS_NELEM + e];
  return (c->err_present[e] && !(isfinite(v) && v >= 0)) ? PETSC_TRUE : PETSC_FALSE;
}

void cat_star_problem(const Catalogue *c, PetscInt i, char *buf, size_t len)
{
  size_t k = 0;
  int nbad = 0;
  buf[0] = 0;
  for (int e = 0; e < 2 * CS_NELEM; e++) {
    if (!cat_bad(c, i, e)) continue;
    if (!nbad++)
      k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "star '%s' (row %" PetscInt_FMT "): no valid value for ",
                            c->ids[i], i);
    k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "%s%s%s", nbad > 1 ? ", " : "", cs_elem_names[e % CS_NELEM],
                          e < CS_NELEM ? "" : "_err");
  }
}

PetscErrorCode cat_check(Catalogue *c, const char *path, PetscBool report)
{
  char msg[512];
  PetscFunctionBeginUser;
  c->nunusable = 0;
  for (PetscInt i = 0; i < c->n; i++) {
    c->usable[i] = PETSC_TRUE;
    for (int e = 0; e < 2 * CS_NELEM; e++)
      if (cat_bad(c, i, e)) c->usable[i] = PETSC_FALSE;
    if (c->usable[i]) continue;
    c->nunusable++;
    if (report) {
      cat_star_problem(c, i, msg, sizeof(msg));
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, PETSC_STDERR, "warning: %s: %s; star left out\n",
                             path ? path : "catalogue", msg));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode cat_read_csv(const char *path, Catalogue *c)
{
  char errnames[CS_NELEM][H5_NAME_LEN];
  const char *names[2 * CS_NELEM];
  PetscBool required[2 * CS_NELEM];
  CsvTable t;
  PetscFunctionBeginUser;
  for (int e = 0; e < CS_NELEM; e++) {
    PetscCall(PetscSNPrintf(errnames[e], H5_NAME_LEN, "%s_err", cs_elem_names[e]));
    names[e] = cs_elem_names[e];
    names[CS_NELEM + e] = errnames[e];
    required[e] = PETSC_TRUE;
    required[CS_NELEM + e] = PETSC_FALSE;
  }
  PetscCall(csv_read(path, 2 * CS_NELEM, names, required, PETSC_TRUE, "id", &t));
  PetscCall(cat_alloc(t.nrows, c));
  for (int e = 0; e < CS_NELEM; e++) c->err_present[e] = t.present[CS_NELEM + e];
  for (PetscInt i = 0; i < t.nrows; i++) {
    for (int e = 0; e < CS_NELEM; e++) {
      c->abund[i * CS_NELEM + e] = t.data[i * 2 * CS_NELEM + e];
      c->err[i * CS_NELEM + e] = t.data[i * 2 * CS_NELEM + CS_NELEM + e];
    }
    if (t.ids) {
      PetscCheck(strlen(t.ids[i]) < CAT_ID_LEN, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: data row %" PetscInt_FMT ": id '%.20s...' is longer than %d characters", path, i + 1, t.ids[i],
                 CAT_ID_LEN - 1);
      PetscCall(PetscStrncpy(c->ids[i], t.ids[i], CAT_ID_LEN));
    }
  }
  PetscCall(csv_table_destroy(&t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* map[e] = column of dataset `name` holding element e, from its "columns"
 * attribute (element names, optionally with `suffix`), in any order. */
static PetscErrorCode cat_h5_columns(H5File *f, const char *name, const char *suffix, PetscInt n, int map[CS_NELEM])
{
  char cols[4096], *tok, *save = NULL, want[H5_NAME_LEN];
  const char *list[CS_NELEM + 1];
  int ncol = 0;
  PetscInt nr, nc;
  PetscFunctionBeginUser;
  PetscCall(h5_table_info(f, name, &nr, &nc));
  PetscCheck(nc == CS_NELEM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s has %" PetscInt_FMT
             " columns, expected %d (C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe)",
             f->path, name, nc, CS_NELEM);
  PetscCheck(n < 0 || nr == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s has %" PetscInt_FMT " rows, /abundances has %" PetscInt_FMT, f->path, name, nr, n);
  PetscCall(h5_attr_read_str(f, name, "columns", cols, sizeof(cols)));
  for (tok = strtok_r(cols, ",", &save); tok && ncol <= CS_NELEM; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    list[ncol++] = tok;
  }
  PetscCheck(ncol == CS_NELEM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s: attribute 'columns' names %d columns, expected %d", f->path, name, ncol, CS_NELEM);
  for (int e = 0; e < CS_NELEM; e++) {
    map[e] = -1;
    PetscCall(PetscSNPrintf(want, sizeof(want), "%s%s", cs_elem_names[e], suffix));
    for (int k = 0; k < CS_NELEM; k++)
      if (!strcmp(list[k], cs_elem_names[e]) || !strcmp(list[k], want)) {
        PetscCheck(map[e] < 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                   "file %s: dataset %s: column '%s' appears twice", f->path, name, cs_elem_names[e]);
        map[e] = k;
      }
    PetscCheck(map[e] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "file %s: dataset %s: column '%s' is missing from attribute 'columns'", f->path, name, cs_elem_names[e]);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Read a [n, 8] table and reorder its columns into cs_elem_names order. */
static PetscErrorCode cat_h5_table(H5File *f, const char *name, PetscInt n, const int map[CS_NELEM], double *out)
{
  double *raw;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(PetscMax(n * CS_NELEM, 1), &raw));
  PetscCall(h5_table_read_rows(f, name, H5T_NATIVE_DOUBLE, 0, n, raw, PETSC_FALSE));
  for (PetscInt i = 0; i < n; i++)
    for (int e = 0; e < CS_NELEM; e++) out[i * CS_NELEM + e] = raw[i * CS_NELEM + map[e]];
  PetscCall(PetscFree(raw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* /ids: one string per star, fixed or variable length. */
static PetscErrorCode cat_h5_ids(H5File *f, PetscInt n, Catalogue *c)
{
  hid_t ds, ft, sp, mt;
  hsize_t dims[1] = {0};
  int rank;
  PetscFunctionBeginUser;
  H5Call(ds = H5Dopen2(f->id, "/ids", H5P_DEFAULT));
  H5Call(ft = H5Dget_type(ds));
  H5Call(sp = H5Dget_space(ds));
  H5Call(rank = H5Sget_simple_extent_ndims(sp));
  if (rank == 1) H5Call(H5Sget_simple_extent_dims(sp, dims, NULL));
  PetscCheck(H5Tget_class(ft) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset /ids is not a string dataset", f->path);
  PetscCheck(rank == 1 && (PetscInt)dims[0] == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset /ids has %llu entries, /abundances has %" PetscInt_FMT " rows", f->path,
             (unsigned long long)dims[0], n);
  H5Call(mt = H5Tcopy(H5T_C_S1));
  if (H5Tis_variable_str(ft) > 0) {
    char **s;
    H5Call(H5Tset_size(mt, H5T_VARIABLE));
    PetscCall(PetscCalloc1(PetscMax(n, 1), &s));
    H5Call(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s));
    for (PetscInt i = 0; i < n; i++) PetscCall(PetscStrncpy(c->ids[i], s[i] ? s[i] : "", CAT_ID_LEN));
    H5Call(H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, s));
    PetscCall(PetscFree(s));
  } else {
    size_t sz = H5Tget_size(ft);
    char *buf;
    H5Call(H5Tset_size(mt, sz));
    PetscCall(PetscMalloc1(PetscMax(n, 1) * sz + 1, &buf));
    H5Call(H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    for (PetscInt i = 0; i < n; i++) {
      size_t k = PetscMin(sz, (size_t)CAT_ID_LEN - 1);
      memcpy(c->ids[i], buf + i * sz, k);
      c->ids[i][k] = 0; /* fixed-length strings need not be terminated */
    }
    PetscCall(PetscFree(buf));
  }
  H5Call(H5Tclose(mt));
  H5Call(H5Sclose(sp));
  H5Call(H5Tclose(ft));
  H5Call(H5Dclose(ds));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode cat_read_h5(const char *path, Catalogue *c)
{
  H5File f;
  PetscInt n;
  int amap[CS_NELEM], emap[CS_NELEM];
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCall(h5_table_info(&f, "/abundances", &n, NULL));
  PetscCall(cat_h5_columns(&f, "/abundances", "", -1, amap));
  PetscCall(cat_alloc(n, c));
  PetscCall(cat_h5_table(&f, "/abundances", n, amap, c->abund));
  if (h5_exists(&f, "/errors")) {
    PetscCall(cat_h5_columns(&f, "/errors", "_err", n, emap));
    PetscCall(cat_h5_table(&f, "/errors", n, emap, c->err));
    for (int e = 0; e < CS_NELEM; e++) c->err_present[e] = PETSC_TRUE;
  }
  if (h5_exists(&f, "/ids")) PetscCall(cat_h5_ids(&f, n, c));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_read(const char *path, Catalogue *c)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[8] = {0};
  FILE *fp;
  size_t got;
  PetscFunctionBeginUser;
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open star catalogue (%s)", path, strerror(errno));
  got = fread(head, 1, sizeof(head), fp);
  fclose(fp);
  /* HDF5 files written by h5py or our h5 layer start with the signature (no user block). */
  if (got == sizeof(head) && !memcmp(head, sig, sizeof(sig)))
    PetscCall(cat_read_h5(path, c));
  else
    PetscCall(cat_read_csv(path, c));
  PetscCheck(c->n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: catalogue has no stars", path);
  PetscCall(cat_check(c, path, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_write_h5(const char *path, const Catalogue *c)
{
  H5File f;
  PetscBool anyerr = PETSC_FALSE;
  hid_t t, sp, ds;
  hsize_t dim = (hsize_t)c->n;
  PetscFunctionBeginUser;
  for (int e = 0; e < CS_NELEM; e++) anyerr = anyerr || c->err_present[e];
  PetscCall(h5_create(PETSC_COMM_SELF, path, &f));
  PetscCall(h5_write_provenance(&f, "catalogue"));
  PetscCall(h5_table_write(&f, "/abundances", H5T_NATIVE_DOUBLE, c->n, CS_NELEM, cs_elem_names, c->abund));
  if (anyerr) PetscCall(h5_table_write(&f, "/errors", H5T_NATIVE_DOUBLE, c->n, CS_NELEM, cs_elem_names, c->err));
  H5Call(t = H5Tcopy(H5T_C_S1));
  H5Call(H5Tset_size(t, CAT_ID_LEN));
  H5Call(sp = H5Screate_simple(1, &dim, NULL));
  H5Call(ds = H5Dcreate2(f.id, "/ids", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (c->n > 0) H5Call(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->ids));
  H5Call(H5Dclose(ds));
  H5Call(H5Sclose(sp));
  H5Call(H5Tclose(t));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}
