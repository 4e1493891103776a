/* CHEMPY's own fixed-step scheme reproduced literally (spec sections 3-5, 11, 13):
 * stretched time grid and the 5 % SFR rule, ISM + corona bookkeeping with
 * Kennicutt-Schmidt infall, one SSP table per step and the lagged rejection check. */
#include "gce_internal.h"
#include <math.h>

struct GceDiscrete {
  const GceYields *y;
  PetscInt n0;                 /* CHEMPY time_steps */
  double cosmic;               /* CHEMPY sfr_factor_for_cosmic_accretion */
  double *t, *S, *Gt, *Ct, *Z; /* (n0) run grid [Gyr], mass formed per step, ISM and corona totals, ISM Z */
  double (*G)[GCE_NE];         /* (n0, 9) ISM element masses */
  double (*C)[GCE_NE];         /* (n0, 9) corona element masses */
  double (*Fut)[GCE_NE];       /* (n0, 9) feedback arriving at each step from SSPs already born */
  double (*Y)[GCE_NE];         /* (n0, 9) one SSP table */
  double *m, *phi;             /* (n0) SSP work */
};

PetscErrorCode gce_discrete_create(const GceYields *y, const GceConfig *c, GceDiscrete **dp)
{
  GceDiscrete *d;
  const PetscInt n0 = c->time_steps;
  PetscFunctionBeginUser;
  PetscCheck(n0 >= 3, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "discrete scheme needs -time_steps >= 3, got %" PetscInt_FMT, n0);
  PetscCall(PetscCalloc1(1, &d));
  d->y = y;
  d->n0 = n0;
  d->cosmic = c->cosmic_accretion_factor;
  PetscCall(PetscCalloc5(n0, &d->t, n0, &d->S, n0, &d->Gt, n0, &d->Ct, n0, &d->Z));
  PetscCall(PetscCalloc4(n0, &d->G, n0, &d->C, n0, &d->Fut, n0, &d->Y));
  PetscCall(PetscCalloc2(n0, &d->m, n0, &d->phi));
  *dp = d;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_discrete_destroy(GceDiscrete **dp)
{
  PetscFunctionBeginUser;
  if (!dp || !*dp) PetscFunctionReturn(PETSC_SUCCESS);
  GceDiscrete *d = *dp;
  PetscCall(PetscFree5(d->t, d->S, d->Gt, d->Ct, d->Z));
  PetscCall(PetscFree4(d->G, d->C, d->Fut, d->Y));
  PetscCall(PetscFree2(d->m, d->phi));
  PetscCall(PetscFree(*dp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gamma pdf (shape 2, scale s) as scipy evaluates it, with CHEMPY's 1e-10 floor for
   exact zeros (t = 0). */
static double gamma_floored(double t, double s)
{
  double x = t / s;
  double g = x > 0 ? exp(log(x) - x) / s : 0.0;
  return g != 0.0 ? g : 1e-10;
}

GceStatus gce_discrete_run(GceDiscrete *d, const GceParams *p, GceImf *imf, double G9[GCE_NE], double *hist,
                           PetscInt *nhist, GceBudget *bud)
{
  const GceYields *y = d->y;
  const double end = GCE_END, pi_h = 0.76, pi_he = 0.24, gamma_res = 1.0;
  const PetscInt n0 = d->n0;
  *nhist = 0;

  /* 3.1-3.4: stretched grid whose point n0-1 is the birth time; 5 % rule; rescaling r. */
  double age = end - p->T;
  if (age > GCE_MAX_AGE) return GCE_REJ_AGE;
  long M = (long)((double)(n0 - 1) * end / (end - age) + 1);
  double Ep = (end - age) * (double)(M - 1) / (double)(n0 - 1);
  double h = Ep / (double)(M - 1);
  double star_time = end - age, best = INFINITY, gall = 0.0, gcut = 0.0, gc = 0.0;
  long c = 0;
  for (long k = 0; k < M; k++) {
    double u = k == M - 1 ? Ep : (double)k * h;
    double g = gamma_floored(u, p->s);
    gall += g;
    if (fabs(u - star_time) < best) {
      best = fabs(u - star_time);
      c = k;
    }
  }
  for (long k = 0; k <= c; k++) {
    double u = k == M - 1 ? Ep : (double)k * h;
    double g = gamma_floored(u, p->s);
    gcut += g;
    if (k == c) gc = g;
  }
  if (gc * Ep / (h * gall) < 0.05) return GCE_REJ_SFR;
  double r = gcut / gall;
  PetscInt N = (PetscInt)c + 1;
  if (N > n0 || N < 2) return GCE_REJ_BOUNDS;
  double Tp = c == M - 1 ? Ep : (double)c * h;

  /* 3.5: run grid and normalised star formation per step. */
  double delta = Tp / (double)(N - 1), ssum = 0.0;
  for (PetscInt n = 0; n < N; n++) {
    d->t[n] = n == N - 1 ? Tp : (double)n * delta;
    d->S[n] = gamma_floored(d->t[n], p->s);
    ssum += d->S[n];
  }
  double stot = 0.0;
  for (PetscInt n = 0; n < N; n++) {
    d->S[n] /= ssum;
    stot += d->S[n];
  }
  double eps = p->sfe * (d->t[1] - d->t[0]);

  /* 4: initial infall, first star formation, corona of about 1/r primordial gas plus the
     cosmic accretion of step 0 (sfr_factor_for_cosmic_accretion times S_0). */
  double pi[GCE_NE] = {0};
  pi[E_H] = pi_h;
  pi[E_HE] = pi_he;
  double S0 = d->S[0], infall0 = 1.0000001 * S0;
  if (S0 / eps > infall0) infall0 = S0 / eps;
  double corona0 = stot * gamma_res / r - infall0;
  d->Gt[0] = infall0 - S0;
  double acc0 = S0 * d->cosmic;
  d->Ct[0] = acc0 + corona0;
  for (int e = 0; e < GCE_NE; e++) {
    double g = pi[e] * infall0;
    d->G[0][e] = g - (g / infall0) * S0;
    d->C[0][e] = pi[e] * acc0 + pi[e] * corona0;
  }
  d->Z[0] = 0.0;
  bud->gas0 = d->Ct[0];
  for (int e = 0; e < GCE_NE; e++) bud->gas0 += d->G[0][e];
  bud->accreted = bud->formed = bud->returned = 0.0;
  for (PetscInt n = 0; n < N; n++)
    for (int e = 0; e < GCE_NE; e++) d->Fut[n][e] = 0.0;

  for (PetscInt b = 0; b + 1 < N; b++) {
    /* 5.1: SSP of step b: metallicity of step b, composition of step b-1 (lag quirk). */
    PetscInt bp = b > 0 ? b - 1 : 0, K = N - b, n = b + 1;
    double f[GCE_NE];
    for (int e = 0; e < GCE_NE; e++) f[e] = d->G[bp][e] / d->Gt[bp];
    gce_ssp_table(y, imf, d->Z[b], f, d->t, K, p->n_ia, d->m, d->phi, d->Y);
    for (PetscInt k = 1; k < K; k++)
      for (int e = 0; e < GCE_NE; e++) d->Fut[b + k][e] += d->S[b] * d->Y[k][e];

    /* 5.2-5.3: feedback split between ISM and corona; cosmic accretion. */
    double F = 0.0;
    for (int e = 0; e < GCE_NE; e++) {
      double Fe = d->Fut[n][e];
      F += Fe;
      d->G[n][e] = d->G[n - 1][e] + (1.0 - p->x_out) * Fe;
      d->C[n][e] = d->C[n - 1][e] + p->x_out * Fe;
    }
    double acc = d->S[n] * d->cosmic;
    d->Ct[n] = d->Ct[n - 1] + acc;
    d->C[n][E_H] += pi_h * acc;
    d->C[n][E_HE] += pi_he * acc;
    d->Ct[n] += p->x_out * F;
    bud->accreted += acc;
    bud->formed += d->S[n];
    bud->returned += F;

    /* 5.4: Kennicutt-Schmidt infall with CHEMPY's clipping constants. With a small cosmic
       accretion factor the corona really runs dry (infall clipped to C, below the KS
       target); it can even be exactly empty (factor 0 and x_out 0), where the reference
       divides 0 by 0: no gas can fall in then, and 5.5 decides whether the ISM suffices. */
    double target = d->S[n] / eps, present = 0.0;
    for (int e = 0; e < GCE_NE; e++) present += d->G[n][e];
    double infall = (target - present) * 1.00000001;
    if (infall < 0) infall = 0;
    if (infall + present <= d->S[n]) infall = (d->S[n] - present) * 1.01;
    if (infall > d->Ct[n]) infall = d->Ct[n];
    if (!(d->Ct[n] > 0)) infall = 0.0;
    double Cn = d->Ct[n];
    for (int e = 0; e < GCE_NE && infall > 0; e++) {
      double mv = infall * d->C[n][e] / Cn;
      d->G[n][e] += mv;
      d->C[n][e] -= mv;
    }
    d->Ct[n] -= infall;

    /* 5.5: star formation at the ISM composition. */
    double Gn = 0.0;
    for (int e = 0; e < GCE_NE; e++) Gn += d->G[n][e];
    if (!(Gn >= d->S[n])) return GCE_REJ_NEGATIVE; /* corona exhausted and ISM short: reference asserts */
    double zsum = 0.0;
    for (int e = 0; e < GCE_NE; e++) {
      d->G[n][e] -= d->S[n] * d->G[n][e] / Gn;
      if (gce_elem_is_metal[e]) zsum += d->G[n][e];
    }
    d->Gt[n] = Gn - d->S[n];
    d->Z[n] = zsum / d->Gt[n];

    /* 5.6: the check lags one step (step b, not n); the last step is never checked. */
    int neg = d->Gt[b] < 0 || d->Ct[b] < 0;
    for (int e = 0; e < GCE_NE; e++) neg |= d->G[b][e] < 0;
    if (neg) return GCE_REJ_NEGATIVE;
  }
  for (int e = 0; e < GCE_NE; e++) G9[e] = d->G[N - 1][e];
  bud->ism = 0.0;
  bud->corona = d->Ct[N - 1];
  for (int e = 0; e < GCE_NE; e++) bud->ism += d->G[N - 1][e];
  if (hist) {
    for (PetscInt n = 0; n < N; n++) {
      double *row = hist + n * GCE_HRAW;
      row[0] = d->t[n];
      for (int e = 0; e < GCE_NE; e++) row[1 + e] = d->G[n][e];
      row[10] = d->Gt[n];
      row[11] = d->Ct[n];
      row[12] = d->Z[n];
    }
    *nhist = N;
  }
  return GCE_OK;
}
