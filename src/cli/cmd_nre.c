/* chempysbi train-nre: fit the neural ratio estimator on emulator simulations;
 * chempysbi nre: per-star posteriors from it (MCMC on r x prior), with -cases
 * calibrated on a validate run's test stars like validate. */
#include "cli.h"
#include <chempysbi/guard.h>
#include <chempysbi/nre_run.h>
#include <chempysbi/nre_train.h>

PetscErrorCode cmd_train_nre(const ParCtx *ctx)
{
  NreTrainConfig c;
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(nre_train_config_default(&c));
  PetscCall(nre_train_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.emulator[0] && c.out[0], ctx->comm, PETSC_ERR_ARG_WRONG, "train-nre needs -emulator FILE -out FILE");
  const char *in_opt[1] = {"-emulator"}, *in_path[1] = {c.emulator};
  PetscCall(guard_input(ctx->comm, "-emulator", c.emulator, "train-emulator,hdf5"));
  PetscCall(guard_output(ctx->comm, "-out", c.out, "train-nre", in_opt, in_path, 1, force || c.resume));
  PetscCall(guard_lock(ctx->comm, c.out, &lock));
  PetscCall(nre_train_run(ctx, &c));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cmd_nre(const ParCtx *ctx)
{
  NreRunConfig c;
  NreRunSummary s;
  char line[1024];
  PetscBool force;
  GuardLock lock = {.fd = -1};
  PetscFunctionBeginUser;
  PetscCall(nre_run_config_default(&c));
  PetscCall(nre_run_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.model[0], ctx->comm, PETSC_ERR_ARG_WRONG, "nre needs -model FILE (a train-nre output)");
  PetscCheck(!!c.stars[0] != !!c.cases[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "nre needs exactly one of -stars FILE (a catalogue) and -cases FILE (a validate output)");
  const char *in_opt[3] = {"-model", "-stars", "-cases"}, *in_path[3] = {c.model, c.stars, c.cases};
  PetscCall(guard_input(ctx->comm, "-model", c.model, "train-nre"));
  if (c.stars[0])
    PetscCall(guard_input(ctx->comm, "-stars", c.stars, "catalogue,catalogue-csv,mock-csv,fits,hdf5,text"));
  if (c.cases[0]) PetscCall(guard_input(ctx->comm, "-cases", c.cases, "validate"));
  if (c.out[0]) {
    PetscCall(guard_output(ctx->comm, "-out", c.out, "nre", in_opt, in_path, 3, force));
    PetscCall(guard_lock(ctx->comm, c.out, &lock));
  }
  PetscCall(nre_run(ctx, &c, &s));
  PetscCall(guard_unlock(&lock));
  if (s.calibrated) {
    PetscCall(validate_summary_line(&s.cal, line, sizeof(line)));
    PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  }
  PetscCall(nre_run_summary_line(&s, line, sizeof(line)));
  PetscCall(PetscPrintf(ctx->comm, "%s\n", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}
