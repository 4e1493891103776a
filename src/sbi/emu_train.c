/* The emulator's training: its options, its validation report, and the
 * emulator as a model of the shared trainer (src/sbi/train.c): standardised
 * shards and the mean squared error. */
#include <chempysbi/calib.h>
#include <chempysbi/report.h>
#include <chempysbi/emu_train.h>
#include <chempysbi/gce.h>
#include <chempysbi/guard.h>
#include <chempysbi/nn.h>
#include <chempysbi/train.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PetscErrorCode emu_train_config_default(EmuTrainConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->epochs = 20;
  c->batch = 64;
  c->lr = 1e-3;
  train_schedule_default(&c->sched);
  c->seed = 1;
  c->nhidden = 2;
  c->hidden[0] = 100;
  c->hidden[1] = 40;
  c->optimizer = OPT_SCHEDULEFREE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_train_set_from_options(MPI_Comm comm, EmuTrainConfig *c)
{
  const char *opts[] = {"adam", "schedulefree", "OptKind", "OPT_", NULL};
  PetscEnum opt = (PetscEnum)c->optimizer;
  PetscInt nh = 8;
  PetscBool set;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "train-emulator: fit the MLP emulator of CHEMPY", "train-emulator");
  PetscCall(PetscOptionsString("-train", "training set (simulate output, .h5)", NULL, c->train, c->train,
                               sizeof(c->train), NULL));
  PetscCall(
      PetscOptionsString("-val", "validation set (simulate output, .h5)", NULL, c->val, c->val, sizeof(c->val), NULL));
  PetscCall(PetscOptionsString("-out", "emulator model file (.h5); checkpoints go to <out>.ckpt", NULL, c->out, c->out,
                               sizeof(c->out), NULL));
  PetscCall(PetscOptionsInt("-epochs", "passes over the training set", NULL, c->epochs, &c->epochs, NULL));
  PetscCall(PetscOptionsInt("-batch", "global batch size (rows per step, split over ranks)", NULL, c->batch, &c->batch,
                            NULL));
  PetscCall(PetscOptionsReal("-lr", "learning rate", NULL, c->lr, &c->lr, NULL));
  PetscCall(PetscOptionsReal("-weight_decay", "decoupled weight decay", NULL, c->weight_decay, &c->weight_decay, NULL));
  PetscCall(PetscOptionsIntArray("-hidden", "hidden layer sizes, comma-separated", NULL, c->hidden, &nh, &set));
  if (set) c->nhidden = nh;
  PetscCall(PetscOptionsEnum("-optimizer", "schedulefree (schedule-free AdamW, the paper's) or adam", NULL, opts, opt,
                             &opt, NULL));
  PetscCall(PetscOptionsInt("-seed", "seed of the initialisation and the shuffles", NULL, c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsBool("-resume", "continue from <out>.ckpt", NULL, c->resume, &c->resume, NULL));
  PetscCall(PetscOptionsInt("-train_rows", "use only the first N rows of -train (0: all)", NULL, c->train_rows,
                            &c->train_rows, NULL));
  PetscOptionsEnd();
  PetscCall(train_schedule_from_options(comm, "train-emulator", NULL, &c->sched, NULL));
  c->optimizer = (OptKind)opt;
  /* sqrt, not linear: the linear rule lost accuracy past a global batch of 1024 rows, the sqrt rule
     held to 32768 (benchmarks/large_batch.sh, README "Accuracy at large global batch") */
  PetscCall(train_weak_set_from_options(comm, 64, TRAIN_LR_SQRT, &c->weak));
  PetscCall(guard_int_option(comm, "-train_rows", c->train_rows, 0, PETSC_MAX_INT));
  PetscCall(guard_real_option(comm, "-lr", c->lr, 0, PETSC_MAX_REAL));
  PetscCall(guard_real_option(comm, "-weight_decay", c->weight_decay, 0, PETSC_MAX_REAL));
  PetscCheck(c->epochs > 0 && c->batch > 0 && c->lr > 0, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-epochs, -batch and -lr must be positive");
  /* On the option text: no 32-bit wrap, and more -hidden layers than fit is an error, not a truncation. */
  PetscCall(guard_int_option(comm, "-epochs", c->epochs, 1, 1000000));
  PetscCall(guard_int_option(comm, "-batch", c->batch, 1, 1000000));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCall(guard_int_array_option(comm, "-hidden", 8, 1, 100000));
  double np = 0, act = CS_NPARAM + 4.0 * CS_NELEM, prev = CS_NPARAM;
  for (PetscInt l = 0; l <= c->nhidden; l++) {
    double h = l < c->nhidden ? (double)c->hidden[l] : CS_NELEM;
    np += (prev + 1) * h;
    act += 2 * h;
    prev = h;
  }
  /* Weights, gradients and optimiser state, and the activations of one batch. */
  PetscCall(guard_memory(comm, 8.0 * (5 * np + act * (double)train_weak_local_batch(&c->weak, c->batch)),
                         "-hidden and -batch"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Everything a checkpoint must share with the run that resumes it, the
 * identities of the training and validation files included. */
static PetscErrorCode emu_config_string(MPI_Comm comm, int size, const EmuTrainConfig *c, PetscInt N, char *s,
                                        size_t len)
{
  char h[128] = "", idt[PETSC_MAX_PATH_LEN + 128], idv[PETSC_MAX_PATH_LEN + 128];
  PetscFunctionBeginUser;
  PetscCall(guard_file_identity(comm, c->train, idt, sizeof(idt)));
  PetscCall(guard_file_identity(comm, c->val, idv, sizeof(idv)));
  for (PetscInt l = 0; l < c->nhidden; l++) {
    char one[16];
    PetscCall(PetscSNPrintf(one, sizeof(one), "%s%" PetscInt_FMT, l ? "," : "", c->hidden[l]));
    PetscCall(PetscStrlcat(h, one, sizeof(h)));
  }
  PetscCall(PetscSNPrintf(s, len,
                          "N=%" PetscInt_FMT ";batch=%" PetscInt_FMT
                          ";lr=%g;wd=%g;hidden=%s;optimizer=%s;seed=%" PetscInt_FMT ";train=%s;val=%s",
                          N, c->batch, (double)c->lr, (double)c->weight_decay, h,
                          c->optimizer == OPT_ADAM ? "adam" : "schedulefree", c->seed, idt, idv));
  if (c->train_rows > 0) { /* absent otherwise: earlier checkpoints keep resuming */
    char more[64];
    PetscCall(PetscSNPrintf(more, sizeof(more), ";train_rows=%" PetscInt_FMT, c->train_rows));
    PetscCall(PetscStrlcat(s, more, len));
  }
  PetscCall(train_weak_config(&c->weak, size, s, len));
  PetscCall(train_schedule_config(&c->sched, s, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  double loss, median_dex;
  double stats[CS_NELEM][6];               /* per element: abs dex q25, q50, q75; APE % q25, q50, q75 */
  double cdf[CS_NELEM][REPORT_CDF_POINTS]; /* rank 0, full: |error| at cumulative fractions j/(points-1) */
} EmuValResult;

/* Validation loss (standardised MSE) and median |error| over all values,
 * with the model in eval mode. With full (the final report) also the
 * quartiles per element of |error| and of the percentage error, and on rank 0
 * the cumulative distribution of |error| for the report. */
static PetscErrorCode emu_validate(const ParCtx *ctx, Emulator *e, const EmuData *v, PetscBool full, EmuValResult *res)
{
  const PetscInt n = v->nloc;
  const double q3[3] = {0.25, 0.5, 0.75}, half = 0.5;
  double *pred, *col, *all = NULL, sse = 0;
  PetscInt ntot;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(n * CS_NELEM + 1, &pred, n + 1, &col));
  emu_predict(e, v->theta, (size_t)n, pred);
  for (PetscInt i = 0; i < n * CS_NELEM; i++) {
    int k = (int)(i % CS_NELEM);
    double d = (pred[i] - v->abund[i]) / e->out_sd[k];
    sse += d * d;
    pred[i] = fabs(pred[i] - v->abund[i]); /* now |error| [dex] */
  }
  PetscCall(par_allreduce_sum(ctx, &sse, 1));
  res->loss = sse / ((double)v->N * CS_NELEM);
  PetscCall(par_gather_doubles(ctx, pred, n * CS_NELEM, &all, &ntot));
  if (ctx->rank == 0) PetscCall(calib_quantiles(ntot, all, 1, &half, &res->median_dex));
  PetscCall(PetscFree(all));
  PetscCall(par_bcast_doubles(ctx, &res->median_dex, 1));
  PetscCall(PetscMemzero(res->stats, sizeof(res->stats)));
  /* Per element: one gather per column keeps each column's rows together. */
  for (int k = 0; full && k < CS_NELEM; k++)
    for (int w = 0; w < 2; w++) {
      for (PetscInt i = 0; i < n; i++) {
        double ad = pred[i * CS_NELEM + k];
        col[i] = w == 0 ? ad : 100.0 * ad / PetscMax(fabs(v->abund[i * CS_NELEM + k]), 1e-12);
      }
      PetscCall(par_gather_doubles(ctx, col, n, &all, &ntot));
      if (ctx->rank == 0) {
        PetscCall(calib_quantiles(ntot, all, 3, q3, &res->stats[k][3 * w]));
        if (w == 0) { /* cumulative distribution of |error| for the report */
          double qs[REPORT_CDF_POINTS];
          for (int j = 0; j < REPORT_CDF_POINTS; j++) qs[j] = (double)j / (REPORT_CDF_POINTS - 1);
          PetscCall(calib_quantiles(ntot, all, REPORT_CDF_POINTS, qs, res->cdf[k]));
        }
      }
      PetscCall(PetscFree(all));
    }
  PetscCall(PetscFree2(pred, col));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define HIST_NCOL 5
static const char *const hist_names[HIST_NCOL] = {"epoch", "train_loss", "val_loss", "val_median_abs_dex", "seconds"};
static const char *const hist_fmt[HIST_NCOL - 2] = {"%.6e", "%.6e", "%.5f"};

/* The emulator as a TrainModel: standardised shards, MSE loss. */
typedef struct {
  const ParCtx *ctx;
  const EmuTrainConfig *c;
  Emulator *e;
  const EmuData *tr, *va;
  double *x, *y;               /* this rank's standardised shard */
  double *xb, *yb, *yhat, *dy; /* one batch */
} EmuFit;

static PetscErrorCode emu_fit_start(void *p, PetscBool resumed)
{
  EmuFit *t = p;
  Emulator *e = t->e;
  const EmuData *tr = t->tr;
  PetscFunctionBeginUser;
  if (!resumed) {
    PetscCall(par_column_stats(t->ctx, tr->theta, tr->nloc, CS_NPARAM, e->in_mean, e->in_sd));
    PetscCall(par_column_stats(t->ctx, tr->abund, tr->nloc, CS_NELEM, e->out_mean, e->out_sd));
    PetscCall(mlp_init(e->mlp, (uint64_t)t->c->seed));
  }
  /* Standardise this rank's shard once. */
  emu_standardise_in(e, tr->theta, (size_t)tr->nloc, t->x);
  for (PetscInt i = 0; i < tr->nloc; i++)
    for (int k = 0; k < CS_NELEM; k++)
      t->y[i * CS_NELEM + k] = (tr->abund[i * CS_NELEM + k] - e->out_mean[k]) / e->out_sd[k];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_fit_batch(void *p, const PetscInt *local, PetscInt n, PetscInt ng, double *loss)
{
  EmuFit *t = p;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    memcpy(t->xb + i * CS_NPARAM, t->x + local[i] * CS_NPARAM, CS_NPARAM * sizeof(double));
    memcpy(t->yb + i * CS_NELEM, t->y + local[i] * CS_NELEM, CS_NELEM * sizeof(double));
  }
  mlp_forward(t->e->mlp, t->xb, (int)n, t->yhat);
  mse_sum(loss, t->yhat, t->yb, (int)n, CS_NELEM);
  /* the gradient of the global batch's mean squared error */
  memset(t->dy, 0, (size_t)n * CS_NELEM * sizeof(double));
  mse_backward(t->dy, t->yhat, t->yb, (int)n, CS_NELEM, 1.0 / ((double)ng * CS_NELEM));
  mlp_backward(t->e->mlp, t->dy, (int)n);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_fit_validate(void *p, double *metric)
{
  EmuFit *t = p;
  EmuValResult vr;
  PetscFunctionBeginUser;
  PetscCall(emu_validate(t->ctx, t->e, t->va, PETSC_FALSE, &vr));
  metric[0] = vr.loss;
  metric[1] = vr.median_dex;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_fit_write(void *p, H5File *f)
{
  EmuFit *t = p;
  PetscFunctionBeginUser;
  PetscCall(emu_write_h5(t->e, f, "/emulator"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_fit_read(void *p, H5File *f)
{
  Emulator *e = ((EmuFit *)p)->e;
  PetscFunctionBeginUser;
  PetscCall(h5_attr_read_double(f, "/emulator", "in_mean", CS_NPARAM, e->in_mean));
  PetscCall(h5_attr_read_double(f, "/emulator", "in_sd", CS_NPARAM, e->in_sd));
  PetscCall(h5_attr_read_double(f, "/emulator", "out_mean", CS_NELEM, e->out_mean));
  PetscCall(h5_attr_read_double(f, "/emulator", "out_sd", CS_NELEM, e->out_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_train_run(const ParCtx *ctx, const EmuTrainConfig *c)
{
  EmuData tr, va;
  Emulator *e;
  Opt *o;
  TrainResult res;
  static char config[H5_CONFIG_LEN];
  PetscFunctionBeginUser;
  PetscCall(emu_data_load_rows(ctx, c->train, c->train_rows, &tr));
  PetscCall(emu_data_load(ctx, c->val, &va));
  /* An emulator learns one CHEMPY model: training and validation rows must come from the same. */
  char fa[128], fb[128];
  PetscCheck(!gce_config_string_model_differs(tr.chempy, va.chempy, fa, fb, sizeof(fa)), ctx->comm,
             PETSC_ERR_ARG_INCOMP,
             "-train %s was made with CHEMPY %s but -val %s with %s: use sets made with the same CHEMPY model",
             c->train, fa, c->val, fb);
  PetscCall(PetscPrintf(ctx->comm,
                        "train-emulator: %" PetscInt_FMT " training rows (of %" PetscInt_FMT "), %" PetscInt_FMT
                        " validation rows, %d ranks\n",
                        tr.N, tr.nraw, va.N, ctx->size));
  const PetscInt lb = train_weak_local_batch(&c->weak, c->batch); /* rows of one step on this rank, at most */
  PetscCall(emu_create(c->hidden, c->nhidden, (int)lb, &e));
  PetscCall(emu_config_string(ctx->comm, ctx->size, c, tr.N, config, sizeof(config)));
  PetscCall(opt_create(c->optimizer, e->mlp->nparams, &o));
  o->lr = c->lr;
  o->weight_decay = c->weight_decay;
  EmuFit fit = {.ctx = ctx, .c = c, .e = e, .tr = &tr, .va = &va};
  PetscCall(PetscMalloc2(tr.nloc * CS_NPARAM + 1, &fit.x, tr.nloc * CS_NELEM + 1, &fit.y));
  PetscCall(
      PetscMalloc4(lb * CS_NPARAM, &fit.xb, lb * CS_NELEM, &fit.yb, lb * CS_NELEM, &fit.yhat, lb * CS_NELEM, &fit.dy));
  TrainModel m = {e->mlp->nparams, e->mlp->params, e->mlp->grads,      &fit,
                  emu_fit_start,   NULL,           emu_fit_batch,      emu_fit_validate,
                  emu_fit_write,   emu_fit_read,   &e->mlp->grad_hook, &e->mlp->grad_hook_arg};
  TrainSpec s = {.command = "train-emulator",
                 .out = c->out,
                 .group = "emulator",
                 .config = config,
                 .ntrain = tr.N,
                 .g0 = tr.g0,
                 .nloc = tr.nloc,
                 .batch = c->batch,
                 .max_epochs = c->epochs,
                 .seed = c->seed,
                 .epochs_option = "-epochs",
                 .loss_norm = (double)tr.N * CS_NELEM,
                 .nmetric = 2,
                 .hist_names = hist_names,
                 .fmt = hist_fmt,
                 .rows = "rows",
                 .resume = c->resume,
                 .weak = c->weak,
                 .sched = c->sched};
  PetscCall(train_run(ctx, &s, &m, o, &res));
  double *hist = res.hist;
  /* The final model (at the evaluation point), with the validation report. */
  EmuValResult vr;
  PetscCall(emu_validate(ctx, e, &va, PETSC_TRUE, &vr));
  PetscCall(PetscPrintf(
      ctx->comm,
      "validation (%" PetscInt_FMT " rows): |error| in dex and absolute percentage error, quartiles 25/50/75\n", va.N));
  PetscCall(PetscPrintf(ctx->comm, "  %-6s %9s %9s %9s   %8s %8s %8s\n", "elem", "q25_dex", "med_dex", "q75_dex",
                        "q25_%", "med_%", "q75_%"));
  double tab[CS_NELEM * 6];
  for (int k = 0; k < CS_NELEM; k++) {
    PetscCall(PetscPrintf(ctx->comm, "  %-6s %9.5f %9.5f %9.5f   %8.2f %8.2f %8.2f\n", cs_elem_names[k], vr.stats[k][0],
                          vr.stats[k][1], vr.stats[k][2], vr.stats[k][3], vr.stats[k][4], vr.stats[k][5]));
    for (int q = 0; q < 6; q++) tab[k * 6 + q] = vr.stats[k][q];
  }
  PetscCall(PetscPrintf(ctx->comm, "EMULATOR val_median_dex=%.5f val_loss=%.6e\n", vr.median_dex, vr.loss));
  if (ctx->rank == 0) {
    H5File f;
    static const char *const vnames[6] = {"abs_dex_q25", "abs_dex_q50", "abs_dex_q75",
                                          "ape_pct_q25", "ape_pct_q50", "ape_pct_q75"};
    PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
    PetscCall(h5_write_provenance(&f, "train-emulator"));
    PetscCall(h5_attr_write_str(&f, "/", "config", config));
    PetscCall(h5_attr_write_str(&f, "/", "train_file", c->train));
    if (tr.chempy[0]) PetscCall(h5_attr_write_str(&f, "/", "chempy_config", tr.chempy));
    PetscCall(emu_write_h5(e, &f, "/emulator"));
    PetscCall(h5_table_write(&f, "history", H5T_NATIVE_DOUBLE, c->epochs, HIST_NCOL, hist_names, hist));
    PetscCall(h5_table_write(&f, "validation", H5T_NATIVE_DOUBLE, CS_NELEM, 6, vnames, tab));
    PetscCall(h5_attr_write_str(&f, "validation", "rows", cs_elem_list));
    PetscCall(h5_attr_write_double(&f, "validation", "median_abs_dex", 1, &vr.median_dex));
    PetscCall(h5_commit(&f));
    PetscCall(report_emulator_cdf(c->out, vr.cdf));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
  }
  PetscCall(PetscFree4(fit.xb, fit.yb, fit.yhat, fit.dy));
  PetscCall(PetscFree(hist));
  PetscCall(PetscFree2(fit.x, fit.y));
  PetscCall(opt_destroy(&o));
  PetscCall(emu_destroy(&e));
  PetscCall(emu_data_destroy(&tr));
  PetscCall(emu_data_destroy(&va));
  PetscFunctionReturn(PETSC_SUCCESS);
}
