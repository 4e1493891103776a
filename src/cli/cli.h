/* Private interface of the chempysbi executable: the command table and the
 * helpers every command uses for options, help and the option audit. */
#ifndef CHEMPYSBI_CLI_H
#define CHEMPYSBI_CLI_H

#include <chempysbi/par.h>

typedef PetscErrorCode (*CliRun)(const ParCtx *ctx);

typedef struct {
  const char *name;
  const char *summary;
  CliRun run;
} CliCommand;

/* True when -help was given: commands then parse their options (which prints
 * them with units and defaults) and return before doing any work. */
PetscBool cli_help(void);
/* Stop with an error naming every option that nothing has read. Commands call
 * it after parsing their options and before any long work. */
PetscErrorCode cli_check_unused_options(void);
/* Read a string option that must be given (error names it). */
PetscErrorCode cli_require_string(const char *opt, char *val, size_t len, const char *what);
/* -force: replace an existing output of the same kind (listed under -help). */
PetscErrorCode cli_force_option(MPI_Comm comm, PetscBool *force);

PetscErrorCode cmd_version(const ParCtx *ctx);
PetscErrorCode cmd_simulate(const ParCtx *ctx);
PetscErrorCode cmd_train_emulator(const ParCtx *ctx);
PetscErrorCode cmd_emulate(const ParCtx *ctx);
PetscErrorCode cmd_train_npe(const ParCtx *ctx);
PetscErrorCode cmd_infer(const ParCtx *ctx);
PetscErrorCode cmd_mock(const ParCtx *ctx);
PetscErrorCode cmd_validate(const ParCtx *ctx);
PetscErrorCode cmd_coverage(const ParCtx *ctx);
PetscErrorCode cmd_abc(const ParCtx *ctx);
PetscErrorCode cmd_train_nre(const ParCtx *ctx);
PetscErrorCode cmd_nre(const ParCtx *ctx);

#endif
