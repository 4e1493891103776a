/* chempysbi abc: rejection ABC of each star's parameters on a stored
 * simulation table; with -cases, on a validate run's test cases and
 * calibrated like validate (ends with the VALIDATION line too). Ends with one
 * greppable ABC line. */
#include "cli.h"
#include <chempysbi/abc_run.h>
#include <chempysbi/guard.h>

PetscErrorCode cmd_abc(const ParCtx *ctx)
{
  AbcConfig c;
  AbcSummary s;
  char line[1024];
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(abc_config_default(&c));
  PetscCall(abc_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.table[0], ctx->comm, PETSC_ERR_ARG_WRONG, "abc needs -table FILE (a simulate output)");
  PetscCheck(!!c.stars[0] != !!c.cases[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "abc needs exactly one of -stars FILE (a catalogue) and -cases FILE (a validate output)");
  const char *in_opt[3] = {"-table", "-stars", "-cases"}, *in_path[3] = {c.table, c.stars, c.cases};
  PetscCall(guard_input(ctx->comm, "-table", c.table, "simulate"));
  if (c.stars[0])
    PetscCall(guard_input(ctx->comm, "-stars", c.stars, "catalogue,catalogue-csv,mock-csv,fits,hdf5,text"));
  if (c.cases[0]) PetscCall(guard_input(ctx->comm, "-cases", c.cases, "validate"));
  if (c.out[0]) {
    PetscCall(guard_output(ctx->comm, "-out", c.out, "abc", in_opt, in_path, 3, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(abc_run(ctx, &c, &s));
  PetscCall(guard_unlock(&lock));
  if (s.calibrated) {
    PetscCall(validate_summary_line(&s.cal, line, sizeof(line)));
    PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  }
  PetscCall(abc_summary_line(&c, &s, line, sizeof(line)));
  PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}
