/* chempysbi: command dispatch. Each command runs in its own PETSc log stage;
 * any error ends every rank with a non-zero exit so no rank is left waiting. */
#include "cli.h"
#include <cblas.h>
#include <chempysbi/guard.h>
#include <chempysbi/h5.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

static const CliCommand commands[] = {
    {"simulate", "run CHEMPY on parameter rows (-params FILE, -theta a,b,..., or -n N from a prior)", cmd_simulate},
    {"train-emulator", "train the MLP emulator of CHEMPY on a simulate file (data-parallel)", cmd_train_emulator},
    {"emulate", "evaluate the emulator on parameter rows", cmd_emulate},
    {"train-npe", "train the neural posterior estimator (MAF) on emulator simulations", cmd_train_npe},
    {"validate", "calibration of the NPE: SBC, TARP, posterior-mean errors", cmd_validate},
    {"mock", "make a mock galaxy catalogue with CHEMPY (fixed globals, local parameters from the prior)", cmd_mock},
    {"infer", "infer alpha_IMF and log10_N_Ia from a star catalogue (stars sharded over ranks)", cmd_infer},
    {"coverage", "galaxy-level calibration of an inference method on many mock galaxies", cmd_coverage},
    {"abc", "rejection ABC of each star's parameters on a simulation table (or a validate run's test cases)", cmd_abc},
    {"train-nre", "train the neural ratio estimator (classifier NRE) on emulator simulations", cmd_train_nre},
    {"nre", "per-star posteriors from a ratio estimator by MCMC (or on a validate run's test cases)", cmd_nre},
    {"version", "print the program and library versions", cmd_version},
};
static const int ncommands = sizeof(commands) / sizeof(commands[0]);

static const char help[] =
    "chempysbi: infer galactic parameters from stellar abundances by simulation-based inference.\n"
    "Usage: chempysbi <command> [options]   (chempysbi <command> -help lists its options)\n";

static void print_commands(void)
{
  PetscPrintf(PETSC_COMM_WORLD, "\nCommands:\n");
  for (int i = 0; i < ncommands; i++)
    PetscPrintf(PETSC_COMM_WORLD, "  %-16s %s\n", commands[i].name, commands[i].summary);
  PetscPrintf(PETSC_COMM_WORLD, "Every command accepts -options_file FILE and -log_view.\n");
}

PetscBool cli_help(void)
{
  PetscBool h = PETSC_FALSE;
  PetscOptionsHasHelp(NULL, &h);
  return h;
}

PetscErrorCode cli_check_unused_options(void)
{
  PetscInt n;
  char **names, **values;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &n, &names, &values));
  PetscInt bad = 0;
  for (PetscInt i = 0; i < n; i++) {
    /* Options PETSc itself reads only at finalize. */
    if (!strcmp(names[i], "log_view") || !strcmp(names[i], "options_left") || !strncmp(names[i], "log_", 4)) continue;
    PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "error: unknown option -%s (no part of this command reads it)\n",
                           names[i]));
    bad++;
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &n, &names, &values));
  PetscCheck(!bad, PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "%" PetscInt_FMT " unknown option(s); see -help", bad);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cli_require_string(const char *opt, char *val, size_t len, const char *what)
{
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, val, len, &set));
  PetscCheck(set || cli_help(), PETSC_COMM_WORLD, PETSC_ERR_ARG_WRONG, "option %s (%s) is required", opt, what);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cli_force_option(MPI_Comm comm, PetscBool *force)
{
  PetscFunctionBeginUser;
  *force = PETSC_FALSE;
  PetscOptionsBegin(comm, NULL, "output", "guard");
  PetscCall(PetscOptionsBool("-force", "replace an existing output file of the same kind (never an input)", NULL,
                             *force, force, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One readable line per error (plus the call chain with -debug_errors)
 * instead of PETSc's full banner: users read these in SLURM logs. */
static PetscErrorCode cli_error_handler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n,
                                        PetscErrorType p, const char *mess, void *vctx)
{
  int rank = par_world_rank();
  PetscBool *debug = (PetscBool *)vctx;
  if (p == PETSC_ERROR_INITIAL) {
    const char *text = NULL;
    if (!mess || !*mess) PetscErrorMessage(n, &text, NULL);
    fprintf(stderr, "[rank %d] error: %s\n", rank, mess && *mess ? mess : (text ? text : "unknown error"));
  }
  if (*debug) fprintf(stderr, "[rank %d]   in %s() at %s:%d\n", rank, func, file, line);
  fflush(stderr);
  return n;
}

int main(int argc, char **argv)
{
  const char *name = NULL;
  const CliCommand *cmd = NULL;
  PetscLogStage stage;
  ParCtx ctx;
  PetscErrorCode ierr;

  /* The command is the first argument; remove it so PETSc sees only options. */
  if (argc > 1 && argv[1][0] != '-') {
    name = argv[1];
    for (int i = 1; i < argc - 1; i++) argv[i] = argv[i + 1];
    argc--;
  }
  /* -help is applied after initialisation, so that PETSc prints our options
   * with units and defaults instead of its own long generic list first. */
  PetscBool want_help = PETSC_FALSE;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-help") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      want_help = PETSC_TRUE;
      for (int j = i; j < argc - 1; j++) argv[j] = argv[j + 1];
      argc--;
      i--;
    }
  PetscCall(PetscInitialize(&argc, &argv, NULL, help));
  if (want_help) {
    PetscCall(PetscOptionsSetValue(NULL, "-help", NULL));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%s", help));
  }
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  /* Parallelism is one MPI rank per core: BLAS threads would oversubscribe. */
  openblas_set_num_threads(1);
  static PetscBool debug_errors = PETSC_FALSE;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-debug_errors", &debug_errors, NULL));
  PetscCall(PetscPushErrorHandler(cli_error_handler, &debug_errors));
  /* HDF5's own error stacks only with -debug_errors: every failing HDF5 call
   * already becomes one error naming the file and the call. */
  if (!debug_errors) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  for (int i = 0; name && i < ncommands; i++)
    if (!strcmp(name, commands[i].name)) cmd = &commands[i];
  if (!cmd) {
    PetscBool h = cli_help();
    if (name)
      PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "error: unknown command '%s'\n", name));
    else if (!h)
      PetscCall(PetscFPrintf(PETSC_COMM_WORLD, stderr, "error: no command given\n"));
    if (h || !name) print_commands();
    ierr = PetscFinalize();
    return (h && !name) ? (int)ierr : 2;
  }
  PetscCall(PetscLogStageRegister(cmd->name, &stage));
  PetscCall(PetscLogStagePush(stage));
  ierr = h5_set_from_options(ctx.comm);
  if (!ierr) ierr = cmd->run(&ctx);
  if (!ierr) ierr = h5_share_free();
  if (!ierr) ierr = PetscLogStagePop();
  if (!ierr && !cli_help()) ierr = cli_check_unused_options();
  if (ierr) {
    /* PETSc has printed the error on the rank that failed; end all ranks. */
    guard_abort_cleanup();
    par_abort(PETSC_COMM_WORLD, 1);
    return 1;
  }
  PetscCall(PetscFinalize());
  return 0;
}
