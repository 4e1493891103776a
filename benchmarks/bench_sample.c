/* Posterior sampling throughput on one core through npe_sample, the path infer
 * and validate use: base normals from the counter RNG, the MAF inverse, the
 * z-scoring undone and the prior-support rejection. Target (issue 6): 1e6
 * samples per second per core. Uses a trained model with -npe FILE, else a
 * randomly initialised flow of the paper's size (4 transforms x 8 hidden)
 * whose output is rescaled to the prior's mean and sd, so most samples land in
 * the support as for a trained NPE. Observations come from -emulator FILE (prior draw + the
 * NPE's noise, as in validate) or else from the NPE's z-scoring of x.
 * Run: OPENBLAS_NUM_THREADS=1 bin/bench/bench_sample [-npe output/npe.h5 [-emulator output/emulator.h5]]
 *      [-calls 2000] [-samples 1000] */
#include <chempysbi/emu.h>
#include <chempysbi/maf.h>
#include <chempysbi/npe.h>
#include <chempysbi/rng.h>
#include <math.h>
#include <time.h>

static PetscErrorCode bench(Npe *npe, Emulator *emu, const char *what, PetscInt calls, PetscInt samples)
{
  double *theta, x[CS_NELEM], secs;
  PetscInt drawn = 0, accepted = 0, capped = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(samples * CS_NPARAM, &theta));
  /* Observations, each call a different one: the emulator at a prior draw
   * plus noise, or the training-set mean scattered by 1 sd per abundance. */
  double t0 = cs_wtime(), tsim = 0;
  clock_t c0 = clock();
  for (PetscInt c = 0; c < calls; c++) {
    NpeSampleStats st;
    Rng r;
    double ts = cs_wtime(), th[CS_NPARAM];
    rng_init(&r, 9, RNG_TEST, (uint64_t)c);
    if (emu) {
      prior_sample(&npe->prior, 9, RNG_VALIDATE, (uint64_t)c, th);
      emu_predict(emu, th, 1, x);
      for (int k = 0; k < CS_NELEM; k++) x[k] += npe->noise * rng_normal(&r);
    } else
      for (int k = 0; k < CS_NELEM; k++) x[k] = npe->x_mean[k] + npe->x_sd[k] * rng_normal(&r);
    tsim += cs_wtime() - ts;
    PetscCall(npe_sample(npe, x, samples, 1, RNG_POSTERIOR, (uint64_t)c, 100 * samples, theta, &st));
    drawn += st.drawn;
    accepted += st.accepted;
    capped += st.capped;
  }
  secs = cs_wtime() - t0 - tsim;
  /* CPU time as well: on a shared machine the wall clock undercounts a core. */
  double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC - tsim;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH npe_sample model=%s calls=%" PetscInt_FMT " samples_per_call=%" PetscInt_FMT
                        " seconds=%.3f cpu_seconds=%.3f samples_per_s=%.3g samples_per_cpu_s=%.3g draws_per_cpu_s=%.3g "
                        "acceptance=%.3f capped_calls=%" PetscInt_FMT " target=1e6 %s\n",
                        what, calls, samples, secs, cpu, accepted / secs, accepted / cpu, drawn / cpu,
                        (double)accepted / PetscMax(drawn, 1), capped, accepted / cpu >= 1e6 ? "met" : "NOT_MET"));
  PetscCall(PetscFree(theta));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  char path[PETSC_MAX_PATH_LEN] = "", epath[PETSC_MAX_PATH_LEN] = "";
  Emulator *emu = NULL;
  PetscInt calls = 2000, samples = 1000;
  PetscBool set;
  Npe *npe;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-npe", path, sizeof(path), &set));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-emulator", epath, sizeof(epath), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-calls", &calls, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-samples", &samples, NULL));
  if (set)
    PetscCall(npe_read_h5(path, "/npe", 1024, &npe));
  else {
    /* A fresh paper-size flow; its (wide) output spread at x = 0 is measured
     * and mapped onto the prior's mean and sd. */
    enum { M = 20000 };
    double *z, *t, c[CS_NELEM] = {0}, m[CS_NPARAM] = {0}, v[CS_NPARAM] = {0};
    Rng r;
    PetscCall(npe_create(4, 8, 2, 1024, &npe));
    PetscCall(npe->est->ops->init(npe->est, 1));
    PetscCall(PetscMalloc2(M * CS_NPARAM, &z, M * CS_NPARAM, &t));
    rng_init(&r, 1, RNG_TEST, 0);
    for (int i = 0; i < M * CS_NPARAM; i++) z[i] = rng_normal(&r);
    estimator_sample(npe->est, c, z, M, t);
    for (int i = 0; i < M; i++)
      for (int k = 0; k < CS_NPARAM; k++) m[k] += t[i * CS_NPARAM + k] / M;
    for (int i = 0; i < M; i++)
      for (int k = 0; k < CS_NPARAM; k++) v[k] += (t[i * CS_NPARAM + k] - m[k]) * (t[i * CS_NPARAM + k] - m[k]) / M;
    for (int k = 0; k < CS_NPARAM; k++) {
      npe->th_sd[k] = npe->prior.sd[k] / sqrt(v[k]);
      npe->th_mean[k] = npe->prior.mean[k] - npe->th_sd[k] * m[k];
    }
    PetscCall(PetscFree2(z, t));
  }
  if (epath[0]) PetscCall(emu_read_h5(epath, "/emulator", 16, &emu));
  const char *what = set ? path : "random_4x8";
  const Maf *maf = (const Maf *)npe->est->impl; /* a MAF: the only estimator with these sizes */
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "bench_sample: %s, flow %d transforms x %d hidden, %d blocks\n", what, maf->K,
                        maf->H, maf->nblocks));
  /* Per-star calls as infer and validate make them, then one long call. */
  PetscCall(bench(npe, emu, what, calls, samples));
  PetscCall(bench(npe, emu, what, 2, 1000000));
  if (emu) PetscCall(emu_destroy(&emu));
  PetscCall(npe_destroy(&npe));
  PetscCall(PetscFinalize());
  return 0;
}
