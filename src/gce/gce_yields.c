/* Loading of the yield tables (TNG set from HDF5, the alternative set via
 * gce_yields_alt.c), atomic masses and solar abundances, and the IMF mass grid.
 * Species are mapped by name and every table is checked before use. */
#include "gce_internal.h"
#include <hdf5.h>
#include <math.h>
#include <string.h>

PetscErrorCode gce_yields_load_alt(const char *data_dir, GceYields *y); /* gce_yields_alt.c */
PetscErrorCode gce_table_finish(const char *file, GceProcTable *p, double zero_standin);

/* Full species names of the HDF5 files -> element symbols, for atomic numbers 1-42. */
static const char *const species_full[42] = {
    "Hydrogen",  "Helium",    "Lithium",   "Beryllium", "Boron",     "Carbon",     "Nitrogen",  "Oxygen",   "Fluorine",
    "Neon",      "Sodium",    "Magnesium", "Aluminum",  "Silicon",   "Phosphorus", "Sulphur",   "Chlorine", "Argon",
    "Potassium", "Calcium",   "Scandium",  "Titanium",  "Vanadium",  "Chromium",   "Manganese", "Iron",     "Cobalt",
    "Nickel",    "Copper",    "Zinc",      "Gallium",   "Germanium", "Arsenic",    "Selenium",  "Bromine",  "Krypton",
    "Rubidium",  "Strontium", "Yttrium",   "Zirconium", "Niobium",   "Molybdenum"};
static const char *const species_sym[42] = {"H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na",
                                            "Mg", "Al", "Si", "P",  "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti",
                                            "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
                                            "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo"};

/* Index in gce_elem_symbol of an element symbol, or -1 if not traced. */
int gce_traced_index(const char *sym)
{
  for (int e = 0; e < GCE_NE; e++)
    if (!strcmp(sym, gce_elem_symbol[e])) return e;
  return -1;
}

static const char *full_to_symbol(const char *full)
{
  for (int i = 0; i < 42; i++)
    if (!strcmp(full, species_full[i])) return species_sym[i];
  return NULL;
}

/* map[e] = the Species_names entry of traced element e (the last, if named
   twice); every entry must be a known species and every traced element present. */
static PetscErrorCode species_map(const char *path, int nspec, char spec[][32], int map[GCE_NE])
{
  PetscFunctionBeginUser;
  for (int e = 0; e < GCE_NE; e++) map[e] = -1;
  for (int i = 0; i < nspec; i++) {
    const char *sym = full_to_symbol(spec[i]);
    PetscCheck(sym, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: unknown species name '%s'", path,
               spec[i]);
    int e = gce_traced_index(sym);
    if (e >= 0) map[e] = i;
  }
  for (int e = 0; e < GCE_NE; e++)
    PetscCheck(map[e] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: species for element %s missing in Species_names", path, gce_elem_symbol[e]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Read a 1-D (or scalar) float dataset of exactly n values as float32. */
static PetscErrorCode h5_read_floats(hid_t f, const char *file, const char *name, hsize_t n, float *buf)
{
  hid_t d, s;
  int rank;
  hsize_t dims[2] = {1, 1};
  PetscFunctionBeginUser;
  H5E_BEGIN_TRY { d = H5Dopen2(f, name, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: dataset %s missing", file, name);
  H5Call(s = H5Dget_space(d));
  H5Call(rank = H5Sget_simple_extent_ndims(s));
  H5Call(H5Sget_simple_extent_dims(s, dims, NULL));
  hsize_t tot = rank == 0 ? 1 : (rank == 1 ? dims[0] : dims[0] * dims[1]);
  PetscCheck(tot == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: dataset %s has %llu values, expected %llu", file, name, (unsigned long long)tot,
             (unsigned long long)n);
  H5Call(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  H5Call(H5Sclose(s));
  H5Call(H5Dclose(d));
  for (hsize_t i = 0; i < n; i++)
    PetscCheck(isfinite(buf[i]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: dataset %s value %llu is not finite", file, name, (unsigned long long)i);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Read a 1-D dataset of variable-length strings into fixed buffers. */
static PetscErrorCode h5_read_strings(hid_t f, const char *file, const char *name, int maxn, int *n, char out[][32])
{
  hid_t d, s, t;
  hsize_t dims[1];
  char *ptr[64];
  PetscFunctionBeginUser;
  H5E_BEGIN_TRY { d = H5Dopen2(f, name, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: dataset %s missing", file, name);
  H5Call(s = H5Dget_space(d));
  PetscCheck(H5Sget_simple_extent_ndims(s) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: %s is not 1-D", file, name);
  H5Call(H5Sget_simple_extent_dims(s, dims, NULL));
  PetscCheck(dims[0] <= (hsize_t)maxn && dims[0] <= 64, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: %s has %llu entries, at most %d expected", file, name, (unsigned long long)dims[0], maxn);
  H5Call(t = H5Tcopy(H5T_C_S1));
  H5Call(H5Tset_size(t, H5T_VARIABLE));
  H5Call(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptr));
  *n = (int)dims[0];
  for (int i = 0; i < *n; i++) { PetscCall(PetscStrncpy(out[i], ptr[i] ? ptr[i] : "", 32)); }
  H5Call(H5Dvlen_reclaim(t, s, H5P_DEFAULT, ptr));
  H5Call(H5Tclose(t));
  H5Call(H5Sclose(s));
  H5Call(H5Dclose(d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode h5_open(const char *path, hid_t *f)
{
  PetscFunctionBeginUser;
  H5E_BEGIN_TRY { *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  PetscCheck(*f >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot open yield file %s (missing or not HDF5; set -data_dir or CHEMPYSBI_DATA)", path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* TNG SN II / AGB net yields: y = Ynet/M and r = (M - M_ej)/M are formed in float32
   like the reference; u = 1 - sum over all 11 species - r in double. Masses outside
   [m_lo, m_hi] are dropped, the rest sorted descending. */
static PetscErrorCode load_tng_proc(const char *dir, const char *fname, double m_lo, double m_hi, GceProcTable *p)
{
  char path[PETSC_MAX_PATH_LEN], spec[64][32], znames[GCE_MAXZ + 2][32];
  int nspec, nzn, map[64];
  float masses[64], zs[GCE_MAXZ], ej[64], yld[64 * 64];
  hid_t f;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/TNG/%s", dir, fname));
  PetscCall(h5_open(path, &f));
  PetscCall(h5_read_strings(f, path, "Species_names", 64, &nspec, spec));
  PetscCall(species_map(path, nspec, spec, map));
  hid_t d;
  hsize_t dims[1];
  H5Call(d = H5Dopen2(f, "Masses", H5P_DEFAULT));
  hid_t s;
  H5Call(s = H5Dget_space(d));
  H5Call(H5Sget_simple_extent_dims(s, dims, NULL));
  H5Sclose(s);
  H5Dclose(d);
  int nm = (int)dims[0];
  PetscCheck(nm > 0 && nm <= 64, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: Masses has %d entries",
             path, nm);
  PetscCall(h5_read_floats(f, path, "Masses", (hsize_t)nm, masses));
  H5Call(d = H5Dopen2(f, "Metallicities", H5P_DEFAULT));
  H5Call(s = H5Dget_space(d));
  H5Call(H5Sget_simple_extent_dims(s, dims, NULL));
  H5Sclose(s);
  H5Dclose(d);
  int nz = (int)dims[0];
  PetscCheck(nz > 0 && nz <= GCE_MAXZ, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: Metallicities has %d entries, expected 1..%d", path, nz, GCE_MAXZ);
  PetscCall(h5_read_floats(f, path, "Metallicities", (hsize_t)nz, zs));
  /* The AGB file lists 5 names for 4 metallicities; pairing is by index (spec 13.12). */
  PetscCall(h5_read_strings(f, path, "Yield_names", GCE_MAXZ + 2, &nzn, znames));
  PetscCheck(nzn >= nz, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "yield file %s: %d Yield_names for %d metallicities", path, nzn, nz);
  p->nz = nz;
  p->m_lo = m_lo;
  p->m_hi = m_hi;
  for (int iz = 0; iz < nz; iz++) {
    char dname[128];
    PetscCheck(iz == 0 || zs[iz] > zs[iz - 1], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: Metallicities not ascending", path);
    PetscCall(PetscSNPrintf(dname, sizeof(dname), "Yields/%s/Yield", znames[iz]));
    PetscCall(h5_read_floats(f, path, dname, (hsize_t)(nspec * nm), yld));
    PetscCall(PetscSNPrintf(dname, sizeof(dname), "Yields/%s/Ejected_mass", znames[iz]));
    PetscCall(h5_read_floats(f, path, dname, (hsize_t)nm, ej));
    p->zeta[iz] = (double)zs[iz];
    GceZTable *t = &p->t[iz];
    t->nm = 0;
    /* collect kept masses in descending order */
    int order[64], nk = 0;
    for (int i = 0; i < nm; i++)
      if (masses[i] >= m_lo && masses[i] <= m_hi) order[nk++] = i;
    for (int a = 0; a < nk; a++)
      for (int b = a + 1; b < nk; b++)
        if (masses[order[b]] > masses[order[a]]) {
          int tmp = order[a];
          order[a] = order[b];
          order[b] = tmp;
        }
    PetscCheck(nk > 0 && nk <= GCE_MAXM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "yield file %s: %d masses in [%g, %g]", path, nk, m_lo, m_hi);
    for (int k = 0; k < nk; k++) {
      int i = order[k];
      float M = masses[i];
      PetscCheck(M > 0 && ej[i] >= 0 && ej[i] <= M, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "yield file %s: %s: ejected mass %g outside [0, M = %g]", path, dname, (double)ej[i], (double)M);
      t->mass[k] = (double)M;
      t->r[k] = (double)((float)(M - ej[i]) / M);
      double sum = 0.0;
      for (int sp = 0; sp < nspec; sp++) sum += (double)(yld[sp * nm + i] / M);
      for (int e = 0; e < GCE_NE; e++) t->y[k][e] = (double)(yld[map[e] * nm + i] / M);
      t->u[k] = 1.0 - sum - t->r[k];
    }
    t->nm = nk;
  }
  H5Call(H5Fclose(f));
  p->f32_logs = 1;
  PetscCall(gce_table_finish(path, p, 1e-10));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Bin boundaries (midpoints of neighbouring masses, closed by the process range) and
   log metallicities in float32 like the reference; zero metallicity stands in as
   zero_standin (1e-10 for SN II/AGB). */
PetscErrorCode gce_table_finish(const char *file, GceProcTable *p, double zero_standin)
{
  PetscFunctionBeginUser;
  for (PetscInt iz = 0; iz < p->nz; iz++) {
    GceZTable *t = &p->t[iz];
    t->beta[0] = p->m_hi;
    for (PetscInt s = 1; s < t->nm; s++) t->beta[s] = (double)(((float)t->mass[s - 1] + (float)t->mass[s]) / 2.0f);
    t->beta[t->nm] = p->m_lo;
    for (PetscInt s = 0; s < t->nm; s++) {
      PetscCheck(s == 0 || t->mass[s] < t->mass[s - 1], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "yield file %s: duplicate mass %g", file, t->mass[s]);
      PetscCheck(isfinite(t->u[s]) && isfinite(t->r[s]) && t->r[s] >= 0 && t->r[s] <= 1, PETSC_COMM_SELF,
                 PETSC_ERR_FILE_UNEXPECTED, "yield file %s: Z = %g, M = %g: remnant fraction %g outside [0, 1]", file,
                 p->zeta[iz], t->mass[s], t->r[s]);
      for (int e = 0; e < GCE_NE; e++)
        PetscCheck(isfinite(t->y[s][e]) && fabs(t->y[s][e]) <= 1.0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                   "yield file %s: Z = %g, M = %g: net yield of %s = %g not a fraction", file, p->zeta[iz], t->mass[s],
                   gce_elem_symbol[e], t->y[s][e]);
    }
    p->lzeta[iz] = p->zeta[iz] > 0 ? (double)log10f((float)p->zeta[iz]) : log10(zero_standin);
  }
  p->shared_bins = 1;
  for (PetscInt iz = 1; iz < p->nz; iz++) {
    if (p->t[iz].nm != p->t[0].nm)
      p->shared_bins = 0;
    else
      for (PetscInt s = 0; s < p->t[0].nm; s++)
        if (p->t[iz].mass[s] != p->t[0].mass[s]) p->shared_bins = 0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* TNG SN Ia: per-event mass is the float32 sum of all species (numpy's 8-way
   unrolled pairwise sum for n <= 128, reproduced for bit agreement). */
static PetscErrorCode load_tng_ia(const char *dir, GceYields *y)
{
  char path[PETSC_MAX_PATH_LEN], spec[64][32];
  int nspec;
  float yl[64];
  hid_t f;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/yields/TNG/SNIa.hdf5", dir));
  PetscCall(h5_open(path, &f));
  PetscCall(h5_read_strings(f, path, "Species_names", 64, &nspec, spec));
  PetscCall(h5_read_floats(f, path, "Yield", (hsize_t)nspec, yl));
  H5Call(H5Fclose(f));
  PetscCheck(nspec >= 8, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "yield file %s: only %d species", path, nspec);
  float r[8];
  int i;
  for (i = 0; i < 8; i++) r[i] = yl[i];
  for (i = 8; i < nspec - nspec % 8; i += 8)
    for (int j = 0; j < 8; j++) r[j] += yl[i + j];
  float m = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < nspec; i++) m += yl[i];
  y->m_ia = (double)m;
  int map[GCE_NE];
  PetscCall(species_map(path, nspec, spec, map));
  for (int e = 0; e < GCE_NE; e++) y->y_ia[e] = (double)(yl[map[e]] / m);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Standard atomic weights from elements.csv (symbol,number,atomic_mass). */
static PetscErrorCode load_elements(const char *dir, GceYields *y)
{
  char path[PETSC_MAX_PATH_LEN], line[256];
  FILE *fp;
  int found[GCE_NE] = {0};
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s/elements.csv", dir));
  fp = fopen(path, "r");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (set -data_dir or CHEMPYSBI_DATA)", path);
  int row = 0;
  while (fgets(line, sizeof(line), fp)) {
    char sym[8];
    int num;
    double mass;
    row++;
    if (row == 1 || line[0] == '#') continue;
    if (sscanf(line, "%7[^,],%d,%lf", sym, &num, &mass) != 3) continue;
    int e = gce_traced_index(sym);
    if (e >= 0) {
      if (!(mass > 0 && isfinite(mass))) {
        fclose(fp);
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: row %d: atomic mass of %s is %g", path, row, sym,
                mass);
      }
      y->amass[e] = mass;
      found[e] = 1;
    }
  }
  fclose(fp);
  for (int e = 0; e < GCE_NE; e++)
    PetscCheck(found[e], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: element %s missing", path,
               gce_elem_symbol[e]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode yields_fill(const char *data_dir, PetscBool tng, GceYields *y)
{
  PetscFunctionBeginUser;
  PetscCall(load_elements(data_dir, y));
  /* Asplund et al. 2009 photospheric log eps, CHEMPY element order. */
  const double eps[GCE_NE] = {8.43, 7.50, 12.00, 10.93, 7.60, 7.83, 7.93, 8.69, 7.51};
  for (int e = 0; e < GCE_NE; e++) y->eps_sun[e] = eps[e];
  y->m_wd = 2.156 * 0.3;
  if (tng) {
    PetscCall(load_tng_proc(data_dir, "SNII.hdf5", 8.0, 100.0, &y->sn2));
    PetscCall(load_tng_proc(data_dir, "AGB.hdf5", 1.0, 8.0, &y->agb));
    PetscCall(load_tng_ia(data_dir, y));
  } else {
    PetscCall(gce_yields_load_alt(data_dir, y));
  }
  /* IMF grid: numpy linspace(0.1, 100, 5000), i.e. j*step + 0.1 with the last point exact. */
  const double A = 0.852464, sigma = 0.69, mc = 0.079, step = (100.0 - 0.1) / (GCE_NIMF - 1);
  for (PetscInt j = 0; j < GCE_NIMF; j++) {
    y->x[j] = (double)j * step + 0.1;
    if (j == GCE_NIMF - 1) y->x[j] = 100.0;
    y->lnx[j] = log(y->x[j]);
    y->log10x[j] = log10(y->x[j]);
    double l = log10(y->x[j] / mc);
    y->phi_low[j] = y->x[j] < 1.0 ? A / y->x[j] * exp(-pow(l, 2.0) / (2.0 * pow(sigma, 2.0))) : 0.0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_yields_load(const char *data_dir, const char *set, GceYields **yp)
{
  GceYields *y;
  PetscBool tng, alt;
  PetscErrorCode ierr;
  PetscFunctionBeginUser;
  *yp = NULL;
  PetscCheck(data_dir && set, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "gce_yields_load: data_dir and set required");
  PetscCall(PetscStrcmp(set, "tng", &tng));
  PetscCall(PetscStrcmp(set, "alt", &alt));
  PetscCheck(tng || alt, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "unknown yield set '%s' (expected tng or alt)", set);
  PetscCall(PetscCalloc1(1, &y));
  PetscCall(PetscStrncpy(y->set, set, sizeof(y->set)));
  ierr = yields_fill(data_dir, tng, y);
  if (ierr) PetscCall(PetscFree(y)); /* no half-loaded tables escape */
  PetscCall(ierr);
  *yp = y;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_yields_load_shared(MPI_Comm comm, const char *data_dir, const char *set, GceYields **yp)
{
  PetscMPIInt rank, size;
  int ok = 1;
  PetscFunctionBeginUser;
  *yp = NULL;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (size == 1) {
    PetscCall(gce_yields_load(data_dir, set, yp));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  /* Rank 0's own error is printed by the handler where it arises; it is not
   * raised here so that the other ranks hear of it instead of waiting. */
  if (rank == 0) ok = gce_yields_load(data_dir, set, yp) == PETSC_SUCCESS;
  PetscCallMPI(MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
  PetscCheck(ok, comm, PETSC_ERR_FILE_READ,
             "the CHEMPY yield tables '%s' in %s could not be loaded on rank 0 (see its error)", set, data_dir);
  if (rank != 0) PetscCall(PetscCalloc1(1, yp));
  PetscCallMPI(MPI_Bcast(*yp, (PetscMPIInt)sizeof(GceYields), MPI_BYTE, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_yields_destroy(GceYields **y)
{
  PetscFunctionBeginUser;
  if (y) PetscCall(PetscFree(*y));
  PetscFunctionReturn(PETSC_SUCCESS);
}
