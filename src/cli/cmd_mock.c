/* chempysbi mock: a mock galaxy made with the real CHEMPY simulator (or, as a
 * diagnostic, the emulator), with the true values in extra columns. */
#include "cli.h"
#include <chempysbi/csv.h>
#include <chempysbi/farm.h>
#include <chempysbi/guard.h>
#include <chempysbi/mock.h>
#include <math.h>

typedef struct {
  MockSpec spec;
  double *rows; /* rank 0: (n, MK_NOUT) */
} MockJob;

static PetscErrorCode mock_compute(void *vctx, PetscInt i, double *out)
{
  PetscFunctionBeginUser;
  PetscCall(mock_star(&((MockJob *)vctx)->spec, i, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode mock_store(void *vctx, PetscInt n, const PetscInt *rows, const double *out)
{
  MockJob *m = (MockJob *)vctx;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscArraycpy(m->rows + rows[i] * MK_NOUT, out + i * MK_NOUT, MK_NOUT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode mock_write(const char *path, PetscInt n, const MockJob *m)
{
  enum { NC = 1 + 3 * CS_NELEM + CS_NPARAM };
  char names_buf[NC][48];
  const char *names[NC];
  double *t;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(names_buf[0], 48, "id"));
  for (int k = 0; k < CS_NELEM; k++) {
    PetscCall(PetscSNPrintf(names_buf[1 + k], 48, "%s", cs_elem_names[k]));
    PetscCall(PetscSNPrintf(names_buf[1 + CS_NELEM + k], 48, "%s_err", cs_elem_names[k]));
    PetscCall(PetscSNPrintf(names_buf[1 + 2 * CS_NELEM + CS_NPARAM + k], 48, "true_%s", cs_elem_names[k]));
  }
  for (int k = 0; k < CS_NPARAM; k++)
    PetscCall(PetscSNPrintf(names_buf[1 + 2 * CS_NELEM + k], 48, "true_%s", cs_param_names[k]));
  for (int c = 0; c < NC; c++) names[c] = names_buf[c];
  PetscCall(PetscMalloc1(n * NC, &t));
  for (PetscInt i = 0; i < n; i++) {
    const double *o = m->rows + i * MK_NOUT;
    double *w = t + i * NC;
    w[0] = (double)i;
    for (int k = 0; k < CS_NELEM; k++) {
      w[1 + k] = o[MK_ST] == 0 ? o[MK_NOISY + k] : NAN;
      w[1 + CS_NELEM + k] = m->spec.noise;
      w[1 + 2 * CS_NELEM + CS_NPARAM + k] =
          o[MK_ST] == 0 ? o[MK_CLEAN + k] : NAN; /* no accepted run: nothing true to report */
    }
    for (int k = 0; k < CS_NPARAM; k++) w[1 + 2 * CS_NELEM + k] = o[MK_TH + k];
  }
  PetscCall(csv_write(path, NC, names, n, t));
  PetscCall(PetscFree(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cmd_mock(const ParCtx *ctx)
{
  MockJob m = {.spec = {.alpha = -2.3, .nia = -2.89, .noise = 0.05}};
  PetscInt seed = 7;
  GceConfig gc;
  GceYields *y;
  PetscInt n = 1000, *pending = NULL;
  char out[PETSC_MAX_PATH_LEN] = "", emu_path[PETSC_MAX_PATH_LEN] = "";
  FarmSummary sum;
  PetscBool force;
  GuardLock lock;
  PetscFunctionBeginUser;
  PetscCall(gce_config_default(&gc));
  PetscOptionsBegin(ctx->comm, NULL, "mock: a mock galaxy from the real CHEMPY simulator", "mock");
  PetscCall(PetscOptionsInt("-n", "number of stars", NULL, n, &n, NULL));
  PetscCall(
      PetscOptionsReal("-alpha_IMF", "true high-mass IMF slope (global)", NULL, m.spec.alpha, &m.spec.alpha, NULL));
  PetscCall(PetscOptionsReal("-log10_N_Ia", "true SN Ia normalisation, log10 per Msun (global)", NULL, m.spec.nia,
                             &m.spec.nia, NULL));
  PetscCall(PetscOptionsReal("-noise", "Gaussian observational noise [dex]", NULL, m.spec.noise, &m.spec.noise, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed (star i uses streams keyed by i)", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsString("-out", "output catalogue (.csv)", NULL, out, out, sizeof(out), NULL));
  PetscCall(PetscOptionsString("-emulator", "diagnostic only: make the abundances with this emulator instead of CHEMPY",
                               NULL, emu_path, emu_path, sizeof(emu_path), NULL));
  PetscOptionsEnd();
  PetscCall(cli_force_option(ctx->comm, &force));
  PetscCall(gce_config_set_from_options(&gc));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(n > 0, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n %" PetscInt_FMT ": must be positive", n);
  PetscCheck(out[0], ctx->comm, PETSC_ERR_ARG_WRONG, "mock needs -out FILE.csv");
  PetscCall(guard_int_option(ctx->comm, "-n", n, 1, PETSC_MAX_INT / (2 * MK_NOUT)));
  PetscCall(guard_int_option(ctx->comm, "-seed", seed, 0, PETSC_MAX_INT));
  PetscCall(guard_real_option(ctx->comm, "-noise", m.spec.noise, 0, 10));
  PetscCall(guard_real_option(ctx->comm, "-alpha_IMF", m.spec.alpha, -PETSC_MAX_REAL, PETSC_MAX_REAL));
  PetscCall(guard_real_option(ctx->comm, "-log10_N_Ia", m.spec.nia, -PETSC_MAX_REAL, PETSC_MAX_REAL));
  PetscCall(guard_memory(ctx->comm, 8.0 * (double)n * (2 * MK_NOUT + 1), "-n"));
  const char *in_opt[1] = {"-emulator"}, *in_path[1] = {emu_path};
  if (emu_path[0]) PetscCall(guard_input(ctx->comm, "-emulator", emu_path, "train-emulator,hdf5"));
  PetscCall(guard_output(ctx->comm, "-out", out, "mock-csv", in_opt, in_path, 1, force));
  PetscCall(guard_lock(ctx->comm, out, &lock));
  PetscCall(prior_init(PRIOR_GAUSS, &m.spec.prior));
  m.spec.seed = (uint64_t)seed;
  double th[CS_NPARAM] = {m.spec.alpha,         m.spec.nia,           m.spec.prior.mean[2],
                          m.spec.prior.mean[3], m.spec.prior.mean[4], m.spec.prior.mean[5]};
  PetscCheck(prior_contains(&m.spec.prior, th), ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-alpha_IMF %g / -log10_N_Ia %g lie outside the model's bounds", m.spec.alpha, m.spec.nia);
  if (emu_path[0]) PetscCall(emu_read_h5(emu_path, "/emulator", 16, &m.spec.emu));
  PetscCall(gce_yields_load(gc.data_dir, gc.yields, &y));
  PetscCall(gce_work_create(y, &gc, &m.spec.work));
  if (ctx->rank == 0) {
    PetscCall(PetscMalloc2(n * MK_NOUT, &m.rows, n, &pending));
    for (PetscInt i = 0; i < n; i++) pending[i] = i;
  }
  FarmSpec spec = {
      .nout = MK_NOUT, .compute = mock_compute, .store = mock_store, .ctx = &m, .what = "mock", .progress_every = 5};
  PetscCall(farm_run(ctx, &spec, n, pending, n, 0, &sum));
  if (ctx->rank == 0) {
    PetscInt failed = 0;
    char gce[512];
    PetscCall(gce_config_string(&gc, gce, sizeof(gce)));
    for (PetscInt i = 0; i < n; i++) failed += m.rows[i * MK_NOUT + MK_ST] != 0;
    PetscCall(mock_write(out, n, &m));
    PetscCall(
        PetscPrintf(PETSC_COMM_SELF,
                    "mock: %" PetscInt_FMT
                    " stars from %s (alpha_IMF %g, log10_N_Ia %g, noise %g dex, yields %s) in %.2f s; %" PetscInt_FMT
                    " without an accepted CHEMPY run (NaN)\nCHEMPY configuration: %s\nwrote %s\n",
                    n, m.spec.emu ? "the EMULATOR (diagnostic)" : "CHEMPY", m.spec.alpha, m.spec.nia, m.spec.noise,
                    gc.yields, sum.seconds, failed, gce, out));
    PetscCall(PetscFree2(m.rows, pending));
  }
  PetscCall(gce_work_destroy(&m.spec.work));
  PetscCall(gce_yields_destroy(&y));
  PetscCall(emu_destroy(&m.spec.emu));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}
