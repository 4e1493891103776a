/* chempysbi train-npe: fit the neural posterior estimator on emulator simulations. */
#include "cli.h"
#include <chempysbi/npe_train.h>

PetscErrorCode cmd_train_npe(const ParCtx *ctx)
{
  NpeTrainConfig c;
  PetscFunctionBeginUser;
  PetscCall(npe_train_config_default(&c));
  PetscCall(npe_train_set_from_options(ctx->comm, &c));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.emulator[0] && c.out[0], ctx->comm, PETSC_ERR_ARG_WRONG, "train-npe needs -emulator FILE -out FILE");
  PetscCall(npe_train_run(ctx, &c));
  PetscFunctionReturn(PETSC_SUCCESS);
}
