/* The affine metric and the pieces both HMC samplers share (hmc.c: joint
 * leapfrog over all parameters; hmc_gibbs.c: leapfrog on the globals within
 * Gibbs sweeps over per-star locals). Internal to src/sbi. */
#ifndef CHEMPYSBI_HMC_AFFINE_H
#define CHEMPYSBI_HMC_AFFINE_H

#include <chempysbi/hmc.h>

/* u -> eta: eta_L = m + A u_L, eta_zi = a_i + B_i (eta_L - m) + C_i u_zi. */
typedef struct {
  double m[HIER_NL], A[HIER_NL * HIER_NL]; /* eta_L = m + A u_L */
  double *a, *B, *C;                       /* (n, 4), (n, 4 x 2), (n, 4 x 4) */
} HmcAffine;

/* The model, the map and per-star scratch of one rank's stars. */
typedef struct {
  const ParCtx *ctx;
  HierModel *m;
  HmcAffine f;
  PetscInt n;
  double *etaz, *lp, *gz, *gL; /* (n, 4), (n), (n, 4), (n, 2) */
} HmcTarget;

typedef struct { /* dual averaging of log step size (Hoffman & Gelman 2014) */
  double mu, hbar, logeps, logbar;
  PetscInt m;
} HmcDual;

void hmc_to_eta(const HmcTarget *t, const double *u, double etaL[HIER_NL], double *etaz);
void hmc_from_eta(const HmcTarget *t, const double etaL[HIER_NL], const double *etaz, double *u);
/* Log density (-inf outside the support) and its gradient g in u; one all-reduce. */
PetscErrorCode hmc_logp_grad(HmcTarget *t, const double *u, double *logp, double *g);
/* 0.5 |p|^2 over all ranks' stars, the globals' part added once. */
PetscErrorCode hmc_kinetic(const HmcTarget *t, const double *p, double *K);
/* The Laplace (Gauss-Newton) map at (etaL, etaz); H is (n, 36) scratch. */
PetscErrorCode hmc_affine_laplace(HmcTarget *t, const double etaL[HIER_NL], const double *etaz, double *H);
/* Per-star sums of eta (6) and eta eta^T (36), W is (n, 42). */
void hmc_window_add(double *W, PetscInt n, const double etaL[HIER_NL], const double *etaz);
void hmc_dual_start(HmcDual *d, double eps);
void hmc_dual_update(HmcDual *d, double accept, double target);
/* Warm-up windows [0.15 W, 0.5 W) and [0.5 W, 0.8 W): per-star sums of the draws;
 * at each window's end the map is re-fitted (Laplace) at the window's mean. */
typedef struct {
  PetscInt n, w1, w2, w3, count;
  double *sum, *mu, *H; /* (n, 42) sums of eta and eta eta^T, (n, 4) means, (n, 36) scratch */
  double G[6];          /* the globals' sums */
} HmcWindows;
PetscErrorCode hmc_windows_create(PetscInt n, PetscInt warmup, HmcWindows *w);
void hmc_windows_reset(HmcWindows *w);
/* Add iteration it's state; *refit: the map changed (u must be recomputed from eta). */
PetscErrorCode hmc_windows_step(HmcTarget *t, HmcWindows *w, PetscInt it, const double etaL[HIER_NL],
                                const double *etaz, PetscBool *refit);
PetscErrorCode hmc_windows_destroy(HmcWindows *w);
/* Momenta (2 + 4n) and two uniforms of iteration it: the globals' from (seed, RNG_HMC, (it << 32) | 2^32 - 1),
 * star i's from (seed, RNG_HMC, (it << 32) | (lo + i)), whatever the rank count. */
void hmc_momenta(uint64_t seed, uint64_t it, PetscInt lo, PetscInt n, double *p, double *uacc, double *ujit);
/* A kept draw: the globals into draw[2], the locals' sums (theta) into zs, zq. */
void hmc_record(const HierPrior *hp, PetscInt n, const double etaL[HIER_NL], const double *etaz, double *draw,
                double *zs, double *zq);
/* Means, covariance, split-R-hat and bulk ESS from r->draws (chains, D, 2); the locals from zs, zq. */
PetscErrorCode hmc_summarise(PetscInt chains, PetscInt D, PetscInt n, const double *zs, const double *zq,
                             double acc_sum, HmcResult *r);
/* A chain's start: the NPE's locals, the Laplace map there, u jittered by 0.3 x the chain's normals
 * (the unjittered point if that leaves the support); logp and g at the start. p is scratch (2 + 4n). */
PetscErrorCode hmc_chain_start(HmcTarget *t, HmcWindows *w, const HierInit *in, const HmcConfig *c, PetscInt lo,
                               PetscInt ch, double *etaz, double *u, double *p, double *logp, double *g);
/* After iteration it of chain ch: the windows (a re-fitted map moves u and recomputes logp, g and t->lp;
 * *refit tells the caller to restart its step size), a kept draw, the progress line. */
PetscErrorCode hmc_iteration_end(HmcTarget *t, HmcWindows *w, const HmcConfig *c, PetscInt ch, PetscInt it, double a,
                                 double eps, PetscInt L, double *u, double *logp, double *g, double *etaz, double *zs,
                                 double *zq, double *acc_sum, ParProgress *prog, HmcResult *r, PetscBool *refit);
/* r->zdraws for n stars: hmc_iteration_end fills it from chain 1's kept draws, HMC_ZDRAW_GAP apart. */
#define HMC_ZDRAW_GAP 10
PetscErrorCode hmc_zdraws_create(PetscInt n, HmcResult *r);
/* Metropolis acceptance of a trajectory whose energy changed by dH; *div when it diverged. */
double hmc_accept_prob(double dH, PetscBool *div);
PetscErrorCode hmc_target_create(const ParCtx *ctx, HierModel *m, HmcTarget *t);
PetscErrorCode hmc_target_destroy(HmcTarget *t);

#endif
