/* chempysbi infer: the global parameters from a star catalogue. */
#include "cli.h"
#include <chempysbi/infer.h>

PetscErrorCode cmd_infer(const ParCtx *ctx)
{
  InferConfig c;
  CombineResult r;
  PetscInt nused, nskip;
  PetscFunctionBeginUser;
  PetscCall(infer_config_default(&c));
  PetscCall(infer_set_from_options(ctx->comm, &c));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.npe[0] && c.stars[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "infer needs -npe FILE -stars FILE (and usually -out FILE)");
  PetscCall(infer_run(ctx, &c, &r, &nused, &nskip));
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
