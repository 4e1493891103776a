/* Wide (emulator training) and Gaussian (NPE) priors. The Gaussian one is
 * truncated to the hard model bounds; only log10_SFR_peak (> 0.294, 2.6 sd
 * below the mean) is truncated noticeably, which rejection sampling handles. */
#include <chempysbi/gce.h>
#include <chempysbi/prior.h>
#include <math.h>
#include <string.h>

static const double gauss_mean[CS_NPARAM] = {-2.3, -2.89, -0.3, 0.55, 0.5, 0};
static const double gauss_sd[CS_NPARAM] = {0.3, 0.3, 0.3, 0.1, 0.1, 0};

PetscErrorCode prior_init(PriorKind kind, Prior *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->kind = kind;
  for (int k = 0; k < CS_NPARAM; k++) {
    p->mean[k] = gauss_mean[k];
    p->sd[k] = gauss_sd[k];
    p->lo[k] = gce_theta_lo[k]; /* the model's own bounds (gce_run rejects theta outside them) */
    p->hi[k] = gce_theta_hi[k];
    if (kind == PRIOR_WIDE && k < 5) { /* mean +- 5 sd, clipped to the hard bounds */
      p->lo[k] = fmax(gce_theta_lo[k], gauss_mean[k] - 5 * gauss_sd[k]);
      p->hi[k] = fmin(gce_theta_hi[k], gauss_mean[k] + 5 * gauss_sd[k]);
    }
  }
  p->t_lo = kind == PRIOR_WIDE ? 1.0 : 2.0;
  p->t_hi = kind == PRIOR_WIDE ? 13.8 : 12.8;
  p->lo[5] = p->t_lo;
  p->hi[5] = p->t_hi;
  p->mean[5] = 0.5 * (p->t_lo + p->t_hi);
  p->sd[5] = (p->t_hi - p->t_lo) / sqrt(12.0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

const char *prior_kind_name(PriorKind kind) { return kind == PRIOR_WIDE ? "wide" : "gauss"; }

PetscErrorCode prior_kind_from_string(const char *s, PriorKind *kind)
{
  PetscFunctionBeginUser;
  if (!strcmp(s, "wide"))
    *kind = PRIOR_WIDE;
  else if (!strcmp(s, "gauss"))
    *kind = PRIOR_GAUSS;
  else
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-prior %s: expected wide or gauss", s);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void prior_sample(const Prior *p, uint64_t seed, RngPurpose purpose, uint64_t index, double theta[CS_NPARAM])
{
  Rng r;
  rng_init(&r, seed, purpose, index);
  for (int k = 0; k < 5; k++) {
    if (p->kind == PRIOR_WIDE) {
      theta[k] = p->lo[k] + (p->hi[k] - p->lo[k]) * rng_uniform(&r);
    } else {
      /* Rejection from the Gaussian: acceptance >= 0.99 for every parameter. */
      do theta[k] = p->mean[k] + p->sd[k] * rng_normal(&r);
      while (theta[k] <= p->lo[k] || theta[k] >= p->hi[k]);
    }
  }
  theta[5] = p->t_lo + (p->t_hi - p->t_lo) * rng_uniform(&r);
}

PetscBool prior_contains(const Prior *p, const double theta[CS_NPARAM])
{
  for (int k = 0; k < CS_NPARAM; k++)
    if (!(theta[k] >= p->lo[k] && theta[k] <= p->hi[k])) return PETSC_FALSE;
  return PETSC_TRUE;
}

double prior_log_prob(const Prior *p, const double theta[CS_NPARAM])
{
  if (!prior_contains(p, theta)) return -INFINITY;
  double lp = 0;
  if (p->kind == PRIOR_GAUSS)
    for (int k = 0; k < 5; k++) {
      double z = (theta[k] - p->mean[k]) / p->sd[k];
      lp -= 0.5 * z * z;
    }
  return lp;
}

void prior_pack(const Prior *p, double out[4 * CS_NPARAM])
{
  for (int k = 0; k < CS_NPARAM; k++) {
    out[k] = p->mean[k];
    out[CS_NPARAM + k] = p->sd[k];
    out[2 * CS_NPARAM + k] = p->lo[k];
    out[3 * CS_NPARAM + k] = p->hi[k];
  }
}
