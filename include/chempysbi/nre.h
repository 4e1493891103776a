/* Neural ratio estimator (the amortised classifier of Hermans, Begy & Louppe
 * 2020): an MLP d(theta, x) on the standardised six parameters and eight
 * abundances, trained with binary cross-entropy to tell matched pairs
 * (theta, x ~ p(x | theta)) from pairs whose theta is drawn afresh from the
 * prior. At the optimum d = log p(x | theta) / p(x), so the posterior is
 * exp(d) times the prior, and the ratios of many stars multiply exactly. */
#ifndef CHEMPYSBI_NRE_H
#define CHEMPYSBI_NRE_H

#include <chempysbi/h5.h>
#include <chempysbi/mlp.h>
#include <chempysbi/prior.h>

#define NRE_MAX_P 8  /* parameters */
#define NRE_MAX_X 16 /* observables */

typedef struct {
  Mlp *mlp; /* sizes {P + X, hidden..., 1}, tanh, linear output: the logit d */
  int P, X;
  double th_mean[NRE_MAX_P], th_sd[NRE_MAX_P]; /* z-scoring of theta */
  double x_mean[NRE_MAX_X], x_sd[NRE_MAX_X];   /* z-scoring of the observations */
  Prior prior;                                 /* the prior the marginal pairs were drawn from */
  double noise;                                /* [dex] the observation noise of the training set */
  double *in, *dy, *d;                         /* scratch: (max_batch, P + X), (max_batch), (max_batch) */
} Nre;

/* P parameters, X observables, hidden layer widths, rows per call. */
PetscErrorCode nre_create(int P, int X, const PetscInt *hidden, PetscInt nhidden, int max_batch, Nre **nre);
PetscErrorCode nre_destroy(Nre **nre);
/* log r (n) for rows theta (n, P), x (n, X) in original units; any n. */
void nre_log_ratio(Nre *nre, const double *theta, const double *x, PetscInt n, double *logr);
/* Binary cross-entropy of n matched pairs (theta, x) and n contrastive pairs
 * (theta_marg, x): returns the sum of the 2n per-row losses
 * softplus(-d) (matched) and softplus(d) (contrastive), and with grads
 * accumulates scale x its gradient into nre->mlp->grads (the caller zeroes
 * them; scale = 1 / (2 N_global) gives the gradient of the global-batch
 * mean). 2n <= max_batch. *acc (may be NULL) gets the classification hits. */
double nre_bce(Nre *nre, const double *theta, const double *theta_marg, const double *x, int n, double scale,
               PetscBool grads, PetscInt *acc);
/* Standardisation of a raw row into the network's input (P + X). */
void nre_input(const Nre *nre, const double *theta, const double *x, double *in);
PetscErrorCode nre_write_h5(const Nre *nre, H5File *f, const char *group);
/* Every rank reads the file itself; errors name the file and what does not match. */
PetscErrorCode nre_read_h5(const char *path, const char *group, int max_batch, Nre **nre);

#endif
