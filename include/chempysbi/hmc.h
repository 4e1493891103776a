/* Exact joint inference of the globals and every star's locals by HMC.
 * Stars are block-distributed over ranks: each rank evaluates its stars' log
 * density and gradient, the locals' gradients stay on their rank, and one
 * order-independent all-reduce sums the globals' gradient and the energy, so
 * every rank count gives the same chain.
 *
 * Both samplers work in the coordinates u of an affine map fitted to the
 * posterior's conditional structure: eta_L = m + A u_L, eta_zi = a_i +
 * B_i (eta_L - m) + C_i u_zi (A, C_i Cholesky factors): the Laplace
 * (Gauss-Newton) approximation, taken at the NPE's starting point and again
 * at the mean of two warm-up windows of the chain's own draws.
 * - joint: one leapfrog trajectory over all 2 + 4N coordinates per iteration,
 *   step size by dual averaging, jittered trajectory length. One shared step
 *   size: the star with the most curved posterior sets it for all.
 * - gibbs (HMC within Gibbs): per sweep, every star's locals take Metropolis
 *   steps of their own at fixed globals (each star adapts its own scale; no
 *   communication), then the globals take a short leapfrog trajectory at fixed
 *   u_z, i.e. with every star's locals shifted along B_i. In these
 *   non-centred coordinates the two blocks are nearly independent, so
 *   alternating them mixes fast. */
#ifndef CHEMPYSBI_HMC_H
#define CHEMPYSBI_HMC_H

#include <chempysbi/hier_init.h>

typedef enum { HMC_GIBBS, HMC_JOINT } HmcSampler;
extern const char *const hmc_sampler_names[];

typedef struct {
  HmcSampler sampler;    /* gibbs (default) or joint */
  PetscInt chains;       /* independent chains (>= 2 for R-hat; default 4) */
  PetscInt warmup;       /* warm-up iterations per chain (default 400) */
  PetscInt draws;        /* kept iterations per chain (default 1000) */
  PetscInt max_draws;    /* gibbs: not converged after `draws`, `draws` more per chain up to this (default 4000) */
  PetscInt max_leapfrog; /* cap on leapfrog steps per iteration (default 512) */
  double target_accept;  /* dual-averaging target (default 0.8) */
  double traj;           /* joint: mean integration time in the metric's units (default pi/2) */
  PetscInt local_steps;  /* gibbs: Metropolis steps of every star's locals per sweep (default 8) */
  PetscInt leapfrog;     /* gibbs: mean leapfrog steps of the globals per sweep (default 4) */
  uint64_t seed;
  double progress_every; /* seconds between progress lines (rank 0) */
} HmcConfig;

typedef struct {
  double mean[2], cov[4], sd[2], corr; /* globals in theta, from all chains' draws */
  double rhat[2], ess[2];              /* split-R-hat and bulk ESS of each global */
  PetscBool converged;                 /* every R-hat <= 1.01 and every ESS >= 400 */
  double *draws;                       /* (chains, ndraws, 2) globals, on every rank */
  PetscInt ndraws;                     /* kept draws per chain */
  double *zmean, *zsd;                 /* (n, 4) locals in theta, this rank's stars */
  double *zdraws;                      /* (n, HIER_ZDRAWS, 4) posterior draws of the locals in theta (chain 1) */
  PetscInt nzdraws;                    /* how many of them were recorded */
  PetscInt divergent, nleapfrog;       /* over all chains and iterations */
  double accept, step;                 /* mean acceptance of kept draws, final step size of the last chain */
  double local_accept;                 /* gibbs: the locals' Metropolis acceptance */
  double seconds;
} HmcResult;

void hmc_config_default(HmcConfig *c);
/* Run c->chains chains; lo is the global index of this rank's first star (the
 * momenta of star i come from the stream (seed, RNG_HMC, (iteration << 32) | i)). */
PetscErrorCode hmc_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                       HmcResult *r);
/* The two samplers behind hmc_run. */
PetscErrorCode hmc_joint_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                             HmcResult *r);
PetscErrorCode hmc_gibbs_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                             HmcResult *r);
PetscErrorCode hmc_result_destroy(HmcResult *r);

#endif
