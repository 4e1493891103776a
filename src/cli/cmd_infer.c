/* chempysbi infer: the global parameters from a star catalogue. */
#include "cli.h"
#include <chempysbi/guard.h>
#include <chempysbi/infer.h>

PetscErrorCode cmd_infer(const ParCtx *ctx)
{
  InferConfig c;
  InferOutcome o;
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(infer_config_default(&c));
  PetscCall(infer_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  const PetscBool other = globals_is_other(c.g.method); /* no NPE needed */
  PetscCheck((c.npe[0] || other) && c.stars[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "infer needs -model FILE (-npe is a synonym) -stars FILE (and usually -out FILE)");
  PetscCall(guard_memory(ctx->comm, 8.0 * CS_NPARAM * (double)c.samples, "-samples"));
  const char *in_opt[3] = {"-npe", "-stars", "-emulator"}, *in_path[3] = {c.npe, c.stars, c.emulator};
  if (c.npe[0]) PetscCall(guard_input(ctx->comm, "-npe", c.npe, "train-npe,hdf5"));
  PetscCall(guard_input(ctx->comm, "-stars", c.stars, "catalogue,catalogue-csv,mock-csv,fits,hdf5,text"));
  if (c.emulator[0]) PetscCall(guard_input(ctx->comm, "-emulator", c.emulator, "train-emulator,hdf5"));
  if (c.out[0]) {
    PetscCall(guard_output(ctx->comm, "-out", c.out, "infer", in_opt, in_path, c.emulator[0] ? 3 : 2, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(infer_run(ctx, &c, &o));
  PetscCall(guard_unlock(&lock));
  const CombineResult *r = &o.r;
  char diag[128] = "";
  if (o.method == GLOBALS_HMC)
    PetscCall(PetscSNPrintf(diag, sizeof(diag), " rhat=%.4f ess=%.0f%s", PetscMax(o.rhat[0], o.rhat[1]),
                            PetscMin(o.ess[0], o.ess[1]), o.converged ? "" : " NOT_CONVERGED"));
  else if (!o.converged)
    PetscCall(PetscSNPrintf(diag, sizeof(diag), " NOT_CONVERGED"));
  if (r->pd)
    PetscCall(PetscPrintf(ctx->comm,
                          "RESULT alpha_IMF=%.5f sd=%.5f log10_N_Ia=%.5f sd=%.5f corr=%.4f n_stars=%" PetscInt_FMT
                          " n_skipped=%" PetscInt_FMT " method=%s%s\n",
                          r->mean[0], r->sd[0], r->mean[1], r->sd[1], r->corr, o.nused, o.nskipped,
                          globals_method_names[o.method], diag));
  else
    PetscCall(
        PetscPrintf(ctx->comm,
                    "RESULT not_positive_definite (the combined precision has no valid Gaussian) n_stars=%" PetscInt_FMT
                    " n_skipped=%" PetscInt_FMT " method=%s\n",
                    o.nused, o.nskipped, globals_method_names[o.method]));
  PetscFunctionReturn(PETSC_SUCCESS);
}
