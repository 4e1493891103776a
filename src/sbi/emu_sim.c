/* Training simulations from the emulator (emu_sim.h). */
#include <chempysbi/emu_sim.h>
#include <chempysbi/sim_table.h>

void emu_simulate(Emulator *emu, const Prior *pr, const ObsModel *obs, uint64_t seed, uint64_t first, PetscInt n,
                  double *th, double *x, double *sig)
{
  for (PetscInt i = 0; i < n; i++) prior_sample(pr, seed, RNG_NPE_THETA, first + (uint64_t)i, th + i * CS_NPARAM);
  emu_predict(emu, th, (size_t)n, x);
  sim_observe(obs, seed, first, n, x, sig);
}
