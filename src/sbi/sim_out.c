/* Output side of simulate. HDF5 output is resumable: the file is built under
 * "<out>.tmp" with every row's status at -1; rows are written as they finish
 * (status last), so after a kill the same command computes exactly the rows
 * whose status is still -1. A file made with another configuration is refused. */
#include <chempysbi/sim_out.h>
#include <chempysbi/csv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

PetscErrorCode sim_job_params(const SimJob *job, PetscInt row, double theta[CS_NPARAM])
{
  PetscFunctionBeginUser;
  if (job->params)
    PetscCall(PetscArraycpy(theta, job->params + row * CS_NPARAM, CS_NPARAM));
  else
    prior_sample(&job->prior, (uint64_t)job->seed, RNG_PARAMS, (uint64_t)(job->offset + row), theta);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix) ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode sim_job_read_params(const ParCtx *ctx, SimJob *job)
{
  PetscInt n = 0;
  PetscFunctionBeginUser;
  if (ends_with(job->params_file, ".h5")) {
    H5File f;
    PetscInt nc;
    PetscCall(h5_open(ctx->comm, job->params_file, PETSC_FALSE, &f));
    PetscCall(h5_table_check_columns(&f, "params", CS_NPARAM, cs_param_names));
    PetscCall(h5_table_info(&f, "params", &n, &nc));
    PetscCheck(nc == CS_NPARAM, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: /params has %" PetscInt_FMT " columns, expected %d", job->params_file, nc, CS_NPARAM);
    PetscCall(PetscMalloc1(n * CS_NPARAM, &job->params));
    PetscCall(h5_table_read_rows(&f, "params", H5T_NATIVE_DOUBLE, 0, n, job->params, PETSC_TRUE));
    if (h5_exists(&f, "status")) { /* a simulate file: only a finished one is a trustworthy input */
      int *st;
      PetscInt pending = 0;
      PetscCall(PetscMalloc1(n + 1, &st));
      PetscCall(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, 0, n, st, PETSC_TRUE));
      for (PetscInt i = 0; i < n; i++) pending += st[i] < 0;
      PetscCall(PetscFree(st));
      PetscCheck(!pending, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: %" PetscInt_FMT " of %" PetscInt_FMT
                 " rows are not computed yet (status -1): an unfinished simulate file; finish it first",
                 job->params_file, pending, n);
    }
    PetscCall(h5_close(&f));
  } else {
    CsvTable t;
    PetscErrorCode e = PETSC_SUCCESS;
    if (ctx->rank == 0) e = csv_read(job->params_file, CS_NPARAM, cs_param_names, NULL, PETSC_FALSE, NULL, &t);
    /* Rank 0 read the file; all ranks learn whether that worked before going on. */
    PetscInt ok = e ? 0 : 1;
    PetscCall(par_bcast_ints(ctx, &ok, 1));
    PetscCheck(ok, ctx->comm, PETSC_ERR_FILE_READ, "cannot read parameter rows from %s (see the message above)",
               job->params_file);
    if (ctx->rank == 0) n = t.nrows;
    PetscCall(par_bcast_ints(ctx, &n, 1));
    PetscCall(PetscMalloc1(n * CS_NPARAM, &job->params));
    if (ctx->rank == 0) {
      PetscCall(PetscArraycpy(job->params, t.data, n * CS_NPARAM));
      PetscCall(csv_table_destroy(&t));
    }
    PetscCall(par_bcast_doubles(ctx, job->params, n * CS_NPARAM));
  }
  job->n = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Room for the longest -params path and every other field: a truncated config
 * string would drop the fields after the path from the resume check. */
#define SIM_CONFIG_LEN (PETSC_MAX_PATH_LEN + 1024)

/* Everything that must agree for rows of two runs to belong in one file: the rows'
   source, then the whole CHEMPY configuration (gce_config_string). */
static PetscErrorCode sim_config_string(const SimJob *job, char *s, size_t len)
{
  char gce[512];
  PetscFunctionBeginUser;
  PetscCall(gce_config_string(&job->gce, gce, sizeof(gce)));
  PetscCall(PetscSNPrintf(s, len, "n=%" PetscInt_FMT ";source=%s;seed=%" PetscInt_FMT ";offset=%" PetscInt_FMT ";%s",
                          job->n, job->params ? job->params_file : prior_kind_name(job->prior_kind),
                          job->params ? 0 : job->seed, job->params ? 0 : job->offset, gce));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Files written before the cohort count and the cosmic accretion factor were recorded
   end at yields=...: gce_config_string_complete fills in what they were made with, which
   is what an unmodified resume of them must match. */
static PetscErrorCode sim_config_upgrade(const char *have, char *out, size_t len)
{
  char gce[512];
  const char *p = NULL;
  PetscFunctionBeginUser;
  for (const char *q = strstr(have, "scheme="); q; q = strstr(q + 1, "scheme=")) p = q;
  PetscCall(gce_config_string_complete(have, gce, sizeof(gce)));
  if (!p)
    PetscCall(PetscStrncpy(out, have, len));
  else
    PetscCall(PetscSNPrintf(out, len, "%.*s%s", (int)(p - have), have, gce));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Error naming the first field that differs between two config strings. */
static PetscErrorCode sim_config_compare(MPI_Comm comm, const char *file, const char *have_raw, const char *want)
{
  char have[SIM_CONFIG_LEN], a[SIM_CONFIG_LEN], b[SIM_CONFIG_LEN], *sa, *sb, *ta, *tb;
  PetscFunctionBeginUser;
  PetscCall(sim_config_upgrade(have_raw, have, sizeof(have)));
  if (!strcmp(have, want)) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscStrncpy(a, have, sizeof(a)));
  PetscCall(PetscStrncpy(b, want, sizeof(b)));
  ta = strtok_r(a, ";", &sa);
  tb = strtok_r(b, ";", &sb);
  while (ta && tb && !strcmp(ta, tb)) {
    ta = strtok_r(NULL, ";", &sa);
    tb = strtok_r(NULL, ";", &sb);
  }
  SETERRQ(comm, PETSC_ERR_ARG_INCOMP,
          "%s was made with another configuration (file has %s, this run has %s): refusing to mix rows; use another "
          "-out, or -force to replace the file",
          file, ta ? ta : "?", tb ? tb : "?");
}

static const char *const abund_stats_names[2] = {"cvode_steps", "rhs_evals"};

static PetscErrorCode sim_h5_setup(const ParCtx *ctx, SimJob *job, const char *config)
{
  PetscInt lo, hi;
  double *p, pr[4 * CS_NPARAM];
  PetscFunctionBeginUser;
  PetscCall(h5_create(ctx->comm, job->out, &job->h5));
  PetscCall(h5_write_provenance(&job->h5, "simulate"));
  PetscCall(h5_table_create(&job->h5, "params", H5T_NATIVE_DOUBLE, job->n, CS_NPARAM, cs_param_names));
  PetscCall(h5_table_create(&job->h5, "abundances", H5T_NATIVE_DOUBLE, job->n, CS_NELEM, cs_elem_names));
  PetscCall(h5_table_create(&job->h5, "status", H5T_NATIVE_INT, job->n, 0, NULL));
  PetscCall(h5_table_create(&job->h5, "solver_stats", H5T_NATIVE_DOUBLE, job->n, 2, abund_stats_names));
  PetscCall(h5_attr_write_str(&job->h5, "status", "codes",
                              "-1 not computed, 0 ok, 1 rejected_sfr, 2 rejected_negative, 3 rejected_age, 4 "
                              "rejected_bounds, 5 solver_failure"));
  PetscCall(h5_attr_write_str(&job->h5, "/", "prior", job->params ? "file" : prior_kind_name(job->prior_kind)));
  prior_pack(&job->prior, pr);
  PetscCall(h5_attr_write_double(&job->h5, "/", "prior_mean_sd_lo_hi", 4 * CS_NPARAM, pr));
  PetscCall(h5_attr_write_str(&job->h5, "/", "yields", job->gce.yields));
  PetscCall(h5_attr_write_str(&job->h5, "/", "scheme", job->gce.scheme == GCE_SCHEME_CVODE ? "cvode" : "discrete"));
  PetscCall(
      h5_attr_write_double(&job->h5, "/", "rtol_atol", 2, (double[]){(double)job->gce.rtol, (double)job->gce.atol}));
  PetscCall(
      h5_attr_write_double(&job->h5, "/", "cosmic_accretion_factor", 1, (double[]){job->gce.cosmic_accretion_factor}));
  PetscCall(h5_attr_write_int(&job->h5, "/", "seed", 1, &job->seed));
  par_block_range(job->n, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc1((hi - lo) * CS_NPARAM + 1, &p));
  for (PetscInt i = lo; i < hi; i++) PetscCall(sim_job_params(job, i, p + (i - lo) * CS_NPARAM));
  PetscCall(h5_table_write_rows(&job->h5, "params", H5T_NATIVE_DOUBLE, lo, hi - lo, p, PETSC_TRUE));
  PetscCall(PetscFree(p));
  /* Written last: a .tmp without it was killed during setup and is rebuilt. */
  PetscCall(h5_attr_write_str(&job->h5, "/", "config", config));
  H5Call(H5Fflush(job->h5.id, H5F_SCOPE_GLOBAL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 looks at what is on disk: 0 nothing, 1 a finished file, 2 a partial one. */
static PetscErrorCode sim_probe(const ParCtx *ctx, SimJob *job, char *have, size_t len, PetscInt *state)
{
  char tmp[PETSC_MAX_PATH_LEN];
  PetscFunctionBeginUser;
  *state = 0;
  have[0] = 0;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", job->out));
  if (ctx->rank == 0) {
    const char *cand[2] = {job->out, tmp};
    for (int k = 0; k < 2 && !*state; k++) {
      if (access(cand[k], F_OK)) continue;
      hid_t f, a = -1;
      H5E_BEGIN_TRY
      {
        f = H5Fopen(cand[k], H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0 && H5Aexists(f, "config") > 0) {
          hid_t t;
          a = H5Aopen(f, "config", H5P_DEFAULT);
          t = H5Aget_type(a);
          size_t sz = H5Tget_size(t);
          hid_t mt = H5Tcopy(H5T_C_S1);
          H5Tset_size(mt, sz);
          if (sz < len && H5Aread(a, mt, have) >= 0) {
            have[sz] = 0;
            *state = k + 1;
          }
          H5Tclose(mt);
          H5Tclose(t);
          H5Aclose(a);
        }
        if (f >= 0) H5Fclose(f);
      }
      H5E_END_TRY;
      PetscCheck(*state || k == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s exists but is not a chempysbi simulate file: refusing to overwrite it", cand[k]);
    }
  }
  PetscCall(par_bcast_ints(ctx, state, 1));
  PetscCall(par_bcast_bytes(ctx->comm, have, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Writes contiguous runs of rows: abundances and solver stats first, status last. */
static PetscErrorCode sim_store_h5(void *vctx, PetscInt n, const PetscInt *rows, const double *out)
{
  SimJob *job = (SimJob *)vctx;
  double ab[256 * CS_NELEM], stt[256 * 2];
  int st[256];
  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < n;) {
    PetscInt b = a + 1;
    while (b < n && rows[b] == rows[b - 1] + 1 && b - a < 256) b++;
    for (PetscInt i = a; i < b; i++) {
      const double *o = out + i * SIM_NOUT;
      for (int e = 0; e < CS_NELEM; e++) ab[(i - a) * CS_NELEM + e] = o[SIM_COL_ABUND + e];
      stt[(i - a) * 2] = o[SIM_COL_STEPS];
      stt[(i - a) * 2 + 1] = o[SIM_COL_RHS];
      st[i - a] = (int)o[SIM_COL_STATUS];
    }
    PetscCall(h5_table_write_rows(&job->h5, "abundances", H5T_NATIVE_DOUBLE, rows[a], b - a, ab, PETSC_FALSE));
    PetscCall(h5_table_write_rows(&job->h5, "solver_stats", H5T_NATIVE_DOUBLE, rows[a], b - a, stt, PETSC_FALSE));
    PetscCall(h5_table_write_rows(&job->h5, "status", H5T_NATIVE_INT, rows[a], b - a, st, PETSC_FALSE));
    a = b;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode sim_store_mem(void *vctx, PetscInt n, const PetscInt *rows, const double *out)
{
  SimJob *job = (SimJob *)vctx;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++)
    PetscCall(PetscArraycpy(job->csv_out + rows[i] * SIM_NOUT, out + i * SIM_NOUT, SIM_NOUT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode sim_write_csv(SimJob *job)
{
  const char *names[CS_NPARAM + 1 + CS_NELEM];
  double *t;
  PetscFunctionBeginUser;
  for (int k = 0; k < CS_NPARAM; k++) names[k] = cs_param_names[k];
  names[CS_NPARAM] = "status";
  for (int e = 0; e < CS_NELEM; e++) names[CS_NPARAM + 1 + e] = cs_elem_names[e];
  PetscCall(PetscMalloc1(job->n * (CS_NPARAM + 1 + CS_NELEM), &t));
  for (PetscInt i = 0; i < job->n; i++) {
    double *r = t + i * (CS_NPARAM + 1 + CS_NELEM);
    PetscCall(sim_job_params(job, i, r));
    r[CS_NPARAM] = job->csv_out[i * SIM_NOUT + SIM_COL_STATUS];
    for (int e = 0; e < CS_NELEM; e++) r[CS_NPARAM + 1 + e] = job->csv_out[i * SIM_NOUT + SIM_COL_ABUND + e];
  }
  PetscCall(csv_write(job->out, CS_NPARAM + 1 + CS_NELEM, names, job->n, t));
  PetscCall(PetscFree(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode sim_job_run(const ParCtx *ctx, SimJob *job, PetscErrorCode (*compute)(void *, PetscInt, double *),
                           const char *const status_names[])
{
  char config[SIM_CONFIG_LEN], have[SIM_CONFIG_LEN];
  PetscInt state = 0, npending = 0, *pending = NULL;
  FarmSummary sum;
  FarmSpec spec = {.nout = SIM_NOUT,
                   .compute = compute,
                   .ctx = job,
                   .chunk = job->chunk,
                   .master_rows = job->master_rows,
                   .what = "simulate",
                   .status_names = status_names,
                   .progress_every = job->progress_every};
  PetscFunctionBeginUser;
  job->to_h5 = ends_with(job->out, ".h5");
  PetscCall(sim_config_string(job, config, sizeof(config)));
  if (job->to_h5) {
    PetscCall(sim_probe(ctx, job, have, sizeof(have), &state));
    if (state && strcmp(have, config) && job->force) {
      PetscCall(PetscPrintf(ctx->comm, "-force: %s was made with another configuration; replacing it\n", job->out));
      state = 0;
    }
    if (state) PetscCall(sim_config_compare(ctx->comm, job->out, have, config));
    if (state == 1) {
      PetscCall(
          PetscPrintf(ctx->comm, "%s is already complete (%" PetscInt_FMT " rows): nothing to do\n", job->out, job->n));
      PetscFunctionReturn(PETSC_SUCCESS);
    }
    if (state == 2)
      PetscCall(h5_open_tmp(ctx->comm, job->out, &job->h5));
    else
      PetscCall(sim_h5_setup(ctx, job, config));
    if (ctx->rank == 0) { /* pending rows: status still -1 */
      int *st;
      PetscCall(PetscMalloc1(job->n, &st));
      PetscCall(PetscMalloc1(job->n, &pending));
      PetscCall(h5_table_read_rows(&job->h5, "status", H5T_NATIVE_INT, 0, job->n, st, PETSC_FALSE));
      for (PetscInt i = 0; i < job->n; i++)
        if (st[i] < 0) pending[npending++] = i;
      PetscCall(PetscFree(st));
      if (state == 2)
        PetscCall(PetscPrintf(PETSC_COMM_SELF,
                              "resuming %s: %" PetscInt_FMT " of %" PetscInt_FMT " rows already stored\n", job->out,
                              job->n - npending, job->n));
    }
    spec.store = sim_store_h5;
    spec.direct = job->direct;
  } else {
    if (ctx->rank == 0) { /* fail before any work if the output cannot be written */
      char tmp[PETSC_MAX_PATH_LEN];
      PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", job->out));
      FILE *fp = fopen(tmp, "w");
      PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write the output file %s", job->out);
      fclose(fp);
      unlink(tmp);
      PetscCall(PetscMalloc1(job->n * SIM_NOUT, &job->csv_out));
      PetscCall(PetscMalloc1(job->n, &pending));
      for (PetscInt i = 0; i < job->n; i++) pending[npending++] = i;
    }
    spec.store = sim_store_mem;
    spec.direct = PETSC_FALSE;
  }
  PetscCall(par_bcast_ints(ctx, &npending, 1));
  PetscCall(farm_run(ctx, &spec, npending, pending, job->n, job->n - npending, &sum));
  PetscCall(PetscFree(pending));
  if (job->to_h5)
    PetscCall(h5_commit(&job->h5));
  else if (ctx->rank == 0)
    PetscCall(sim_write_csv(job));
  PetscCall(PetscFree(job->csv_out));
  PetscCall(PetscPrintf(
      ctx->comm,
      "simulate: %" PetscInt_FMT
      " rows in %.2f s on %d ranks: %.1f rows/s (%.1f per rank), rows per rank %" PetscInt_FMT "..%" PetscInt_FMT "\n",
      npending, sum.seconds, ctx->size, npending / PetscMax(sum.seconds, 1e-9),
      npending / PetscMax(sum.seconds, 1e-9) / ctx->size, sum.rows_per_rank_min, sum.rows_per_rank_max));
  if (sum.requests)
    PetscCall(
        PetscPrintf(ctx->comm, "  farm: %" PetscInt_FMT " requests, rank 0 busy %.2f us per request (%.2f us CPU)\n",
                    sum.requests, 1e6 * sum.serve_seconds / sum.requests, 1e6 * sum.serve_cpu_seconds / sum.requests));
  for (int k = 0; k < FARM_MAX_STATUS; k++)
    if (sum.count[k])
      PetscCall(
          PetscPrintf(ctx->comm, "  %-18s %" PetscInt_FMT "\n", status_names[k] ? status_names[k] : "?", sum.count[k]));
  PetscCall(PetscPrintf(ctx->comm, "wrote %s\n", job->out));
  PetscFunctionReturn(PETSC_SUCCESS);
}
