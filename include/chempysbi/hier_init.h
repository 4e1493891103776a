/* Starting point of the exact methods, from the amortised NPE: each star's
 * posterior draws give its moments in the unconstrained space (the HMC's
 * first metric, the local samplers' proposals) and its starting locals; the
 * product of the per-star Gaussians (sums order-independent over ranks) gives
 * the globals' start, and is the `gauss` method's answer. */
#ifndef CHEMPYSBI_HIER_INIT_H
#define CHEMPYSBI_HIER_INIT_H

#include <chempysbi/combine.h>
#include <chempysbi/hier.h>
#include <chempysbi/npe.h>
#include <chempysbi/par.h>

typedef struct {
  PetscInt n;              /* stars of this rank's block */
  double *mu;              /* (n, 6) per-star posterior mean in eta: globals then locals */
  double *cov;             /* (n, 36) per-star posterior covariance in eta */
  double *start;           /* (n, 4) starting locals in eta */
  PetscBool *ok;           /* (n) NPE sampling succeeded (else prior moments) */
  CombineResult gauss;     /* product of the per-star Gaussians (theta), prior divided out */
  double etaL[2];          /* the globals' start in eta (the product's mean, else the prior's) */
  PetscInt nused, nfailed; /* over all ranks */
} HierInit;

/* x (n, 8) abundances of this rank's stars (NaN = missing: the NPE sees the
 * training mean there), global indices lo .. lo + n - 1; nsamples NPE draws
 * per star from the stream (seed, RNG_POSTERIOR, global index). */
PetscErrorCode hier_init_npe(const ParCtx *ctx, HierModel *m, Npe *npe, const double *x, PetscInt lo, uint64_t seed,
                             PetscInt nsamples, HierInit *in);
/* The same from any source of per-star posterior draws: draw(ctx, i, nsamples, draws (nsamples, 6),
 * &ok) for this rank's star i (e.g. a ratio estimator's MCMC draws, nre). */
typedef PetscErrorCode (*HierDrawFn)(void *ctx, PetscInt i, PetscInt nsamples, double *draws, PetscBool *ok);
PetscErrorCode hier_init_draws(const ParCtx *ctx, HierModel *m, HierDrawFn draw, void *dctx, PetscInt nsamples,
                               HierInit *in);
PetscErrorCode hier_init_destroy(HierInit *in);
/* Lower Cholesky factor L of a d x d symmetric matrix S (row-major), with a
 * growing ridge until it succeeds (unit matrix for hopeless input). */
void hier_chol(int d, const double *S, double *L);

#endif
