/* CSV tables with a header line: columns are found by name in any order, and
 * every malformed input is reported with file, line and column. */
#ifndef CHEMPYSBI_CSV_H
#define CHEMPYSBI_CSV_H

#include <chempysbi/common.h>

typedef struct {
  PetscInt nrows;
  PetscInt ncols;     /* columns requested */
  double *data;       /* (nrows, ncols) row-major; NaN where a value is missing */
  PetscBool *present; /* (ncols) whether each requested column was in the file */
  char **ids;         /* (nrows) values of the id column, or NULL */
} CsvTable;

/* Read the named columns of `path`. A column with required[c] false may be
 * absent (present[c] = false, values NaN). With allow_missing, empty fields
 * and "nan" become NaN for the caller to report; otherwise they are errors.
 * id_col (may be NULL) names a column kept as strings. Extra columns are ignored. */
PetscErrorCode csv_read(const char *path, PetscInt ncols, const char *const names[], const PetscBool required[],
                        PetscBool allow_missing, const char *id_col, CsvTable *t);
PetscErrorCode csv_table_destroy(CsvTable *t);
/* Write a table with a header, atomically (temporary name, then rename). */
PetscErrorCode csv_write(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                         const double *data);

#endif
