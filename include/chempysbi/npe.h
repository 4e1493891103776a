/* Neural posterior estimator: a conditional MAF over the standardised six
 * parameters given the standardised eight abundances, with the prior it was
 * trained on (the prior the multi-star inference divides by). */
#ifndef CHEMPYSBI_NPE_H
#define CHEMPYSBI_NPE_H

#include <chempysbi/h5.h>
#include <chempysbi/maf.h>
#include <chempysbi/prior.h>

typedef struct {
  Maf *maf;
  double th_mean[CS_NPARAM], th_sd[CS_NPARAM]; /* z-scoring of theta */
  double x_mean[CS_NELEM], x_sd[CS_NELEM];     /* z-scoring of the observations */
  Prior prior;
  double noise;        /* [dex] Gaussian noise the NPE was trained with */
  double *zbuf, *tbuf; /* sampling scratch, (chunk, 6) each */
  size_t chunk;
} Npe;

/* Sampling statistics of one npe_sample call. */
typedef struct {
  PetscInt drawn, accepted;
  PetscBool capped; /* stopped at the attempt cap before reaching n */
} NpeSampleStats;

PetscErrorCode npe_create(PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe);
PetscErrorCode npe_destroy(Npe **npe);
PetscErrorCode npe_write_h5(const Npe *npe, H5File *f, const char *group);
/* Every rank reads the file itself; errors name the file and what does not match. */
PetscErrorCode npe_read_h5(const char *path, const char *group, int max_batch, Npe **npe);
/* x (8) -> standardised context (8). */
void npe_standardise_x(const Npe *npe, const double *x, double *c);
/* log q(theta | x) in the original units for n rows (n <= max_batch). */
void npe_log_prob(Npe *npe, const double *theta, const double *x, int n, double *logp);
/* n posterior samples for one observation x, from the stream (seed, purpose,
 * index): draws in chunks, keeps those inside the prior's support, stops after
 * max_draws total draws. Returns the accepted count in st. */
PetscErrorCode npe_sample(Npe *npe, const double *x, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                          PetscInt max_draws, double *theta, NpeSampleStats *st);

#endif
