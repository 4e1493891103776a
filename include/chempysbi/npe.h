/* Neural posterior estimator: a conditional MAF over the standardised six
 * parameters given the standardised eight abundances, with the prior it was
 * trained on (the prior the multi-star inference divides by). */
#ifndef CHEMPYSBI_NPE_H
#define CHEMPYSBI_NPE_H

#include <chempysbi/h5.h>
#include <chempysbi/maf.h>
#include <chempysbi/par.h>
#include <chempysbi/prior.h>

typedef struct {
  Maf *maf;
  double th_mean[CS_NPARAM], th_sd[CS_NPARAM]; /* z-scoring of theta */
  double x_mean[CS_NELEM], x_sd[CS_NELEM];     /* z-scoring of the observations */
  Prior prior;
  double noise;        /* [dex] Gaussian noise the NPE was trained with */
  double *zbuf, *tbuf; /* sampling scratch, (chunk, 6) each */
  size_t chunk;
  /* Range of the training observations per element [dex]: the 0.1% and 99.9%
   * quantiles of the simulated noisy abundances, widened by NPE_RANGE_NOISE_SD
   * noise sd. A star outside it asks the NPE to extrapolate. Files made before
   * the range was stored have has_range false (and are not checked). */
  PetscBool has_range;
  double x_lo[CS_NELEM], x_hi[CS_NELEM];
  PetscBool range_warned; /* the "no range stored" warning was printed */
} Npe;

#define NPE_RANGE_QLO      0.001
#define NPE_RANGE_QHI      0.999
#define NPE_RANGE_NOISE_SD 5.0

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
/* Whether star x lies inside the training range of every element; when not,
 * why names the first column outside it, e.g. "Fe_H = 5 outside [-2.41, 0.93]".
 * Always true for an NPE without a stored range. Every inference method calls
 * this (through npe_star_screen) before sampling. */
PetscBool npe_star_in_range(const Npe *npe, const double x[CS_NELEM], char *why, size_t len);
/* The check with its report: a star outside the range is reported on stderr by
 * id, row and column; *use says whether to go on with it (false unless keep,
 * i.e. -keep_out_of_range) and *outside whether it was outside. An NPE without
 * a range gets one warning and every star passes. */
PetscErrorCode npe_star_screen(Npe *npe, const char *id, PetscInt row, const double x[CS_NELEM], PetscBool keep,
                               PetscBool *use, PetscBool *outside);
/* Set the range from the training observations (nloc rows of 8 on each rank; collective). */
PetscErrorCode npe_set_range(Npe *npe, const ParCtx *ctx, PetscInt nloc, const double *x);
/* n posterior samples for one observation x, from the stream (seed, purpose,
 * index): draws in chunks, keeps those inside the prior's support, stops after
 * max_draws total draws. Returns the accepted count in st. */
PetscErrorCode npe_sample(Npe *npe, const double *x, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                          PetscInt max_draws, double *theta, NpeSampleStats *st);

#endif
