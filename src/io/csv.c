/* CSV reader and writer. The reader is strict: a ragged row, a non-numeric
 * field, a missing column or an empty file is an error naming file, line and
 * column, because a silently misread catalogue gives a wrong science result. */
#include <chempysbi/csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_MAX_FIELDS 256

/* Split a line in place at commas; trims blanks and a trailing CR. */
static int csv_split(char *line, char *fields[], int max)
{
  int n = 0;
  size_t len = strlen(line);
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
  char *p = line;
  for (;;) {
    char *c = strchr(p, ',');
    if (c) *c = 0;
    while (isspace((unsigned char)*p)) p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1])) *--e = 0;
    if (n < max) fields[n] = p;
    n++;
    if (!c) break;
    p = c + 1;
  }
  return n;
}

static PetscBool csv_blank(const char *line)
{
  for (; *line; line++)
    if (!isspace((unsigned char)*line)) return PETSC_FALSE;
  return PETSC_TRUE;
}

PetscErrorCode csv_read(const char *path, PetscInt ncols, const char *const names[], const PetscBool required[],
                        PetscBool allow_missing, const char *id_col, CsvTable *t)
{
  FILE *fp;
  char *line = NULL, *fields[CSV_MAX_FIELDS];
  size_t cap = 0;
  ssize_t got;
  int map[CSV_MAX_FIELDS], idpos = -1, nhead;
  PetscInt lineno = 0, rowcap = 1024;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  struct stat sb;
  PetscCheck(stat(path, &sb) || !S_ISDIR(sb.st_mode), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "%s is a directory, expected a CSV file", path);
  fp = fopen(path, "r");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open for reading (%s)", path, strerror(errno));
  /* Header: the first non-blank line. */
  do {
    got = getline(&line, &cap, fp);
    lineno++;
  } while (got > 0 && csv_blank(line));
  if (got <= 0) {
    free(line);
    fclose(fp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: file is empty (no header line)", path);
  }
  /* A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column's name. */
  if (!strncmp(line, "\xEF\xBB\xBF", 3)) memmove(line, line + 3, strlen(line + 3) + 1);
  nhead = csv_split(line, fields, CSV_MAX_FIELDS);
  PetscCheck(nhead <= CSV_MAX_FIELDS, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "%s: line %" PetscInt_FMT ": more than %d columns", path, lineno, CSV_MAX_FIELDS);
  for (int h = 0; h < nhead; h++) /* a repeated name would make "the column" ambiguous */
    for (int g = 0; g < h; g++)
      if (!strcmp(fields[g], fields[h])) {
        char dup[64];
        PetscCall(PetscStrncpy(dup, fields[h], sizeof(dup)));
        free(line);
        fclose(fp);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                "%s: line %" PetscInt_FMT ": column '%s' appears twice in the header", path, lineno, dup);
      }
  t->ncols = ncols;
  PetscCall(PetscMalloc1(ncols, &t->present));
  for (PetscInt c = 0; c < ncols; c++) {
    map[c] = -1;
    for (int h = 0; h < nhead; h++)
      if (!strcmp(fields[h], names[c])) map[c] = h;
    t->present[c] = map[c] >= 0 ? PETSC_TRUE : PETSC_FALSE;
    if (map[c] < 0 && (!required || required[c])) {
      free(line);
      fclose(fp);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "%s: line %" PetscInt_FMT ": required column '%s' is missing from the header", path, lineno, names[c]);
    }
  }
  if (id_col)
    for (int h = 0; h < nhead; h++)
      if (!strcmp(fields[h], id_col)) idpos = h;
  PetscCall(PetscMalloc1(rowcap * ncols, &t->data));
  if (idpos >= 0) PetscCall(PetscMalloc1(rowcap, &t->ids));
  while ((got = getline(&line, &cap, fp)) > 0) {
    lineno++;
    if (csv_blank(line)) continue;
    int nf = csv_split(line, fields, CSV_MAX_FIELDS);
    if (nf != nhead) {
      free(line);
      fclose(fp);
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
              "%s: line %" PetscInt_FMT ": %d fields, but the header has %d", path, lineno, nf, nhead);
    }
    if (t->nrows == rowcap) {
      rowcap *= 2;
      PetscCall(PetscRealloc(sizeof(double) * rowcap * ncols, &t->data));
      if (t->ids) PetscCall(PetscRealloc(sizeof(char *) * rowcap, &t->ids));
    }
    double *row = t->data + t->nrows * ncols;
    for (PetscInt c = 0; c < ncols; c++) {
      if (map[c] < 0) {
        row[c] = NAN;
        continue;
      }
      const char *s = fields[map[c]];
      char *end;
      PetscBool missing = (!*s || !strcasecmp(s, "nan")) ? PETSC_TRUE : PETSC_FALSE;
      if (missing) {
        if (!allow_missing) {
          free(line);
          fclose(fp);
          SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                  "%s: line %" PetscInt_FMT ", column '%s': value is missing", path, lineno, names[c]);
        }
        row[c] = NAN;
        continue;
      }
      errno = 0;
      row[c] = strtod(s, &end);
      if (*end || errno == ERANGE) {
        char bad[64];
        PetscCall(PetscStrncpy(bad, s, sizeof(bad)));
        free(line);
        fclose(fp);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                "%s: line %" PetscInt_FMT ", column '%s': '%s' is not a number", path, lineno, names[c], bad);
      }
    }
    if (t->ids) PetscCall(PetscStrallocpy(fields[idpos], &t->ids[t->nrows]));
    t->nrows++;
  }
  free(line);
  fclose(fp);
  PetscCheck(t->nrows > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: no data rows after the header", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode csv_table_destroy(CsvTable *t)
{
  PetscFunctionBeginUser;
  if (t->ids)
    for (PetscInt i = 0; i < t->nrows; i++) PetscCall(PetscFree(t->ids[i]));
  PetscCall(PetscFree(t->ids));
  PetscCall(PetscFree(t->data));
  PetscCall(PetscFree(t->present));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode csv_write(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                         const double *data)
{
  char tmp[PETSC_MAX_PATH_LEN];
  FILE *fp;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  fp = fopen(tmp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open for writing (%s)", tmp, strerror(errno));
  for (PetscInt c = 0; c < ncols; c++) fprintf(fp, "%s%s", c ? "," : "", names[c]);
  fputc('\n', fp);
  for (PetscInt i = 0; i < nrows; i++) {
    for (PetscInt c = 0; c < ncols; c++) {
      double v = data[i * ncols + c];
      if (isnan(v))
        fprintf(fp, "%snan", c ? "," : "");
      else {
        /* Shortest of %.15g / %.17g that reads back exactly: -2.3, not -2.2999999999999998. */
        char b[32];
        snprintf(b, sizeof(b), "%.15g", v);
        if (strtod(b, NULL) != v) snprintf(b, sizeof(b), "%.17g", v);
        fprintf(fp, "%s%s", c ? "," : "", b);
      }
    }
    fputc('\n', fp);
  }
  int bad = ferror(fp) || fflush(fp);
  int e = errno;
  bad |= fclose(fp);
  if (bad && !e) e = errno;
  if (bad) unlink(tmp); /* nothing half-written is left behind */
  PetscCheck(!bad, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: writing %s failed (%s)", path, tmp, strerror(e));
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s (%s)", tmp, path,
             strerror(errno));
  PetscFunctionReturn(PETSC_SUCCESS);
}
