/* chempysbi infer: the global parameters from a star catalogue. */
#include "cli.h"
#include <chempysbi/guard.h>
#include <chempysbi/infer.h>

PetscErrorCode cmd_infer(const ParCtx *ctx)
{
  InferConfig c;
  CombineResult r;
  PetscInt nused, nskip;
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(infer_config_default(&c));
  PetscCall(infer_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.npe[0] && c.stars[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "infer needs -npe FILE -stars FILE (and usually -out FILE)");
  PetscCall(guard_memory(ctx->comm, 8.0 * CS_NPARAM * (double)c.samples, "-samples"));
  const char *in_opt[2] = {"-npe", "-stars"}, *in_path[2] = {c.npe, c.stars};
  PetscCall(guard_input(ctx->comm, "-npe", c.npe, "train-npe,hdf5"));
  PetscCall(guard_input(ctx->comm, "-stars", c.stars, "catalogue,catalogue-csv,mock-csv,fits,hdf5,text"));
  if (c.out[0]) {
    PetscCall(guard_output(ctx->comm, "-out", c.out, "infer", in_opt, in_path, 2, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(infer_run(ctx, &c, &r, &nused, &nskip));
  PetscCall(guard_unlock(&lock));
  if (r.pd)
    PetscCall(PetscPrintf(ctx->comm,
                          "RESULT alpha_IMF=%.5f sd=%.5f log10_N_Ia=%.5f sd=%.5f corr=%.4f n_stars=%" PetscInt_FMT
                          " n_skipped=%" PetscInt_FMT "\n",
                          r.mean[0], r.sd[0], r.mean[1], r.sd[1], r.corr, nused, nskip));
  else
    PetscCall(
        PetscPrintf(ctx->comm,
                    "RESULT not_positive_definite (the combined precision has no valid Gaussian) n_stars=%" PetscInt_FMT
                    " n_skipped=%" PetscInt_FMT "\n",
                    nused, nskip));
  PetscFunctionReturn(PETSC_SUCCESS);
}
