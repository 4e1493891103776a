/* Galaxy-level calibration of an inference method: M mock galaxies with
 * globals from the prior (or fixed), N stars each made by CHEMPY or by the
 * emulator, inferred in-process; per galaxy the z-scores and the 2-D
 * Mahalanobis distance of the truth; summary: mean and sd of z, the fraction
 * of galaxies inside the 68% / 95% intervals (each global and the joint
 * region) and the coverage against credibility. Each galaxy's stars are
 * block-distributed over the ranks; galaxies run in turn and are
 * checkpointed, so a killed run resumes where it stopped. */
#ifndef CHEMPYSBI_COVERAGE_H
#define CHEMPYSBI_COVERAGE_H

#include <chempysbi/globals.h>
#include <chempysbi/gce.h>
#include <chempysbi/obs.h>

typedef struct {
  char npe[PETSC_MAX_PATH_LEN], emulator[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt galaxies, n_stars, seed;
  PetscBool mock_emulator;  /* stars from the emulator (method error alone) instead of CHEMPY */
  PetscBool fixed;          /* globals fixed at alpha, nia instead of drawn from the prior */
  double alpha, nia, noise; /* [dex] noise of the mock abundances */
  /* The stars' errors and gaps, as `mock` makes them (-errors, -p_missing, -drop; -columns drops
   * the elements its map has no column for): obs_fixed(noise) unless set. */
  ObsModel obs;
  char columns[PETSC_MAX_PATH_LEN];
  PetscBool plots;
  GlobalsConfig g;
  GceConfig gce;
} CoverageConfig;

/* Per-galaxy row. */
enum {
  CV_TRUTH = 0, /* 2 */
  CV_MEAN = 2,  /* 2 */
  CV_SD = 4,    /* 2 */
  CV_COV01 = 6,
  CV_Z = 7,  /* 2 */
  CV_D2 = 9, /* squared Mahalanobis distance of the truth */
  CV_N = 10,
  CV_RHAT = 11, /* 2 */
  CV_ESS = 13,  /* 2 */
  CV_CONV = 15,
  CV_SECONDS = 16,
  CV_METHOD = 17,
  CV_NCOL = 18
};

typedef struct {
  double zmean[2], zsd[2];       /* of the z-scores of each global */
  double cover68[2], cover95[2]; /* fraction of galaxies with the truth inside the central interval */
  double cover68_2d, cover95_2d; /* joint highest-density Gaussian region */
  PetscInt galaxies, nconverged;
} CoverageSummary;

PetscErrorCode coverage_config_default(CoverageConfig *c);
PetscErrorCode coverage_set_from_options(MPI_Comm comm, CoverageConfig *c);
/* Runs (or resumes) the galaxies; rows (galaxies, CV_NCOL) on rank 0 (NULL elsewhere), summary everywhere. */
PetscErrorCode coverage_run(const ParCtx *ctx, const CoverageConfig *c, double **rows, CoverageSummary *s);
/* Summary of m rows. */
void coverage_summarise(PetscInt m, const double *rows, CoverageSummary *s);

#endif
