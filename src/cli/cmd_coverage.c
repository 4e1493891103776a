/* chempysbi coverage: galaxy-level calibration of an inference method. */
#include "cli.h"
#include <chempysbi/coverage.h>
#include <chempysbi/guard.h>

PetscErrorCode cmd_coverage(const ParCtx *ctx)
{
  CoverageConfig c;
  CoverageSummary s;
  double *rows;
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(coverage_config_default(&c));
  PetscCall(coverage_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  const PetscBool other = globals_is_other(c.g.method); /* no NPE needed */
  PetscCheck(c.npe[0] || other, ctx->comm, PETSC_ERR_ARG_WRONG,
             "coverage needs -model FILE (-npe is a synonym; and usually -out FILE)");
  if (c.npe[0]) PetscCall(guard_input(ctx->comm, "-npe", c.npe, "train-npe,hdf5"));
  if (c.emulator[0]) PetscCall(guard_input(ctx->comm, "-emulator", c.emulator, "train-emulator,hdf5"));
  if (c.out[0]) {
    const char *in_opt[2] = {"-npe", "-emulator"}, *in_path[2] = {c.npe, c.emulator};
    PetscCall(guard_output(ctx->comm, "-out", c.out, "coverage", in_opt, in_path, 2, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(coverage_run(ctx, &c, &rows, &s));
  PetscCall(guard_unlock(&lock));
  double u = 1 / sqrt(2.0 * PetscMax(1, s.galaxies - 1)); /* sd of a sample sd of unit normals */
  PetscCall(PetscPrintf(ctx->comm,
                        "coverage: %" PetscInt_FMT " galaxies of %" PetscInt_FMT
                        " stars; z sd known to +-%.0f%%; 95%% coverage known to +-%.3f\n",
                        s.galaxies, c.n_stars, 100 * u, sqrt(0.95 * 0.05 / PetscMax(1, s.galaxies))));
  PetscCall(PetscPrintf(
      ctx->comm,
      "COVERAGE method=%s n_stars=%" PetscInt_FMT " galaxies=%" PetscInt_FMT
      " z_alpha_mean=%.3f z_alpha_sd=%.3f z_NIa_mean=%.3f z_NIa_sd=%.3f cover68=%.3f cover95=%.3f "
      "cover95_2d=%.3f cover95_alpha=%.3f cover95_NIa=%.3f cover68_2d=%.3f mock=%s converged=%" PetscInt_FMT "\n",
      globals_method_names[c.g.method], c.n_stars, s.galaxies, s.zmean[0], s.zsd[0], s.zmean[1], s.zsd[1],
      0.5 * (s.cover68[0] + s.cover68[1]), 0.5 * (s.cover95[0] + s.cover95[1]), s.cover95_2d, s.cover95[0],
      s.cover95[1], s.cover68_2d, c.mock_emulator ? "emulator" : "chempy", s.nconverged));
  PetscCall(PetscFree(rows));
  PetscFunctionReturn(PETSC_SUCCESS);
}
