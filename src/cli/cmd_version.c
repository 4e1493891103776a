/* chempysbi version: what was built and with which libraries. */
#include "cli.h"
#include <chempysbi/h5.h>

PetscErrorCode cmd_version(const ParCtx *ctx)
{
  char libs[1024];
  PetscFunctionBeginUser;
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCall(cs_library_versions(libs, sizeof(libs)));
  PetscCall(PetscPrintf(ctx->comm, "chempysbi %s\n%s\n", cs_version(), libs));
  PetscFunctionReturn(PETSC_SUCCESS);
}
