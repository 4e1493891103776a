/* Public face of the CHEMPY port: configuration and options, the per-run workspace,
 * input validation and the dispatch of gce_run to the discrete or CVODE scheme,
 * plus the abundance conversion and trajectory output shared by both. */
#include "gce_internal.h"
#include <chempysbi/guard.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_NAME(n, u, e) #n,
#define OBS_PICK(n, u, e) E_##e,
const char *const gce_hist_names[GCE_HIST_NCOL] = {"time_Gyr", CS_OBSERVABLES(OBS_NAME) "ism_mass", "corona_mass",
                                                   "ism_Z"};
/* CHEMPY's ratio (abund9 index) of each observable. */
static const int pick[CS_NELEM] = {CS_OBSERVABLES(OBS_PICK)};

const char *gce_status_name(GceStatus s)
{
  switch (s) {
  case GCE_OK:
    return "ok";
  case GCE_REJ_SFR:
    return "rejected_sfr";
  case GCE_REJ_NEGATIVE:
    return "rejected_negative";
  case GCE_REJ_AGE:
    return "rejected_age";
  case GCE_REJ_BOUNDS:
    return "rejected_bounds";
  case GCE_SOLVER_FAILURE:
    return "solver_failure";
  }
  return "unknown";
}

PetscErrorCode gce_config_default(GceConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->scheme = GCE_SCHEME_CVODE;
  c->time_steps = 28;
  c->rtol = 1e-4;
  c->atol = 1e-12;
  c->cohorts = 24;
  PetscCall(PetscStrncpy(c->yields, "tng", sizeof(c->yields)));
  c->cosmic_accretion_factor = 1.0;
  /* env CHEMPYSBI_DATA, else ../shared/chempy-data beside the project (found from the executable). */
  cs_default_data_dir(c->data_dir, sizeof(c->data_dir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_config_set_from_options(GceConfig *c)
{
  const char *schemes[] = {"discrete", "cvode", "GceScheme", "GCE_SCHEME_", NULL};
  PetscEnum sch = (PetscEnum)c->scheme;
  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "CHEMPY chemical evolution model", "gce");
  PetscCall(PetscOptionsEnum("-scheme", "integration scheme: discrete (CHEMPY fixed steps) or cvode (continuous time)",
                             "gce_run", schemes, sch, &sch, NULL));
  PetscCall(PetscOptionsInt("-time_steps", "discrete scheme: CHEMPY time steps N0 (default 28)", "gce_run",
                            c->time_steps, &c->time_steps, NULL));
  PetscCall(PetscOptionsReal("-rtol", "cvode: relative tolerance (default 1e-4)", "gce_run", c->rtol, &c->rtol, NULL));
  PetscCall(PetscOptionsReal(
      "-atol", "cvode: absolute tolerance on masses, in units of the stellar mass formed by T (default 1e-12)",
      "gce_run", c->atol, &c->atol, NULL));
  PetscCall(PetscOptionsInt("-gce_cohorts", "cvode: birth-cohort intervals on [0, T] (default 24)", "gce_run",
                            c->cohorts, &c->cohorts, NULL));
  PetscCall(PetscOptionsString("-yields",
                               "yield set: tng (default) or alt (Thielemann 2003, Nomoto 2013, Karakas 2016)",
                               "gce_yields_load", c->yields, c->yields, sizeof(c->yields), NULL));
  PetscCall(PetscOptionsReal("-cosmic_accretion_factor",
                             "CHEMPY sfr_factor_for_cosmic_accretion: primordial gas accreted by the corona per unit "
                             "mass of stars formed (default 1; the ChempyMulti mock catalogues of Aug 2019: 1e-6)",
                             "gce_run", c->cosmic_accretion_factor, &c->cosmic_accretion_factor, NULL));
  PetscCall(PetscOptionsString(
      "-data_dir", "directory with the CHEMPY data (default: env CHEMPYSBI_DATA, else ../shared/chempy-data)",
      "gce_yields_load", c->data_dir, c->data_dir, sizeof(c->data_dir), NULL));
  PetscOptionsEnd();
  c->scheme = (GceScheme)sch;
  /* Upper bounds: the work per run grows as the square of either count. */
  PetscCall(guard_int_option(PETSC_COMM_WORLD, "-time_steps", c->time_steps, 3, 10000));
  PetscCall(guard_real_option(PETSC_COMM_WORLD, "-rtol", c->rtol, 0, 1));
  PetscCall(guard_real_option(PETSC_COMM_WORLD, "-atol", c->atol, 0, 1));
  PetscCheck(c->rtol > 0 && c->atol > 0, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE,
             "-rtol and -atol must be positive");
  PetscCall(guard_int_option(PETSC_COMM_WORLD, "-gce_cohorts", c->cohorts, 8, 10000));
  PetscCheck(c->cosmic_accretion_factor >= 0 && c->cosmic_accretion_factor <= 1e3, PETSC_COMM_WORLD,
             PETSC_ERR_ARG_OUTOFRANGE, "-cosmic_accretion_factor %g: must lie in [0, 1000]",
             (double)c->cosmic_accretion_factor);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Shortest of %.15g / %.17g that reads back exactly (1e-06, not 9.9999999999999995e-07). */
static void fmt_exact(double v, char *b, size_t len)
{
  snprintf(b, len, "%.15g", v);
  if (strtod(b, NULL) != v) snprintf(b, len, "%.17g", v);
}

PetscErrorCode gce_config_string(const GceConfig *c, char *s, size_t len)
{
  const int cv = c->scheme == GCE_SCHEME_CVODE;
  char f[32];
  PetscFunctionBeginUser;
  fmt_exact(c->cosmic_accretion_factor, f, sizeof(f));
  /* The first five fields keep the layout simulate files had before the others existed. */
  PetscCall(PetscSNPrintf(s, len,
                          "scheme=%s;time_steps=%" PetscInt_FMT ";rtol=%g;atol=%g;yields=%s;cohorts=%" PetscInt_FMT
                          ";cosmic_accretion_factor=%s",
                          cv ? "cvode" : "discrete", cv ? 0 : c->time_steps, (double)c->rtol, (double)c->atol,
                          c->yields, cv ? c->cohorts : 0, f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_config_string_complete(const char *in, char *out, size_t len)
{
  const char *s = NULL;
  PetscFunctionBeginUser;
  /* The last occurrence: a -params path earlier in a simulate config may contain anything. */
  for (const char *q = strstr(in, "scheme="); q; q = strstr(q + 1, "scheme=")) s = q;
  if (!s)
    out[0] = 0;
  else if (strstr(s, ";cosmic_accretion_factor="))
    PetscCall(PetscStrncpy(out, s, len));
  else
    PetscCall(PetscSNPrintf(out, len, "%s;cohorts=%d;cosmic_accretion_factor=1", s,
                            !strncmp(s, "scheme=cvode;", 13) ? 24 : 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "name=value" of field name in a ';'-separated string, or "" if absent. */
static void config_field(const char *s, const char *name, char *out, size_t len)
{
  size_t n = strlen(name);
  out[0] = 0;
  for (const char *q = s; q && *q; q = strchr(q, ';') ? strchr(q, ';') + 1 : NULL)
    if (!strncmp(q, name, n) && q[n] == '=') {
      size_t k = strcspn(q, ";");
      snprintf(out, len, "%.*s", (int)k, q);
    }
}

PetscBool gce_config_string_model_differs(const char *a, const char *b, char *fa, char *fb, size_t len)
{
  static const char *const model[] = {"yields", "cosmic_accretion_factor"};
  for (size_t i = 0; i < sizeof(model) / sizeof(model[0]); i++) {
    config_field(a, model[i], fa, len);
    config_field(b, model[i], fb, len);
    if (fa[0] && fb[0] && strcmp(fa, fb)) return PETSC_TRUE;
  }
  fa[0] = fb[0] = 0;
  return PETSC_FALSE;
}

PetscErrorCode gce_work_create(const GceYields *y, const GceConfig *c, GceWork **wp)
{
  GceWork *w;
  PetscFunctionBeginUser;
  PetscCheck(y && c, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "gce_work_create: yields and config required");
  PetscCall(PetscCalloc1(1, &w));
  w->y = y;
  w->cfg = *c;
  if (c->scheme == GCE_SCHEME_DISCRETE) {
    PetscCall(gce_discrete_create(y, c, &w->disc));
    w->maxhist = c->time_steps;
  } else {
    PetscCall(ode_create(y, c, &w->ode));
    w->maxhist = c->cohorts + 1;
  }
  PetscCall(PetscMalloc2(w->maxhist * GCE_HRAW, &w->hist, w->maxhist * GCE_HIST_NCOL, &w->histout));
  *wp = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_work_destroy(GceWork **wp)
{
  PetscFunctionBeginUser;
  if (!wp || !*wp) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(gce_discrete_destroy(&(*wp)->disc));
  PetscCall(ode_destroy(&(*wp)->ode));
  PetscCall(PetscFree2((*wp)->hist, (*wp)->histout));
  PetscCall(PetscFree(*wp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define PAR_LO(n, u, lo, hi, ...) lo,
#define PAR_HI(n, u, lo, hi, ...) hi,
const double gce_theta_lo[CS_NPARAM] = {CS_PARAMETERS(PAR_LO)};
const double gce_theta_hi[CS_NPARAM] = {CS_PARAMETERS(PAR_HI)};

/* The hard bounds above. The birth time is checked against the 13 Gyr age limit
   first, as the reference does. */
static GceStatus check_theta(const double th[CS_NPARAM], GceParams *p)
{
  const double *lo = gce_theta_lo, *hi = gce_theta_hi;
  for (int i = 0; i < CS_NPARAM; i++)
    if (!isfinite(th[i])) return GCE_REJ_BOUNDS;
  if (GCE_END - th[CS_birth_time_Gyr] > GCE_MAX_AGE) return GCE_REJ_AGE;
  for (int i = 0; i < CS_NPARAM; i++)
    if (th[i] < lo[i] || th[i] > hi[i]) return GCE_REJ_BOUNDS;
  p->alpha = th[CS_alpha_IMF];
  p->n_ia = pow(10.0, th[CS_log10_N_Ia]);
  p->sfe = pow(10.0, th[CS_log10_SFE]);
  p->s = pow(10.0, th[CS_log10_SFR_peak]);
  p->x_out = th[CS_x_out];
  p->T = th[CS_birth_time_Gyr];
  return GCE_OK;
}

PetscErrorCode gce_run(GceWork *w, const double theta[CS_NPARAM], double abund[CS_NELEM], GceStatus *status,
                       GceRunStats *stats)
{
  GceParams p;
  GceRunStats st = {0, 0, 0, 0, 0, 0.0};
  double G9[GCE_NE];
  GceStatus s;
  PetscFunctionBeginUser;
  PetscCheck(w && theta && abund && status, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "gce_run: null argument");
  w->nhist = 0;
  PetscCall(PetscMemzero(&w->budget, sizeof(w->budget)));
  for (int e = 0; e < GCE_NE; e++) w->abund9[e] = NAN;
  s = check_theta(theta, &p);
  if (s == GCE_OK) {
    gce_imf_build(w->y, p.alpha, &w->imf);
    if (w->disc)
      s = gce_discrete_run(w->disc, &p, &w->imf, G9, w->hist, &w->nhist, &w->budget);
    else
      s = ode_run(w->ode, &p, &w->imf, G9, w->hist, &w->nhist, &st, &w->budget);
  }
  /* Non-finite output means an element mass went negative at the unchecked last step. */
  if (s == GCE_OK && gce_abundances(w->y, G9, w->abund9)) s = GCE_REJ_NEGATIVE;
  for (int i = 0; i < CS_NELEM; i++) abund[i] = s == GCE_OK ? w->abund9[pick[i]] : NAN;
  if (s != GCE_OK)
    for (int e = 0; e < GCE_NE; e++) w->abund9[e] = NAN;
  *status = s;
  if (stats) *stats = st;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_budget_get(const GceWork *w, GceBudget *b)
{
  PetscFunctionBeginUser;
  *b = w->budget;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_last_abund9(const GceWork *w, double abund9[9])
{
  PetscFunctionBeginUser;
  for (int e = 0; e < GCE_NE; e++) abund9[e] = w->abund9[e];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode gce_history_get(GceWork *w, PetscInt *n, const double **rows)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < w->nhist; i++) {
    const double *r = w->hist + i * GCE_HRAW;
    double *o = w->histout + i * GCE_HIST_NCOL, a9[GCE_NE];
    o[0] = r[0];
    (void)gce_abundances(w->y, r + 1, a9);
    for (int k = 0; k < CS_NELEM; k++) o[1 + k] = a9[pick[k]];
    for (int k = 0; k < 3; k++) o[1 + CS_NELEM + k] = r[1 + GCE_NE + k]; /* ISM gas, corona gas, ISM Z */
  }
  *n = w->nhist;
  *rows = w->histout;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool gce_sfr_rule_accepts(double log10_s, double T)
{
  /* gamma(k = 2, scale s) SFR: psi(t) = t/s^2 exp(-t/s); its mean over [0, end] is P(2, end/s)/end. */
  const double s = pow(10.0, log10_s), x = T / s, xe = GCE_END / s;
  const double mean = (-expm1(-xe) - xe * exp(-xe)) / GCE_END;
  return x / s * exp(-x) >= 0.05 * mean ? PETSC_TRUE : PETSC_FALSE;
}
