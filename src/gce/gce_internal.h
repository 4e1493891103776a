/* Internal data layout of the CHEMPY port, shared by the files of src/gce only:
 * yield tables in the form the SSP uses, the IMF mass grid, the per-run workspace
 * and the functions the two integration schemes have in common. */
#ifndef CHEMPYSBI_GCE_INTERNAL_H
#define CHEMPYSBI_GCE_INTERNAL_H

#include <chempysbi/gce.h>

/* Traced elements in CHEMPY's (alphabetical) order; also the order of the 9 outputs. */
enum { E_C, E_FE, E_H, E_HE, E_MG, E_N, E_NE, E_O, E_SI, GCE_NE };
extern const char *const gce_elem_symbol[GCE_NE];
extern const int gce_elem_is_metal[GCE_NE];

#define GCE_MAXZ 6     /* metallicities per yield table */
#define GCE_MAXM 24    /* tabulated stellar masses per metallicity */
#define GCE_NIMF 5000  /* IMF mass grid points (numpy linspace(0.1, 100, 5000)) */
#define GCE_END 13.797617 /* age of the Universe [Gyr] */
#define GCE_MAX_AGE 13.0  /* oldest star modelled [Gyr] */

/* One metallicity of one process: masses in descending order and the SSP fractions
   r (remnant), u (unprocessed) and y_e (net yield, traced elements) per mass. */
typedef struct {
  PetscInt nm;
  double mass[GCE_MAXM];        /* [Msun], descending */
  double beta[GCE_MAXM + 1];    /* bin boundaries [Msun]: mass[s] covers [beta[s+1], beta[s]) */
  double y[GCE_MAXM][GCE_NE];   /* net yield per unit initial mass */
  double u[GCE_MAXM], r[GCE_MAXM];
} GceZTable;

typedef struct {
  PetscInt nz;
  double zeta[GCE_MAXZ];  /* table metallicities, ascending */
  double lzeta[GCE_MAXZ]; /* log10(zeta), with log10(zero_standin) for zeta == 0 */
  double m_lo, m_hi;      /* mass range of the process [Msun] */
  int shared_bins;        /* all metallicities use the same masses (TNG), so tables can be merged */
  int f32_logs;           /* table metallicities are float32 (TNG HDF5): logs and their difference in float32 */
  GceZTable t[GCE_MAXZ];
} GceProcTable;

struct GceYields {
  char set[16];
  GceProcTable sn2, agb;
  double m_ia;            /* ejected mass per SN Ia [Msun] */
  double y_ia[GCE_NE];    /* SN Ia yield fractions of m_ia */
  double m_wd;            /* white-dwarf mass per SN Ia [Msun] */
  double amass[GCE_NE];   /* atomic masses */
  double eps_sun[GCE_NE]; /* Asplund 2009 log eps */
  double x[GCE_NIMF];     /* IMF mass grid [Msun] */
  double lnx[GCE_NIMF];   /* ln x, for the power-law branch */
  double phi_low[GCE_NIMF]; /* alpha-independent lognormal branch (x < 1), 0 elsewhere */
  double log10x[GCE_NIMF];  /* log10 x for the lifetime polynomial */
};

/* Metallicity selection of spec 6.4: n (1 or 2) tables idx[] with weights w[]. */
void gce_zweights(const GceProcTable *p, double z, int idx[2], double w[2], int *n);

/* IMF of one run: mass weights dm_j and prefix sums P[j] = sum_{i<j} dm_i. */
typedef struct {
  double dm[GCE_NIMF];
  double P[GCE_NIMF + 1];
} GceImf;
void gce_imf_build(const GceYields *y, double alpha, GceImf *imf);
/* IMF mass fraction of grid points with lo <= x_j < hi (0 if hi <= lo). */
double gce_imf_weight(const GceYields *y, const GceImf *imf, double lo, double hi);
/* Index of the first grid point with x_j >= m. */
PetscInt gce_imf_index(const GceYields *y, double m);

/* Portinari et al. 1998 lifetime fit: log10 tau[yr] = p0 + p1 lM + p2 lM^2 + lZ (p3 + p4 lM + p5 lM^2)
   + lZ^2 (p6 + p7 lM), lM = log10 m, lZ = log10 z (CHEMPY Portinari_1998). Both schemes use it. */
extern const double gce_portinari[8];
/* Portinari et al. 1998 lifetime [Gyr] of mass m (log10 m given) at metal fraction z. */
double gce_lifetime(double log10m, double z);
/* Dying mass at age t (numpy interp over the reversed 5000-point lifetime grid). */
double gce_dying_mass(const GceYields *y, double z, double t);

/* SSP feedback table Y[k][e], k < K, on the ages t[0..K-1] (t[0] = 0) for SSP
   metallicity z and birth composition f; n_ia0 = SN Ia per Msun. m and phi are
   work arrays of length K. */
void gce_ssp_table(const GceYields *y, const GceImf *imf, double z, const double f[GCE_NE], const double *t, PetscInt K,
                   double n_ia0, double *m, double *phi, double (*Y)[GCE_NE]);

/* Solar-scaled abundances of the 9 traced elements from ISM element masses G[GCE_NE]
   in CHEMPY's output order; returns 0 if all are finite. */
int gce_abundances(const GceYields *y, const double G[GCE_NE], double out9[GCE_NE]);

/* Raw history row written by the schemes: t, G_e (9), G, C, Z. */
#define GCE_HRAW 13

/* Run parameters after validation. */
typedef struct {
  double alpha, n_ia, sfe, s, x_out, T;
} GceParams;

/* Discrete (CHEMPY) scheme workspace sizes and entry point. */
typedef struct GceDiscrete GceDiscrete;
PetscErrorCode gce_discrete_create(const GceYields *y, const GceConfig *c, GceDiscrete **d);
PetscErrorCode gce_discrete_destroy(GceDiscrete **d);
/* Fills G9 (final ISM element masses) and the history; returns status. */
GceStatus gce_discrete_run(GceDiscrete *d, const GceParams *p, GceImf *imf, double G9[GCE_NE], double *hist,
                           PetscInt *nhist, GceBudget *bud);

typedef struct OdeCohorts OdeCohorts;
PetscErrorCode ode_create(const GceYields *y, const GceConfig *c, OdeCohorts **o);
PetscErrorCode ode_destroy(OdeCohorts **o);
GceStatus ode_run(OdeCohorts *o, const GceParams *p, GceImf *imf, double G9[GCE_NE], double *hist, PetscInt *nhist,
                  GceRunStats *stats, GceBudget *bud);

struct GceWork {
  const GceYields *y;
  GceConfig cfg;
  GceImf imf;
  GceDiscrete *disc;
  OdeCohorts *ode;
  double abund9[GCE_NE];
  GceBudget budget;
  PetscInt nhist, maxhist;
  double *hist;    /* (maxhist, GCE_HRAW) raw rows written by the scheme */
  double *histout; /* (maxhist, GCE_HIST_NCOL) public rows, filled by gce_history_get */
};

#endif
