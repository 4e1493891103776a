/* Per-star posteriors from a ratio estimator: r(theta, x) times the prior,
 * sampled by random-walk Metropolis, vectorised over every chain of every
 * star a rank holds (one batched network pass per step), with the proposal
 * covariance adapted during warm-up from the star's own chains (Haario et
 * al. 2001, scaled 2.38^2 / 6, and the scale tuned toward 25% acceptance).
 * Stars come from a catalogue or a validate run's test cases (then
 * calibrated like validate); each chain's stream is keyed by (seed, RNG_NRE,
 * star, chain), so the answer is the same on any number of ranks. */
#ifndef CHEMPYSBI_NRE_RUN_H
#define CHEMPYSBI_NRE_RUN_H

#include <chempysbi/cat.h>
#include <chempysbi/nre.h>
#include <chempysbi/par.h>
#include <chempysbi/validate.h>

typedef struct {
  char model[PETSC_MAX_PATH_LEN], stars[PETSC_MAX_PATH_LEN], cases[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt ncases; /* with -cases: the first N (0: all) */
  PetscInt samples, chains, warmup, thin, seed, tarp_bins;
  PetscReal progress_every;
  CatOptions cat;
} NreRunConfig;

typedef struct {
  PetscInt n, nused;
  double accept_median;               /* Metropolis acceptance over the stars */
  double rhat_median[2], rhat_max[2]; /* of the globals over the stars */
  double seconds, star_seconds;       /* sampling loop (slowest rank), per star per rank */
  PetscBool calibrated;
  ValidateSummary cal;
} NreRunSummary;

PetscErrorCode nre_run_config_default(NreRunConfig *c);
PetscErrorCode nre_run_set_from_options(MPI_Comm comm, NreRunConfig *c);
PetscErrorCode nre_run(const ParCtx *ctx, const NreRunConfig *c, NreRunSummary *s);
/* Posterior draws (n, c->samples, 6) of the stars x (n, 8) with global indices lo .. lo + n - 1 (what
 * nre_run and coverage -method nre use); a star with a missing element gets NaN draws and ok false.
 * accept (n, may be NULL): each star's Metropolis acceptance after warm-up. */
PetscErrorCode nre_sample_stars(const NreRunConfig *c, Nre *nre, PetscInt n, const double *x, PetscInt lo,
                                double *samples, PetscBool *ok, double *accept);
PetscErrorCode nre_run_summary_line(const NreRunSummary *s, char *buf, size_t len);

#endif
