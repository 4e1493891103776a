/* MPI micro benchmarks for the performance model (benchmarks/scaling_model):
 * ping-pong latency and bandwidth between ranks 0 and 1, MPI_Allreduce of the
 * message sizes the stages use (a few doubles: infer's sums; one gradient of the
 * emulator and of the NPE: training), and the farm's protocol (rank 0's cost
 * per request, with rows that spin for a given time), and the sharded optimiser step's
 * collectives at the same gradient sizes. Every measurement is
 * repeated -reps times; lines give the median and the min..max spread.
 *
 *   mpirun -np 2 bin/bench/bench_mpi [-reps 5] [-farm_rows 20000] [-farm_row_us 50]
 * Output lines: "BENCH <what> key=value ...", read by benchmarks/costs.sh. */
#include <chempysbi/farm.h>
#include <chempysbi/maf.h>
#include <chempysbi/mlp.h>
#include <stdlib.h>

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* median, min, max of v[n] (sorted in place) */
static void stats(double *v, int n, double *med, double *lo, double *hi)
{
  qsort(v, (size_t)n, sizeof(double), cmp_d);
  *med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  *lo = v[0], *hi = v[n - 1];
}

static PetscErrorCode pingpong(const ParCtx *ctx, int reps)
{
  static const int sizes[] = {8, 64, 512, 4096, 32768, 262144, 1048576};
  char *buf;
  double t[64];
  PetscFunctionBeginUser;
  if (ctx->size < 2) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc1(1048576, &buf));
  PetscCall(PetscMemzero(buf, 1048576));
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    int bytes = sizes[s], iters = bytes <= 4096 ? 2000 : bytes <= 262144 ? 200 : 50;
    for (int r = 0; r < reps; r++) {
      PetscCallMPI(MPI_Barrier(ctx->comm));
      double t0 = MPI_Wtime();
      for (int i = 0; i < iters; i++) {
        if (ctx->rank == 0) {
          PetscCallMPI(MPI_Send(buf, bytes, MPI_CHAR, 1, 1, ctx->comm));
          PetscCallMPI(MPI_Recv(buf, bytes, MPI_CHAR, 1, 1, ctx->comm, MPI_STATUS_IGNORE));
        } else if (ctx->rank == 1) {
          PetscCallMPI(MPI_Recv(buf, bytes, MPI_CHAR, 0, 1, ctx->comm, MPI_STATUS_IGNORE));
          PetscCallMPI(MPI_Send(buf, bytes, MPI_CHAR, 0, 1, ctx->comm));
        }
      }
      t[r] = (MPI_Wtime() - t0) / (2.0 * iters); /* one way */
    }
    double med, lo, hi;
    stats(t, reps, &med, &lo, &hi);
    PetscCall(PetscPrintf(ctx->comm,
                          "BENCH pingpong bytes=%d one_way_us=%.3f min=%.3f max=%.3f bandwidth_MBps=%.1f reps=%d\n",
                          bytes, 1e6 * med, 1e6 * lo, 1e6 * hi, bytes / med / 1e6, reps));
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode allreduce(const ParCtx *ctx, int reps, const char *what, int n)
{
  double *buf, t[64];
  int iters = n <= 64 ? 2000 : n <= 8192 ? 400 : 100;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n, &buf));
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < n; i++) buf[i] = 1e-3 * i;
    PetscCallMPI(MPI_Barrier(ctx->comm));
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, ctx->comm));
    t[r] = (MPI_Wtime() - t0) / iters;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t[r], 1, MPI_DOUBLE, MPI_MAX, ctx->comm));
  }
  double med, lo, hi;
  stats(t, reps, &med, &lo, &hi);
  PetscCall(PetscPrintf(ctx->comm, "BENCH allreduce what=%s doubles=%d ranks=%d us=%.3f min=%.3f max=%.3f reps=%d\n",
                        what, n, ctx->size, 1e6 * med, 1e6 * lo, 1e6 * hi, reps));
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The sharded optimiser step's collectives (src/par/par_shard.c), as the trainer calls them: the
 * gradient reduce-scattered, with clip the norm's block sums all-gathered, the weights all-gathered;
 * with single both exchanges in floats, the conversions included. */
static PetscErrorCode shard_step(const ParCtx *ctx, int reps, const char *what, int n, PetscBool clip, PetscBool single)
{
  double *grad, *w, t[64], x2;
  ParShard sh;
  int iters = n <= 8192 ? 400 : 100;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(n, &grad, n, &w));
  PetscCall(par_shard_create(ctx, (size_t)n, PETSC_TRUE, single, &sh));
  for (int r = 0; r < reps && sh.on; r++) {
    for (int i = 0; i < n; i++) grad[i] = w[i] = 1e-3 * i;
    par_shard_begin(&sh, w);
    PetscCallMPI(MPI_Barrier(ctx->comm));
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
      PetscCall(par_shard_reduce(ctx, &sh, grad));
      if (clip) PetscCall(par_shard_norm2(ctx, &sh, sh.g, &x2));
      PetscCall(par_shard_gather_weights(ctx, &sh, w));
    }
    t[r] = (MPI_Wtime() - t0) / iters;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &t[r], 1, MPI_DOUBLE, MPI_MAX, ctx->comm));
  }
  if (sh.on) {
    double med, lo, hi;
    stats(t, reps, &med, &lo, &hi);
    PetscCall(PetscPrintf(
        ctx->comm, "BENCH shard_step what=%s doubles=%d ranks=%d clip=%d%s us=%.3f min=%.3f max=%.3f reps=%d\n", what,
        n, ctx->size, (int)clip, single ? " single=1" : "", 1e6 * med, 1e6 * lo, 1e6 * hi, reps));
  }
  PetscCall(par_shard_destroy(&sh));
  PetscCall(PetscFree2(grad, w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  double row_s;
} Spin;

static PetscErrorCode spin_compute(void *vctx, PetscInt row, double *out)
{
  const Spin *s = (const Spin *)vctx;
  double t0 = cs_wtime();
  while (cs_wtime() - t0 < s->row_s) {}
  out[0] = 0;
  out[1] = (double)row;
  return PETSC_SUCCESS;
}

static PetscErrorCode no_store(void *vctx, PetscInt n, const PetscInt *rows, const double *out)
{
  return PETSC_SUCCESS;
}

/* The farm with rows of fixed cost: requests, rank 0's busy time per request,
 * and the run's efficiency against rows * row_us / ranks. */
static PetscErrorCode farm(const ParCtx *ctx, int reps, PetscInt rows, double row_us, PetscInt chunk)
{
  Spin sp = {.row_s = 1e-6 * row_us};
  FarmSpec spec = {.nout = 2,
                   .compute = spin_compute,
                   .store = no_store,
                   .ctx = &sp,
                   .chunk = chunk,
                   .direct = PETSC_TRUE,
                   .what = "bench_farm",
                   .progress_every = 1e9};
  PetscInt *pending = NULL;
  double us[64], cpu[64], eff[64], nreq = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(rows, &pending));
  for (PetscInt i = 0; i < rows; i++) pending[i] = i;
  for (int r = 0; r < reps; r++) {
    FarmSummary sum;
    PetscCallMPI(MPI_Barrier(ctx->comm));
    PetscCall(farm_run(ctx, &spec, rows, pending, rows, 0, &sum));
    us[r] = sum.requests ? 1e6 * sum.serve_seconds / sum.requests : 0;
    cpu[r] = sum.requests ? 1e6 * sum.serve_cpu_seconds / sum.requests : 0;
    eff[r] = rows * sp.row_s / ctx->size / sum.seconds;
    nreq = (double)sum.requests;
  }
  double m1, l1, h1, m2, l2, h2, m3, l3, h3;
  stats(us, reps, &m1, &l1, &h1);
  stats(eff, reps, &m2, &l2, &h2);
  stats(cpu, reps, &m3, &l3, &h3);
  PetscCall(
      PetscPrintf(ctx->comm,
                  "BENCH farm ranks=%d rows=%" PetscInt_FMT " row_us=%g chunk=%" PetscInt_FMT
                  " requests=%.0f serve_us=%.3f min=%.3f max=%.3f serve_cpu_us=%.3f min=%.3f max=%.3f efficiency=%.4f "
                  "min=%.4f max=%.4f reps=%d\n",
                  ctx->size, rows, row_us, chunk, nreq, m1, l1, h1, m3, l3, h3, m2, l2, h2, reps));
  PetscCall(PetscFree(pending));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  ParCtx ctx;
  PetscInt reps = 5, farm_rows = 20000, chunk = 0;
  PetscReal row_us = 50;
  PetscBool skip_farm = PETSC_FALSE;
  Mlp *mlp;
  Maf *maf;
  PetscCall(PetscInitialize(&argc, &argv, NULL, "MPI micro benchmarks"));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "bench_mpi options", NULL);
  PetscCall(PetscOptionsInt("-reps", "repetitions of every measurement (median, min, max)", NULL, reps, &reps, NULL));
  PetscCall(PetscOptionsInt("-farm_rows", "rows of the farm benchmark", NULL, farm_rows, &farm_rows, NULL));
  PetscCall(PetscOptionsReal("-farm_row_us", "cost of one farm row [us] (a spin)", NULL, row_us, &row_us, NULL));
  PetscCall(PetscOptionsInt("-farm_chunk", "farm chunk (0 = the farm's adaptive rule)", NULL, chunk, &chunk, NULL));
  PetscCall(PetscOptionsBool("-skip_farm", "skip the farm benchmark", NULL, skip_farm, &skip_farm, NULL));
  PetscOptionsEnd();
  PetscCheck(reps >= 1 && reps <= 64, PETSC_COMM_WORLD, PETSC_ERR_ARG_OUTOFRANGE, "-reps: 1..64");
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  /* the gradient sizes of the default networks: emulator 6-100-40-8, NPE 5 x 32 MAF */
  PetscCall(mlp_create((const int[]){6, 100, 40, 8}, 4, 1, &mlp));
  PetscCall(maf_create(6, 8, 5, 32, 2, 1, &maf));
  PetscCall(pingpong(&ctx, (int)reps));
  PetscCall(allreduce(&ctx, (int)reps, "few", 2));
  PetscCall(allreduce(&ctx, (int)reps, "newton_sums", 11 * PAR_REPRO_LIMBS));
  PetscCall(allreduce(&ctx, (int)reps, "emulator_grad", (int)mlp->nparams));
  PetscCall(allreduce(&ctx, (int)reps, "npe_grad", (int)maf->nparams));
  for (int single = 0; single < 2; single++) { /* the double lines first: the model reads the first match */
    PetscCall(shard_step(&ctx, (int)reps, "emulator_grad", (int)mlp->nparams, PETSC_FALSE, (PetscBool)single));
    PetscCall(shard_step(&ctx, (int)reps, "npe_grad", (int)maf->nparams, PETSC_TRUE, (PetscBool)single));
  }
  if (!skip_farm && ctx.size > 1) PetscCall(farm(&ctx, (int)reps, farm_rows, row_us, chunk));
  PetscCall(mlp_destroy(&mlp));
  PetscCall(maf_destroy(&maf));
  PetscCall(PetscFinalize());
  return 0;
}
