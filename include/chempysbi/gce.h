/* CHEMPY one-zone galactic chemical evolution model (Rybizki et al. 2017, ChempyMulti
 * configuration of Buck et al.): maps theta = (alpha_IMF, log10_N_Ia, log10_SFE,
 * log10_SFR_peak, x_out, birth_time_Gyr) to the abundances of a star born at T
 * (the observables of vars.h). */
#ifndef CHEMPYSBI_GCE_H
#define CHEMPYSBI_GCE_H

#include <chempysbi/common.h>

/* Per-run outcome. Everything except GCE_OK leaves abund[] = NaN. */
typedef enum {
  GCE_OK = 0,
  GCE_REJ_SFR = 1,       /* SFR at the birth time below 5 % of the mean SFR */
  GCE_REJ_NEGATIVE = 2,  /* an ISM element mass (or ISM/corona total) went negative */
  GCE_REJ_AGE = 3,       /* stellar age end - T above 13 Gyr */
  GCE_REJ_BOUNDS = 4,    /* non-finite or out-of-bounds input */
  GCE_SOLVER_FAILURE = 5 /* CVODE failed (flag in GceRunStats.cvode_flag) */
} GceStatus;

const char *gce_status_name(GceStatus);

/* Hard model bounds of theta (the lo, hi columns of CS_PARAMETERS, vars.h;
   closed intervals): outside them gce_run returns GCE_REJ_BOUNDS. The priors are
   truncated to these (src/sbi/prior.c). */
extern const double gce_theta_lo[CS_NPARAM], gce_theta_hi[CS_NPARAM];

/* Yield tables, IMF grid and solar data: read-only after load, shareable by any
 * number of workspaces (and threads). */
typedef struct GceYields GceYields;
PetscErrorCode gce_yields_load(const char *data_dir, const char *set /* "tng" or "alt" */, GceYields **y);
/* The same, collective on comm: rank 0 reads the files and broadcasts the tables
 * (one flat struct of ~0.5 MB), so a job of any size opens them once; on a
 * parallel file system 1024 ranks opening the same dozen files at start-up is a
 * metadata storm. Every rank fails together if rank 0 cannot read them. */
PetscErrorCode gce_yields_load_shared(MPI_Comm comm, const char *data_dir, const char *set, GceYields **y);
PetscErrorCode gce_yields_destroy(GceYields **y);

typedef enum { GCE_SCHEME_DISCRETE = 0, GCE_SCHEME_CVODE = 1 } GceScheme;

/* The whole CHEMPY configuration of a run: the numerical scheme and the model settings
   that published CHEMPY variants differ in. Model settings carry their CHEMPY
   (parameter.py) names; everything else of chempy-model.md section 1.2 is fixed.
   gce_config_string() renders every field, for provenance and resume checks. */
typedef struct {
  GceScheme scheme;     /* default GCE_SCHEME_CVODE */
  PetscInt time_steps;  /* discrete scheme: CHEMPY time steps N0 (default 28) */
  PetscReal rtol, atol; /* cvode: relative (default 1e-4) / absolute (default 1e-12) tolerance; masses are in
                           units of the stellar mass formed by T */
  PetscInt cohorts;     /* cvode: number of birth-cohort intervals on [0, T] (method of steps; default 24) */
  char yields[16];      /* "tng" (default) or "alt" */
  /* CHEMPY sfr_factor_for_cosmic_accretion (-cosmic_accretion_factor, default 1, the paper's
     value): primordial gas entering the corona per unit mass of stars formed. The ChempyMulti
     mock catalogues of Aug 2019 used 1e-6. */
  double cosmic_accretion_factor;
  char data_dir[PETSC_MAX_PATH_LEN]; /* env CHEMPYSBI_DATA, else ../shared/chempy-data (cs_default_data_dir) */
} GceConfig;

PetscErrorCode gce_config_default(GceConfig *c);
/* Options: -scheme discrete|cvode, -time_steps, -rtol, -atol, -gce_cohorts, -yields tng|alt,
   -cosmic_accretion_factor, -data_dir. */
PetscErrorCode gce_config_set_from_options(GceConfig *c);
/* "scheme=..;time_steps=..;rtol=..;atol=..;cohorts=..;yields=..;cosmic_accretion_factor=.."
   (fields that do not apply to the scheme are 0): everything that changes CHEMPY's output
   except the data directory. Fields are ';'-separated name=value pairs, so two strings can
   be compared field by field. */
PetscErrorCode gce_config_string(const GceConfig *c, char *s, size_t len);
/* The CHEMPY part (from the last "scheme=") of a recorded configuration string, in the
   current layout: strings written before cohorts and cosmic_accretion_factor were recorded
   get the values those files were made with (24 cohorts for cvode, factor 1). "" if the
   string has no CHEMPY part. */
PetscErrorCode gce_config_string_complete(const char *in, char *out, size_t len);
/* Do two configuration strings describe different CHEMPY models (yield set or cosmic
   accretion factor; the numerical fields scheme, time steps, tolerances and cohorts are
   discretisations of one model and are not compared)? If so, fa and fb get the first
   differing "name=value" of a and b. */
PetscBool gce_config_string_model_differs(const char *a, const char *b, char *fa, char *fb, size_t len);

typedef struct {
  long steps, rhs_evals, err_test_fails, nonlin_fails; /* summed over the run (cvode; 0 for discrete) */
  int cvode_flag;                                      /* last CVODE return flag (0 when fine) */
  double cvode_seconds;                                /* wall time spent inside CVode() (cvode scheme) */
} GceRunStats;

typedef struct GceWork GceWork;
PetscErrorCode gce_work_create(const GceYields *y, const GceConfig *c, GceWork **w);
PetscErrorCode gce_work_destroy(GceWork **w);

/* theta order: alpha_IMF, log10_N_Ia, log10_SFE, log10_SFR_peak, x_out, birth_time_Gyr.
   abund order: C_Fe, Fe_H, He_Fe, Mg_Fe, N_Fe, Ne_Fe, O_Fe, Si_Fe (NaN when status != GCE_OK).
   Per-row problems go to *status (never a PETSc error); PETSc errors only for real faults.
   stats may be NULL. */
/* theta in CS_PARAMETERS order; abund the CS_OBSERVABLES (vars.h). */
PetscErrorCode gce_run(GceWork *w, const double theta[CS_NPARAM], double abund[CS_NELEM], GceStatus *status,
                       GceRunStats *stats);

/* The continuum 5% rule of the cvode scheme: is the SFR at the birth time T
   [Gyr] at least 5% of the mean SFR over the age of the Universe, for the SFR
   peak parameter log10_s? Depends on (log10_s, T) only, so inference can keep
   the locals' prior off the region CHEMPY rejects without running it. */
PetscBool gce_sfr_rule_accepts(double log10_s, double T);

/* Trajectory of the last gce_run (valid until the next run on w): n rows of
   GCE_HIST_NCOL columns, row-major: time [Gyr], the CS_NELEM observables (abund
   order), ISM gas mass, corona gas mass, ISM metallicity. Discrete: one row per grid point;
   cvode: one row per cohort boundary. Empty (n = 0) after a rejection before the run. */
#define GCE_HIST_NCOL (CS_NELEM + 4)
extern const char *const gce_hist_names[GCE_HIST_NCOL];
PetscErrorCode gce_history_get(GceWork *w, PetscInt *n, const double **rows);

/* Mass budget of the last successful run, in units of the stellar mass formed by T:
   ism + corona = gas0 + accreted - formed + returned must hold (closes to rounding for
   the discrete scheme; to the integration/constraint tolerance for cvode, where
   `formed` is the prescribed integral of the SFR). formed - returned is what sits in
   stars, remnants and the lost channels (untraced species, AGB cut, top IMF point). */
typedef struct {
  double gas0;     /* ISM + corona at the start */
  double accreted; /* cosmic accretion into the corona */
  double formed;   /* stars formed */
  double returned; /* stellar feedback returned to ISM + corona (9 traced elements) */
  double ism, corona;
} GceBudget;
PetscErrorCode gce_budget_get(const GceWork *w, GceBudget *b);

/* The nine CHEMPY outputs including [H/Fe] = -[Fe/H], in CHEMPY's order
   (C_Fe, Fe_H, H_Fe, He_Fe, Mg_Fe, N_Fe, Ne_Fe, O_Fe, Si_Fe), of the last run. */
PetscErrorCode gce_last_abund9(const GceWork *w, double abund9[9]);

#endif
