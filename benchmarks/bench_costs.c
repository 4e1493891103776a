/* Per-item costs for the performance model (benchmarks/scaling_model), on one
 * core, in CPU time of this thread (a loaded machine's other processes do not
 * count) and wall time:
 *   chempy      one CHEMPY run (default CVODE scheme, wide prior, as simulate draws)
 *   emu_row     emulator 6-100-40-8 forward + backward per row, by batch size (rows
 *               gathered at random from a 700k-row set, as the trainer does)
 *   emu_step    one optimiser step (schedule-free AdamW) on the emulator's weights
 *   npe_row     5 x 32 MAF log-prob + backward per row, by batch size (rows gathered at
 *               random from a 90k-row set, as the trainer does); npe_step: with the clipping norm
 *   npe_step    one Adam step on the flow's weights
 *   npe_sample  one posterior sample (per sample, blocks of 1000)
 *   star_logp   hier_star_logp per star, without and with the gradient, and
 *   star_score  hier_star_score per star: the exact methods' per-star kernels
 * Every measurement is repeated -reps times: median and min..max over the reps.
 * With -h5 FILE (under mpirun, any rank count): per-row cost of the farm's
 * write pattern, rows in runs of 1, 16 and 256 dealt round-robin to the ranks,
 * independent writes, then one collective write of contiguous blocks.
 *
 *   OPENBLAS_NUM_THREADS=1 bin/bench/bench_costs [-reps 5] [-emulator E.h5] [-chempy_runs 200]
 *   mpirun -np 2 bin/bench/bench_costs -h5 /tmp/x.h5 [-h5_rows 20000] [-h5_stripe 1048576 ...]
 * Output: "BENCH <what> key=value ..." lines, read by benchmarks/costs.sh. */
#include <chempysbi/emu.h>
#include <chempysbi/gce.h>
#include <chempysbi/hier.h>
#include <chempysbi/maf.h>
#include <chempysbi/mlp.h>
#include <chempysbi/nn.h>
#include <chempysbi/opt.h>
#include <chempysbi/par.h>
#include <chempysbi/prior.h>
#include <chempysbi/batch.h>
#include <chempysbi/rng.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAXREP 64

static double cpu_time(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* median, min, max of v[n] (sorted in place) */
static void stats(double *v, int n, double s[3])
{
  qsort(v, (size_t)n, sizeof(double), cmp_d);
  s[0] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s[1] = v[0], s[2] = v[n - 1];
}

/* One line: cpu and wall per item in microseconds, median min max. */
static PetscErrorCode report(const char *what, const char *extra, int reps, double *cpu, double *wall)
{
  double c[3], w[3];
  PetscFunctionBeginUser;
  stats(cpu, reps, c);
  stats(wall, reps, w);
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH %s %s cpu_us=%.4g min=%.4g max=%.4g wall_us=%.4g min=%.4g max=%.4g reps=%d\n", what,
                        extra, c[0], c[1], c[2], w[0], w[1], w[2], reps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode bench_chempy(int reps, PetscInt runs)
{
  GceConfig cfg;
  GceYields *y;
  GceWork *w;
  Prior pr;
  double cpu[MAXREP], wall[MAXREP], ab[CS_NELEM], th[CS_NPARAM], *per;
  GceStatus st;
  PetscFunctionBeginUser;
  PetscCall(gce_config_default(&cfg));
  PetscCall(gce_yields_load(cfg.data_dir, cfg.yields, &y));
  PetscCall(gce_work_create(y, &cfg, &w));
  PetscCall(prior_init(PRIOR_WIDE, &pr));
  PetscCall(PetscMalloc1(runs, &per));
  for (int r = 0; r < reps; r++) {
    double c0 = cpu_time(), w0 = cs_wtime();
    for (PetscInt i = 0; i < runs; i++) {
      double ci = cpu_time();
      prior_sample(&pr, 1, RNG_PARAMS, (uint64_t)i, th);
      PetscCall(gce_run(w, th, ab, &st, NULL));
      per[i] = cpu_time() - ci;
    }
    cpu[r] = 1e6 * (cpu_time() - c0) / runs;
    wall[r] = 1e6 * (cs_wtime() - w0) / runs;
  }
  /* the spread of one run's cost over prior draws: the farm's load imbalance */
  double mean = 0, var = 0, p[3];
  for (PetscInt i = 0; i < runs; i++) mean += per[i] / runs;
  for (PetscInt i = 0; i < runs; i++) var += (per[i] - mean) * (per[i] - mean) / PetscMax(1, runs - 1);
  qsort(per, (size_t)runs, sizeof(double), cmp_d);
  p[0] = per[runs / 2], p[1] = per[(PetscInt)(0.95 * (runs - 1))], p[2] = per[runs - 1];
  char extra[160];
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "runs=%" PetscInt_FMT " cv=%.3f p50_us=%.4g p95_us=%.4g max_us=%.4g",
                          runs, sqrt(var) / mean, 1e6 * p[0], 1e6 * p[1], 1e6 * p[2]));
  PetscCall(report("chempy", extra, reps, cpu, wall));
  PetscCall(PetscFree(per));
  PetscCall(gce_work_destroy(&w));
  PetscCall(gce_yields_destroy(&y));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Forward + backward of batches of B rows (no optimiser), per row; then the optimiser step. */
static PetscErrorCode bench_emu(int reps)
{
  /* 33 and 48: past a 32-row block (nn.c computes whole blocks), so the model can tell blocks from rows */
  static const int batches[] = {1, 2, 4, 8, 16, 32, 33, 48, 64, 128, 256, 512, 1024};
  /* rows gathered at random from a training set of the paper's size, as the trainer does (cache misses included) */
  const int sizes[] = {6, 100, 40, 8}, rows = 32768, N = 700000;
  double *x, *t, *y, *dy, *xb, *tb, cpu[MAXREP], wall[MAXREP];
  PetscInt *idx;
  Mlp *m;
  Opt *o;
  Rng r;
  char extra[64];
  PetscFunctionBeginUser;
  PetscCall(mlp_create(sizes, 4, 1024, &m));
  PetscCall(mlp_init(m, 1));
  PetscCall(PetscMalloc4(N * 6, &x, N * 8, &t, 1024 * 8, &y, 1024 * 8, &dy));
  PetscCall(PetscMalloc3(1024 * 6, &xb, 1024 * 8, &tb, rows, &idx));
  rng_init(&r, 1, RNG_TEST, 0);
  for (PetscInt i = 0; i < N * 6; i++) x[i] = rng_normal(&r);
  for (PetscInt i = 0; i < N * 8; i++) t[i] = 0.1 * rng_normal(&r);
  for (PetscInt i = 0; i < rows; i++) idx[i] = (PetscInt)(rng_uniform(&r) * N) % N;
  for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
    int B = batches[k];
    for (int q = 0; q < reps; q++) {
      double c0 = cpu_time(), w0 = cs_wtime();
      for (int i = 0; i + B <= rows; i += B) {
        memset(m->grads, 0, m->nparams * sizeof(double));
        for (int k = 0; k < B; k++) {
          memcpy(xb + k * 6, x + idx[i + k] * 6, 6 * sizeof(double));
          memcpy(tb + k * 8, t + idx[i + k] * 8, 8 * sizeof(double));
        }
        mlp_forward(m, xb, B, y);
        memset(dy, 0, (size_t)B * 8 * sizeof(double));
        mse_backward(dy, y, tb, B, 8, 1.0 / (B * 8));
        mlp_backward(m, dy, B);
      }
      cpu[q] = 1e6 * (cpu_time() - c0) / rows;
      wall[q] = 1e6 * (cs_wtime() - w0) / rows;
    }
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "batch=%d", B));
    PetscCall(report("emu_row", extra, reps, cpu, wall));
  }
  PetscCall(opt_create(OPT_SCHEDULEFREE, m->nparams, &o));
  for (int q = 0; q < reps; q++) {
    double c0 = cpu_time(), w0 = cs_wtime();
    for (int i = 0; i < 2000; i++) opt_step(o, m->params, m->grads);
    cpu[q] = 1e6 * (cpu_time() - c0) / 2000, wall[q] = 1e6 * (cs_wtime() - w0) / 2000;
  }
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "nparams=%zu", m->nparams));
  PetscCall(report("emu_step", extra, reps, cpu, wall));
  PetscCall(opt_destroy(&o));
  PetscCall(PetscFree4(x, t, y, dy));
  PetscCall(PetscFree3(xb, tb, idx));
  PetscCall(mlp_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode bench_npe(int reps)
{
  static const int batches[] = {1, 2, 5, 10, 25, 32, 33, 48, 50, 100, 200, 400, 800};
  /* rows gathered at random from a training set of the paper NPE's size (90,000 of 1e5), as the
   * trainer does: its batch copies and cache misses are part of the cost per row */
  const int D = 6, C = 8, rows = 8000, N = 90000;
  double *th, *cx, *tb, *cb, lp[1024], dl[1024], cpu[MAXREP], wall[MAXREP];
  PetscInt *idx;
  Maf *m;
  Opt *o;
  Rng r;
  char extra[64];
  PetscFunctionBeginUser;
  PetscCall(maf_create(D, C, 5, 32, 2, 1024, &m));
  PetscCall(maf_init(m, 1));
  PetscCall(PetscMalloc5(N * D, &th, N * C, &cx, 1024 * D, &tb, 1024 * C, &cb, rows, &idx));
  rng_init(&r, 2, RNG_TEST, 0);
  for (PetscInt i = 0; i < N * D; i++) th[i] = rng_normal(&r);
  for (PetscInt i = 0; i < N * C; i++) cx[i] = rng_normal(&r);
  for (PetscInt i = 0; i < rows; i++) idx[i] = (PetscInt)(rng_uniform(&r) * N) % N;
  for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
    int B = batches[k];
    for (int i = 0; i < B; i++) dl[i] = -1.0 / B;
    for (int q = 0; q < reps; q++) {
      double c0 = cpu_time(), w0 = cs_wtime();
      for (int i = 0; i + B <= rows; i += B) {
        memset(m->grads, 0, m->nparams * sizeof(double));
        for (int j = 0; j < B; j++) {
          memcpy(tb + j * D, th + idx[i + j] * D, D * sizeof(double));
          memcpy(cb + j * C, cx + idx[i + j] * C, C * sizeof(double));
        }
        maf_log_prob(m, tb, cb, B, lp);
        maf_backward(m, dl, B);
      }
      cpu[q] = 1e6 * (cpu_time() - c0) / rows;
      wall[q] = 1e6 * (cs_wtime() - w0) / rows;
    }
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "batch=%d", B));
    PetscCall(report("npe_row", extra, reps, cpu, wall));
  }
  /* the step as the trainer takes it with -clip: the gradient's norm, the clip, then Adam */
  PetscCall(opt_create(OPT_ADAM, m->nparams, &o));
  for (int q = 0; q < reps; q++) {
    double c0 = cpu_time(), w0 = cs_wtime();
    for (int i = 0; i < 2000; i++) {
      double g2 = 0;
      for (size_t k = 0; k < m->nparams; k++) g2 += m->grads[k] * m->grads[k];
      if (sqrt(g2) > 5.0)
        for (size_t k = 0; k < m->nparams; k++) m->grads[k] *= 5.0 / sqrt(g2);
      opt_step(o, m->params, m->grads);
    }
    cpu[q] = 1e6 * (cpu_time() - c0) / 2000, wall[q] = 1e6 * (cs_wtime() - w0) / 2000;
  }
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "nparams=%zu", m->nparams));
  PetscCall(report("npe_step", extra, reps, cpu, wall));
  /* posterior samples for one context, as infer -method gauss and validate draw them */
  for (int q = 0; q < reps; q++) {
    double c0 = cpu_time(), w0 = cs_wtime();
    maf_sample(m, cx, th, 1000, th + 1000 * D);
    cpu[q] = 1e6 * (cpu_time() - c0) / 1000, wall[q] = 1e6 * (cs_wtime() - w0) / 1000;
  }
  PetscCall(report("npe_sample", "block=1000", reps, cpu, wall));
  PetscCall(opt_destroy(&o));
  PetscCall(PetscFree5(th, cx, tb, cb, idx));
  PetscCall(maf_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The exact methods' per-star kernels on n stars from the emulator with 0.05 dex noise. */
static PetscErrorCode bench_star(int reps, const char *emulator, PetscInt n)
{
  Emulator *e;
  HierMean mean;
  HierPrior hp;
  HierModel *hm;
  Prior pr;
  double *x, *ez, *lp, *gz, *gL, *s, *h, th[CS_NPARAM], etaL[2], cpu[MAXREP], wall[MAXREP];
  Rng r;
  PetscFunctionBeginUser;
  if (access(emulator, R_OK)) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "BENCH star_logp skipped: no emulator %s (-emulator)\n", emulator));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(emu_read_h5(emulator, "/emulator", 1024, &e));
  hier_mean_emulator(e, &mean);
  PetscCall(prior_init(PRIOR_GAUSS, &pr));
  hier_prior_from(&pr, &hp);
  PetscCall(PetscMalloc7(n * 8, &x, n * 4, &ez, n, &lp, n * 4, &gz, n * 2, &gL, n * 2, &s, n * 3, &h));
  rng_init(&r, 3, RNG_TEST, 0);
  for (PetscInt i = 0; i < n; i++) {
    prior_sample(&pr, 3, RNG_PARAMS, (uint64_t)i, th);
    emu_predict(e, th, 1, x + i * 8);
    for (int k = 0; k < 8; k++) x[i * 8 + k] += 0.05 * rng_normal(&r);
    for (int q = 0; q < 4; q++) ez[i * 4 + q] = hier_to_eta(&hp, 2 + q, th[2 + q]);
  }
  for (int a = 0; a < 2; a++) etaL[a] = hier_to_eta(&hp, a, pr.mean[a]);
  PetscCall(hier_create(&mean, &hp, n, x, NULL, 0.05, &hm));
  const int it = 20;
  for (int g = 0; g < 3; g++) {
    for (int q = 0; q < reps; q++) {
      double c0 = cpu_time(), w0 = cs_wtime();
      for (int k = 0; k < it; k++) {
        if (g == 0) PetscCall(hier_star_logp(hm, etaL, ez, lp, NULL, NULL));
        if (g == 1) PetscCall(hier_star_logp(hm, etaL, ez, lp, gz, gL));
        if (g == 2) PetscCall(hier_star_score(hm, pr.mean, ez, s, h));
      }
      cpu[q] = 1e6 * (cpu_time() - c0) / (it * n), wall[q] = 1e6 * (cs_wtime() - w0) / (it * n);
    }
    char extra[64];
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "stars=%" PetscInt_FMT, n));
    PetscCall(report(g == 0 ? "star_logp" : g == 1 ? "star_logp_grad" : "star_score", extra, reps, cpu, wall));
  }
  PetscCall(hier_destroy(&hm));
  PetscCall(PetscFree7(x, ez, lp, gz, gL, s, h));
  PetscCall(emu_destroy(&e));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The farm's write pattern: runs of `run` rows dealt round-robin to the ranks,
 * each run written by its rank with independent I/O (abundances 8 doubles,
 * solver stats 2, status 1 int, as sim_store_h5), then contiguous blocks
 * written collectively. Per-row wall time, max over ranks. */
static PetscErrorCode bench_h5(const ParCtx *ctx, int reps, const char *path, PetscInt rows)
{
  static const int runs[] = {1, 16, 256};
  double *ab, *st2, t[MAXREP], sres[3];
  int *st;
  static const char *ab_names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"}, *st_names[2] = {"s", "r"};
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(rows * 8, &ab, rows * 2, &st2, rows, &st));
  for (PetscInt i = 0; i < rows * 8; i++) ab[i] = 1e-3 * i;
  for (PetscInt i = 0; i < rows * 2; i++) st2[i] = i;
  for (PetscInt i = 0; i < rows; i++) st[i] = 0;
  for (int k = 0; k < 4; k++) {
    int run = k < 3 ? runs[k] : 0; /* 0: collective blocks */
    for (int q = 0; q < reps; q++) {
      H5File f;
      PetscCall(h5_create(ctx->comm, path, &f));
      PetscCall(h5_table_create(&f, "abundances", H5T_NATIVE_DOUBLE, rows, 8, ab_names));
      PetscCall(h5_table_create(&f, "solver_stats", H5T_NATIVE_DOUBLE, rows, 2, st_names));
      PetscCall(h5_table_create(&f, "status", H5T_NATIVE_INT, rows, 0, NULL));
      PetscCallMPI(MPI_Barrier(ctx->comm));
      double t0 = cs_wtime();
      if (run) {
        for (PetscInt a = (PetscInt)ctx->rank * run; a < rows; a += (PetscInt)ctx->size * run) {
          PetscInt n = PetscMin(run, rows - a);
          PetscCall(h5_table_write_rows(&f, "abundances", H5T_NATIVE_DOUBLE, a, n, ab + a * 8, PETSC_FALSE));
          PetscCall(h5_table_write_rows(&f, "solver_stats", H5T_NATIVE_DOUBLE, a, n, st2 + a * 2, PETSC_FALSE));
          PetscCall(h5_table_write_rows(&f, "status", H5T_NATIVE_INT, a, n, st + a, PETSC_FALSE));
        }
      } else {
        PetscInt lo, hi;
        par_block_range(rows, ctx->rank, ctx->size, &lo, &hi);
        PetscCall(h5_table_write_rows(&f, "abundances", H5T_NATIVE_DOUBLE, lo, hi - lo, ab + lo * 8, PETSC_TRUE));
        PetscCall(h5_table_write_rows(&f, "solver_stats", H5T_NATIVE_DOUBLE, lo, hi - lo, st2 + lo * 2, PETSC_TRUE));
        PetscCall(h5_table_write_rows(&f, "status", H5T_NATIVE_INT, lo, hi - lo, st + lo, PETSC_TRUE));
      }
      double dt = cs_wtime() - t0;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, ctx->comm));
      t[q] = 1e6 * dt / rows; /* wall per row of the whole file */
      PetscCall(h5_commit(&f));
    }
    stats(t, reps, sres);
    PetscCall(PetscPrintf(ctx->comm,
                          "BENCH h5_row ranks=%d rows=%" PetscInt_FMT " %s=%d wall_us=%.4g min=%.4g max=%.4g reps=%d\n",
                          ctx->size, rows, run ? "run" : "collective", run ? run : 1, sres[0], sres[1], sres[2], reps));
  }
  if (ctx->rank == 0) unlink(path);
  PetscCall(PetscFree3(ab, st2, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Reading a simulate file as the trainings do (every table, rank 0's block = all rows on 1 rank), per row. */
static PetscErrorCode bench_h5_read(const ParCtx *ctx, int reps, const char *path)
{
  double cpu[MAXREP], wall[MAXREP];
  PetscInt n = 0, nc;
  PetscFunctionBeginUser;
  for (int q = 0; q < reps; q++) {
    H5File f;
    double c0 = cpu_time(), w0 = cs_wtime(), *p, *a;
    int *st;
    PetscCall(h5_open(ctx->comm, path, PETSC_FALSE, &f));
    PetscCall(h5_table_info(&f, "params", &n, &nc));
    PetscCall(PetscMalloc3(n * 6, &p, n * 8, &a, n, &st));
    PetscCall(h5_table_read_rows(&f, "params", H5T_NATIVE_DOUBLE, 0, n, p, PETSC_TRUE));
    PetscCall(h5_table_read_rows(&f, "abundances", H5T_NATIVE_DOUBLE, 0, n, a, PETSC_TRUE));
    PetscCall(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, 0, n, st, PETSC_TRUE));
    PetscCall(h5_close(&f));
    PetscCall(PetscFree3(p, a, st));
    cpu[q] = 1e6 * (cpu_time() - c0) / n, wall[q] = 1e6 * (cs_wtime() - w0) / n;
  }
  char extra[64];
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "rows=%" PetscInt_FMT, n));
  PetscCall(report("h5_read_row", extra, reps, cpu, wall));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The epoch's shuffle per training row: the fixed-batch mode's Fisher-Yates over all N rows (on
 * every rank), the weak mode's keyed sort of a rank's own rows (batch.h). */
static PetscErrorCode bench_shuffle(int reps)
{
  const PetscInt N = 700000;
  double cpu[MAXREP], wall[MAXREP];
  Batcher bt;
  PetscFunctionBeginUser;
  for (int mode = 0; mode < 2; mode++) {
    if (mode == 0)
      PetscCall(batcher_create(N, 0, N, 64, 1, &bt));
    else
      PetscCall(batcher_create_weak(0, N, 64, 1, &N, &bt));
    for (int q = 0; q < reps; q++) {
      double c0 = cpu_time(), w0 = cs_wtime();
      batcher_shuffle(&bt, 1, q + 1);
      cpu[q] = 1e6 * (cpu_time() - c0) / N, wall[q] = 1e6 * (cs_wtime() - w0) / N;
    }
    PetscCall(report("shuffle_row", mode == 0 ? "mode=fixed rows=700000" : "mode=weak rows=700000", reps, cpu, wall));
    PetscCall(batcher_destroy(&bt));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  ParCtx ctx;
  PetscInt reps = 5, runs = 200, stars = 1000, h5_rows = 20000;
  PetscBool shuffle_only = PETSC_FALSE;
  char emulator[PETSC_MAX_PATH_LEN] = "/work/data/paper/emulator.h5", h5[PETSC_MAX_PATH_LEN] = "",
       h5r[PETSC_MAX_PATH_LEN] = "";
  PetscCall(PetscInitialize(&argc, &argv, NULL, "Per-item costs for the performance model"));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "bench_costs options", NULL);
  PetscCall(PetscOptionsInt("-reps", "repetitions of every measurement", NULL, reps, &reps, NULL));
  PetscCall(PetscOptionsInt("-chempy_runs", "CHEMPY runs per repetition", NULL, runs, &runs, NULL));
  PetscCall(PetscOptionsInt("-stars", "stars of the per-star kernels", NULL, stars, &stars, NULL));
  PetscCall(PetscOptionsString("-emulator", "emulator file for the per-star kernels", NULL, emulator, emulator,
                               sizeof(emulator), NULL));
  PetscCall(
      PetscOptionsString("-h5", "only the HDF5 write pattern, into this scratch file", NULL, h5, h5, sizeof(h5), NULL));
  PetscCall(PetscOptionsInt("-h5_rows", "rows of the HDF5 benchmark", NULL, h5_rows, &h5_rows, NULL));
  PetscCall(PetscOptionsString("-h5_read", "only: read this simulate file's tables, per row", NULL, h5r, h5r,
                               sizeof(h5r), NULL));
  PetscCall(PetscOptionsBool("-shuffle", "only the epoch shuffle per row", NULL, shuffle_only, &shuffle_only, NULL));
  PetscOptionsEnd();
  PetscCheck(reps >= 1 && reps <= MAXREP, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-reps: 1..%d", MAXREP);
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  PetscCall(h5_set_from_options(ctx.comm));
  if (shuffle_only)
    PetscCall(bench_shuffle((int)reps));
  else if (h5r[0])
    PetscCall(bench_h5_read(&ctx, (int)reps, h5r));
  else if (h5[0])
    PetscCall(bench_h5(&ctx, (int)reps, h5, h5_rows));
  else {
    PetscCall(bench_emu((int)reps));
    PetscCall(bench_npe((int)reps));
    PetscCall(bench_star((int)reps, emulator, stars));
    PetscCall(bench_chempy((int)reps, runs));
    PetscCall(bench_shuffle((int)reps));
  }
  PetscCall(PetscFinalize());
  return 0;
}
