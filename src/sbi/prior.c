/* Wide (emulator training) and Gaussian (NPE) priors. The Gaussian one is
 * truncated to the hard model bounds; only log10_SFR_peak (> 0.294, 2.6 sd
 * below the mean) is truncated noticeably, which rejection sampling handles. */
#include <chempysbi/gce.h>
#include <chempysbi/prior.h>
#include <math.h>

PetscErrorCode prior_init(PriorKind kind, Prior *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(p, sizeof(*p)));
  p->kind = kind;
  for (int k = 0; k < CS_NPARAM; k++) {
    const CsParameter *v = &cs_parameters[k];
    p->lo[k] = gce_theta_lo[k]; /* the model's own bounds (gce_run rejects theta outside them) */
    p->hi[k] = gce_theta_hi[k];
    if (v->prior == CS_PRIOR_NORMAL) {
      p->mean[k] = v->a;
      p->sd[k] = v->b;
      if (kind == PRIOR_WIDE) { /* mean +- 5 sd, clipped to the hard bounds */
        p->lo[k] = fmax(gce_theta_lo[k], v->a - 5 * v->b);
        p->hi[k] = fmin(gce_theta_hi[k], v->a + 5 * v->b);
      }
    } else { /* uniform: its own interval, wider for the emulator's training box */
      p->lo[k] = kind == PRIOR_WIDE ? v->wide_lo : v->a;
      p->hi[k] = kind == PRIOR_WIDE ? v->wide_hi : v->b;
      p->mean[k] = 0.5 * (p->lo[k] + p->hi[k]);
      p->sd[k] = (p->hi[k] - p->lo[k]) / sqrt(12.0);
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

const char *const prior_kind_names[] = {"wide", "gauss", "PriorKind", "PRIOR_", NULL};

const char *prior_kind_name(PriorKind kind) { return prior_kind_names[kind]; }

PetscErrorCode prior_kind_from_string(const char *s, PriorKind *kind)
{
  PetscBool found;
  PetscFunctionBeginUser;
  PetscCall(PetscEnumFind(prior_kind_names, s, (PetscEnum *)kind, &found));
  PetscCheck(found, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "unknown prior '%s' (expected wide or gauss)", s);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void prior_sample(const Prior *p, uint64_t seed, RngPurpose purpose, uint64_t index, double theta[CS_NPARAM])
{
  Rng r;
  rng_init(&r, seed, purpose, index);
  for (int k = 0; k < CS_NPARAM; k++) {
    if (p->kind == PRIOR_WIDE || cs_parameters[k].prior == CS_PRIOR_UNIFORM) {
      theta[k] = p->lo[k] + (p->hi[k] - p->lo[k]) * rng_uniform(&r);
    } else {
      /* Rejection from the Gaussian: acceptance >= 0.99 for every parameter. */
      do theta[k] = p->mean[k] + p->sd[k] * rng_normal(&r);
      while (theta[k] <= p->lo[k] || theta[k] >= p->hi[k]);
    }
  }
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
    for (int k = 0; k < CS_NPARAM; k++) {
      if (cs_parameters[k].prior != CS_PRIOR_NORMAL) continue;
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
