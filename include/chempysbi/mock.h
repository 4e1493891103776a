/* Mock stars: local parameters from the Gaussian prior, redrawn until CHEMPY
 * accepts them (the simulator's own support), fixed globals, Gaussian noise.
 * Star i of a galaxy uses streams keyed by (seed, RNG_MOCK, i), so a galaxy is
 * the same whichever rank makes which star. Used by `mock` and `coverage`. */
#ifndef CHEMPYSBI_MOCK_H
#define CHEMPYSBI_MOCK_H

#include <chempysbi/emu.h>
#include <chempysbi/gce.h>
#include <chempysbi/obs.h>
#include <chempysbi/prior.h>

/* One mock star as a row: status, attempts, theta, clean and noisy abundances,
 * sigma [dex] and why each element is missing (OBS_PRESENT/RANDOM/PATTERN). */
enum {
  MK_ST = 0,
  MK_ATT = 1,
  MK_TH = 2,
  MK_CLEAN = MK_TH + CS_NPARAM,
  MK_NOISY = MK_CLEAN + CS_NELEM,
  MK_SIG = MK_NOISY + CS_NELEM,
  MK_WHY = MK_SIG + CS_NELEM,
  MK_NOUT = MK_WHY + CS_NELEM
};
#define MOCK_MAX_ATTEMPTS 200

typedef struct {
  Prior prior;       /* locals are drawn from it (PRIOR_GAUSS) */
  double alpha, nia; /* the galaxy's globals */
  double noise;      /* [dex] Gaussian noise on every abundance (when obs is unset) */
  ObsModel obs;      /* per-star errors and missing elements; all zero: obs_fixed(noise) */
  /* Errors and gaps copied from a template catalogue (mock -errors_from): star i takes template
   * star i mod ntmpl's sigma (8) and its missing elements; NULL: drawn from obs. */
  const double *tmpl_err; /* (ntmpl, 8) [dex], NaN = missing */
  PetscInt ntmpl;
  uint64_t seed; /* stream seed of this galaxy */
  GceWork *work; /* CHEMPY workspace (used when emu is NULL) */
  Emulator *emu; /* diagnostic: abundances from the emulator instead of CHEMPY */
} MockSpec;

/* Star i into out[MK_NOUT]. Status is the last CHEMPY status (0 = accepted);
 * after MOCK_MAX_ATTEMPTS rejections the clean values are NaN. */
PetscErrorCode mock_star(MockSpec *m, PetscInt i, double out[MK_NOUT]);

#endif
