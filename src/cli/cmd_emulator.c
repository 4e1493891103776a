/* chempysbi train-emulator and emulate: fit the emulator, and evaluate it on
 * parameter rows so it can be compared with CHEMPY row by row. */
#include "cli.h"
#include <chempysbi/csv.h>
#include <chempysbi/emu_train.h>
#include <chempysbi/guard.h>

PetscErrorCode cmd_train_emulator(const ParCtx *ctx)
{
  EmuTrainConfig c;
  PetscBool force;
  GuardLock lock;
  PetscFunctionBeginUser;
  PetscCall(emu_train_config_default(&c));
  PetscCall(emu_train_set_from_options(ctx->comm, &c));
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(c.train[0] && c.val[0] && c.out[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "train-emulator needs -train FILE -val FILE -out FILE");
  const char *in_opt[2] = {"-train", "-val"}, *in_path[2] = {c.train, c.val};
  PetscCall(guard_input(ctx->comm, "-train", c.train, "simulate,hdf5"));
  PetscCall(guard_input(ctx->comm, "-val", c.val, "simulate,hdf5"));
  PetscCall(guard_output(ctx->comm, "-out", c.out, "train-emulator", in_opt, in_path, 2, force || c.resume));
  PetscCall(guard_lock(ctx->comm, c.out, &lock));
  PetscCall(emu_train_run(ctx, &c));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cmd_emulate(const ParCtx *ctx)
{
  char model[PETSC_MAX_PATH_LEN] = "", in[PETSC_MAX_PATH_LEN] = "", out[PETSC_MAX_PATH_LEN] = "";
  PetscBool force;
  GuardLock lock;
  PetscFunctionBeginUser;
  PetscOptionsBegin(ctx->comm, NULL, "emulate: evaluate the emulator on parameter rows", "emulate");
  PetscCall(PetscOptionsString("-emulator", "emulator model file (.h5)", NULL, model, model, sizeof(model), NULL));
  PetscCall(PetscOptionsString("-params", "CSV of parameter rows (columns as for simulate, any order)", NULL, in, in,
                               sizeof(in), NULL));
  PetscCall(PetscOptionsString("-out", "CSV output: the six parameters then the eight abundances", NULL, out, out,
                               sizeof(out), NULL));
  PetscOptionsEnd();
  PetscCall(cli_force_option(ctx->comm, &force));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(model[0] && in[0] && out[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "emulate needs -emulator FILE -params FILE -out FILE");
  const char *in_opt[2] = {"-emulator", "-params"}, *in_path[2] = {model, in};
  PetscCall(guard_input(ctx->comm, "-emulator", model, "train-emulator,hdf5"));
  PetscCall(guard_input(ctx->comm, "-params", in, "params-csv,simulate-csv,emulate-csv,text"));
  PetscCall(guard_output(ctx->comm, "-out", out, "emulate-csv", in_opt, in_path, 2, force));
  PetscCall(guard_lock(ctx->comm, out, &lock));
  if (ctx->rank == 0) { /* a cheap serial job: rank 0 does it */
    Emulator *e;
    CsvTable t;
    const char *names[CS_NPARAM + CS_NELEM];
    double *ab, *rows;
    PetscCall(emu_read_h5(model, "/emulator", 4096, &e));
    PetscCall(csv_read(in, CS_NPARAM, cs_param_names, NULL, PETSC_FALSE, NULL, &t));
    PetscCall(PetscMalloc2(t.nrows * CS_NELEM, &ab, t.nrows * (CS_NPARAM + CS_NELEM), &rows));
    emu_predict(e, t.data, (size_t)t.nrows, ab);
    for (PetscInt i = 0; i < t.nrows; i++) {
      for (int k = 0; k < CS_NPARAM; k++) rows[i * (CS_NPARAM + CS_NELEM) + k] = t.data[i * CS_NPARAM + k];
      for (int k = 0; k < CS_NELEM; k++) rows[i * (CS_NPARAM + CS_NELEM) + CS_NPARAM + k] = ab[i * CS_NELEM + k];
    }
    for (int k = 0; k < CS_NPARAM; k++) names[k] = cs_param_names[k];
    for (int k = 0; k < CS_NELEM; k++) names[CS_NPARAM + k] = cs_elem_names[k];
    PetscCall(csv_write(out, CS_NPARAM + CS_NELEM, names, t.nrows, rows));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "emulate: %" PetscInt_FMT " rows written to %s\n", t.nrows, out));
    PetscCall(PetscFree2(ab, rows));
    PetscCall(csv_table_destroy(&t));
    PetscCall(emu_destroy(&e));
  }
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}
