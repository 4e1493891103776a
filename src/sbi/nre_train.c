/* train-nre (nre_train.h): the ratio estimator as a TrainModel of the shared
 * trainer (train.h: global batches from (seed, epoch), gradient all-reduce,
 * clipping, Adam, validation, early stopping with the best weights kept,
 * checkpoint after every epoch and -resume). */
#include <chempysbi/emu_sim.h>
#include <chempysbi/guard.h>
#include <chempysbi/nre_train.h>
#include <chempysbi/opt.h>
#include <chempysbi/rng.h>
#include <chempysbi/train.h>
#include <math.h>
#include <string.h>

PetscErrorCode nre_train_config_default(NreTrainConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->n = 100000;
  c->batch = 256;
  c->max_epochs = 200;
  c->patience = 10;
  c->seed = 1;
  c->nhidden = 3;
  c->hidden[0] = c->hidden[1] = c->hidden[2] = 64;
  c->noise = 0.05;
  c->lr = 1e-3;
  c->val_fraction = 0.1;
  c->clip = 5.0;
  train_schedule_default(&c->sched);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_train_set_from_options(MPI_Comm comm, NreTrainConfig *c)
{
  PetscInt nh = 8;
  PetscBool set;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "train-nre: train the neural ratio estimator (classifier NRE)", "train-nre");
  PetscCall(PetscOptionsString("-emulator", "emulator model file (.h5) that simulates the training data", NULL,
                               c->emulator, c->emulator, sizeof(c->emulator), NULL));
  PetscCall(PetscOptionsString("-out", "ratio-estimator file (.h5)", NULL, c->out, c->out, sizeof(c->out), NULL));
  PetscCall(PetscOptionsInt("-n", "simulations (training + validation)", NULL, c->n, &c->n, NULL));
  PetscCall(PetscOptionsReal("-noise", "Gaussian observation noise added to the emulator output [dex]", NULL, c->noise,
                             &c->noise, NULL));
  PetscCall(PetscOptionsInt("-batch", "global batch of matched pairs (as many contrastive pairs join it)", NULL,
                            c->batch, &c->batch, NULL));
  PetscCall(PetscOptionsReal("-lr", "Adam learning rate", NULL, c->lr, &c->lr, NULL));
  PetscCall(PetscOptionsInt("-max_epochs", "upper limit on epochs", NULL, c->max_epochs, &c->max_epochs, NULL));
  PetscCall(PetscOptionsInt("-patience", "stop after this many epochs without a better validation loss", NULL,
                            c->patience, &c->patience, NULL));
  PetscCall(PetscOptionsReal("-val_fraction", "fraction of simulations held out for validation", NULL, c->val_fraction,
                             &c->val_fraction, NULL));
  PetscCall(PetscOptionsReal("-clip", "gradient norm clip (0 = none)", NULL, c->clip, &c->clip, NULL));
  PetscCall(PetscOptionsIntArray("-hidden", "hidden layer widths, e.g. 64,64,64", NULL, c->hidden, &nh, &set));
  PetscCall(
      PetscOptionsInt("-seed", "seed of simulations, initialisation and shuffles", NULL, c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsBool("-resume", "continue from <out>.ckpt", NULL, c->resume, &c->resume, NULL));
  PetscOptionsEnd();
  PetscCall(train_schedule_from_options(comm, "train-nre", NULL, &c->sched, NULL));
  if (set) c->nhidden = nh;
  PetscCall(train_weak_set_from_options(comm, 256, TRAIN_LR_LINEAR, &c->weak));
  PetscCall(guard_int_array_option(comm, "-hidden", 8, 1, 4096));
  PetscCall(guard_real_option(comm, "-noise", c->noise, 1e-6, 10));
  PetscCall(guard_real_option(comm, "-lr", c->lr, 1e-12, 10));
  PetscCall(guard_real_option(comm, "-clip", c->clip, 0, PETSC_MAX_REAL));
  PetscCall(guard_real_option(comm, "-val_fraction", c->val_fraction, 1e-6, 0.9));
  PetscCall(guard_int_option(comm, "-n", c->n, 20, PETSC_MAX_INT / 16));
  PetscCall(guard_int_option(comm, "-batch", c->batch, 1, 100000));
  PetscCall(guard_int_option(comm, "-max_epochs", c->max_epochs, 1, 1000000));
  PetscCall(guard_int_option(comm, "-patience", c->patience, 1, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The model as the trainer sees it. */
typedef struct {
  const NreTrainConfig *c;
  const ParCtx *ctx;
  Nre *nre;
  PetscInt ntr, nval, g0, nloc, vg0, nv; /* global counts; this rank's training and validation rows */
  double *th, *x, *thm;                  /* (nloc, 6), (nloc, 8), (nloc, 6) this epoch's contrastive thetas */
  double *vth, *vx, *vthm;               /* validation rows, contrastive thetas fixed (epoch 0) */
  double *bth, *bx, *bthm;               /* batch scratch */
  PetscInt epoch;
} NreModel;

/* Contrastive thetas of global rows [g, g + n) for epoch e: a fresh prior draw per row and epoch. */
static void draw_marginal(const Nre *nre, uint64_t seed, PetscInt e, PetscInt g, PetscInt n, double *thm)
{
  for (PetscInt i = 0; i < n; i++)
    prior_sample(&nre->prior, seed, RNG_NRE, ((uint64_t)e << 40) | (uint64_t)(g + i), thm + i * CS_NPARAM);
}

static PetscErrorCode model_epoch_begin(void *vm, PetscInt epoch)
{
  NreModel *m = vm;
  PetscFunctionBeginUser;
  m->epoch = epoch;
  draw_marginal(m->nre, (uint64_t)m->c->seed, epoch, m->g0, m->nloc, m->thm);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode model_batch(void *vm, const PetscInt *local, PetscInt n, PetscInt ng, double *loss)
{
  NreModel *m = vm;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    memcpy(m->bth + i * CS_NPARAM, m->th + local[i] * CS_NPARAM, CS_NPARAM * sizeof(double));
    memcpy(m->bthm + i * CS_NPARAM, m->thm + local[i] * CS_NPARAM, CS_NPARAM * sizeof(double));
    memcpy(m->bx + i * CS_NELEM, m->x + local[i] * CS_NELEM, CS_NELEM * sizeof(double));
  }
  *loss += nre_bce(m->nre, m->bth, m->bthm, m->bx, (int)n, 1.0 / (2.0 * (double)ng), PETSC_TRUE, NULL);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* metric[0]: mean BCE per row over every rank's validation pairs; metric[1]: classification accuracy. */
static PetscErrorCode model_validate(void *vm, double *metric)
{
  NreModel *m = vm;
  const int half = m->nre->mlp->max_batch / 2;
  double s[2] = {0, 0};
  PetscFunctionBeginUser;
  for (PetscInt i0 = 0; i0 < m->nv; i0 += half) {
    int k = (int)PetscMin(half, m->nv - i0);
    PetscInt hits;
    s[0] += nre_bce(m->nre, m->vth + i0 * CS_NPARAM, m->vthm + i0 * CS_NPARAM, m->vx + i0 * CS_NELEM, k, 0, PETSC_FALSE,
                    &hits);
    s[1] += (double)hits;
  }
  PetscCall(par_allreduce_sum(m->ctx, s, 2));
  metric[0] = s[0] / (2.0 * (double)m->nval);
  metric[1] = s[1] / (2.0 * (double)m->nval);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode model_start(void *vm, PetscBool resumed)
{
  NreModel *m = vm;
  PetscFunctionBeginUser;
  if (!resumed) {
    PetscCall(par_column_stats(m->ctx, m->th, m->nloc, CS_NPARAM, m->nre->th_mean, m->nre->th_sd));
    PetscCall(par_column_stats(m->ctx, m->x, m->nloc, CS_NELEM, m->nre->x_mean, m->nre->x_sd));
    PetscCall(mlp_init(m->nre->mlp, (uint64_t)m->c->seed));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode model_write(void *vm, H5File *f)
{
  PetscFunctionBeginUser;
  PetscCall(nre_write_h5(((NreModel *)vm)->nre, f, "/nre"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode model_read(void *vm, H5File *f)
{
  Nre *nre = ((NreModel *)vm)->nre;
  PetscFunctionBeginUser;
  PetscCall(h5_scalings_read(f, "/nre", nre->P, nre->th_mean, nre->th_sd, nre->X, nre->x_mean, nre->x_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define HIST_NCOL 5
static const char *const hist_names[HIST_NCOL] = {"epoch", "train_bce", "val_bce", "val_accuracy", "seconds"};
static const char *const hist_fmt[HIST_NCOL - 2] = {"%.5f", "%.5f", "%.4f"};

/* Simulations [i0, i1): theta from the prior, x = emulator + fixed noise; train-npe's streams and numbering. */
static void simulate_rows(const NreTrainConfig *c, Emulator *emu, const Prior *pr, PetscInt i0, PetscInt i1, double *th,
                          double *x)
{
  ObsModel obs;
  obs_fixed(c->noise, &obs);
  emu_simulate(emu, pr, &obs, (uint64_t)c->seed, (uint64_t)i0, i1 - i0, th, x, NULL);
}

PetscErrorCode nre_train_run(const ParCtx *ctx, const NreTrainConfig *c)
{
  Emulator *emu;
  NreModel m = {.c = c, .ctx = ctx};
  Opt *o;
  char chempy[512], id[PETSC_MAX_PATH_LEN + 128];
  PetscInt lo, hi, vlo, vhi, epochs = 0;
  double best_val = INFINITY, acc = NAN;
  PetscFunctionBeginUser;
  PetscCall(h5_share(ctx->comm, c->emulator));
  PetscCall(emu_read_h5(c->emulator, "/emulator", 4096, &emu));
  PetscCall(emu_chempy_config_read(ctx->comm, c->emulator, "chempy_config", chempy, sizeof(chempy)));
  PetscCall(guard_file_identity(ctx->comm, c->emulator, id, sizeof(id)));
  const PetscInt lb = train_weak_local_batch(&c->weak, c->batch); /* rows of one step on this rank, at most */
  m.nval = PetscMax(1, (PetscInt)(c->val_fraction * (double)c->n));
  m.ntr = c->n - m.nval;
  PetscCall(guard_memory(ctx->comm, 8.0 * (double)c->n / ctx->size * 2 * (2 * CS_NPARAM + CS_NELEM),
                         "-n (simulations per rank)"));
  PetscCall(nre_create(CS_NPARAM, CS_NELEM, c->hidden, c->nhidden, (int)(2 * lb > 4096 ? 2 * lb : 4096), &m.nre));
  m.nre->noise = c->noise;
  PetscCall(prior_init(PRIOR_GAUSS, &m.nre->prior));
  par_block_range(m.ntr, ctx->rank, ctx->size, &lo, &hi);
  par_block_range(m.nval, ctx->rank, ctx->size, &vlo, &vhi);
  m.g0 = lo, m.nloc = hi - lo, m.vg0 = vlo, m.nv = vhi - vlo;
  PetscCall(PetscMalloc6(m.nloc * CS_NPARAM + 1, &m.th, m.nloc * CS_NELEM + 1, &m.x, m.nloc * CS_NPARAM + 1, &m.thm,
                         m.nv * CS_NPARAM + 1, &m.vth, m.nv * CS_NELEM + 1, &m.vx, m.nv * CS_NPARAM + 1, &m.vthm));
  PetscCall(PetscMalloc3(lb * CS_NPARAM, &m.bth, lb * CS_NELEM, &m.bx, lb * CS_NPARAM, &m.bthm));
  simulate_rows(c, emu, &m.nre->prior, lo, hi, m.th, m.x);
  simulate_rows(c, emu, &m.nre->prior, m.ntr + vlo, m.ntr + vhi, m.vth, m.vx); /* after the training rows */
  draw_marginal(m.nre, (uint64_t)c->seed, 0, m.ntr + vlo, m.nv, m.vthm);
  PetscCall(opt_create(OPT_ADAM, m.nre->mlp->nparams, &o));
  o->lr = c->lr;
  char arch[128] = "";
  for (PetscInt l = 0; l < c->nhidden; l++) {
    char one[16];
    PetscCall(PetscSNPrintf(one, sizeof(one), "%s%" PetscInt_FMT, l ? "-" : "", c->hidden[l]));
    PetscCall(PetscStrlcat(arch, one, sizeof(arch)));
  }
  PetscCall(PetscPrintf(ctx->comm,
                        "train-nre: %" PetscInt_FMT " training + %" PetscInt_FMT
                        " validation simulations (emulator + %g dex noise), each with a contrastive theta from the "
                        "prior; MLP 14-%s-1 (%zu weights), batch %" PetscInt_FMT " + %" PetscInt_FMT ", %d ranks\n",
                        m.ntr, m.nval, c->noise, arch, m.nre->mlp->nparams, c->batch, c->batch, ctx->size));
  static char config[H5_CONFIG_LEN];
  PetscCall(PetscSNPrintf(config, sizeof(config),
                          "emulator=%s;n=%" PetscInt_FMT ";noise=%g;batch=%" PetscInt_FMT
                          ";lr=%g;hidden=%s;val_fraction=%g;"
                          "clip=%g;seed=%" PetscInt_FMT,
                          id, c->n, c->noise, c->batch, c->lr, arch, c->val_fraction, c->clip, c->seed));
  PetscCall(train_weak_config(&c->weak, ctx->size, config, sizeof(config)));
  PetscCall(train_schedule_config(&c->sched, config, sizeof(config)));
  TrainModel tm = {m.nre->mlp->nparams,
                   m.nre->mlp->params,
                   m.nre->mlp->grads,
                   &m,
                   model_start,
                   model_epoch_begin,
                   model_batch,
                   model_validate,
                   model_write,
                   model_read,
                   &m.nre->mlp->grad_hook,
                   &m.nre->mlp->grad_hook_arg};
  TrainSpec ts = {.command = "train-nre",
                  .out = c->out,
                  .group = "nre",
                  .config = config,
                  .ntrain = m.ntr,
                  .g0 = m.g0,
                  .nloc = m.nloc,
                  .batch = c->batch,
                  .max_epochs = c->max_epochs,
                  .seed = c->seed,
                  .epochs_option = "-max_epochs",
                  .patience = c->patience,
                  .clip = c->clip,
                  .clip_hint = PETSC_TRUE,
                  .loss_norm = 2.0 * (double)m.ntr,
                  .nmetric = 2,
                  .hist_names = hist_names,
                  .fmt = hist_fmt,
                  .rows = "sims",
                  .resume = c->resume,
                  .weak = c->weak,
                  .sched = c->sched};
  TrainResult res;
  PetscCall(train_run(ctx, &ts, &tm, o, &res));
  double secs = res.seconds;
  epochs = res.epoch;
  best_val = res.best_val;
  for (PetscInt q = 0; q < res.epoch; q++) /* the accuracy of the kept (best) epoch */
    if (res.hist[q * res.ncol + 2] == best_val) acc = res.hist[q * res.ncol + 3];
  PetscCall(PetscPrintf(ctx->comm,
                        "train-nre: %" PetscInt_FMT " epochs, best val_bce %.5f (accuracy %.4f; log 2 = 0.69315 is "
                        "chance), %.1f s\n",
                        epochs, best_val, acc, secs));
  if (ctx->rank == 0) {
    H5File f;
    char config[H5_CONFIG_LEN];
    PetscCall(PetscSNPrintf(config, sizeof(config),
                            "emulator=%s;n=%" PetscInt_FMT ";noise=%g;batch=%" PetscInt_FMT
                            ";lr=%g;hidden=%s;seed=%" PetscInt_FMT,
                            id, c->n, c->noise, c->batch, c->lr, arch, c->seed));
    PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
    PetscCall(h5_write_provenance(&f, "train-nre"));
    PetscCall(h5_attr_write_str(&f, "/", "config", config));
    if (chempy[0]) PetscCall(h5_attr_write_str(&f, "/", "chempy_config", chempy));
    PetscCall(nre_write_h5(m.nre, &f, "/nre"));
    PetscCall(emu_write_h5(emu, &f, "/emulator"));
    const double dv[3] = {best_val, acc, secs};
    PetscCall(h5_attr_write_double(&f, "/", "best_val_bce_accuracy_seconds", 3, dv));
    PetscCall(h5_attr_write_int(&f, "/", "epochs", 1, &epochs));
    PetscCall(h5_table_write(&f, "history", H5T_NATIVE_DOUBLE, res.epoch, res.ncol, hist_names, res.hist));
    PetscCall(h5_commit(&f));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
  }
  PetscCall(PetscFree(res.hist));
  PetscCall(PetscFree3(m.bth, m.bx, m.bthm));
  PetscCall(PetscFree6(m.th, m.x, m.thm, m.vth, m.vx, m.vthm));
  PetscCall(opt_destroy(&o));
  PetscCall(nre_destroy(&m.nre));
  PetscCall(emu_destroy(&emu));
  PetscFunctionReturn(PETSC_SUCCESS);
}
