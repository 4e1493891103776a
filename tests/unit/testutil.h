/* Helpers shared by the cmocka unit tests: capturing the first PETSc error
 * message (to assert what an error says), writing small input files, and the
 * TNG yield tables and reference directory the CHEMPY tests load once. */
#ifndef CHEMPYSBI_TESTUTIL_H
#define CHEMPYSBI_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <chempysbi/csv.h>
#include <chempysbi/gce.h>

static char errbuf[1024] __attribute__((unused)); /* the first message of the last captured error */

/* PETSc error handler: keep the first message instead of printing it. */
static inline PetscErrorCode capture(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n,
                              PetscErrorType p, const char *mess, void *ctx)
{
  if (p == PETSC_ERROR_INITIAL) snprintf(errbuf, sizeof(errbuf), "%s", mess ? mess : "");
  return n;
}

static inline void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* TNG yields and the reference directory (env CHEMPYSBI_REF), for cmocka group setup. */
static GceYields *Y __attribute__((unused));
static char refdir[PETSC_MAX_PATH_LEN] __attribute__((unused));

static inline int gce_test_setup(void **state)
{
  GceConfig c;
  if (gce_config_default(&c)) return 1;
  const char *r = getenv("CHEMPYSBI_REF");
  snprintf(refdir, sizeof(refdir), "%s", r && r[0] ? r : "../shared/reference");
  return gce_yields_load(c.data_dir, "tng", &Y) ? 1 : 0;
}
/* A Python CHEMPY reference table of ../shared/reference, read by column name:
 * rows of the six parameters then the nine outputs (C_Fe, Fe_H, H_Fe, He_Fe,
 * Mg_Fe, N_Fe, Ne_Fe, O_Fe, Si_Fe: gce_last_abund9 order), NaN where rejected. */
#define REF_NCOL 15
static inline void read_reference(const char *file, CsvTable *t)
{
  static const char *const cols[REF_NCOL] = {"alpha_IMF", "log10_N_Ia", "log10_SFE", "log10_SFR_peak", "x_out",
                                             "birth_time_Gyr", "C_Fe", "Fe_H", "H_Fe", "He_Fe", "Mg_Fe",
                                             "N_Fe", "Ne_Fe", "O_Fe", "Si_Fe"};
  char path[PETSC_MAX_PATH_LEN + 64];
  snprintf(path, sizeof(path), "%s/%s", refdir, file);
  if (csv_read(path, REF_NCOL, cols, NULL, PETSC_TRUE, NULL, t)) fail_msg("cannot read reference %s (set CHEMPYSBI_REF)", path);
}

static inline int gce_test_teardown(void **state) { return gce_yields_destroy(&Y) ? 1 : 0; }

#endif
