/* Star catalogues from CSV, HDF5 or FITS. Columns are matched by name, never by
 * position, because a catalogue read in the wrong order still "works" and gives
 * a wrong galaxy. Every reader fills the same raw table (value, error and flag
 * of each element); one pass then turns bad values into missing ones, errors
 * into effective sigmas, and stars with too few elements into reported,
 * unusable ones. */
#include <chempysbi/cat.h>
#include <chempysbi/csv.h>
#include <chempysbi/h5.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const cat_missing_names[CAT_NREASON] = {"present", "no value",  "sentinel",
                                                    "flagged", "bad error", "no column"};

PetscErrorCode cat_alloc(PetscInt n, Catalogue *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->n = n;
  c->min_elements = 1;
  PetscCall(PetscMalloc5(n * CS_NELEM, &c->abund, n * CS_NELEM, &c->err, n, &c->ids, n, &c->usable, n * CS_NELEM,
                         &c->missing));
  for (PetscInt i = 0; i < n * CS_NELEM; i++) c->abund[i] = c->err[i] = NAN;
  PetscCall(PetscArrayzero(c->missing, n * CS_NELEM));
  for (PetscInt i = 0; i < n; i++) {
    PetscCall(PetscSNPrintf(c->ids[i], CAT_ID_LEN, "%" PetscInt_FMT, i));
    c->usable[i] = PETSC_TRUE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_destroy(Catalogue *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(c->abund, c->err, c->ids, c->usable, c->missing));
  c->n = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

int cat_npresent(const Catalogue *c, PetscInt i)
{
  int k = 0;
  for (int e = 0; e < CS_NELEM; e++) k += isfinite(c->abund[i * CS_NELEM + e]) ? 1 : 0;
  return k;
}

void cat_star_problem(const Catalogue *c, PetscInt i, char *buf, size_t len)
{
  size_t k = 0;
  int np = cat_npresent(c, i), nm = 0;
  buf[0] = 0;
  if (c->usable[i]) return;
  k += (size_t)snprintf(buf, len,
                        "star '%s' (row %" PetscInt_FMT
                        "): %d of %d elements present, fewer than -min_elements %" PetscInt_FMT " (missing: ",
                        c->ids[i], i, np, CS_NELEM, c->min_elements);
  for (int e = 0; e < CS_NELEM; e++) {
    int why = c->missing[i * CS_NELEM + e];
    if (!why && isfinite(c->abund[i * CS_NELEM + e])) continue;
    k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "%s%s %s", nm++ ? ", " : "", cs_elem_names[e],
                          cat_missing_names[why ? why : CAT_NO_VALUE]);
  }
  snprintf(buf + k, k < len ? len - k : 0, ")");
}

PetscErrorCode cat_check(Catalogue *c, PetscInt min_elements, const char *path, PetscBool report)
{
  char msg[768];
  PetscFunctionBeginUser;
  c->nunusable = 0;
  c->min_elements = min_elements;
  for (PetscInt i = 0; i < c->n; i++) {
    for (int e = 0; e < CS_NELEM; e++)
      if (!isfinite(c->abund[i * CS_NELEM + e])) {
        c->abund[i * CS_NELEM + e] = NAN;
        if (!c->missing[i * CS_NELEM + e]) c->missing[i * CS_NELEM + e] = CAT_NO_VALUE;
      }
    c->usable[i] = cat_npresent(c, i) >= min_elements ? PETSC_TRUE : PETSC_FALSE;
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

/* The raw table every reader produces: per star and element the value, the
 * error and the flag (NaN when absent), and which columns the file has. */
typedef struct {
  PetscInt n;
  double *v; /* (n, 3 * CS_NELEM): values, errors, flags */
  PetscBool has[3 * CS_NELEM];
} CatRaw;

/* The 3 * CS_NELEM column names of the map (values, errors, flags) and whether each is required. */
static void cat_map_names(const CatColumns *m, const char *names[3 * CS_NELEM], PetscBool req[3 * CS_NELEM])
{
  for (int e = 0; e < CS_NELEM; e++) {
    names[e] = m->val[e];
    names[CS_NELEM + e] = m->err[e];
    names[2 * CS_NELEM + e] = m->flag[e];
    req[e] = (m->required && m->val[e][0]) ? PETSC_TRUE : PETSC_FALSE;
    req[CS_NELEM + e] = req[2 * CS_NELEM + e] = PETSC_FALSE;
  }
}

/* CSV: csv_read skips empty names only if we do not ask for them. */
static PetscErrorCode cat_read_csv(const char *path, const CatColumns *m, Catalogue *c, CatRaw *raw)
{
  const char *names[3 * CS_NELEM], *ask[3 * CS_NELEM];
  PetscBool req[3 * CS_NELEM], askreq[3 * CS_NELEM];
  int pos[3 * CS_NELEM], nask = 0;
  CsvTable t;
  PetscFunctionBeginUser;
  cat_map_names(m, names, req);
  for (int k = 0; k < 3 * CS_NELEM; k++) {
    pos[k] = -1;
    if (!names[k][0]) continue;
    pos[k] = nask;
    ask[nask] = names[k];
    askreq[nask++] = req[k];
  }
  PetscCall(csv_read(path, nask, ask, askreq, PETSC_TRUE, m->id[0] ? m->id : NULL, &t));
  PetscCall(cat_alloc(t.nrows, c));
  raw->n = t.nrows;
  PetscCall(PetscMalloc1(t.nrows * 3 * CS_NELEM, &raw->v));
  for (int k = 0; k < 3 * CS_NELEM; k++) raw->has[k] = pos[k] >= 0 ? t.present[pos[k]] : PETSC_FALSE;
  for (PetscInt i = 0; i < t.nrows; i++) {
    for (int k = 0; k < 3 * CS_NELEM; k++) raw->v[i * 3 * CS_NELEM + k] = pos[k] >= 0 ? t.data[i * nask + pos[k]] : NAN;
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

static PetscErrorCode cat_read_fits(const char *path, const CatColumns *m, Catalogue *c, CatRaw *raw)
{
  const char *names[3 * CS_NELEM];
  PetscBool req[3 * CS_NELEM], *present;
  char(*ids)[CAT_ID_LEN];
  PetscInt n;
  PetscFunctionBeginUser;
  cat_map_names(m, names, req);
  PetscCall(cat_fits_read(path, 3 * CS_NELEM, names, req, m->id, &n, &raw->v, &present, &ids));
  raw->n = n;
  for (int k = 0; k < 3 * CS_NELEM; k++) raw->has[k] = present[k];
  PetscCall(cat_alloc(n, c));
  if (ids) PetscCall(PetscArraycpy(c->ids, ids, n));
  PetscCall(PetscFree(present));
  PetscCall(PetscFree(ids));
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
             "file %s: dataset %s has %" PetscInt_FMT " columns, expected %d (%s)", f->path, name, nc, CS_NELEM,
             cs_elem_list);
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

static PetscErrorCode cat_read_h5(const char *path, Catalogue *c, CatRaw *raw)
{
  H5File f;
  PetscInt n;
  int map[CS_NELEM];
  double *t;
  static const char *const dsets[3] = {"/abundances", "/errors", "/flags"}, *const suffix[3] = {"", "_err", "_flag"};
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCall(h5_table_info(&f, "/abundances", &n, NULL));
  PetscCall(cat_alloc(n, c));
  raw->n = n;
  PetscCall(PetscMalloc1(n * 3 * CS_NELEM + 1, &raw->v));
  PetscCall(PetscMalloc1(n * CS_NELEM + 1, &t));
  for (PetscInt i = 0; i < n * 3 * CS_NELEM; i++) raw->v[i] = NAN;
  for (int d = 0; d < 3; d++) {
    if (d > 0 && !h5_exists(&f, dsets[d])) continue;
    PetscCall(cat_h5_columns(&f, dsets[d], suffix[d], d ? n : -1, map));
    PetscCall(cat_h5_table(&f, dsets[d], n, map, t));
    for (PetscInt i = 0; i < n; i++)
      for (int e = 0; e < CS_NELEM; e++) raw->v[i * 3 * CS_NELEM + d * CS_NELEM + e] = t[i * CS_NELEM + e];
    for (int e = 0; e < CS_NELEM; e++) raw->has[d * CS_NELEM + e] = PETSC_TRUE;
  }
  PetscCall(PetscFree(t));
  if (h5_exists(&f, "/ids")) PetscCall(cat_h5_ids(&f, n, c));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Values to missing ones and errors to effective sigmas (the one place that decides). */
static void cat_apply(const CatRaw *raw, const CatOptions *o, const CatColumns *m, Catalogue *c)
{
  const double bad = o->bad_above > 0 ? o->bad_above : m->bad_above;
  for (int e = 0; e < CS_NELEM; e++) c->err_present[e] = raw->has[CS_NELEM + e];
  for (PetscInt i = 0; i < c->n; i++)
    for (int e = 0; e < CS_NELEM; e++) {
      const double *r = raw->v + i * 3 * CS_NELEM;
      double v = r[e], s = r[CS_NELEM + e], fl = r[2 * CS_NELEM + e];
      CatMissing why = CAT_PRESENT;
      if (!raw->has[e])
        why = CAT_NO_COLUMN;
      else if (!isfinite(v))
        why = CAT_NO_VALUE;
      else if (fabs(v) >= bad)
        why = CAT_SENTINEL;
      else if (raw->has[2 * CS_NELEM + e] && isfinite(fl) && fl != 0)
        why = CAT_FLAGGED;
      else if (raw->has[CS_NELEM + e] && !(isfinite(s) && s >= 0 && s < bad))
        why = CAT_BAD_ERROR;
      c->missing[i * CS_NELEM + e] = (unsigned char)why;
      c->abund[i * CS_NELEM + e] = why ? NAN : v;
      c->err[i * CS_NELEM + e] = why ? NAN : PetscMax(raw->has[CS_NELEM + e] ? s : o->error_default, o->error_floor);
    }
}

/* One line on what was read: per element how many values are present and why the others are not. */
static PetscErrorCode cat_summary(const char *path, const char *format, const CatOptions *o, const Catalogue *c)
{
  char line[2048];
  size_t k;
  PetscFunctionBeginUser;
  k = (size_t)snprintf(line, sizeof(line),
                       "catalogue %s (%s, columns %s): %" PetscInt_FMT " stars, %" PetscInt_FMT
                       " usable (>= %" PetscInt_FMT " elements); present per element:",
                       path, format, o->columns, c->n, c->n - c->nunusable, o->min_elements);
  for (int e = 0; e < CS_NELEM && k < sizeof(line); e++) {
    PetscInt cnt[CAT_NREASON] = {0};
    for (PetscInt i = 0; i < c->n; i++) cnt[c->missing[i * CS_NELEM + e]]++;
    k += (size_t)snprintf(line + k, sizeof(line) - k, " %s %" PetscInt_FMT, cs_elem_names[e], cnt[0]);
    for (int w = 1; w < CAT_NREASON && k < sizeof(line); w++)
      if (cnt[w])
        k += (size_t)snprintf(line + k, sizeof(line) - k, " (%" PetscInt_FMT " %s)", cnt[w], cat_missing_names[w]);
    if (e + 1 < CS_NELEM && k < sizeof(line)) k += (size_t)snprintf(line + k, sizeof(line) - k, ",");
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s\n", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_read_opts(const char *path, const CatOptions *o, Catalogue *c)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char head[8] = {0};
  CatColumns m;
  CatRaw raw;
  const char *format;
  FILE *fp;
  size_t got;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&raw, sizeof(raw)));
  PetscCall(cat_columns_get(o->columns, &m));
  fp = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open star catalogue (%s)", path, strerror(errno));
  got = fread(head, 1, sizeof(head), fp);
  fclose(fp);
  /* HDF5 files written by h5py or our h5 layer start with the signature (no user block). */
  if (got == sizeof(head) && !memcmp(head, sig, sizeof(sig))) {
    PetscCheck(!strcmp(m.name, "chempysbi"), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
               "%s: HDF5 catalogues use the chempysbi layout (/abundances, /errors, /flags, /ids); -columns %s "
               "applies to CSV and FITS tables",
               path, o->columns);
    format = "HDF5";
    PetscCall(cat_read_h5(path, c, &raw));
  } else if (cat_is_fits(path)) {
    format = "FITS";
    PetscCall(cat_read_fits(path, &m, c, &raw));
  } else {
    format = "CSV";
    PetscCall(cat_read_csv(path, &m, c, &raw));
  }
  PetscCheck(c->n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: catalogue has no stars", path);
  cat_apply(&raw, o, &m, c);
  PetscCall(PetscFree(raw.v));
  PetscCall(cat_check(c, o->min_elements, path, PETSC_TRUE));
  PetscCall(cat_summary(path, format, o, c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_read(const char *path, Catalogue *c)
{
  CatOptions o;
  PetscFunctionBeginUser;
  PetscCall(cat_options_default(&o));
  PetscCall(cat_read_opts(path, &o, c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_write_table(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                               const double *data)
{
  size_t len = strlen(path);
  PetscFunctionBeginUser;
  if ((len > 5 && !strcmp(path + len - 5, ".fits")) || (len > 4 && !strcmp(path + len - 4, ".fit")))
    PetscCall(cat_fits_write(path, ncols, names, nrows, data));
  else
    PetscCall(csv_write(path, ncols, names, nrows, data));
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
