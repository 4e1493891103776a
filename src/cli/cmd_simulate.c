/* chempysbi simulate: placeholder until the CHEMPY module lands. */
#include "cli.h"

PetscErrorCode cmd_simulate(const ParCtx *ctx)
{
  PetscFunctionBeginUser;
  SETERRQ(ctx->comm, PETSC_ERR_SUP, "simulate is not built yet");
}
