/* The model's parameters and observables as data: one row each. Every count,
 * name list, order, bound and prior of the program derives from these two
 * tables, and every model file stores the names it was trained on. Adding a
 * row (plus its physics) adds a parameter or an observable. */
#ifndef CHEMPYSBI_VARS_H
#define CHEMPYSBI_VARS_H

/* Observables, in the column order of every file and network:
 * X(name, unit, CHEMPY element) where the element (C, FE, H, HE, MG, N, NE,
 * O, SI: gce_internal.h) picks CHEMPY's abundance ratio for it ([Fe/H] for
 * FE, [X/Fe] otherwise). */
#define CS_OBSERVABLES(X)                                                                                              \
  X(C_Fe, "dex", C)                                                                                                    \
  X(Fe_H, "dex", FE)                                                                                                   \
  X(He_Fe, "dex", HE)                                                                                                  \
  X(Mg_Fe, "dex", MG)                                                                                                  \
  X(N_Fe, "dex", N)                                                                                                    \
  X(Ne_Fe, "dex", NE)                                                                                                  \
  X(O_Fe, "dex", O)                                                                                                    \
  X(Si_Fe, "dex", SI)

/* Parameters (pipeline.md section 1), in the order of every file and network:
 * X(name, unit, hard lo, hard hi, prior, a, b, wide lo, wide hi). The hard
 * bounds are the model's (CHEMPY rejects theta outside them). The NPE prior
 * is NORMAL (mean a, sd b, truncated to the hard bounds; the wide training
 * box is then mean +- 5 sd within the hard bounds, wide lo/hi unused) or
 * UNIFORM (on [a, b]; the wide box is [wide lo, wide hi]). */
#define CS_PARAMETERS(X)                                                                                               \
  X(alpha_IMF, "", -4.0, -1.0, NORMAL, -2.3, 0.3, 0, 0)                                                                \
  X(log10_N_Ia, "log10 per Msun", -5.0, -1.0, NORMAL, -2.89, 0.3, 0, 0)                                                \
  X(log10_SFE, "log10 1/Gyr", -3.0, 2.0, NORMAL, -0.3, 0.3, 0, 0)                                                      \
  X(log10_SFR_peak, "log10 Gyr", 0.294, 1.0, NORMAL, 0.55, 0.1, 0, 0)                                                  \
  X(x_out, "fraction", 0.0, 1.0, NORMAL, 0.5, 0.1, 0, 0)                                                               \
  X(birth_time_Gyr, "Gyr", 1.0, 13.8, UNIFORM, 2.0, 12.8, 1.0, 13.8)

#define CS_VARS_ENUM_(name, ...) CS_##name,
/* Indices by name, CS_alpha_IMF ... and CS_C_Fe ...; the counts last. */
enum { CS_PARAMETERS(CS_VARS_ENUM_) CS_NPARAM };
enum { CS_OBSERVABLES(CS_VARS_ENUM_) CS_NELEM };

typedef enum { CS_PRIOR_NORMAL, CS_PRIOR_UNIFORM } CsPriorShape;

typedef struct {
  const char *name, *unit;
  double lo, hi; /* hard model bounds */
  CsPriorShape prior;
  double a, b;             /* NORMAL: mean, sd; UNIFORM: lo, hi */
  double wide_lo, wide_hi; /* UNIFORM: the wide training box */
} CsParameter;

typedef struct {
  const char *name, *unit;
} CsObservable;

extern const CsParameter cs_parameters[CS_NPARAM];
extern const CsObservable cs_observables[CS_NELEM];
extern const char *const cs_param_names[CS_NPARAM];
extern const char *const cs_elem_names[CS_NELEM];
/* The names comma-separated, as files store them ("alpha_IMF,log10_N_Ia,..."). */
extern const char *const cs_param_list, *const cs_elem_list;

#endif
