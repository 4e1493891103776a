/* Stellar ingredients shared by both integration schemes: the discrete Chabrier IMF
 * with free high-mass slope, Portinari et al. 1998 lifetimes and their inversion,
 * the yield-table metallicity selection and the Asplund 2009 abundance conversion. */
#include "gce_internal.h"
#include <math.h>

const char *const gce_elem_symbol[GCE_NE] = {"C", "Fe", "H", "He", "Mg", "N", "Ne", "O", "Si"};
const int gce_elem_is_metal[GCE_NE] = {1, 1, 0, 0, 1, 1, 1, 1, 1};

/* Mass weights follow CHEMPY's order of operations (normalise phi, form phi*x,
   normalise again) so that they agree to rounding with the reference. The
   lognormal branch does not depend on alpha and is precomputed at load time. */
void gce_imf_build(const GceYields *y, double alpha, GceImf *imf)
{
  const double B = 0.237912;
  double sphi = 0.0, sm = 0.0;
  for (PetscInt j = 0; j < GCE_NIMF; j++) {
    double phi = y->x[j] < 1.0 ? y->phi_low[j] : (y->x[j] > 1.0 ? B * exp(alpha * y->lnx[j]) : 0.0);
    imf->dm[j] = phi;
    sphi += phi;
  }
  for (PetscInt j = 0; j < GCE_NIMF; j++) {
    imf->dm[j] = imf->dm[j] / sphi * y->x[j];
    sm += imf->dm[j];
  }
  imf->P[0] = 0.0;
  for (PetscInt j = 0; j < GCE_NIMF; j++) {
    imf->dm[j] /= sm;
    imf->P[j + 1] = imf->P[j] + imf->dm[j];
  }
}

PetscInt gce_imf_index(const GceYields *y, double m)
{
  PetscInt lo = 0, hi = GCE_NIMF; /* answer in [lo, hi] */
  while (lo < hi) {
    PetscInt mid = (lo + hi) / 2;
    if (y->x[mid] >= m)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

double gce_imf_weight(const GceYields *y, const GceImf *imf, double lo, double hi)
{
  if (!(hi > lo)) return 0.0;
  return imf->P[gce_imf_index(y, hi)] - imf->P[gce_imf_index(y, lo)];
}

/* The polynomial is evaluated term by term in the reference's order. No floor on z
   other than z <= 0 -> log z = -5: tiny positive z gives extreme lifetimes, which the
   reference has and the training data contain. */
const double gce_portinari[8] = {10.0153615,  -3.91089893, 0.99947209,  -0.03601771,
                                 -0.31139679, 0.09109059,  -0.03218365, -0.01323112};

double gce_lifetime(double lM, double z)
{
  const double *p = gce_portinari;
  double lZ = z <= 0.0 ? -5.0 : log10(z);
  double tmp = p[0] + lM * p[1] + pow(lM, 2.0) * p[2] + lZ * p[3] + lM * lZ * p[4] + lM * lM * lZ * p[5] +
               lZ * lZ * p[6] + lZ * lZ * lM * p[7];
  return pow(10.0, tmp) / 1e9;
}

/* numpy.interp(t, tau(x reversed), x reversed) with the lifetimes evaluated only at
   the points the binary search visits (about 13 instead of 5000). The search keeps
   xp[lo] <= t < xp[hi]; where the fit is not monotonic (z > 0.055 near 100 Msun) all
   ages used are above every lifetime of that region, so the bracket is unique. */
double gce_dying_mass(const GceYields *y, double z, double t)
{
  const PetscInt n = GCE_NIMF;
#define XP(i) gce_lifetime(y->log10x[n - 1 - (i)], z)
#define FP(i) (y->x[n - 1 - (i)])
  double x0 = XP(0), xl = XP(n - 1);
  if (t < x0) return FP(0);
  if (t > xl) return FP(n - 1);
  if (t == xl) return FP(n - 1);
  PetscInt lo = 0, hi = n - 1;
  double xlo = x0, xhi = xl;
  while (hi - lo > 1) {
    PetscInt mid = (lo + hi) / 2;
    double xm = XP(mid);
    if (xm <= t) {
      lo = mid;
      xlo = xm;
    } else {
      hi = mid;
      xhi = xm;
    }
  }
  double slope = (FP(hi) - FP(lo)) / (xhi - xlo);
  return slope * (t - xlo) + FP(lo);
#undef XP
#undef FP
}

void gce_zweights(const GceProcTable *p, double z, int idx[2], double w[2], int *n)
{
  *n = 1;
  w[0] = 1.0;
  w[1] = 0.0;
  idx[1] = 0;
  if (p->nz == 1 || z < p->zeta[0]) {
    idx[0] = 0;
    return;
  }
  if (z > p->zeta[p->nz - 1]) {
    idx[0] = (int)p->nz - 1;
    return;
  }
  for (PetscInt j = 0; j < p->nz; j++)
    if (z == p->zeta[j]) {
      idx[0] = (int)j;
      return;
    }
  PetscInt j = 1;
  while (!(z < p->zeta[j])) j++;
  /* Logarithmic weights; a zero-metallicity table stands in at lzeta (log10 1e-10),
     so 0 < z < 1e-10 extrapolates (weights outside [0, 1]) exactly like the reference. */
  double llo = p->lzeta[j - 1], lhi = p->lzeta[j], lz = log10(z);
  *n = 2;
  idx[0] = (int)j - 1;
  idx[1] = (int)j;
  /* With float32 table metallicities the reference forms the log distance of two
     tabulated values in float32 (a 1e-8 effect, kept for bit-level agreement). */
  double dist = p->f32_logs && p->zeta[j - 1] > 0 ? (double)((float)lhi - (float)llo) : lhi - llo;
  w[0] = (lhi - lz) / dist;
  w[1] = (lz - llo) / dist;
}

int gce_abundances(const GceYields *y, const double G[GCE_NE], double out[GCE_NE])
{
  double eh[GCE_NE];
  for (int e = 0; e < GCE_NE; e++) {
    double q = (G[e] / y->amass[e]) / (G[E_H] / y->amass[E_H]);
    eh[e] = (q == 0.0 ? -INFINITY : log10(q)) + 12.0 - y->eps_sun[e];
  }
  eh[E_H] = 0.0;
  int finite = 1;
  for (int e = 0; e < GCE_NE; e++) {
    if (e == E_FE)
      out[e] = eh[E_FE];
    else
      out[e] = isfinite(eh[E_FE]) ? eh[e] - eh[E_FE] : INFINITY;
    if (!isfinite(out[e])) finite = 0;
  }
  return finite ? 0 : 1;
}
