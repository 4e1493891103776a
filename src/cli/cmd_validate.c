/* chempysbi validate: calibration of the NPE on test cases from its own prior,
 * observed through CHEMPY (default) or the emulator; ends with one greppable
 * VALIDATION line. */
#include "cli.h"
#include <chempysbi/validate.h>

PetscErrorCode cmd_validate(const ParCtx *ctx)
{
  ValidateConfig c;
  ValidateSummary s;
  char line[1024];
  PetscFunctionBeginUser;
  PetscCall(validate_config_default(&c));
  PetscCall(validate_set_from_options(ctx->comm, &c));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCall(validate_check_config(ctx->comm, &c));
  PetscCall(validate_run(ctx, &c, &s));
  PetscCall(validate_summary_line(&s, line, sizeof(line)));
  PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}
