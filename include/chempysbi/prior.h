/* Priors over the six parameters (pipeline.md section 1): the emulator's wide
 * uniform box and the paper's Gaussian NPE prior, truncated to the model's
 * hard bounds. Draws come from counter streams, so row i's parameters are
 * fixed by (seed, i) alone. */
#ifndef CHEMPYSBI_PRIOR_H
#define CHEMPYSBI_PRIOR_H

#include <chempysbi/common.h>
#include <chempysbi/rng.h>

typedef enum { PRIOR_WIDE = 0, PRIOR_GAUSS = 1 } PriorKind;

typedef struct {
  PriorKind kind;
  double mean[CS_NPARAM], sd[CS_NPARAM]; /* Gaussian part (T: sd unused) */
  double lo[CS_NPARAM], hi[CS_NPARAM];   /* support: hard bounds, or the wide box */
} Prior;

/* The kinds' names, in PetscOptionsEnum's layout (-prior, and the "prior" attribute of files). */
extern const char *const prior_kind_names[];

PetscErrorCode prior_init(PriorKind kind, Prior *p);
/* The kind named s (a file's attribute): an error names the value and the choices. */
PetscErrorCode prior_kind_from_string(const char *s, PriorKind *kind);
const char *prior_kind_name(PriorKind kind);
/* Draw theta from the prior with the stream (seed, purpose, index). */
void prior_sample(const Prior *p, uint64_t seed, RngPurpose purpose, uint64_t index, double theta[CS_NPARAM]);
/* Inside the support? */
PetscBool prior_contains(const Prior *p, const double theta[CS_NPARAM]);
/* log density up to a constant (-inf outside the support). */
double prior_log_prob(const Prior *p, const double theta[CS_NPARAM]);
/* The prior as numbers for a file: rows mean, sd, lo, hi (4 x 6). */
void prior_pack(const Prior *p, double out[4 * CS_NPARAM]);

#endif
