/* Training simulations from the emulator (emu_sim.h). */
#include <chempysbi/emu_sim.h>
#include <string.h>

void sim_observe(const ObsModel *obs, uint64_t seed, uint64_t first, PetscInt n, double *x, double *sig)
{
  for (PetscInt i = 0; i < n; i++) {
    Rng r;
    double clean[CS_NELEM], s[CS_NELEM], *xi = x + i * CS_NELEM, *si = sig ? sig + i * CS_NELEM : s;
    unsigned char why[CS_NELEM];
    rng_init(&r, seed, RNG_NPE_NOISE, first + (uint64_t)i);
    memcpy(clean, xi, sizeof(clean));
    obs_draw(obs, &r, clean, xi, si, why);
    obs_mask(why, xi, si);
  }
}

void emu_simulate(Emulator *emu, const Prior *pr, const ObsModel *obs, uint64_t seed, uint64_t first, PetscInt n,
                  double *th, double *x, double *sig)
{
  for (PetscInt i = 0; i < n; i++) prior_sample(pr, seed, RNG_NPE_THETA, first + (uint64_t)i, th + i * CS_NPARAM);
  emu_predict(emu, th, (size_t)n, x);
  sim_observe(obs, seed, first, n, x, sig);
}
