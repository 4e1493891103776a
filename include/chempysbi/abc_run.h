/* The abc command's engine: a CHEMPY simulation table (a simulate file) read
 * by every rank, the observations (a star catalogue, or the test cases of a
 * validate run) block-distributed over the ranks, rejection ABC per star
 * (abc.h), the per-star posteriors gathered to rank 0 and written; on test
 * cases also SBC, TARP and APE with validate's statistics (cases.h). */
#ifndef CHEMPYSBI_ABC_RUN_H
#define CHEMPYSBI_ABC_RUN_H

#include <chempysbi/abc.h>
#include <chempysbi/cat.h>
#include <chempysbi/par.h>
#include <chempysbi/prior.h>
#include <chempysbi/validate.h>

/* -kernel gauss without -accept or -quantile: this acceptance quantile (measured to pass SBC at 10^5 and 10^7 rows). */
#define ABC_GAUSS_QUANTILE 0.01

typedef struct {
  char table[PETSC_MAX_PATH_LEN], stars[PETSC_MAX_PATH_LEN], cases[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt rows;      /* use the first rows usable table rows (0: all) */
  PetscInt ncases;    /* use the first ncases test cases (0: all) */
  PetscInt k;         /* accepted rows per star (-accept) */
  PetscReal quantile; /* > 0: k = quantile x eligible rows instead (-quantile) */
  AbcKernel kernel;
  PetscBool adjust;
  PetscInt samples; /* equally weighted posterior draws per star (resampled) */
  PetscInt seed;    /* table rows' noise and resampling streams */
  PriorKind prior;  /* the target prior (the NPE's: gauss) */
  PetscInt tarp_bins;
  PetscReal progress_every;
  CatOptions cat;
} AbcConfig;

typedef struct {
  PetscInt n, nused;            /* stars (cases), and those with a posterior */
  PetscInt rows, eligible;      /* usable table rows, and those inside the target prior */
  double eps_median, eps_q90;   /* tolerance in noise units over the stars */
  double rate;                  /* median acceptance rate */
  double ess_median, ess_min;   /* of the accepted weights */
  PetscInt nadjusted;           /* stars whose regression adjustment was applied */
  double seconds, star_seconds; /* star loop (slowest rank), and per star on one rank */
  double load_seconds;          /* reading the table and drawing its noise */
  PetscBool calibrated;         /* test cases: cal holds SBC/TARP/APE */
  ValidateSummary cal;
} AbcSummary;

PetscErrorCode abc_config_default(AbcConfig *c);
/* -table -rows -stars -cases -n -accept -quantile -kernel uniform|gauss -adjust
 * -samples -seed -prior -out -tarp_bins -progress_every, plus the catalogue
 * options; checked here (one clear error per bad option). */
PetscErrorCode abc_set_from_options(MPI_Comm comm, AbcConfig *c);
PetscErrorCode abc_run(const ParCtx *ctx, const AbcConfig *c, AbcSummary *s);
/* One star at a time against the table of c (what abc_run and coverage -method abc use):
 * the table, its noise and prior weights are loaded once per rank. */
typedef struct AbcSampler AbcSampler;
PetscErrorCode abc_sampler_create(const ParCtx *ctx, const AbcConfig *c, AbcSampler **s);
PetscErrorCode abc_sampler_destroy(AbcSampler **s);
const Prior *abc_sampler_prior(const AbcSampler *s); /* the target prior */
PetscInt abc_sampler_samples(const AbcSampler *s);   /* draws per star (-samples) */
/* Star j (global index; its resampling stream is (seed, abc, 2^40 + j)) with x, sigma (8, NaN =
 * missing): samples (-samples, 6) equally weighted. */
PetscErrorCode abc_sampler_star(AbcSampler *s, PetscInt j, uint64_t seed, const double *x, const double *sigma,
                                double *samples, AbcStats *st);
/* "ABC n=.. rows=.. k=.. rate=.. eps_median=.. ess_median=.. s_per_star=.." (no newline). */
PetscErrorCode abc_summary_line(const AbcConfig *c, const AbcSummary *s, char *buf, size_t len);

#endif
