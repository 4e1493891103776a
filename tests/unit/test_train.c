/* The shared trainer (train.c) on a model with a known answer: least squares
 * y = a x + b. It must reach the normal-equation solution, a run stopped and
 * resumed from its checkpoint must end with the same bits as one run straight
 * through, early stopping must hand back the best epoch's weights, and the
 * reduce-on-plateau schedule must cut the rate exactly when the validation
 * losses say so (replayed here from the losses seen), survive a resume bit for
 * bit, and end nearer the optimum than the constant rate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <chempysbi/batch.h>
#include <chempysbi/rng.h>
#include <chempysbi/train.h>
#include "testutil.h"

#define NTR 400
#define NVA 100

typedef struct {
  double x[NTR + NVA], y[NTR + NVA];
  double params[2], grads[2]; /* a, b */
  double val_seen[64];        /* validation loss of each epoch, and its weights */
  double w_seen[64][2];
  int nval;
} Line;

static void data(Line *L)
{
  Rng r;
  rng_init(&r, 5, RNG_TEST, 0);
  for (int i = 0; i < NTR + NVA; i++) {
    L->x[i] = 2 * rng_uniform(&r) - 1;
    L->y[i] = 1.5 * L->x[i] - 0.7 + 0.3 * rng_normal(&r);
  }
}

static PetscErrorCode start(void *p, PetscBool resumed)
{
  Line *L = p;
  if (!resumed) L->params[0] = L->params[1] = 0;
  return PETSC_SUCCESS;
}

static PetscErrorCode batch(void *p, const PetscInt *local, PetscInt n, PetscInt ng, double *loss)
{
  Line *L = p;
  for (PetscInt k = 0; k < n; k++) {
    double x = L->x[local[k]], e = L->params[0] * x + L->params[1] - L->y[local[k]];
    *loss += e * e;
    L->grads[0] += 2 * e * x / ng;
    L->grads[1] += 2 * e / ng;
  }
  return PETSC_SUCCESS;
}

static PetscErrorCode validate(void *p, double *metric)
{
  Line *L = p;
  double s = 0;
  for (int i = NTR; i < NTR + NVA; i++) {
    double e = L->params[0] * L->x[i] + L->params[1] - L->y[i];
    s += e * e;
  }
  metric[0] = s / NVA;
  if (L->nval < 64) {
    L->val_seen[L->nval] = metric[0];
    memcpy(L->w_seen[L->nval++], L->params, sizeof(L->params));
  }
  return PETSC_SUCCESS;
}

static PetscErrorCode ln_write(void *p, H5File *f)
{
  Line *L = p;
  hid_t g;
  PetscFunctionBeginUser;
  H5Call(g = H5Gcreate2(f->id, "line", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(H5Gclose(g));
  PetscCall(h5_table_write(f, "line/params", H5T_NATIVE_DOUBLE, 2, 0, NULL, L->params));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode ln_read(void *p, H5File *f) { return PETSC_SUCCESS; } /* the trainer reads line/params */

static const char *const names[4] = {"epoch", "train_mse", "val_mse", "seconds"};
static const char *const fmt[2] = {"%.6f", "%.6f"};

/* Train L for max_epochs (resuming if resume) with Adam, weak scaling if w, the rate times decay
 * after every 2 epochs without a better validation loss (decay 1: constant); returns the result. */
static void fit_full(Line *L, PetscInt max_epochs, PetscInt patience, PetscBool resume, double lr, const TrainWeak *w,
                     double decay, TrainResult *res)
{
  ParCtx ctx;
  Opt *o;
  TrainModel m = {2, L->params, L->grads, L, start, NULL, batch, validate, ln_write, ln_read, NULL, NULL};
  TrainSpec s = {.command = "test-train",
                 .out = "/tmp/cs_test_train.h5",
                 .group = "line",
                 .config = "line;lr",
                 .ntrain = NTR,
                 .g0 = 0,
                 .nloc = NTR,
                 .batch = 20,
                 .max_epochs = max_epochs,
                 .seed = 3,
                 .epochs_option = "-max_epochs",
                 .patience = patience,
                 .loss_norm = NTR,
                 .nmetric = 1,
                 .hist_names = names,
                 .fmt = fmt,
                 .rows = "rows",
                 .resume = resume,
                 .sched = {decay, 2}};
  if (w) s.weak = *w;
  assert_int_equal(par_ctx_init(PETSC_COMM_WORLD, &ctx), 0);
  assert_int_equal(opt_create(OPT_ADAM, 2, &o), 0);
  o->lr = lr;
  assert_int_equal(train_run(&ctx, &s, &m, o, res), 0);
  assert_int_equal(opt_destroy(&o), 0);
}

static void fit_weak(Line *L, PetscInt max_epochs, PetscInt patience, PetscBool resume, double lr, const TrainWeak *w,
                     TrainResult *res)
{
  fit_full(L, max_epochs, patience, resume, lr, w, 1, res);
}

static void fit(Line *L, PetscInt max_epochs, PetscInt patience, PetscBool resume, double lr, TrainResult *res)
{
  fit_full(L, max_epochs, patience, resume, lr, NULL, 1, res);
}

static void test_least_squares(void **state)
{
  static Line L;
  TrainResult r;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  data(&L);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit(&L, 100, 0, PETSC_FALSE, 0.01, &r);
  for (int i = 0; i < NTR; i++) { sx += L.x[i], sy += L.y[i], sxx += L.x[i] * L.x[i], sxy += L.x[i] * L.y[i]; }
  double a = (NTR * sxy - sx * sy) / (NTR * sxx - sx * sx), b = (sy - a * sx) / NTR;
  assert_true(fabs(L.params[0] - a) < 0.05 && fabs(L.params[1] - b) < 0.05);
  assert_int_equal(r.epoch, 100);
  assert_int_equal(r.ncol, 4);
  PetscFree(r.hist);
}

static void test_resume_bit_for_bit(void **state)
{
  static Line A, B;
  TrainResult ra, rb;
  data(&A);
  data(&B);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit(&A, 8, 0, PETSC_FALSE, 0.01, &ra); /* straight through */
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit(&B, 3, 0, PETSC_FALSE, 0.01, &rb); /* stopped after 3 epochs ... */
  PetscFree(rb.hist);
  B.params[0] = B.params[1] = 99; /* ... the process gone: only the checkpoint knows */
  fit(&B, 8, 0, PETSC_TRUE, 0.01, &rb);
  assert_memory_equal(A.params, B.params, sizeof(A.params));
  assert_int_equal(rb.epoch, 8);
  for (int e = 0; e < 8; e++) /* every epoch's losses in the history, resumed part included */
    for (int k = 0; k < 3; k++) assert_true(ra.hist[e * 4 + k] == rb.hist[e * 4 + k]);
  PetscFree(ra.hist);
  PetscFree(rb.hist);
  unlink("/tmp/cs_test_train.h5.ckpt");
}

static void test_early_stopping_keeps_best(void **state)
{
  static Line L;
  TrainResult r;
  data(&L);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit(&L, 60, 2, PETSC_FALSE, 0.5, &r); /* a large step: the validation loss soon stops improving */
  int best = 0;
  for (int e = 1; e < L.nval; e++)
    if (L.val_seen[e] < L.val_seen[best]) best = e;
  assert_true(r.early_stopped);
  assert_int_equal(r.epoch, best + 1 + 2); /* stopped `patience` epochs after the best */
  assert_true(r.best_val == L.val_seen[best]);
  assert_memory_equal(L.params, L.w_seen[best], sizeof(L.params));
  PetscFree(r.hist);
  unlink("/tmp/cs_test_train.h5.ckpt");
}

static double val_mse(const Line *L)
{
  double s = 0;
  for (int i = NTR; i < NTR + NVA; i++) {
    double e = L->params[0] * L->x[i] + L->params[1] - L->y[i];
    s += e * e;
  }
  return s / NVA;
}

static void test_lr_decay_on_plateau(void **state)
{
  static Line L, K;
  TrainResult r;
  data(&L);
  data(&K);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_full(&L, 40, 0, PETSC_FALSE, 0.5, NULL, 0.5, &r); /* a large step: plateaus soon */
  PetscFree(r.hist);
  const double factor = r.lr_factor;
  /* The rule replayed on the validation losses the trainer reported. */
  double best = INFINITY;
  int since = 0, cuts = 0;
  for (int e = 0; e < L.nval; e++)
    if (L.val_seen[e] < best)
      best = L.val_seen[e], since = 0;
    else if (++since % 2 == 0)
      cuts++;
  assert_int_equal(L.nval, 40);
  assert_true(cuts >= 2);
  assert_true(factor == pow(0.5, cuts)); /* halvings are exact */
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_full(&K, 40, 0, PETSC_FALSE, 0.5, NULL, 1, &r);
  PetscFree(r.hist);
  assert_true(r.lr_factor == 1);
  /* Smaller last steps: nearer the least-squares optimum than the constant rate. */
  if (!(val_mse(&L) < val_mse(&K))) fail_msg("decayed %.8g, constant %.8g", val_mse(&L), val_mse(&K));
  unlink("/tmp/cs_test_train.h5.ckpt");
}

static void test_lr_decay_resume(void **state)
{
  static Line A, B;
  TrainResult ra, rb;
  data(&A);
  data(&B);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_full(&A, 30, 0, PETSC_FALSE, 0.5, NULL, 0.5, &ra);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_full(&B, 17, 0, PETSC_FALSE, 0.5, NULL, 0.5, &rb); /* after some cuts ... */
  PetscFree(rb.hist);
  B.params[0] = B.params[1] = 99;
  fit_full(&B, 30, 0, PETSC_TRUE, 0.5, NULL, 0.5, &rb); /* ... the rate and the plateau count come back */
  assert_true(ra.lr_factor < 1 && ra.lr_factor == rb.lr_factor);
  assert_memory_equal(A.params, B.params, sizeof(A.params));
  PetscFree(ra.hist);
  PetscFree(rb.hist);
  unlink("/tmp/cs_test_train.h5.ckpt");
}

/* Weak-scaling batches of N rows on P ranks (b rows per rank and step): every
 * row once per epoch, no rank over b rows in a step, the global batch size
 * the sum of the ranks' rows, and a rank's order the one-rank order (the
 * rows sorted by their keys) restricted to its shard, for P = 2 and 3. */
static void test_weak_batches(void **state)
{
  enum { N = 103, B = 5 };
  Batcher one, bt;
  PetscInt n1 = N, order1[N], local[B];
  assert_int_equal(batcher_create_weak(0, N, B, 1, &n1, &one), 0);
  batcher_shuffle(&one, 7, 2);
  for (PetscInt k = 0, ng; k < batcher_nbatches(&one); k++) {
    PetscInt n = batcher_local(&one, k, local, &ng);
    assert_int_equal(n, ng);
    for (PetscInt i = 0; i < n; i++) order1[k * B + i] = local[i];
  }
  for (int P = 2; P <= 3; P++) {
    PetscInt nall[3], lo[3], hi[3], steps = 0, counts[3][40] = {{0}};
    for (int r = 0; r < P; r++) {
      par_block_range(N, r, P, &lo[r], &hi[r]);
      nall[r] = hi[r] - lo[r];
    }
    for (int r = 0; r < P; r++) {
      int seen[N] = {0};
      PetscInt got = 0, expect[N], ne = 0, ng;
      for (int i = 0; i < N; i++) /* the one-rank order restricted to this shard */
        if (order1[i] >= lo[r] && order1[i] < hi[r]) expect[ne++] = order1[i];
      assert_int_equal(batcher_create_weak(lo[r], nall[r], B, P, nall, &bt), 0);
      batcher_shuffle(&bt, 7, 2);
      steps = batcher_nbatches(&bt);
      assert_int_equal(steps, (N / P + 1 + B - 1) / B);
      for (PetscInt k = 0; k < steps; k++) {
        PetscInt n = batcher_local(&bt, k, local, &ng);
        assert_true(n <= B);
        counts[r][k] = n;
        for (PetscInt i = 0; i < n; i++) {
          assert_int_equal(lo[r] + local[i], expect[got]);
          seen[local[i]]++;
          got++;
        }
      }
      assert_int_equal(got, nall[r]);
      for (PetscInt i = 0; i < nall[r]; i++) assert_int_equal(seen[i], 1);
      assert_int_equal(batcher_destroy(&bt), 0);
    }
    for (PetscInt k = 0; k < steps; k++) { /* every rank's view of the global batch size is the true one */
      PetscInt sum = 0, ng;
      for (int r = 0; r < P; r++) sum += counts[r][k];
      assert_int_equal(batcher_create_weak(lo[P - 1], nall[P - 1], B, P, nall, &bt), 0);
      batcher_local(&bt, k, local, &ng);
      assert_int_equal(ng, sum);
      assert_int_equal(batcher_destroy(&bt), 0);
    }
  }
  assert_int_equal(batcher_destroy(&one), 0);
}

/* The scaled rate against Goyal et al.'s rule written out: k = P b / B0,
 * linear ramp from lr to lr k over the warm-up steps, then lr k; sqrt k for
 * the sqrt rule; no ramp when k <= 1; the fixed-batch mode untouched. */
static void test_weak_lr(void **state)
{
  TrainWeak w = {.batch_per_rank = 64, .lr_scaling = TRAIN_LR_LINEAR, .lr_batch_ref = 64, .warmup_epochs = 2};
  const double lr = 1e-3;
  /* P = 4: k = 4, warm-up 2 epochs of 10 steps */
  assert_true(fabs(train_weak_lr(&w, lr, 4, 0, 10) - 1e-3) < 1e-15);
  assert_true(fabs(train_weak_lr(&w, lr, 4, 10, 10) - 2.5e-3) < 1e-15);
  assert_true(fabs(train_weak_lr(&w, lr, 4, 5, 10) - 1.75e-3) < 1e-15);
  assert_true(fabs(train_weak_lr(&w, lr, 4, 20, 10) - 4e-3) < 1e-15);
  assert_true(fabs(train_weak_lr(&w, lr, 4, 1000, 10) - 4e-3) < 1e-15);
  w.lr_scaling = TRAIN_LR_SQRT;
  assert_true(fabs(train_weak_lr(&w, lr, 4, 1000, 10) - 2e-3) < 1e-15);
  assert_true(fabs(train_weak_lr(&w, lr, 4, 10, 10) - 1.5e-3) < 1e-15);
  w.lr_scaling = TRAIN_LR_NONE;
  assert_true(train_weak_lr(&w, lr, 4, 3, 10) == lr);
  w.lr_scaling = TRAIN_LR_LINEAR;
  w.batch_per_rank = 16; /* k = 1/4 on one rank: the smaller rate from the start */
  assert_true(fabs(train_weak_lr(&w, lr, 1, 0, 10) - 2.5e-4) < 1e-15);
  w.batch_per_rank = 0; /* fixed global batch */
  assert_true(train_weak_lr(&w, lr, 64, 3, 10) == lr);
}

/* Weak mode on the least-squares line: the normal-equation solution, and a run
 * stopped inside the warm-up and resumed ends with the straight run's bits. */
static void test_weak_fit_and_resume(void **state)
{
  static Line A, B;
  TrainResult ra, rb;
  TrainWeak w = {.batch_per_rank = 40, .lr_scaling = TRAIN_LR_LINEAR, .lr_batch_ref = 20, .warmup_epochs = 5};
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  data(&A);
  data(&B);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_weak(&A, 100, 0, PETSC_FALSE, 0.005, &w, &ra);
  for (int i = 0; i < NTR; i++) { sx += A.x[i], sy += A.y[i], sxx += A.x[i] * A.x[i], sxy += A.x[i] * A.y[i]; }
  double a = (NTR * sxy - sx * sy) / (NTR * sxx - sx * sx), b = (sy - a * sx) / NTR;
  assert_true(fabs(A.params[0] - a) < 0.05 && fabs(A.params[1] - b) < 0.05);
  unlink("/tmp/cs_test_train.h5.ckpt");
  fit_weak(&B, 3, 0, PETSC_FALSE, 0.005, &w, &rb);
  PetscFree(rb.hist);
  B.params[0] = B.params[1] = 99;
  fit_weak(&B, 100, 0, PETSC_TRUE, 0.005, &w, &rb);
  assert_memory_equal(A.params, B.params, sizeof(A.params));
  PetscFree(ra.hist);
  PetscFree(rb.hist);
  unlink("/tmp/cs_test_train.h5.ckpt");
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_least_squares),
      cmocka_unit_test(test_resume_bit_for_bit),
      cmocka_unit_test(test_early_stopping_keeps_best),
      cmocka_unit_test(test_lr_decay_on_plateau),
      cmocka_unit_test(test_lr_decay_resume),
      cmocka_unit_test(test_weak_batches),
      cmocka_unit_test(test_weak_lr),
      cmocka_unit_test(test_weak_fit_and_resume),
  };
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return r;
}
