/* The hierarchical model of a galaxy (../shared/docs/hierarchical-inference.md):
 * globals L = (alpha_IMF, log10_N_Ia) shared by all stars, locals z_i =
 * (log10_SFE, log10_SFR_peak, x_out, T) per star, abundances
 * x_i ~ N(f(L, z_i) + delta_i, diag(sigma_i^2)) with f the emulator. Missing
 * abundances (NaN) drop out of that star's likelihood. Parameters live in an
 * unconstrained space eta: a logistic map onto each bounded support (the
 * priors' hard bounds exactly), identity where unbounded. A model holds one
 * rank's block of stars; sums over stars are the caller's (src/par). */
#ifndef CHEMPYSBI_HIER_H
#define CHEMPYSBI_HIER_H

#include <chempysbi/emu.h>
#include <chempysbi/prior.h>

#define HIER_NL 2 /* globals */
#define HIER_NZ 4 /* locals per star */
/* Posterior draws of each star's locals the exact methods keep (for the emulator correction). */
#define HIER_ZDRAWS 8

/* The mean model f: theta (n, 6) -> f (n, 8), its input gradient after a
 * forward, and a jet in the two globals (first and second derivatives). */
typedef struct {
  void *ctx;
  int max_batch;
  PetscErrorCode (*forward)(void *ctx, const double *theta, int n, double *f);
  /* dtheta (n, 6) = J^T df for the rows of the last forward. */
  PetscErrorCode (*backward)(void *ctx, const double *df, int n, double *dtheta);
  /* f (n, 8), df (n, 2, 8) d/dL_a, d2f (n, 3, 8) d2/dL0dL0, dL0dL1, dL1dL1. */
  PetscErrorCode (*jet)(void *ctx, const double *theta, int n, double *f, double *df, double *d2f);
} HierMean;

/* A star likelihood other than the Gaussian around the mean model: ll (n) = log p(x | theta)
 * up to a constant per star, for rows theta (n, 6) and x (n, 8), any n <= max_batch; e.g. a
 * ratio estimator's log r (nre). Values only: newton takes the score and information in the
 * globals by central differences; the samplers that need gradients (hmc) refuse it. */
typedef struct {
  void *ctx;
  PetscErrorCode (*loglik)(void *ctx, const double *theta, const double *x, int n, double *ll);
} HierLik;

/* The emulator as a mean model (the emulator must outlive the HierMean). */
void hier_mean_emulator(Emulator *e, HierMean *m);

/* Per-parameter prior: Gaussian (sd > 0) or uniform (sd = 0) on [lo, hi];
 * lo = -inf and hi = +inf together mean unbounded. sfr_rule: no prior mass
 * where CHEMPY's 5% SFR rule rejects (log10_SFR_peak, T). */
typedef struct {
  double mean[CS_NPARAM], sd[CS_NPARAM], lo[CS_NPARAM], hi[CS_NPARAM];
  PetscBool sfr_rule;
} HierPrior;

/* The NPE's Gaussian prior (PRIOR_GAUSS): Gaussians truncated to the hard
 * bounds, T uniform, and the SFR rule. */
void hier_prior_from(const Prior *p, HierPrior *h);
/* theta_k from eta_k and back, and log(dtheta/deta) with its eta-derivative. */
double hier_to_theta(const HierPrior *h, int k, double eta);
double hier_to_eta(const HierPrior *h, int k, double theta);
/* log prior of the globals in eta (log Jacobian included), and its gradient. */
double hier_global_logp(const HierPrior *h, const double etaL[HIER_NL], double g[HIER_NL]);

typedef struct {
  HierMean mean;
  HierPrior prior;
  PetscInt n;                     /* stars of this block */
  double *x;                      /* (n, 8) abundances [dex], 0 where missing */
  double *w;                      /* (n, 8) 1/sigma^2, 0 where missing */
  double *delta;                  /* (n, 8) correction added to f, 0 unless set */
  double *th, *f, *df, *dth, *jf; /* scratch for one batch */
  HierLik lik;                    /* lik.loglik set (hier_set_lik): the likelihood instead of the Gaussian */
  double *thfd, *llfd;            /* scratch of the central differences (7 x batch) */
} HierModel;

/* x (n, 8) with NaN for missing values; err (n, 8) per-star sigma [dex], NULL
 * or NaN entries meaning default_err. A star needs no minimum here. */
PetscErrorCode hier_create(const HierMean *mean, const HierPrior *prior, PetscInt n, const double *x, const double *err,
                           double default_err, HierModel **m);
PetscErrorCode hier_destroy(HierModel **m);
/* Use lik for every star instead of the Gaussian around the mean model (whose functions are then
 * unused: a HierMean with max_batch alone will do); x must have every element. */
PetscErrorCode hier_set_lik(HierModel *m, const HierLik *lik);

/* Per-star log density of the locals and the star's likelihood given the
 * globals, in eta (log Jacobian of the locals included; constants dropped):
 * lp (n); -inf outside the support. With gz (n, 4) and gL (n, 2) non-NULL,
 * also the gradients in eta_z and the star's share of the gradient in eta_L. */
PetscErrorCode hier_star_logp(HierModel *m, const double etaL[HIER_NL], const double *etaz, double *lp, double *gz,
                              double *gL);
/* Per-star Gauss-Newton Hessian of -log density in eta, (n, 36) row-major
 * over (eta_L, eta_z): J^T W J of the likelihood plus the locals' prior
 * curvature (the globals' prior is hier_global_curvature's). Positive
 * semi-definite by construction: the metric of the exact methods. */
PetscErrorCode hier_star_gn(HierModel *m, const double etaL[HIER_NL], const double *etaz, double *H);
/* Curvature (2 x 2 diagonal) of the globals' -log prior in eta. */
void hier_global_curvature(const HierPrior *h, const double etaL[HIER_NL], double H[4]);
/* Per-star score and Hessian of log p(x_i | L, z_i) in theta_L (no prior, no
 * transform): s (n, 2), h (n, 3) {00, 01, 11}, at globals thetaL and locals etaz. */
PetscErrorCode hier_star_score(HierModel *m, const double thetaL[HIER_NL], const double *etaz, double *s, double *h);

#endif
