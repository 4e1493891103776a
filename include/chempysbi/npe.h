/* Neural posterior estimator: a conditional density estimator (estimator.h;
 * the MAF by default) over the standardised six parameters given the
 * standardised eight abundances, with the prior it was trained on (the prior
 * the multi-star inference divides by). */
#ifndef CHEMPYSBI_NPE_H
#define CHEMPYSBI_NPE_H

#include <chempysbi/h5.h>
#include <chempysbi/estimator.h>
#include <chempysbi/par.h>
#include <chempysbi/obs.h>
#include <chempysbi/prior.h>

/* What the flow's conditioner sees. FIXED: the eight standardised abundances,
 * trained at one noise level (the paper; files without a "kind" attribute).
 * CONDITIONED: 24 inputs, the standardised abundances with missing ones set
 * to 0, the standardised log sigma of each element (0 where missing) and the
 * presence mask (1 present, 0 missing): one model for any errors and gaps. */
typedef enum { NPE_FIXED = 0, NPE_CONDITIONED = 1 } NpeKind;
#define NPE_CTX_MAX (3 * CS_NELEM)

typedef struct {
  Estimator *est; /* q(theta_std | context) */
  NpeKind kind;
  /* Bit k set: the flow models u_k = logit((theta_k - lo_k) / (hi_k - lo_k)) with the prior's
   * hard bounds instead of theta_k, so that a uniform prior's sharp edges are exact (an affine flow
   * leaks mass over them and, truncated, puts too little near them: SBC ranks of the birth time
   * pile up at the ends). 0 in files without the attribute. */
  unsigned th_logit;
  double th_mean[CS_NPARAM], th_sd[CS_NPARAM]; /* z-scoring of theta (of u_k where th_logit) */
  double x_mean[CS_NELEM], x_sd[CS_NELEM];     /* z-scoring of the observations */
  Prior prior;
  double noise;        /* [dex] FIXED: the Gaussian noise the NPE was trained with; CONDITIONED: sqrt(lo hi) */
  ObsModel obs;        /* the training observation model (FIXED: obs_fixed(noise)) */
  double *zbuf, *tbuf; /* sampling scratch, (chunk, 6) each */
  double *cbuf;        /* (2048, NPE_CTX_MAX) context scratch of npe_log_prob */
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

/* An NPE on the estimator `estimator` ("maf") with its architecture integers
 * (estimator.h), for either kind (context size 8 or 24). */
PetscErrorCode npe_create_estimator(NpeKind kind, const char *estimator, const PetscInt *arch, int max_batch,
                                    Npe **npe);
/* A MAF NPE of K transforms x H hidden units x nblocks extra layers. */
PetscErrorCode npe_create(PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe);
PetscErrorCode npe_create_kind(NpeKind kind, PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe);
/* Conditioner inputs per observation: 8 (FIXED) or 24 (CONDITIONED). */
int npe_context_size(NpeKind kind);
PetscErrorCode npe_destroy(Npe **npe);
PetscErrorCode npe_write_h5(const Npe *npe, H5File *f, const char *group);
/* Every rank reads the file itself; errors name the file and what does not match. */
PetscErrorCode npe_read_h5(const char *path, const char *group, int max_batch, Npe **npe);
/* theta (6) -> the flow's variable t (6) (z-scored, through the logit where th_logit), and
 * log |dt/dtheta| (logjac may be NULL); PETSC_FALSE (t undefined) when a logit parameter is on or
 * beyond a bound. */
PetscBool npe_theta_to_flow(const Npe *npe, const double *theta, double *t, double *logjac);
/* The flow's t (6) -> theta (6). */
void npe_flow_to_theta(const Npe *npe, const double *t, double *theta);
/* The logit mask (th_logit) of the parameters whose prior is uniform between hard bounds. */
unsigned npe_uniform_params(const Prior *p);
/* x (8) -> standardised context (8). */
void npe_standardise_x(const Npe *npe, const double *x, double *c);
/* The conditioner input ctx (npe_context_size) of one observation: x (8)
 * [dex] with NaN = missing, sigma (8) [dex] per element (NULL: the NPE's own
 * noise; ignored by a FIXED NPE). A sigma below the trained range is raised to
 * its lower end (a wider posterior); an element with a sigma above it is
 * treated as missing (it would be over-trusted otherwise), counted in *nwide
 * (may be NULL). Returns PETSC_FALSE if the NPE cannot take the observation:
 * a FIXED NPE and a missing value. */
PetscBool npe_context(const Npe *npe, const double *x, const double *sigma, double *ctx, int *nwide);
/* log q(theta | x) in the original units for n rows (n <= max_batch), every
 * row at the NPE's own noise (npe_context with sigma NULL). */
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
/* log q(theta | ctx) for n rows with contexts ctx (n, npe_context_size), any n. */
void npe_log_prob_ctx(Npe *npe, const double *theta, const double *ctx, int n, double *logp);
/* n posterior samples for one observation x, from the stream (seed, purpose,
 * index): draws in chunks, keeps those inside the prior's support, stops after
 * max_draws total draws. Returns the accepted count in st. */
PetscErrorCode npe_sample(Npe *npe, const double *x, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                          PetscInt max_draws, double *theta, NpeSampleStats *st);
/* npe_sample for a prepared context (npe_context): any kind, any mask. */
PetscErrorCode npe_sample_ctx(Npe *npe, const double *ctx, PetscInt n, uint64_t seed, RngPurpose purpose,
                              uint64_t index, PetscInt max_draws, double *theta, NpeSampleStats *st);

#endif
