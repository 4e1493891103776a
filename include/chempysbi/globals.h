/* The globals of a galaxy from a block of stars per rank, by one of the
 * inference methods: the amortised Gaussian product (gauss), exact joint HMC
 * (hmc), or Newton on the globals with Monte-Carlo locals (newton); `auto`
 * picks by the number of stars, from the galaxy-level coverage measured by
 * the `coverage` command (README, "Calibration at the galaxy level"); abc and
 * nre_gauss multiply the per-star posteriors of the other SBI families, nre
 * runs newton with the ratio estimator as every star's likelihood. Used by
 * `infer` and `coverage`. */
#ifndef CHEMPYSBI_GLOBALS_H
#define CHEMPYSBI_GLOBALS_H

#include <chempysbi/hmc.h>
#include <chempysbi/newton.h>
#include <chempysbi/perstar.h>

typedef enum {
  GLOBALS_AUTO = 0,
  GLOBALS_GAUSS = 1,
  GLOBALS_HMC = 2,
  GLOBALS_NEWTON = 3,
  GLOBALS_ABC = 4,      /* the Gaussian product of per-star ABC posteriors (perstar.h) */
  GLOBALS_NRE = 5,      /* newton with the ratio estimator's log r as each star's likelihood */
  GLOBALS_NRE_GAUSS = 6 /* the Gaussian product of per-star NRE posteriors */
} GlobalsMethod;
extern const char *const globals_method_names[]; /* PetscOptionsEnum list */

typedef struct {
  GlobalsMethod method;
  PetscInt auto_hmc_below; /* auto: hmc below this many stars, newton from it */
  PetscInt init_samples;   /* NPE draws per star for the exact methods' start */
  PetscInt samples;        /* gauss: NPE draws per star (set by the caller's -samples) */
  double
      default_err; /* [dex] error where x has none (infer: the catalogue reader's -error_default; coverage: -noise) */
  PetscInt seed;
  HmcConfig hmc;
  NewtonConfig newton;
  PetscBool correct;      /* -correct_emulator: residual correction from CHEMPY runs per star */
  PetscInt correct_draws; /* the residual averaged over this many posterior draws per star (0: at the mean) */
  struct GceWork *chempy; /* CHEMPY for the correction (set by the caller when correct), else NULL */
  PerStarConfig ps;       /* abc, nre, nre_gauss: the table or model and their options */
  PerStar *perstar;       /* abc, nre: created by the caller from ps */
} GlobalsConfig;

typedef struct {
  GlobalsMethod method; /* the one used (never auto) */
  PetscBool ok;         /* a valid Gaussian summary (mean, cov) */
  double mean[2], cov[4], sd[2], corr;
  double rhat[2], ess[2]; /* hmc; NaN otherwise */
  PetscBool converged;    /* hmc: R-hat and ESS targets met; newton: the last step < 1 sd; gauss: true */
  double mc_frac[2];      /* newton: Monte-Carlo share of each variance */
  PetscInt n;             /* stars used, over all ranks */
  double *zmean, *zsd;    /* (nlocal, 4) locals in theta (exact methods), else NULL */
  double *zdraws;         /* (nlocal, HIER_ZDRAWS, 4) posterior draws of the locals (exact methods), else NULL */
  PetscInt nzdraws;
  double *draws; /* hmc: (chains * draws, 2) */
  PetscInt ndraws;
  double seconds;
} GlobalsResult;

void globals_config_default(GlobalsConfig *c);
/* Options -method, -auto_hmc_below, -init_samples, -hmc_*, -newton_* (the
 * caller reads -seed and -samples). */
PetscErrorCode globals_set_from_options(MPI_Comm comm, GlobalsConfig *c);
GlobalsMethod globals_pick(const GlobalsConfig *c, PetscInt nstars);
/* x, err (n, 8): this rank's stars (NaN = missing / no error), global indices lo .. lo + n - 1.
 * abc, nre and nre_gauss need c->perstar and neither npe nor emu (may be NULL). */
PetscBool globals_is_other(GlobalsMethod m);
PetscErrorCode globals_infer(const ParCtx *ctx, const GlobalsConfig *c, Npe *npe, Emulator *emu, PetscInt n,
                             const double *x, const double *err, PetscInt lo, GlobalsResult *r);
PetscErrorCode globals_result_destroy(GlobalsResult *r);

#endif
