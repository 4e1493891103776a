/* chempysbi train-npe: fit the neural posterior estimator on emulator simulations. */
#include "cli.h"
#include <chempysbi/guard.h>
#include <chempysbi/npe_train.h>

PetscErrorCode cmd_train_npe(const ParCtx *ctx)
{
  NpeTrainConfig c;
  PetscBool force;
  GuardLock lock;
  PetscFunctionBeginUser;
  PetscCall(npe_train_config_default(&c));
  PetscCall(npe_train_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.emulator[0] && c.out[0], ctx->comm, PETSC_ERR_ARG_WRONG, "train-npe needs -emulator FILE -out FILE");
  const char *in_opt[3] = {"-emulator", "-init", "-table"}, *in_path[3] = {c.emulator, c.init, c.table};
  PetscCall(guard_input(ctx->comm, "-emulator", c.emulator, "train-emulator,hdf5"));
  if (c.init[0]) PetscCall(guard_input(ctx->comm, "-init", c.init, "train-npe,hdf5"));
  if (c.table[0]) PetscCall(guard_input(ctx->comm, "-table", c.table, "simulate,hdf5"));
  PetscCall(guard_output(ctx->comm, "-out", c.out, "train-npe", in_opt, in_path, 3, force || c.resume));
  PetscCall(guard_lock(ctx->comm, c.out, &lock));
  PetscCall(npe_train_run(ctx, &c));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}
