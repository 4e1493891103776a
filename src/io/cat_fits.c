/* FITS binary tables through cfitsio: the survey catalogues (APOGEE allStar,
 * GALAH DR3) come as FITS. Columns are read in blocks of the row count cfitsio
 * says fits its buffers (fits_get_rowsize), all wanted columns per block, so a
 * wide table is read from disk once rather than once per column. */
#include <chempysbi/cat.h>
#include <errno.h>
#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* cfitsio reports through a status integer: turn a non-zero one into a PETSc
 * error naming the call, the file and cfitsio's message. */
#define FITSCall(path, expr)                                                                                           \
  do {                                                                                                                 \
    int fst_ = 0;                                                                                                      \
    (void)(expr);                                                                                                      \
    if (status) {                                                                                                      \
      char fmsg_[FLEN_STATUS];                                                                                         \
      fits_get_errstatus(status, fmsg_);                                                                               \
      fst_ = status;                                                                                                   \
      status = 0;                                                                                                      \
      if (fptr) fits_close_file(fptr, &status);                                                                        \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: cfitsio error %d (%s) in %s", path, fst_, fmsg_,        \
              #expr);                                                                                                  \
    }                                                                                                                  \
  } while (0)

PetscBool cat_is_fits(const char *path)
{
  char head[10] = {0};
  FILE *fp = fopen(path, "rb");
  if (!fp) return PETSC_FALSE;
  size_t got = fread(head, 1, 9, fp);
  fclose(fp);
  return (got == 9 && !memcmp(head, "SIMPLE  =", 9)) ? PETSC_TRUE : PETSC_FALSE;
}

/* Ids from a string or numeric column, rows [r0, r0 + m). */
static PetscErrorCode cat_fits_ids(fitsfile *fptr, const char *path, int col, int type, long width, LONGLONG r0, long m,
                                   char **sbuf, char (*ids)[CAT_ID_LEN])
{
  int status = 0, anynul;
  PetscFunctionBeginUser;
  if (type == TSTRING) {
    FITSCall(path, fits_read_col_str(fptr, col, r0 + 1, 1, m, "", sbuf, &anynul, &status));
    for (long i = 0; i < m; i++) {
      PetscCheck(strlen(sbuf[i]) < CAT_ID_LEN, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: row %lld: id '%.20s...' is longer than %d characters", path, (long long)(r0 + i), sbuf[i],
                 CAT_ID_LEN - 1);
      PetscCall(PetscStrncpy(ids[r0 + i], sbuf[i], CAT_ID_LEN));
    }
  } else {
    double v[1024];
    for (long i0 = 0; i0 < m; i0 += 1024) {
      long k = PetscMin(1024, m - i0);
      LONGLONG iv[1024];
      if (type == TFLOAT || type == TDOUBLE) {
        double nul = NAN;
        FITSCall(path, fits_read_col(fptr, TDOUBLE, col, r0 + i0 + 1, 1, k, &nul, v, &anynul, &status));
        for (long i = 0; i < k; i++) snprintf(ids[r0 + i0 + i], CAT_ID_LEN, "%.17g", v[i]);
      } else {
        LONGLONG nul = 0;
        FITSCall(path, fits_read_col(fptr, TLONGLONG, col, r0 + i0 + 1, 1, k, &nul, iv, &anynul, &status));
        for (long i = 0; i < k; i++) snprintf(ids[r0 + i0 + i], CAT_ID_LEN, "%lld", (long long)iv[i]);
      }
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_fits_read(const char *path, PetscInt ncols, const char *const names[], const PetscBool required[],
                             const char *id_col, PetscInt *nrows, double **data, PetscBool **present,
                             char (**ids)[CAT_ID_LEN])
{
  fitsfile *fptr = NULL;
  int status = 0, *col, idcol = 0, idtype = 0;
  long idwidth = 0, block;
  LONGLONG n;
  double *buf;
  char **sbuf = NULL, *sdata = NULL;
  PetscFunctionBeginUser;
  *ids = NULL;
  FITSCall(path, fits_open_table(&fptr, path, READONLY, &status));
  FITSCall(path, fits_get_num_rowsll(fptr, &n, &status));
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the FITS table has no rows", path);
  PetscCall(PetscMalloc1(ncols, present));
  PetscCall(PetscMalloc1(ncols, &col));
  for (PetscInt k = 0; k < ncols; k++) {
    col[k] = 0;
    if (names[k][0]) {
      fits_get_colnum(fptr, CASEINSEN, (char *)names[k], &col[k], &status);
      if (status == COL_NOT_UNIQUE) {
        fits_close_file(fptr, &status);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                "%s: column '%s' matches more than one FITS column (FITS names are case-insensitive)", path, names[k]);
      }
      if (status == COL_NOT_FOUND) {
        status = 0;
        col[k] = 0;
      }
      FITSCall(path, 0);
    }
    (*present)[k] = col[k] > 0 ? PETSC_TRUE : PETSC_FALSE;
    if (!col[k] && required && required[k]) {
      fits_close_file(fptr, &status);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: required column '%s' is missing from the FITS table",
              path, names[k]);
    }
  }
  if (id_col && id_col[0]) {
    long repeat;
    fits_get_colnum(fptr, CASEINSEN, (char *)id_col, &idcol, &status);
    if (status == COL_NOT_FOUND) {
      status = 0;
      idcol = 0;
    }
    FITSCall(path, 0);
    if (idcol) FITSCall(path, fits_get_coltype(fptr, idcol, &idtype, &repeat, &idwidth, &status));
  }
  FITSCall(path, fits_get_rowsize(fptr, &block, &status));
  block = PetscMax(block, 1);
  PetscCall(PetscMalloc1((size_t)n * ncols, data));
  PetscCall(PetscMalloc1((size_t)block, &buf));
  if (idcol) {
    PetscCall(PetscMalloc1((size_t)n, ids));
    if (idtype == TSTRING) {
      PetscCall(PetscMalloc2(block, &sbuf, (size_t)block * (idwidth + 1), &sdata));
      for (long i = 0; i < block; i++) sbuf[i] = sdata + i * (idwidth + 1);
    }
  }
  for (LONGLONG r0 = 0; r0 < n; r0 += block) {
    long m = (long)PetscMin((LONGLONG)block, n - r0);
    for (PetscInt k = 0; k < ncols; k++) {
      double *d = *data + r0 * ncols + k;
      if (!col[k]) {
        for (long i = 0; i < m; i++) d[i * ncols] = NAN;
        continue;
      }
      double nul = NAN; /* integer nulls (TNULL) become NaN, float NaNs stay NaN */
      int anynul;
      FITSCall(path, fits_read_col(fptr, TDOUBLE, col[k], r0 + 1, 1, m, &nul, buf, &anynul, &status));
      for (long i = 0; i < m; i++) d[i * ncols] = buf[i];
    }
    if (idcol) PetscCall(cat_fits_ids(fptr, path, idcol, idtype, idwidth, r0, m, sbuf, *ids));
  }
  FITSCall(path, fits_close_file(fptr, &status));
  fptr = NULL;
  *nrows = (PetscInt)n;
  PetscCall(PetscFree(buf));
  if (sbuf) PetscCall(PetscFree2(sbuf, sdata));
  PetscCall(PetscFree(col));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_fits_write(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                              const double *data)
{
  fitsfile *fptr = NULL;
  int status = 0;
  char tmp[PETSC_MAX_PATH_LEN + 2], **ttype, **tform, *forms;
  double *colbuf;
  PetscFunctionBeginUser;
  /* "!" makes cfitsio overwrite a stale temporary. */
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "!%s.tmp", path));
  PetscCall(PetscMalloc4(ncols, &ttype, ncols, &tform, ncols * 4, &forms, nrows + 1, &colbuf));
  for (PetscInt k = 0; k < ncols; k++) {
    ttype[k] = (char *)names[k];
    tform[k] = forms + 4 * k;
    PetscCall(PetscStrncpy(tform[k], "1D", 4));
  }
  FITSCall(path, fits_create_file(&fptr, tmp, &status));
  FITSCall(path, fits_create_tbl(fptr, BINARY_TBL, nrows, (int)ncols, ttype, tform, NULL, "CATALOGUE", &status));
  for (PetscInt k = 0; k < ncols; k++) {
    for (PetscInt i = 0; i < nrows; i++) colbuf[i] = data[i * ncols + k];
    if (nrows) FITSCall(path, fits_write_col(fptr, TDOUBLE, (int)k + 1, 1, 1, nrows, colbuf, &status));
  }
  FITSCall(path, fits_close_file(fptr, &status));
  PetscCall(PetscFree4(ttype, tform, forms, colbuf));
  PetscCheck(rename(tmp + 1, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s (%s)", tmp + 1,
             path, strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}
