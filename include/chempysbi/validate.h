/* Calibration of the NPE on test cases drawn from its own prior: SBC ranks
 * with a KS test per parameter, the TARP coverage curve, and the absolute
 * percentage error of posterior means. Observations come from the real CHEMPY
 * (the honest test, as in the paper) or from the emulator, plus the NPE's noise. */
#ifndef CHEMPYSBI_VALIDATE_H
#define CHEMPYSBI_VALIDATE_H

#include <chempysbi/gce.h>
#include <chempysbi/obs.h>
#include <chempysbi/par.h>

typedef enum { VALIDATE_SIM_CHEMPY = 0, VALIDATE_SIM_EMULATOR = 1 } ValidateSimulator;

/* Random streams of test case j (all keyed by the global case index, so the
 * result is the same for any number of ranks):
 *   theta     prior_sample(seed, RNG_VALIDATE, j + k * 2^20), k = CHEMPY redraw 0..99
 *   noise     (seed, RNG_VALIDATE, j + 2^40)
 *   posterior npe_sample(seed, RNG_POSTERIOR, j + 2^50)   (infer uses index = star < 2^50)
 *   TARP      (seed, RNG_VALIDATE, 2^63 | j)               (calib_tarp_f)
 *   exact     npe_sample(seed, RNG_POSTERIOR, j + 2^51)   (importance-sampling proposals, -exact)
 * so at most 2^20 test cases. Redrawing CHEMPY's rejections means the truths
 * follow the prior restricted to what CHEMPY accepts, while the NPE (trained
 * on the emulator) covers the whole prior; the run reports how many redraws
 * there were (none in 500 cvode cases, ~0.5% with the discrete scheme). */
#define VALIDATE_MAX_CASES     (1 << 20)
#define VALIDATE_REDRAW_STRIDE (UINT64_C(1) << 20)
#define VALIDATE_MAX_REDRAWS   100
#define VALIDATE_NOISE_INDEX   (UINT64_C(1) << 40)
#define VALIDATE_POST_INDEX    (UINT64_C(1) << 50)
#define VALIDATE_EXACT_INDEX   (UINT64_C(1) << 51)

typedef struct {
  char npe[PETSC_MAX_PATH_LEN], emulator[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt n;       /* test cases */
  PetscInt samples; /* posterior samples per case */
  PetscInt seed;
  PetscInt max_draws_factor; /* cap on NPE draws per case, multiple of samples */
  PetscInt tarp_bins;        /* TARP credibility grid: tarp_bins + 1 levels (sbi: 30) */
  ValidateSimulator simulator;
  PetscBool plots;
  PetscReal progress_every; /* [s] */
  GceConfig gce;            /* CHEMPY options (-scheme, -yields, -data_dir, ...) */
  /* Observation model of the test cases: -errors LO,HI, -p_missing, -drop (a survey pattern on every
   * case). Unset: the NPE's own training model. */
  char errors[64], drop[256];
  PetscReal p_missing; /* < 0: unset */
  /* -exact N: for the first N cases the exact posterior under the emulator likelihood (self-normalised
   * importance sampling of -exact_samples NPE draws), compared with the NPE's mean and sd. */
  PetscInt exact, exact_samples;
} ValidateConfig;

/* Everything rank 0 computes; validate_run broadcasts it to every rank. */
typedef struct {
  PetscInt n, samples, nalpha;
  /* TARP. tarp_atc is the area between the ECP curve and the diagonal over
   * alpha in [0.5, 1], i.e. sbi's check_tarp sum divided by (nalpha - 1): it
   * does not depend on the grid. tarp_atc_sum is sbi's own number. */
  double tarp_atc, tarp_atc_sum, tarp_ks_p;
  double tarp_lo[CS_NPARAM], tarp_hi[CS_NPARAM]; /* the fixed normalisation box */
  double sbc_D[CS_NPARAM], sbc_p[CS_NPARAM];
  double ape_q25[CS_NPARAM], ape_median[CS_NPARAM], ape_q75[CS_NPARAM]; /* [%] */
  double ape_globals[3], ape_all[3];                                    /* [%] q25, median, q75 pooled */
  double rmse[CS_NPARAM];                                               /* of the posterior means, parameter units */
  double mean_sd[CS_NPARAM];                                            /* average posterior sd */
  double min_acceptance;           /* lowest fraction of NPE draws inside the prior */
  PetscInt nlow;                   /* cases with acceptance < 0.5 */
  PetscInt ncapped;                /* cases that hit the draw cap (samples repeated cyclically) */
  PetscInt redraws;                /* CHEMPY rejections replaced by a redraw of theta */
  ObsModel obs;                    /* the test cases' errors and missing elements */
  PetscInt nexact;                 /* cases with an exact posterior (ESS >= 100) */
  double exact_dmean[CS_NPARAM];   /* median |NPE mean - exact mean| / exact sd */
  double exact_sdratio[CS_NPARAM]; /* median NPE sd / exact sd */
  double exact_ess_min;
  double seconds;        /* wall time of the per-case loop (slowest rank) */
  double sample_seconds; /* of which npe_sample (slowest rank) */
} ValidateSummary;

PetscErrorCode validate_config_default(ValidateConfig *c);
/* Options: -npe -n -samples -simulator chempy|emulator -emulator -seed -out
 * -max_draws_factor -tarp_bins -plots -progress_every, plus CHEMPY's. */
PetscErrorCode validate_set_from_options(MPI_Comm comm, ValidateConfig *c);
/* Checks the configuration (collectively, clear errors). */
PetscErrorCode validate_check_config(MPI_Comm comm, const ValidateConfig *c);
/* Runs the validation; prints the table on rank 0, writes c->out (with
 * plots beside it) and returns the summary on every rank. */
PetscErrorCode validate_run(const ParCtx *ctx, const ValidateConfig *c, ValidateSummary *s);
/* The one-line summary "VALIDATION tarp_atc=... tarp_ks_p=... <param>_sbc_p=... <param>_ape_median=..." (no newline).
 */
PetscErrorCode validate_summary_line(const ValidateSummary *s, char *buf, size_t len);

#endif
