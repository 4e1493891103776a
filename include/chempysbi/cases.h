/* Test cases shared by every estimator: the truths, observations and errors a
 * validate run stored (validate -out FILE), so that ABC, NRE and the NPE are
 * judged on the same CHEMPY test stars, and the calibration of any
 * estimator's posterior samples on them (SBC, TARP, APE; the same statistics
 * and VALIDATION line as validate). */
#ifndef CHEMPYSBI_CASES_H
#define CHEMPYSBI_CASES_H

#include <chempysbi/cat.h>
#include <chempysbi/h5.h>
#include <chempysbi/par.h>
#include <chempysbi/prior.h>
#include <chempysbi/validate.h>

typedef struct {
  PetscInt n;
  double *truth;                /* (n, 6) */
  double *x;                    /* (n, 8) [dex], NaN = missing */
  double *sigma;                /* (n, 8) [dex], NaN = missing */
  char chempy[512];             /* the CHEMPY model of the observations ("" if not recorded) */
  char npe[PETSC_MAX_PATH_LEN]; /* the NPE the validate run judged */
} TestCases;

/* Read a validate output on every rank (each reads it; small); at most nmax
 * cases (0: all). Errors name the file and the missing table. */
PetscErrorCode cases_read(const char *path, PetscInt nmax, TestCases *tc);
PetscErrorCode cases_destroy(TestCases *tc);

/* The observations of a per-star estimator on every rank: the test cases of a
 * validate output (every rank reads the small file; at most ncases, 0: all)
 * or a star catalogue (rank 0 reads with the catalogue options, then
 * broadcast). Exactly one of stars and cases is non-empty. */
typedef struct {
  PetscInt n;
  double *x, *sigma, *usable; /* (n, 8) [dex] NaN = missing, (n, 8), (n) 1 or 0 */
  PetscBool cases;            /* test cases: tc holds the truths */
  TestCases tc;
  char chempy[512]; /* the test cases' CHEMPY model ("" for a catalogue) */
} ObsSet;

PetscErrorCode obsset_load(const ParCtx *ctx, const char *stars, const char *cases, PetscInt ncases,
                           const CatOptions *cat, ObsSet *o);
PetscErrorCode obsset_destroy(ObsSet *o);

/* Calibration of n cases with L samples each: samples (n, L, 6), truth (n, 6),
 * on one process. Fills in s the fields n, samples, nalpha, tarp_*, sbc_*,
 * ape_*, rmse, mean_sd (the others are zeroed); tarp_f (n), alpha and ecp
 * (tarp_bins + 1) may be NULL. The TARP box is the prior's (validate's). */
PetscErrorCode cases_calibrate(PetscInt n, PetscInt L, const double *samples, const double *truth, const Prior *prior,
                               uint64_t seed, PetscInt tarp_bins, ValidateSummary *s, double *tarp_f, double *alpha,
                               double *ecp);
/* A calibration into an estimator's result file (one process): the truths,
 * the TARP curve (alpha, ecp: v->nalpha levels) and validate's summary
 * attributes (tarp_atc, tarp_ks_p, sbc_ks_p, ape_*, rmse, mean_posterior_sd). */
PetscErrorCode cases_write_calibration(H5File *f, const ObsSet *o, const ValidateSummary *v, const double *alpha,
                                       const double *ecp);
/* The parameter table (SBC, APE, RMSE, mean sd) of a calibration, on stdout of this process. */
PetscErrorCode cases_print(const char *what, const ValidateSummary *s, const Prior *prior);

#endif
