/* Micro benchmarks of the network kernels on one core: an emulator epoch
 * (700k rows, batch 64, forward + backward + optimiser step) and MAF posterior
 * sampling and log-prob training throughput for the paper's 6-D, 4 x 8 flow.
 * Run: OPENBLAS_NUM_THREADS=1 bin/bench/bench_nn [-rows 700000] [-samples 1000000] */
#include <chempysbi/maf.h>
#include <chempysbi/mlp.h>
#include <chempysbi/nn.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>

static PetscErrorCode bench_mlp(PetscInt rows, OptKind kind)
{
  const int sizes[] = {6, 100, 40, 8}, B = 64;
  Mlp *m;
  Opt *o;
  double *x, *t, y[64 * 8], dy[64 * 8], loss = 0;

  PetscFunctionBeginUser;
  PetscCall(mlp_create(sizes, 4, B, &m));
  PetscCall(mlp_init(m, 1));
  PetscCall(opt_create(kind, m->nparams, &o));
  PetscCall(PetscMalloc2(rows * 6, &x, rows * 8, &t));
  Rng r;
  rng_init(&r, 1, RNG_TEST, 0);
  for (PetscInt i = 0; i < rows * 6; i++) x[i] = rng_normal(&r);
  for (PetscInt i = 0; i < rows * 8; i++) t[i] = 0.1 * x[(i / 8) * 6 + i % 6] + 0.05 * rng_normal(&r);
  double t0 = cs_wtime();
  for (PetscInt i = 0; i + B <= rows; i += B) {
    memset(m->grads, 0, m->nparams * sizeof(double));
    mlp_forward(m, x + i * 6, B, y);
    loss += mse_forward(y, t + i * 8, B, 8);
    memset(dy, 0, sizeof dy);
    mse_backward(dy, y, t + i * 8, B, 8, 1.0 / (B * 8));
    mlp_backward(m, dy, B);
    opt_step(o, m->params, m->grads);
  }
  double dt = cs_wtime() - t0;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH mlp_epoch optimizer=%s rows=%" PetscInt_FMT " batch=64 seconds=%.3f us_per_row=%.3f "
                        "mean_loss=%.4g\n",
                        kind == OPT_ADAM ? "adam" : "schedulefree", rows, dt, 1e6 * dt / rows, loss / (rows / B)));
  PetscCall(PetscFree2(x, t));
  PetscCall(opt_destroy(&o));
  PetscCall(mlp_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode bench_maf(PetscInt nsamples)
{
  const int D = 6, C = 8, B = 256;
  Maf *m;
  double *z, *th, ctx[8] = {0.1, -0.3, 0.5, 0.2, -0.1, 0.4, 0.0, -0.2};

  PetscFunctionBeginUser;
  PetscCall(maf_create(D, C, 4, 8, 2, B, &m));
  PetscCall(maf_init(m, 1));
  PetscCall(PetscMalloc2(nsamples * D, &z, nsamples * D, &th));
  Rng r;
  rng_init(&r, 2, RNG_TEST, 0);
  for (PetscInt i = 0; i < nsamples * D; i++) z[i] = rng_normal(&r);
  double t0 = cs_wtime();
  maf_sample(m, ctx, z, (size_t)nsamples, th);
  double dt = cs_wtime() - t0;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH maf_sample D=6 C=8 K=4 H=8 samples=%" PetscInt_FMT " seconds=%.3f samples_per_s=%.3g\n",
                        nsamples, dt, nsamples / dt));
  /* Training throughput: log_prob + backward over batches of 256 rows. */
  double *cx, lp[256], dl[256];
  PetscInt rows = nsamples < 200000 ? nsamples : 200000;
  PetscCall(PetscMalloc1(rows * C, &cx));
  for (PetscInt i = 0; i < rows * C; i++) cx[i] = rng_normal(&r);
  for (int i = 0; i < B; i++) dl[i] = -1.0 / B;
  t0 = cs_wtime();
  for (PetscInt i = 0; i + B <= rows; i += B) {
    memset(m->grads, 0, m->nparams * sizeof(double));
    maf_log_prob(m, z + i * D, cx + i * C, B, lp);
    maf_backward(m, dl, B);
  }
  dt = cs_wtime() - t0;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH maf_train rows=%" PetscInt_FMT " batch=%d seconds=%.3f us_per_row=%.3f\n", rows, B, dt,
                        1e6 * dt / rows));
  PetscCall(PetscFree(cx));
  PetscCall(PetscFree2(z, th));
  PetscCall(maf_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscInt rows = 700000, samples = 1000000;

  PetscCall(PetscInitialize(&argc, &argv, NULL, "Network kernel micro benchmarks"));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "bench_nn options", NULL);
  PetscCall(PetscOptionsInt("-rows", "rows in the emulator epoch", NULL, rows, &rows, NULL));
  PetscCall(PetscOptionsInt("-samples", "MAF posterior samples to draw", NULL, samples, &samples, NULL));
  PetscOptionsEnd();
  PetscCall(bench_mlp(rows, OPT_ADAM));
  PetscCall(bench_mlp(rows, OPT_SCHEDULEFREE));
  PetscCall(bench_maf(samples));
  PetscCall(PetscFinalize());
  return 0;
}
