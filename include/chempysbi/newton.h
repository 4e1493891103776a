/* The large-N method: Newton iterations on the globals with each star's
 * locals integrated by Monte Carlo (hierarchical-inference.md). At the
 * current globals L every star runs its own Metropolis chain over its locals
 * (vectorised over the rank's stars); the star's score and observed
 * information of log p(x_i | L) follow from Fisher's and Louis' identities,
 *   s_i = E[d log p(x_i|L,z)/dL],  I_i = E[-d2 log p(x_i|L,z)/dL2] - Cov[d log p(x_i|L,z)/dL],
 * and one order-independent all-reduce sums them; L takes a Newton step. As
 * N grows the globals' posterior becomes Gaussian (Bernstein-von Mises), so
 * the answer is mean = the root, covariance = the inverse information, plus
 * the Monte-Carlo variance of the summed score (estimated by batch means),
 * so the reported sd includes the method's own noise. */
#ifndef CHEMPYSBI_NEWTON_H
#define CHEMPYSBI_NEWTON_H

#include <chempysbi/hier_init.h>

typedef struct {
  PetscInt max_iter;    /* Newton iterations before the final one (default 12) */
  PetscInt burn0, burn; /* Metropolis steps per star before sampling: first iteration, later ones */
  PetscInt steps;       /* sampling steps per star in each iteration (default 300) */
  PetscInt final_steps; /* sampling steps per star in the final evaluation (default 2000) */
  PetscInt thin;        /* score evaluated every thin-th step (default 5) */
  uint64_t seed;
  double progress_every;
} NewtonConfig;

typedef struct {
  double mean[2], cov[4], sd[2], corr; /* globals in theta */
  double mc_cov[4];                    /* Monte-Carlo part, included in cov */
  double step_sd;                      /* last Newton step in posterior sd (Mahalanobis) */
  PetscInt iters;                      /* Newton iterations taken */
  PetscBool converged;                 /* last step below 0.3 sd */
  double accept;                       /* mean Metropolis acceptance in the final evaluation */
  double *zmean, *zsd;                 /* (n, 4) locals in theta at the final globals, this rank */
  double *zdraws;                      /* (n, HIER_ZDRAWS, 4) draws of the locals in theta, final evaluation */
  PetscInt nzdraws;
  double seconds;
} NewtonResult;

void newton_config_default(NewtonConfig *c);
/* lo: global index of this rank's first star (its chain uses the stream
 * (seed, RNG_LOCAL, lo + i)). */
PetscErrorCode newton_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const NewtonConfig *c,
                          NewtonResult *r);
PetscErrorCode newton_result_destroy(NewtonResult *r);

#endif
