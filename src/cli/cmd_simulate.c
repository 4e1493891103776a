/* chempysbi simulate: CHEMPY on one parameter vector (-theta), on the rows of a
 * file (-params), or on -n rows drawn from a prior: the training-set farm,
 * written into parallel HDF5, resumable after a kill. */
#include "cli.h"
#include <chempysbi/sim_out.h>
#include <chempysbi/csv.h>
#include <chempysbi/gce.h>
#include <chempysbi/guard.h>
#include <chempysbi/prior.h>
#include <chempysbi/report.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const status_names[FARM_MAX_STATUS] = {
    "ok", "rejected_sfr", "rejected_negative", "rejected_age", "rejected_bounds", "solver_failure", NULL, "other"};

static PetscErrorCode sim_compute(void *vctx, PetscInt row, double *out)
{
  SimJob *job = (SimJob *)vctx;
  GceStatus st;
  GceRunStats stats = {0};
  double theta[CS_NPARAM];
  PetscFunctionBeginUser;
  PetscCall(sim_job_params(job, row, theta));
  PetscCall(gce_run(job->work, theta, out + SIM_COL_ABUND, &st, &stats));
  out[SIM_COL_STATUS] = (double)st;
  out[SIM_COL_STEPS] = (double)stats.steps;
  out[SIM_COL_RHS] = (double)stats.rhs_evals;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One run, its abundances printed and its ISM history written for inspection. */
static PetscErrorCode simulate_one(const ParCtx *ctx, SimJob *job, const double theta[CS_NPARAM], const char *history)
{
  GceStatus st;
  double ab[CS_NELEM];
  PetscFunctionBeginUser;
  if (ctx->rank != 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(gce_run(job->work, theta, ab, &st, NULL));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "status %s\n", gce_status_name(st)));
  for (int e = 0; e < CS_NELEM; e++) PetscCall(PetscPrintf(PETSC_COMM_SELF, "%-6s % .6f\n", cs_elem_names[e], ab[e]));
  if (history[0]) {
    PetscInt n;
    const double *rows;
    PetscCall(gce_history_get(job->work, &n, &rows));
    PetscCall(csv_write(history, GCE_HIST_NCOL, gce_hist_names, n, rows));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "history: %" PetscInt_FMT " rows written to %s\n", n, history));
    PetscCall(report_history_plot(history));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cmd_simulate(const ParCtx *ctx)
{
  SimJob job;
  char history[PETSC_MAX_PATH_LEN] = "";
  PriorKind prior = PRIOR_WIDE;
  FarmWrite write = FARM_WRITE_DIRECT;
  FarmMaster master = FARM_MASTER_AUTO;
  PetscReal theta[CS_NPARAM];
  PetscInt ntheta = CS_NPARAM;
  PetscBool has_theta = PETSC_FALSE, has_n = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&job, sizeof(job)));
  job.n = 0;
  job.seed = 1;
  job.progress_every = 5;
  PetscCall(gce_config_default(&job.gce));
  char theta_help[256];
  PetscCall(PetscSNPrintf(theta_help, sizeof(theta_help), "one parameter vector: %s", cs_param_list));
  PetscOptionsBegin(ctx->comm, NULL, "simulate: run CHEMPY", "simulate");
  PetscCall(PetscOptionsRealArray("-theta", theta_help, NULL, theta, &ntheta, &has_theta));
  PetscCall(PetscOptionsString("-history", "with -theta: CSV file for the ISM trajectory (and a PNG beside it)", NULL,
                               history, history, sizeof(history), NULL));
  PetscCall(PetscOptionsString("-params", "CSV or HDF5 (/params) file of parameter rows", NULL, job.params_file,
                               job.params_file, sizeof(job.params_file), NULL));
  PetscCall(PetscOptionsInt("-n", "number of rows drawn from -prior (training-set mode)", NULL, job.n, &job.n, &has_n));
  PetscCall(PetscOptionsEnum("-prior", "prior for -n: wide (emulator training box) or gauss (the paper's NPE prior)",
                             NULL, prior_kind_names, (PetscEnum)prior, (PetscEnum *)&prior, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed: row i's parameters come from stream (seed, params, offset + i)",
                            NULL, job.seed, &job.seed, NULL));
  PetscCall(PetscOptionsInt("-offset",
                            "global index of the first row (use a different offset or seed for a validation set)", NULL,
                            job.offset, &job.offset, NULL));
  PetscCall(PetscOptionsString("-out", "output: .h5 (parallel HDF5, resumable) or .csv", NULL, job.out, job.out,
                               sizeof(job.out), NULL));
  PetscCall(
      PetscOptionsInt("-farm_chunk", "rows per work assignment (0 = adaptive)", NULL, job.chunk, &job.chunk, NULL));
  PetscCall(PetscOptionsEnum("-farm_write", "who writes rows: direct (each rank, parallel HDF5) or funnel (rank 0)",
                             NULL, farm_write_names, (PetscEnum)write, (PetscEnum *)&write, NULL));
  PetscCall(PetscOptionsEnum("-farm_master",
                             "rank 0: auto (computes rows below 256 ranks, only answers requests from there), "
                             "compute, or serve",
                             NULL, farm_master_names, (PetscEnum)master, (PetscEnum *)&master, NULL));
  PetscCall(PetscOptionsReal("-progress_every", "seconds between progress lines", NULL, job.progress_every,
                             &job.progress_every, NULL));
  PetscOptionsEnd();
  PetscCall(cli_force_option(ctx->comm, &job.force));
  PetscCall(gce_config_set_from_options(&job.gce));
  job.prior_kind = prior;
  PetscCall(prior_init(job.prior_kind, &job.prior));
  job.direct = write == FARM_WRITE_DIRECT ? PETSC_TRUE : PETSC_FALSE;
  job.master_rows = master;
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());

  PetscCheck(!has_n || job.n > 0, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n %" PetscInt_FMT ": must be positive", job.n);
  if (has_n) PetscCall(guard_int_option(ctx->comm, "-n", job.n, 1, SIM_MAX_ROWS));
  PetscCall(guard_int_option(ctx->comm, "-seed", job.seed, 0, PETSC_MAX_INT));
  PetscCall(guard_int_option(ctx->comm, "-offset", job.offset, 0, PETSC_MAX_INT));
  PetscCall(guard_int_option(ctx->comm, "-farm_chunk", job.chunk, 0, 1000000));
  PetscCall(guard_real_option(ctx->comm, "-progress_every", job.progress_every, 0, 1e9));
  for (PetscInt k = 0; has_theta && k < ntheta; k++)
    PetscCheck(isfinite((double)theta[k]), ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-theta: value %" PetscInt_FMT " (%s) is not a finite number", k + 1,
               k < CS_NPARAM ? cs_param_names[k] : "?");
  PetscInt modes = (has_theta ? 1 : 0) + (job.params_file[0] ? 1 : 0) + (has_n ? 1 : 0);
  PetscCheck(modes == 1, ctx->comm, PETSC_ERR_ARG_WRONG,
             "give exactly one of -theta, -params FILE or -n N (see simulate -help)");
  PetscCheck(!has_theta || ntheta == CS_NPARAM, ctx->comm, PETSC_ERR_ARG_WRONG,
             "-theta needs %d comma-separated values, got %" PetscInt_FMT, CS_NPARAM, ntheta);
  PetscCheck(has_theta || job.out[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "option -out FILE is required with -params or -n");

  /* Inputs and outputs checked, and the output locked, before any work. */
  GuardLock lock = {.fd = -1};
  const char *in_opt[1] = {"-params"}, *in_path[1] = {job.params_file};
  PetscBool h5 = strlen(job.out) > 3 && !strcmp(job.out + strlen(job.out) - 3, ".h5");
  if (job.params_file[0]) {
    size_t l = strlen(job.params_file);
    PetscCall(guard_input(ctx->comm, "-params", job.params_file,
                          l > 3 && !strcmp(job.params_file + l - 3, ".h5")
                              ? "simulate,hdf5"
                              : "params-csv,simulate-csv,emulate-csv,text"));
  }
  if (has_n) /* rank 0: statuses and pending rows (HDF5) or every result row (CSV) */
    PetscCall(guard_memory(ctx->comm, (double)job.n * (h5 ? 16.0 : 8.0 * (SIM_NOUT + CS_NPARAM + 1 + CS_NELEM)), "-n"));
  if (!has_theta) {
    /* HDF5 output resumes: an existing file of the same kind is continued, or refused if made otherwise. */
    PetscCall(guard_output(ctx->comm, "-out", job.out, h5 ? "simulate" : "simulate-csv", in_opt, in_path, 1,
                           h5 ? PETSC_TRUE : job.force));
    PetscCall(guard_lock(ctx->comm, job.out, &lock));
  } else if (history[0]) {
    PetscCall(guard_output(ctx->comm, "-history", history, "history-csv", NULL, NULL, 0, job.force));
    PetscCall(guard_lock(ctx->comm, history, &lock));
  }
  PetscCall(gce_yields_load_shared(ctx->comm, job.gce.data_dir, job.gce.yields, &job.yields));
  PetscCall(gce_work_create(job.yields, &job.gce, &job.work));
  if (has_theta)
    PetscCall(simulate_one(ctx, &job, theta, history));
  else {
    if (job.params_file[0]) PetscCall(sim_job_read_params(ctx, &job));
    PetscCall(sim_job_run(ctx, &job, sim_compute, status_names));
  }
  PetscCall(gce_work_destroy(&job.work));
  PetscCall(gce_yields_destroy(&job.yields));
  PetscCall(PetscFree(job.params));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}
