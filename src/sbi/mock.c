/* Mock stars for `mock` and `coverage` (see mock.h). The attempt index lives in
 * the stream index's upper half and the noise has its own index bit, so the
 * draws of star i never depend on another star. */
#include <chempysbi/mock.h>
#include <math.h>

PetscErrorCode mock_star(MockSpec *m, PetscInt i, double out[MK_NOUT])
{
  GceStatus st = GCE_REJ_BOUNDS;
  PetscFunctionBeginUser;
  for (int a = 0; a < MOCK_MAX_ATTEMPTS && st != GCE_OK; a++) {
    prior_sample(&m->prior, m->seed, RNG_MOCK, (uint64_t)i + ((uint64_t)a << 32), out + MK_TH);
    out[MK_TH + CS_alpha_IMF] = m->alpha;
    out[MK_TH + CS_log10_N_Ia] = m->nia;
    if (m->emu) {
      /* The emulator is trusted only where CHEMPY accepts: the same 5% SFR rule. */
      st = gce_sfr_rule_accepts(out[MK_TH + CS_log10_SFR_peak], out[MK_TH + CS_birth_time_Gyr]) ? GCE_OK : GCE_REJ_SFR;
      if (st == GCE_OK) emu_predict(m->emu, out + MK_TH, 1, out + MK_CLEAN);
    } else
      PetscCall(gce_run(m->work, out + MK_TH, out + MK_CLEAN, &st, NULL));
    out[MK_ATT] = a + 1;
  }
  out[MK_ST] = (double)st;
  if (st != GCE_OK)
    for (int k = 0; k < CS_NELEM; k++) out[MK_CLEAN + k] = NAN;
  Rng r;
  rng_init(&r, m->seed, RNG_MOCK, (uint64_t)i | (UINT64_C(1) << 62));
  /* obs_fixed draws the same eight normals as before errors and gaps existed. */
  ObsModel fixed, *obs = &m->obs;
  unsigned char why[CS_NELEM];
  if (obs->lo == 0 && obs->hi == 0) {
    obs_fixed(m->noise, &fixed);
    obs = &fixed;
  }
  obs_draw(obs, &r, out + MK_CLEAN, out + MK_NOISY, out + MK_SIG, why);
  if (m->tmpl_err) { /* the template star's errors and gaps, noise of those errors (the same normals) */
    const double *te = m->tmpl_err + (i % m->ntmpl) * CS_NELEM;
    Rng rt;
    rng_init(&rt, m->seed, RNG_MOCK, (uint64_t)i | (UINT64_C(1) << 62));
    for (int k = 0; k < CS_NELEM; k++) {
      double z = rng_normal(&rt);
      why[k] = isfinite(te[k]) ? OBS_PRESENT : OBS_PATTERN;
      out[MK_SIG + k] = isfinite(te[k]) ? te[k] : NAN;
      out[MK_NOISY + k] = out[MK_CLEAN + k] + (isfinite(te[k]) ? te[k] : 0) * z;
    }
  }
  for (int k = 0; k < CS_NELEM; k++) out[MK_WHY + k] = why[k];
  PetscFunctionReturn(PETSC_SUCCESS);
}
