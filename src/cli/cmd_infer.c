/* chempysbi infer: the global parameters from a star catalogue. */
#include "cli.h"
#include <chempysbi/infer.h>

PetscErrorCode cmd_infer(const ParCtx *ctx)
{
  InferConfig c;
  InferOutcome o;
  PetscFunctionBeginUser;
  PetscCall(infer_config_default(&c));
  PetscCall(infer_set_from_options(ctx->comm, &c));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.npe[0] && c.stars[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "infer needs -npe FILE -stars FILE (and usually -out FILE)");
  PetscCall(infer_run(ctx, &c, &o));
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
