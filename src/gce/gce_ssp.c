/* Feedback table of one simple stellar population on CHEMPY's discrete age grid
 * (spec section 6): SN II, AGB and Maoz SN Ia returns per age step, per unit SSP
 * mass, with the reference's quirks (AGB cut at 1 Msun, point-sampled DTD). */
#include "gce_internal.h"
#include <math.h>

/* Add sum_{zeta,w} w * sum_s W(...) [y_e + u f_e] of one process for age steps
   1..kmax-1 into Y. m[k] are the dying masses. */
static void add_process(const GceYields *y, const GceImf *imf, const GceProcTable *p, double z, const double f[GCE_NE],
                        const double *m, PetscInt kmax, double (*Y)[GCE_NE])
{
  int idx[2], nsel;
  double w[2];
  gce_zweights(p, z, idx, w, &nsel);
  for (int q = 0; q < nsel; q++) {
    const GceZTable *t = &p->t[idx[q]];
    double B[GCE_MAXM][GCE_NE];
    for (PetscInt s = 0; s < t->nm; s++)
      for (int e = 0; e < GCE_NE; e++) B[s][e] = t->y[s][e] + t->u[s] * f[e];
    for (PetscInt k = 1; k < kmax; k++) {
      double acc[GCE_NE] = {0};
      if (m[k - 1] <= p->m_lo || m[k] >= p->m_hi) continue; /* no bin of this process dies in the step */
      for (PetscInt s = 0; s < t->nm; s++) {
        double lo = m[k] > t->beta[s + 1] ? m[k] : t->beta[s + 1];
        double hi = m[k - 1] < t->beta[s] ? m[k - 1] : t->beta[s];
        double W = gce_imf_weight(y, imf, lo, hi);
        if (W == 0.0) continue;
        for (int e = 0; e < GCE_NE; e++) acc[e] += W * B[s][e];
      }
      for (int e = 0; e < GCE_NE; e++) Y[k][e] += w[q] * acc[e];
    }
  }
}

void gce_ssp_table(const GceYields *y, const GceImf *imf, double z, const double f[GCE_NE], const double *t, PetscInt K,
                   double n_ia0, double *m, double *phi, double (*Y)[GCE_NE])
{
  const double tau8 = 0.04, sexp = 1.12, end_of_time = 13.8;
  for (PetscInt k = 0; k < K; k++) {
    m[k] = gce_dying_mass(y, z, t[k]);
    for (int e = 0; e < GCE_NE; e++) Y[k][e] = 0.0;
  }
  add_process(y, imf, &y->sn2, z, f, m, K, Y);
  /* AGB ejecta stop at the first step whose dying mass is below 1 Msun: the partial
     bin [1, m_{k-1}) of that step never returns mass (reference cut-off). */
  PetscInt kstop = K;
  for (PetscInt k = 0; k < K; k++)
    if (m[k] < y->agb.m_lo) {
      kstop = k;
      break;
    }
  add_process(y, imf, &y->agb, z, f, m, kstop, Y);

  /* Maoz DTD sampled at the SSP ages and at ages extended by repeated addition of
     Delta until 13.8 Gyr; normalised by the sum over the extended axis. */
  if (K < 2) return;
  double dt = t[1] - t[0], sum = 0.0, tl;
  for (PetscInt k = 0; k < K; k++) {
    phi[k] = t[k] >= tau8 ? pow(t[k] / tau8, -sexp) * ((sexp - 1) / tau8) : 0.0;
    sum += phi[k];
  }
  tl = t[K - 1];
  while (tl < end_of_time) {
    tl = tl + dt;
    sum += tl >= tau8 ? pow(tl / tau8, -sexp) * ((sexp - 1) / tau8) : 0.0;
  }
  double acc = y->m_ia - y->m_wd;
  for (PetscInt k = 1; k < K; k++) {
    double n = phi[k] / sum * n_ia0;
    double mass = n * y->m_ia;
    for (int e = 0; e < GCE_NE; e++) Y[k][e] += mass * y->y_ia[e];
    Y[k][E_H] -= n * acc;
  }
}
