/* The amortised estimators' training simulations (train-npe, train-nre):
 * theta from a prior, the emulator's abundances through an observation
 * model. Row g of the global numbering draws theta from the stream
 * (seed, RNG_NPE_THETA, g) and its noise from (seed, RNG_NPE_NOISE, g), so
 * the rows do not depend on the rank count, and a fixed-noise NPE and an NRE
 * trained with the same seed and noise see the same simulations. */
#ifndef CHEMPYSBI_EMU_SIM_H
#define CHEMPYSBI_EMU_SIM_H

#include <chempysbi/emu.h>
#include <chempysbi/obs.h>
#include <chempysbi/prior.h>

/* Rows first .. first + n - 1: th (n, 6), x (n, 8) [dex] NaN where the model
 * drops an element, sig (n, 8) their errors (NULL: not wanted). */
void emu_simulate(Emulator *emu, const Prior *pr, const ObsModel *obs, uint64_t seed, uint64_t first, PetscInt n,
                  double *th, double *x, double *sig);

/* The observation model on n clean rows x (n, 8) in place: row i draws from
 * (seed, RNG_NPE_NOISE, first + i); sig (n, 8) the errors, NULL if not wanted. */
void sim_observe(const ObsModel *obs, uint64_t seed, uint64_t first, PetscInt n, double *x, double *sig);

#endif
