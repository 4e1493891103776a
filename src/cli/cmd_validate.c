/* chempysbi validate: calibration of the NPE on test cases from its own prior,
 * observed through CHEMPY (default) or the emulator; ends with one greppable
 * VALIDATION line. */
#include "cli.h"
#include <chempysbi/guard.h>
#include <chempysbi/validate.h>

PetscErrorCode cmd_validate(const ParCtx *ctx)
{
  ValidateConfig c;
  ValidateSummary s;
  char line[1024];
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(validate_config_default(&c));
  PetscCall(validate_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCall(validate_check_config(ctx->comm, &c));
  const char *in_opt[2] = {"-npe", "-emulator"}, *in_path[2] = {c.npe, c.emulator};
  PetscCall(guard_input(ctx->comm, "-npe", c.npe, "train-npe,hdf5"));
  if (c.emulator[0]) PetscCall(guard_input(ctx->comm, "-emulator", c.emulator, "train-emulator,hdf5"));
  if (c.out[0]) {
    PetscCall(guard_output(ctx->comm, "-out", c.out, "validate", in_opt, in_path, 2, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(validate_run(ctx, &c, &s));
  PetscCall(guard_unlock(&lock));
  PetscCall(validate_summary_line(&s, line, sizeof(line)));
  PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}
