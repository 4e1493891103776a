/* Approximate Bayesian computation by rejection on a stored simulation
 * table: for one observation, the k table rows whose simulated observation
 * lies nearest by the noise-scaled Euclidean distance are accepted (the
 * tolerance eps is the acceptance quantile k / rows), optionally moved by the
 * local-linear regression adjustment of Beaumont, Zhang & Balding (2002).
 * One table serves every observation. No MPI, no I/O: the abc command
 * (abc_run.h) loads the table and shards the stars. */
#ifndef CHEMPYSBI_ABC_H
#define CHEMPYSBI_ABC_H

#include <chempysbi/common.h>

#define ABC_MAX_PARAM 16
#define ABC_MAX_STAT  16

/* How simulations are compared with the observation.
 * UNIFORM: the textbook rejection ABC. Row i's simulated observation is
 *   sim_i + sigma * noise_i (noise_i fixed per row, scaled by each star's own
 *   errors), the distance d_i = |(x - sim_i) / sigma - noise_i|, accepted
 *   rows weigh the same (or Epanechnikov 1 - (d/eps)^2 with -adjust).
 * GAUSS: the rows' clean outputs weighted by the Gaussian noise density,
 *   d_i = |(x - sim_i) / sigma|, weight exp(-d_i^2 / 2): ABC whose kernel is
 *   the observation model itself (Wilkinson 2013), exact as k grows. */
typedef enum { ABC_KERNEL_UNIFORM = 0, ABC_KERNEL_GAUSS = 1 } AbcKernel;
/* Their names, in PetscOptionsEnum's layout (-kernel, the result file's "kernel" attribute). */
extern const char *const abc_kernel_names[];

typedef struct {
  PetscInt n;            /* rows */
  int P, E;              /* parameters and observed statistics per row */
  const double *theta;   /* (n, P) prior draws of the table */
  const double *sim;     /* (n, E) the simulator's output without observation noise */
  const double *noise;   /* (n, E) standard normals: row i's observation noise (UNIFORM only) */
  const double *logw;    /* (n) log(target prior / table prior) up to a constant, -inf outside the
                            target's support; NULL: the table was drawn from the target prior */
  const double *lo, *hi; /* (P) target support: the adjustment regresses logit((theta - lo) / (hi - lo)),
                            so adjusted draws stay inside; NULL: no transform */
} AbcTable;

typedef struct {
  AbcKernel kernel;
  PetscInt k;       /* rows accepted per observation */
  PetscBool adjust; /* local-linear regression adjustment */
} AbcOptions;

typedef struct {
  double eps;         /* distance of the k-th accepted row (noise units) */
  PetscInt eligible;  /* rows inside the target prior's support */
  PetscInt accepted;  /* k (fewer only if fewer rows are eligible) */
  double rate;        /* accepted / eligible: the acceptance quantile */
  double ess;         /* effective sample size of the accepted weights, 1 / sum w^2 */
  PetscBool adjusted; /* the regression adjustment was applied (needs ESS > statistics + 2) */
  int nstat;          /* statistics present in this observation */
} AbcStats;

typedef struct AbcWork AbcWork;

/* Scratch for observations against table t with up to kmax accepted rows. */
PetscErrorCode abc_work_create(const AbcTable *t, PetscInt kmax, AbcWork **w);
PetscErrorCode abc_work_destroy(AbcWork **w);
/* The ABC posterior of one observation x (E) with errors sigma (E) (> 0;
 * NaN in x or sigma: that statistic is missing and drops out): the accepted
 * parameters theta (o->k, P), adjusted when o->adjust, and their normalised
 * weights (o->k, summing to 1). */
PetscErrorCode abc_star(const AbcTable *t, const AbcOptions *o, const double *x, const double *sigma, AbcWork *w,
                        double *theta, double *weight, AbcStats *st);
/* L equally weighted draws out (L, P) from the weighted set (theta, weight) of
 * k rows by systematic resampling with offset u in [0, 1). */
void abc_resample(PetscInt k, int P, const double *theta, const double *weight, PetscInt L, double u, double *out);

#endif
