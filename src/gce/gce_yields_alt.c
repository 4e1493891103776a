/* The alternative yield set (spec section 9): SN Ia Thielemann et al. 2003, SN II
 * Nomoto et al. 2013 net yields and AGB Karakas & Lugaro 2016 (Fishlock et al. 2014
 * at Z = 0.001), read from the text/CSV files of the data directory. */
#include "gce_internal.h"
#include <ctype.h>
#include <math.h>
#include <string.h>

int gce_traced_index(const char *sym);
PetscErrorCode gce_table_finish(const char *file, GceProcTable *p, double zero_standin);

#define ALT_MAXCOL 64
#define ALT_MAXROW 4096

/* Split a line at whitespace or commas; returns the number of fields. */
static int split(char *line, char *f[], int max, const char *sep)
{
  int n = 0;
  char *save, *tok = strtok_r(line, sep, &save);
  while (tok && n < max) {
    f[n++] = tok;
    tok = strtok_r(NULL, sep, &save);
  }
  return n;
}

/* Thielemann 2003: header of names, one data row (Mass, mass_in_remnants, elements). */
static PetscErrorCode load_thielemann(const char *dir, GceYields *y)
{
  char path[PETSC_MAX_PATH_LEN], hdr[2048], row[2048], *hn[ALT_MAXCOL], *rv[ALT_MAXCOL];
  FILE *fp;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/Thielemann2003/0.02.txt", dir));
  fp = fopen(path, "r");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open yield file %s", path);
  int ok = fgets(hdr, sizeof(hdr), fp) && fgets(row, sizeof(row), fp);
  fclose(fp);
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: expected a header and one data row", path);
  int nh = split(hdr, hn, ALT_MAXCOL, " \t\r\n"), nr = split(row, rv, ALT_MAXCOL, " \t\r\n");
  PetscCheck(nh == nr && nh > 2 && !strcmp(hn[0], "Mass"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: %d names but %d values (first name %s)", path, nh, nr, hn[0]);
  double mass = atof(rv[0]);
  PetscCheck(mass > 1 && mass < 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: SN Ia mass %g", path,
             mass);
  y->m_ia = mass;
  int found[GCE_NE] = {0};
  for (int i = 2; i < nh; i++) {
    int e = gce_traced_index(hn[i]);
    if (e < 0) continue;
    double v = atof(rv[i]);
    PetscCheck(isfinite(v) && v >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: %s = %s", path, hn[i],
               rv[i]);
    y->y_ia[e] = v / mass;
    found[e] = 1;
  }
  for (int e = 0; e < GCE_NE; e++)
    PetscCheck(found[e], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: element %s missing", path,
               gce_elem_symbol[e]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Nomoto 2013 net yields (CSV converted from CHEMPY's .npy): fractions of the initial
   mass, used as y, r, u directly. */
static PetscErrorCode load_nomoto(const char *dir, GceProcTable *p)
{
  static const char *zs[] = {"0.001", "0.004", "0.008", "0.02", "0.05"};
  PetscFunctionBeginUser;
  p->nz = 5;
  p->m_lo = 8.0;
  p->m_hi = 100.0;
  for (int iz = 0; iz < 5; iz++) {
    char path[PETSC_MAX_PATH_LEN], line[8192], *f[ALT_MAXCOL], names[ALT_MAXCOL][32];
    int col[GCE_NE], nn = 0, nrow = 0, lineno = 0;
    FILE *fp;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/Nomoto2013/nomoto2013_net_z%s.csv", dir, zs[iz]));
    fp = fopen(path, "r");
    PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open yield file %s", path);
    GceZTable *t = &p->t[iz];
    double mass[GCE_MAXM], r[GCE_MAXM], u[GCE_MAXM], yy[GCE_MAXM][GCE_NE];
    while (fgets(line, sizeof(line), fp)) {
      lineno++;
      if (line[0] == '#' || line[0] == '\n') continue;
      int n = split(line, f, ALT_MAXCOL, ",\r\n");
      if (!nn) { /* header */
        nn = n;
        for (int i = 0; i < n; i++) PetscCall(PetscStrncpy(names[i], f[i], sizeof(names[i])));
        for (int e = 0; e < GCE_NE; e++) {
          col[e] = -1;
          for (int i = 3; i < n; i++)
            if (!strcmp(names[i], gce_elem_symbol[e])) col[e] = i;
          if (col[e] < 0) fclose(fp);
          PetscCheck(col[e] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: element %s missing", path,
                     gce_elem_symbol[e]);
        }
        if (strcmp(names[0], "Mass") || strcmp(names[1], "mass_in_remnants") ||
            strcmp(names[2], "unprocessed_mass_in_winds"))
          fclose(fp);
        PetscCheck(!strcmp(names[0], "Mass") && !strcmp(names[1], "mass_in_remnants") &&
                       !strcmp(names[2], "unprocessed_mass_in_winds"),
                   PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: unexpected header", path);
        continue;
      }
      if (n != nn || nrow >= GCE_MAXM) fclose(fp);
      PetscCheck(n == nn, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "yield file %s: line %d has %d fields, expected %d", path, lineno, n, nn);
      PetscCheck(nrow < GCE_MAXM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: too many rows", path);
      mass[nrow] = atof(f[0]);
      r[nrow] = atof(f[1]);
      u[nrow] = atof(f[2]);
      for (int e = 0; e < GCE_NE; e++) yy[nrow][e] = atof(f[col[e]]);
      nrow++;
    }
    fclose(fp);
    /* keep [8, 100] and order by descending mass */
    t->nm = 0;
    for (int pass = 0; pass < nrow; pass++) {
      int best = -1;
      for (int i = 0; i < nrow; i++) {
        if (mass[i] < p->m_lo || mass[i] > p->m_hi) continue;
        if (t->nm > 0 && mass[i] >= t->mass[t->nm - 1]) continue;
        if (best < 0 || mass[i] > mass[best]) best = i;
      }
      if (best < 0) break;
      t->mass[t->nm] = mass[best];
      t->r[t->nm] = r[best];
      t->u[t->nm] = u[best];
      for (int e = 0; e < GCE_NE; e++) t->y[t->nm][e] = yy[best][e];
      t->nm++;
    }
    PetscCheck(t->nm > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: no masses in [8, 100]", path);
    p->zeta[iz] = atof(zs[iz]);
  }
  PetscCall(gce_table_finish("Nomoto2013", p, 1e-10));
  for (int iz = 0; iz < 5; iz++) p->lzeta[iz] = log10(p->zeta[iz]); /* Python floats, not float32 */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rows of a Karakas table: symbol (capitalised; hydrogen 'p' -> 'H' at block starts
   is handled by the caller) and the mass-fraction column. */
typedef struct {
  int n;
  char sym[ALT_MAXROW][4];
  double x[ALT_MAXROW];
} KRows;

static PetscErrorCode read_karakas(const char *path, int xcol, int ncol, int maxrows, KRows *k)
{
  char line[512], *f[16];
  FILE *fp = fopen(path, "r");
  int lineno = 0;
  PetscFunctionBeginUser;
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open yield file %s", path);
  k->n = 0;
  while (k->n < maxrows && fgets(line, sizeof(line), fp)) {
    lineno++;
    if (line[0] == '#') continue;
    int n = split(line, f, 16, " \t\r\n");
    if (n == 0) continue;
    if (n != ncol || k->n >= ALT_MAXROW) fclose(fp);
    PetscCheck(n == ncol, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: line %d has %d columns, expected %d", path, lineno, n, ncol);
    PetscCheck(k->n < ALT_MAXROW, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: too many rows", path);
    PetscCall(PetscStrncpy(k->sym[k->n], f[0], 4));
    k->x[k->n] = atof(f[xcol]);
    PetscCheck(isfinite(k->x[k->n]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: line %d: non-finite X",
               path, lineno);
    k->n++;
  }
  fclose(fp);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Position of the k-th (0-based) row whose symbol is s, or -1. */
static int nth(const KRows *k, const char *s, int which)
{
  for (int i = 0; i < k->n; i++)
    if (!strcmp(k->sym[i], s) && which-- == 0) return i;
  return -1;
}

static void capitalise(char *s) { s[0] = (char)toupper((unsigned char)s[0]); }

/* Initial surface mass fractions X0 of the traced elements, renormalised over the
   first block (CHEMPY: rows before the third 'p' minus one). */
static PetscErrorCode karakas_surface(const char *dir, const char *suffix, double X0[GCE_NE], double *zmet, KRows *k)
{
  char path[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/Karakas2016/surf_z%s.dat", dir, suffix));
  PetscCall(read_karakas(path, 6, 7, 400, k)); /* only the first block is used */
  int len = nth(k, "p", 2) - 1;
  PetscCheck(len > 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "surface file %s: cannot find the first block", path);
  double sum = 0, zm = 0;
  for (int i = 0; i < len; i++) sum += k->x[i];
  for (int e = 0; e < GCE_NE; e++) X0[e] = NAN;
  for (int i = 0; i < len; i++) {
    char s[4];
    PetscCall(PetscStrncpy(s, k->sym[i], sizeof(s)));
    capitalise(s);
    if (i == 0) PetscCall(PetscStrncpy(s, "H", sizeof(s)));
    if (i > 1) zm += k->x[i] / sum;
    int e = gce_traced_index(s);
    if (e >= 0) X0[e] = k->x[i] / sum;
  }
  for (int e = 0; e < GCE_NE; e++)
    PetscCheck(isfinite(X0[e]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "surface file %s: element %s missing", path,
               gce_elem_symbol[e]);
  *zmet = zm;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Karakas & Lugaro 2016 "net" fractions as CHEMPY forms them: y = X_wind/sum(X_wind) -
   X0 (a difference of mass fractions, not multiplied by the ejected fraction; spec
   13.11), r = remnant/M, u = 1 - r.
   The surface files for Z = 0.007 and 0.014 do not exist anywhere (spec 9.3). We
   substitute scaled-solar initial compositions, which is how Karakas & Lugaro set up
   those models: the metal fractions of surf_z03 scaled by Z/Z(surf_z03), helium
   interpolated linearly in Z between surf_z001 and surf_z03, hydrogen the rest. */
static PetscErrorCode load_karakas(const char *dir, GceProcTable *p)
{
  static const char *suffix[4] = {"001", "007", "014", "03"};
  static const double zval[4] = {0.001, 0.007, 0.014, 0.03};
  static const double m001[] = {1., 1.25, 1.5, 2.0, 2.25, 2.5, 2.75, 3., 3.25, 3.5, 4., 4.5, 5., 5.5, 6., 7.};
  static const double r001[] = {0.678, 0.669, 0.657, 0.668, 0.839, 0.948, 1.057, 1.189,
                                1.403, 1.176, 1.726, 1.659, 1.740, 1.962, 1.725, 2.062};
  static const double m007[] = {1.,  1.25, 1.5, 1.75, 1.9, 2.1,  2.25, 2.5, 2.75, 3., 3.25,
                                3.5, 3.75, 4.,  4.25, 4.5, 4.75, 5.,   5.5, 6.,   7., 7.5};
  static const double r007[] = {0.606, 0.629, 0.646, 0.641, 0.657, 0.659, 0.663, 0.668, 0.679, 0.698, 0.728,
                                0.766, 0.802, 0.849, 0.859, 0.873, 0.883, 0.895, 0.921, 0.956, 1.040, 1.116};
  static const double m014[] = {1.,   1.25, 1.5,  1.75, 2.,   2.25, 2.5, 2.75, 3., 3.25, 3.5,
                                3.75, 4.,   4.25, 4.5,  4.75, 5.,   5.5, 6.,   7., 8.};
  static const double r014[] = {0.585, 0.605, 0.616, 0.638, 0.66, 0.675, 0.679, 0.684, 0.694, 0.708, 0.73,
                                0.766, 0.813, 0.853, 0.862, 0.87, 0.879, 0.9,   0.921, 0.976, 1.062};
  static const double r03[] = {0.573, 0.590, 0.607, 0.625, 0.643, 0.661, 0.650, 0.670, 0.691, 0.713, 0.727,
                               0.744, 0.744, 0.806, 0.848, 0.858, 0.867, 0.886, 0.907, 0.963, 1.053};
  const double *ms[4] = {m001, m007, m014, m014}, *rs[4] = {r001, r007, r014, r03};
  const int nms[4] = {16, 22, 21, 21};
  KRows *k;
  double X0[4][GCE_NE], zs001, zs03;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(1, &k));
  PetscCall(karakas_surface(dir, "001", X0[0], &zs001, k));
  PetscCall(karakas_surface(dir, "03", X0[3], &zs03, k));
  for (int iz = 1; iz <= 2; iz++) {
    double w = (zval[iz] - zval[0]) / (zval[3] - zval[0]), he = (1 - w) * X0[0][E_HE] + w * X0[3][E_HE], zsum = 0;
    for (int e = 0; e < GCE_NE; e++)
      if (gce_elem_is_metal[e]) X0[iz][e] = X0[3][e] * zval[iz] / zs03;
    zsum = zval[iz];
    X0[iz][E_HE] = he;
    X0[iz][E_H] = 1.0 - he - zsum;
  }
  p->nz = 4;
  p->m_lo = 1.0;
  p->m_hi = 8.0;
  for (int iz = 0; iz < 4; iz++) {
    char path[PETSC_MAX_PATH_LEN];
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/Karakas2016/yield_z%s.dat", dir, suffix[iz]));
    PetscCall(read_karakas(path, 5, iz == 0 ? 8 : 7, ALT_MAXROW, k));
    int len = iz == 0 ? nth(k, "H", 1) : nth(k, "p", 2);
    PetscCheck(len > 2 && k->n == len * nms[iz], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: %d rows in blocks of %d, expected %d masses", path, k->n, len, nms[iz]);
    int col[GCE_NE];
    for (int e = 0; e < GCE_NE; e++) col[e] = -1;
    for (int i = 0; i < len; i++) {
      char s[4];
      PetscCall(PetscStrncpy(s, k->sym[i], sizeof(s)));
      capitalise(s);
      if (i == 0) PetscCall(PetscStrncpy(s, "H", sizeof(s)));
      int e = gce_traced_index(s);
      if (e >= 0 && col[e] < 0) col[e] = i;
    }
    for (int e = 0; e < GCE_NE; e++)
      PetscCheck(col[e] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: element %s missing", path,
                 gce_elem_symbol[e]);
    GceZTable *t = &p->t[iz];
    t->nm = nms[iz];
    for (int j = 0; j < nms[iz]; j++) {
      int s = nms[iz] - 1 - j; /* descending mass */
      double sum = 0;
      for (int i = 0; i < len; i++) sum += k->x[i + j * len];
      t->mass[s] = ms[iz][j];
      t->r[s] = rs[iz][j] / ms[iz][j];
      t->u[s] = 1.0 - t->r[s];
      for (int e = 0; e < GCE_NE; e++) t->y[s][e] = k->x[col[e] + j * len] / sum - X0[iz][e];
    }
    p->zeta[iz] = zval[iz];
  }
  PetscCall(PetscFree(k));
  PetscCall(gce_table_finish("Karakas2016", p, 1e-10));
  for (int iz = 0; iz < 4; iz++) p->lzeta[iz] = log10(p->zeta[iz]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_yields_load_alt(const char *dir, GceYields *y)
{
  PetscFunctionBeginUser;
  PetscCall(load_thielemann(dir, y));
  PetscCall(load_nomoto(dir, &y->sn2));
  PetscCall(load_karakas(dir, &y->agb));
  PetscFunctionReturn(PETSC_SUCCESS);
}
