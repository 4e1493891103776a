/* The simulate writer (sim_out.c) with a stand-in for CHEMPY whose output is
 * a known function of the row's parameters: every row lands in its place in
 * HDF5 and CSV, a finished file is not recomputed, and a run stopped by an
 * error resumes with exactly the missing rows (none lost, none twice). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <chempysbi/csv.h>
#include <chempysbi/sim_out.h>
#include "testutil.h"

#define N 60

static const char *const status_names[FARM_MAX_STATUS] = {"ok", "rejected_sfr", NULL, NULL, NULL, NULL, NULL, "other"};
static PetscInt calls[N], fail_after = -1, ncalls;

/* Abundance e of a row: theta_(e mod 6) + e; every 7th row rejected. */
static double truth(const double *th, int e) { return th[e % CS_NPARAM] + e; }

static PetscErrorCode fake_compute(void *vctx, PetscInt row, double *out)
{
  SimJob *job = (SimJob *)vctx;
  double th[CS_NPARAM];
  PetscFunctionBeginUser;
  PetscCheck(fail_after < 0 || ncalls < fail_after, PETSC_COMM_SELF, PETSC_ERR_USER, "stopped on purpose");
  ncalls++;
  calls[row]++;
  PetscCall(sim_job_params(job, row, th));
  out[SIM_COL_STATUS] = row % 7 == 3 ? 1 : 0;
  for (int e = 0; e < CS_NELEM; e++) out[SIM_COL_ABUND + e] = row % 7 == 3 ? NAN : truth(th, e);
  out[SIM_COL_STEPS] = (double)row;
  out[SIM_COL_RHS] = 2.0 * row;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void job_init(SimJob *job, const char *out)
{
  memset(job, 0, sizeof(*job));
  assert_int_equal(gce_config_default(&job->gce), 0);
  job->prior_kind = PRIOR_WIDE;
  assert_int_equal(prior_init(PRIOR_WIDE, &job->prior), 0);
  job->n = N;
  job->seed = 11;
  job->chunk = 4;
  job->direct = PETSC_TRUE;
  job->progress_every = 1e9;
  snprintf(job->out, sizeof(job->out), "%s", out);
}

static PetscErrorCode run(const char *out)
{
  ParCtx ctx;
  SimJob job;
  PetscFunctionBeginUser;
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  job_init(&job, out);
  memset(calls, 0, sizeof(calls));
  ncalls = 0;
  PetscErrorCode e = sim_job_run(&ctx, &job, fake_compute, status_names);
  if (e && job.h5.id > 0) H5Fclose(job.h5.id); /* what a kill leaves: the .tmp, not committed */
  PetscFunctionReturn(e);
}

/* Every row's stored abundances and status against the stand-in. */
static void check_h5(const char *path)
{
  H5File f;
  double ab[N * CS_NELEM], th[N * CS_NPARAM], want[CS_NPARAM];
  int st[N];
  SimJob job;
  job_init(&job, path);
  assert_int_equal(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f), 0);
  assert_int_equal(h5_table_read_rows(&f, "abundances", H5T_NATIVE_DOUBLE, 0, N, ab, PETSC_FALSE), 0);
  assert_int_equal(h5_table_read_rows(&f, "params", H5T_NATIVE_DOUBLE, 0, N, th, PETSC_FALSE), 0);
  assert_int_equal(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, 0, N, st, PETSC_FALSE), 0);
  assert_int_equal(h5_close(&f), 0);
  for (PetscInt i = 0; i < N; i++) {
    assert_int_equal(sim_job_params(&job, i, want), 0);
    for (int k = 0; k < CS_NPARAM; k++) assert_true(th[i * CS_NPARAM + k] == want[k]);
    assert_int_equal(st[i], i % 7 == 3 ? 1 : 0);
    for (int e = 0; e < CS_NELEM; e++)
      if (i % 7 == 3)
        assert_true(isnan(ab[i * CS_NELEM + e]));
      else
        assert_true(ab[i * CS_NELEM + e] == truth(want, e));
  }
}

static void test_h5_rows_and_complete_file(void **state)
{
  const char *path = "/tmp/cs_test_sim.h5";
  unlink(path);
  assert_int_equal(run(path), 0);
  assert_int_equal(ncalls, N);
  for (int i = 0; i < N; i++) assert_int_equal(calls[i], 1);
  check_h5(path);
  assert_int_equal(run(path), 0); /* finished: nothing recomputed */
  assert_int_equal(ncalls, 0);
  unlink(path);
}

static void test_resume_after_stop(void **state)
{
  const char *path = "/tmp/cs_test_sim_r.h5", *tmp = "/tmp/cs_test_sim_r.h5.tmp";
  PetscInt first[N];
  unlink(path);
  unlink(tmp);
  fail_after = 25;
  PetscPushErrorHandler(capture, NULL);
  PetscErrorCode e = run(path);
  PetscPopErrorHandler();
  fail_after = -1;
  assert_int_not_equal(e, 0);
  assert_int_equal(access(tmp, F_OK), 0); /* the partial file, not renamed */
  assert_int_not_equal(access(path, F_OK), 0);
  memcpy(first, calls, sizeof(first));
  /* The rows stored before the stop. */
  H5File f;
  int st[N], stored = 0;
  assert_int_equal(h5_open(PETSC_COMM_SELF, tmp, PETSC_FALSE, &f), 0);
  assert_int_equal(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, 0, N, st, PETSC_FALSE), 0);
  assert_int_equal(h5_close(&f), 0);
  for (int i = 0; i < N; i++) stored += st[i] >= 0;
  assert_true(stored > 0 && stored < N);
  assert_int_equal(run(path), 0);
  assert_int_equal(ncalls, N - stored);
  for (int i = 0; i < N; i++) assert_int_equal(calls[i], st[i] >= 0 ? 0 : 1); /* exactly the missing rows */
  check_h5(path);
  unlink(path);
}

static void test_csv(void **state)
{
  const char *path = "/tmp/cs_test_sim.csv";
  const char *names[CS_NPARAM + 1 + CS_NELEM];
  CsvTable t;
  SimJob job;
  double want[CS_NPARAM];
  unlink(path);
  assert_int_equal(run(path), 0);
  for (int k = 0; k < CS_NPARAM; k++) names[k] = cs_param_names[k];
  names[CS_NPARAM] = "status";
  for (int e = 0; e < CS_NELEM; e++) names[CS_NPARAM + 1 + e] = cs_elem_names[e];
  assert_int_equal(csv_read(path, CS_NPARAM + 1 + CS_NELEM, names, NULL, PETSC_TRUE, NULL, &t), 0);
  assert_int_equal(t.nrows, N);
  job_init(&job, path);
  for (PetscInt i = 0; i < N; i++) {
    const double *r = t.data + i * (CS_NPARAM + 1 + CS_NELEM);
    assert_int_equal(sim_job_params(&job, i, want), 0);
    assert_true(r[CS_NPARAM] == (i % 7 == 3 ? 1 : 0));
    for (int e = 0; e < CS_NELEM && i % 7 != 3; e++)
      assert_true(fabs(r[CS_NPARAM + 1 + e] - truth(want, e)) <= 1e-12 * (1 + fabs(truth(want, e))));
  }
  csv_table_destroy(&t);
  unlink(path);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_h5_rows_and_complete_file),
      cmocka_unit_test(test_resume_after_stop),
      cmocka_unit_test(test_csv),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
