/* Counter-based random streams (Random123 Philox4x64-10). A stream is keyed by
 * (seed, purpose) and addressed by a global index, so the numbers of row i are
 * the same whichever rank draws them and in whatever order. */
#ifndef CHEMPYSBI_RNG_H
#define CHEMPYSBI_RNG_H

#include <stdint.h>

/* What a stream is used for; part of the key so purposes never share numbers. */
typedef enum {
  RNG_PARAMS = 1,    /* training-set parameters, index = row */
  RNG_SHUFFLE = 2,   /* epoch shuffles, index = epoch */
  RNG_INIT = 3,      /* network initialisation, index = parameter block */
  RNG_NPE_THETA = 4, /* NPE training parameters, index = simulation */
  RNG_NPE_NOISE = 5, /* NPE observation noise, index = simulation */
  RNG_POSTERIOR = 6, /* posterior samples, index = star */
  RNG_MOCK = 7,      /* mock galaxy, index = star */
  RNG_VALIDATE = 8,  /* validation observations, index = test case */
  RNG_HMC = 9,       /* HMC momenta and decisions, index = (iteration << 32) | star */
  RNG_LOCAL = 10,    /* per-star local samplers (newton), index = star */
  RNG_COVERAGE = 11, /* coverage: the galaxies' globals, index = galaxy */
  RNG_ABC = 12,      /* ABC: table rows' observation noise (index = row), resampling (2^40 + star) */
  RNG_NRE = 13,      /* NRE: training pairs and shuffles, per-star MCMC */
  RNG_GIBBS = 14,    /* HMC within Gibbs: the locals' proposals, index = (sweep step << 32) | star */
  RNG_ROW_KEY = 20,  /* weak-scaling shuffles, index = (epoch << 40) | global row */
  RNG_TEST = 99      /* unit tests */
} RngPurpose;

typedef struct {
  uint64_t key[2]; /* (seed, purpose) */
  uint64_t ctr[4]; /* (index, block, 0, 0) */
  uint64_t out[4]; /* current block of 4 random words */
  int used;        /* words of out already consumed */
  int have_spare;  /* Box-Muller produces normals in pairs */
  double spare;
} Rng;

/* Start the stream for (seed, purpose) at global index `index`. */
void rng_init(Rng *r, uint64_t seed, RngPurpose purpose, uint64_t index);
/* Uniform double on the open interval (0, 1), 53 random bits. */
double rng_uniform(Rng *r);
/* Standard normal double (Box-Muller on two uniforms). */
double rng_normal(Rng *r);
/* Uniform integer in [0, n). */
uint64_t rng_below(Rng *r, uint64_t n);

#endif
