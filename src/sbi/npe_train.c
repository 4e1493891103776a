/* NPE training loop (sbi's defaults: Adam, lr 5e-4, batch 50, 10% validation,
 * stop after 20 epochs without improvement, gradient norm clipped at 5, best
 * model kept), run by the shared trainer (src/sbi/train.c). Each rank
 * simulates its own rows with the emulator. The conditioned NPE's defaults
 * differ (npe_train_set_from_options): fresh simulations every epoch, a
 * learning rate halved on every plateau (constant Adam steps leave biases of
 * ~0.1 posterior sd that SBC sees at 2000 test stars) and the birth time
 * through the logit of its bounds (README, "conditioned NPE"). */
#include <chempysbi/emu_sim.h>
#include <chempysbi/guard.h>
#include <chempysbi/npe_train.h>
#include <chempysbi/opt.h>
#include <chempysbi/sim_table.h>
#include <chempysbi/train.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

PetscErrorCode npe_train_config_default(NpeTrainConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->n = 100000;
  c->batch = 50;
  c->max_epochs = 1000;
  c->patience = 20;
  c->seed = 1;
  c->transforms = 5; /* the paper has 4 x 8, which fails SBC (README, "Calibration"); input/paper keeps it */
  c->hidden = 32;
  c->blocks = 2;
  c->noise = 0.05;
  c->lr = 5e-4;
  c->val_fraction = 0.1;
  c->clip = 5.0;
  c->kind = NPE_FIXED;
  obs_fixed(c->noise, &c->obs);
  train_schedule_default(&c->sched);
  PetscCall(PetscStrncpy(c->estimator, "maf", sizeof(c->estimator)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_train_set_from_options(MPI_Comm comm, NpeTrainConfig *c)
{
  char range[64] = "0.01,0.2", drop[256] = "";
  PetscReal p_missing = 0.2, p_drop = 0.5;
  PetscBool set_range = PETSC_FALSE, set_pm = PETSC_FALSE, set_drop = PETSC_FALSE, set_n, set_fresh, set_decay,
            set_logit;
  char names[128];
  PetscFunctionBeginUser;
  estimator_names(names, sizeof(names));
  PetscOptionsBegin(comm, NULL, "train-npe: train the neural posterior estimator", "train-npe");
  PetscCall(PetscOptionsString("-emulator", "emulator model file (.h5) that simulates the training data", NULL,
                               c->emulator, c->emulator, sizeof(c->emulator), NULL));
  PetscCall(PetscOptionsString("-out", "NPE model file (.h5); checkpoints go to <out>.ckpt", NULL, c->out, c->out,
                               sizeof(c->out), NULL));
  PetscCall(
      PetscOptionsInt("-n", "simulations (training + validation); conditioned NPE: 200000", NULL, c->n, &c->n, &set_n));
  PetscCall(PetscOptionsReal("-noise", "Gaussian observation noise added to the emulator output [dex]", NULL, c->noise,
                             &c->noise, NULL));
  PetscCall(PetscOptionsInt("-batch", "global batch size", NULL, c->batch, &c->batch, NULL));
  PetscCall(PetscOptionsReal("-lr", "Adam learning rate", NULL, c->lr, &c->lr, NULL));
  PetscCall(PetscOptionsInt("-max_epochs", "upper limit on epochs", NULL, c->max_epochs, &c->max_epochs, NULL));
  PetscCall(PetscOptionsInt("-patience", "stop after this many epochs without a better validation loss", NULL,
                            c->patience, &c->patience, NULL));
  PetscCall(PetscOptionsReal("-val_fraction", "fraction of simulations held out for validation", NULL, c->val_fraction,
                             &c->val_fraction, NULL));
  PetscCall(PetscOptionsReal("-clip", "gradient norm clip (0 = none)", NULL, c->clip, &c->clip, NULL));
  PetscCall(PetscOptionsString("-estimator", names, NULL, c->estimator, c->estimator, sizeof(c->estimator), NULL));
  PetscCall(PetscOptionsInt("-transforms", "MAF transforms", NULL, c->transforms, &c->transforms, NULL));
  PetscCall(PetscOptionsInt("-hidden_features", "hidden units per MADE layer", NULL, c->hidden, &c->hidden, NULL));
  PetscCall(
      PetscOptionsInt("-blocks", "hidden layers after the first in each MADE", NULL, c->blocks, &c->blocks, NULL));
  PetscCall(
      PetscOptionsInt("-seed", "seed of simulations, initialisation and shuffles", NULL, c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsBool("-fresh",
                             "draw new simulations every epoch (the emulator is cheap); conditioned NPE: true", NULL,
                             c->fresh, &c->fresh, &set_fresh));
  PetscCall(PetscOptionsBool("-logit_uniform",
                             "model the birth time (uniform prior) through the logit of its bounds, so its prior's "
                             "edges are exact; conditioned NPE: true",
                             NULL, c->logit_uniform, &c->logit_uniform, &set_logit));
  PetscCall(PetscOptionsBool("-resume", "continue from <out>.ckpt", NULL, c->resume, &c->resume, NULL));
  PetscCall(PetscOptionsString("-table",
                               "train on this CHEMPY table (simulate -prior gauss) instead of emulator simulations: "
                               "the emulator's own error then stays out of the NPE; -fresh takes new rows every epoch",
                               NULL, c->table, c->table, sizeof(c->table), NULL));
  PetscCall(PetscOptionsString("-init",
                               "start from this NPE's weights and scalings (same kind, estimator and size): "
                               "fine-tuning with other settings",
                               NULL, c->init, c->init, sizeof(c->init), NULL));
  PetscCall(PetscOptionsString("-noise_range",
                               "conditioned NPE: per star and element sigma log-uniform in LO,HI [dex] (e.g. 0.01,0.2)",
                               NULL, range, range, sizeof(range), &set_range));
  PetscCall(PetscOptionsReal("-p_missing", "conditioned NPE: probability that an element is missing", NULL, p_missing,
                             &p_missing, &set_pm));
  PetscCall(PetscOptionsString("-drop_patterns", "conditioned NPE: elements a survey lacks together, e.g. He_Fe,Ne_Fe",
                               NULL, drop, drop, sizeof(drop), &set_drop));
  PetscCall(PetscOptionsReal("-p_drop", "conditioned NPE: fraction of simulations with the -drop_patterns gap", NULL,
                             p_drop, &p_drop, NULL));
  PetscOptionsEnd();
  PetscCall(train_weak_set_from_options(comm, 50, TRAIN_LR_LINEAR, &c->weak));
  PetscBool pieces_set;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-grad_overlap_pieces", &pieces_set));
  /* a flow's weights are transform after transform: one piece per transform, each final as its backward ends */
  if (!pieces_set) c->weak.overlap_pieces = PetscMax(1, PetscMin(c->transforms, PAR_MAX_ASYNC));
  PetscCall(train_schedule_from_options(comm, "train-npe", "conditioned NPE: 0.5", &c->sched, &set_decay));
  PetscCall(guard_real_option(comm, "-noise", c->noise, 0, 10));
  PetscCall(guard_real_option(comm, "-lr", c->lr, 0, PETSC_MAX_REAL));
  PetscCall(guard_real_option(comm, "-clip", c->clip, 0, PETSC_MAX_REAL));
  obs_fixed(c->noise, &c->obs);
  c->kind = NPE_FIXED;
  if (set_range || set_pm || set_drop) {
    c->kind = NPE_CONDITIONED;
    PetscCall(obs_parse_range(comm, "-noise_range", range, &c->obs.lo, &c->obs.hi));
    c->obs.p_missing = p_missing;
    c->obs.p_drop = set_drop ? p_drop : 0;
    if (set_drop) PetscCall(obs_parse_elements(comm, "-drop_patterns", drop, &c->obs.drop));
    PetscCheck(p_missing >= 0 && p_missing < 1 && p_drop >= 0 && p_drop <= 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-p_missing %g must be in [0, 1) and -p_drop %g in [0, 1]", p_missing, p_drop);
    /* The conditioned model's defaults, measured to pass SBC and TARP (README): its inputs vary
     * far more than the fixed model's, so it gets new simulations every epoch and a decaying lr. */
    if (!set_n) c->n = 200000;
    if (!set_fresh) c->fresh = PETSC_TRUE;
    if (!set_decay) c->sched.lr_decay = 0.5;
    if (!set_logit) c->logit_uniform = PETSC_TRUE;
  }
  PetscCheck(c->n >= 10 && c->batch > 0 && c->lr > 0 && c->noise >= 0, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-n >= 10, -batch > 0, -lr > 0 and -noise >= 0 are required");
  /* Counts checked on their text (no 32-bit wrap) and bounded so every table stays indexable. */
  PetscCall(guard_int_option(comm, "-n", c->n, 10, PETSC_MAX_INT / 16));
  PetscCall(guard_int_option(comm, "-batch", c->batch, 1, 1000000));
  PetscCall(guard_int_option(comm, "-max_epochs", c->max_epochs, 1, 1000000));
  PetscCall(guard_int_option(comm, "-patience", c->patience, 1, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-transforms", c->transforms, 1, 64));
  PetscCall(guard_int_option(comm, "-hidden_features", c->hidden, 1, 4096));
  PetscCall(guard_int_option(comm, "-blocks", c->blocks, 0, 16));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCheck(c->val_fraction > 0 && c->val_fraction < 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-val_fraction must be in (0, 1)");
  PetscCheck(estimator_find(c->estimator), comm, PETSC_ERR_ARG_WRONG, "-estimator %s: expected one of %s", c->estimator,
             names);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Simulations [i0, i1) of `round` (0 unless -fresh): theta from the prior,
 * x = emulator + noise, with the conditioned model's sigma (8) per row in sig
 * and NaN for missing values. The fixed model draws the same numbers as ever.
 * With -table the clean rows are CHEMPY's: training simulation i of round r
 * is usable row (r ntr + i) mod (U - nval), validation simulation j row
 * U - nval + j, so the validation rows are never trained on. */
static PetscErrorCode simulate_rows(const NpeTrainConfig *c, Emulator *emu, SimTable *tab, PetscInt ntr,
                                    const Prior *pr, PetscInt round, PetscInt i0, PetscInt i1, double *th, double *x,
                                    double *sig)
{
  const uint64_t first = (uint64_t)round * (uint64_t)c->n + (uint64_t)i0;
  PetscFunctionBeginUser;
  if (!tab) {
    emu_simulate(emu, pr, &c->obs, (uint64_t)c->seed, first, i1 - i0, th, x, sig);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  const PetscInt utr = tab->nuse - (c->n - ntr); /* the last n - ntr usable rows: the validation set */
  if (i0 >= ntr)
    PetscCall(sim_table_rows(tab, utr + i0 - ntr, i1 - i0, tab->nuse, th, x));
  else
    PetscCall(sim_table_rows(tab, (PetscInt)(((uint64_t)round * (uint64_t)ntr + (uint64_t)i0) % (uint64_t)utr), i1 - i0,
                             utr, th, x));
  sim_observe(&c->obs, (uint64_t)c->seed, first, i1 - i0, x, sig);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and sd of each element over the values present on all ranks (for z-scoring). */
static PetscErrorCode x_stats(const ParCtx *ctx, const double *x, PetscInt n, double *mean, double *sd)
{
  double s[3 * CS_NELEM] = {0};
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++)
      if (isfinite(x[i * CS_NELEM + k])) {
        s[k] += x[i * CS_NELEM + k];
        s[2 * CS_NELEM + k] += 1;
      }
  PetscCall(par_allreduce_sum(ctx, s, 3 * CS_NELEM));
  for (int k = 0; k < CS_NELEM; k++) {
    PetscCheck(s[2 * CS_NELEM + k] > 1, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "train-npe: element %s is missing in every simulation (-p_missing, -p_drop)", cs_elem_names[k]);
    mean[k] = s[k] / s[2 * CS_NELEM + k];
    s[CS_NELEM + k] = 0;
  }
  for (PetscInt i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++)
      if (isfinite(x[i * CS_NELEM + k]))
        s[CS_NELEM + k] += (x[i * CS_NELEM + k] - mean[k]) * (x[i * CS_NELEM + k] - mean[k]);
  PetscCall(par_allreduce_sum(ctx, s + CS_NELEM, CS_NELEM));
  for (int k = 0; k < CS_NELEM; k++) sd[k] = sqrt(s[CS_NELEM + k] / (s[2 * CS_NELEM + k] - 1)) + 1e-12;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The flow's variables and contexts of n rows, and each row's log |dt/dtheta| in lj (the
 * z-scoring, and the logit of a bounded uniform parameter): the loss in theta's own units. */
static void standardise(const Npe *npe, PetscInt n, const double *th, const double *x, const double *sig, double *ths,
                        double *xs, double *lj)
{
  const int C = npe->est->C;
  for (PetscInt i = 0; i < n; i++) {
    npe_theta_to_flow(npe, th + i * CS_NPARAM, ths + i * CS_NPARAM, lj + i); /* prior draws: strictly inside */
    npe_context(npe, x + i * CS_NELEM, sig + i * CS_NELEM, xs + i * C, NULL);
  }
}

/* Mean negative log-likelihood (original units) over all ranks' rows. */
static PetscErrorCode nll(const ParCtx *ctx, Npe *npe, PetscInt n, PetscInt N, const double *ths, const double *xs,
                          const double *lj, double *out)
{
  int mb = npe->est->max_batch;
  double s = 0, *lp;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(mb, &lp));
  for (PetscInt i0 = 0; i0 < n; i0 += mb) {
    int m = (int)PetscMin(mb, n - i0);
    estimator_log_prob(npe->est, ths + i0 * CS_NPARAM, xs + i0 * npe->est->C, m, lp);
    for (int i = 0; i < m; i++) s -= lp[i] + lj[i0 + i];
  }
  PetscCall(PetscFree(lp));
  PetscCall(par_allreduce_sum(ctx, &s, 1));
  *out = s / (double)N;
  PetscFunctionReturn(PETSC_SUCCESS);
}

#define HIST_NCOL 4
static const char *const hist_names[HIST_NCOL] = {"epoch", "train_nll", "val_nll", "seconds"};
static const char *const hist_fmt[HIST_NCOL - 2] = {"%.5f", "%.5f"};

static PetscErrorCode config_string(MPI_Comm comm, int size, const NpeTrainConfig *c, char *s, size_t len)
{
  char id[PETSC_MAX_PATH_LEN + 128];
  PetscFunctionBeginUser;
  /* The emulator's identity (absolute path, size, creation time): a resume with another emulator is refused. */
  PetscCall(guard_file_identity(comm, c->emulator, id, sizeof(id)));
  PetscCall(PetscSNPrintf(s, len,
                          "emulator=%s;emulator_file=%s;n=%" PetscInt_FMT ";noise=%g;batch=%" PetscInt_FMT
                          ";lr=%g;val_fraction=%g;clip=%g;arch=%" PetscInt_FMT "x%" PetscInt_FMT "x%" PetscInt_FMT
                          ";seed=%" PetscInt_FMT ";fresh=%d;patience=%" PetscInt_FMT,
                          c->emulator, id, c->n, (double)c->noise, c->batch, (double)c->lr, (double)c->val_fraction,
                          (double)c->clip, c->transforms, c->hidden, c->blocks, c->seed, (int)c->fresh, c->patience));
  if (strcmp(c->estimator, "maf")) { /* a MAF's config stays as before, so its checkpoints resume */
    PetscCall(PetscStrlcat(s, ";estimator=", len));
    PetscCall(PetscStrlcat(s, c->estimator, len));
  }
  if (c->kind == NPE_CONDITIONED) { /* fixed-noise configs stay as before, so their checkpoints resume */
    char more[384], drop[256];
    obs_elements_string(c->obs.drop, drop, sizeof(drop));
    PetscCall(PetscSNPrintf(more, sizeof(more), ";kind=conditioned;noise_range=%g,%g;p_missing=%g;drop=%s;p_drop=%g",
                            c->obs.lo, c->obs.hi, c->obs.p_missing, drop, c->obs.p_drop));
    PetscCall(PetscStrlcat(s, more, len));
  }
  PetscCall(train_weak_config(&c->weak, size, s, len));
  PetscCall(train_schedule_config(&c->sched, s, len)); /* nothing for a constant rate: configs as before */
  if (c->logit_uniform) PetscCall(PetscStrlcat(s, ";logit_uniform=1", len));
  if (c->table[0]) { /* its identity, as the emulator's: a resume with another table is refused */
    char tid[PETSC_MAX_PATH_LEN + 128];
    PetscCall(guard_file_identity(comm, c->table, tid, sizeof(tid)));
    PetscCall(PetscStrlcat(s, ";table=", len));
    PetscCall(PetscStrlcat(s, tid, len));
  }
  if (c->init[0]) {
    char iid[PETSC_MAX_PATH_LEN + 128];
    PetscCall(guard_file_identity(comm, c->init, iid, sizeof(iid)));
    PetscCall(PetscStrlcat(s, ";init=", len));
    PetscCall(PetscStrlcat(s, iid, len));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The flow as a TrainModel: maximum likelihood on standardised simulations. */
typedef struct {
  const ParCtx *ctx;
  const NpeTrainConfig *c;
  Npe *npe;
  Emulator *emu;
  SimTable *tab; /* -table, or NULL */
  PetscInt nl, nv, ntr, nval, tlo, thi;
  double *th, *x, *sig, *ths, *xs;      /* this rank's training simulations, raw and standardised */
  double *vth, *vx, *vsig, *vths, *vxs; /* and validation simulations */
  double *lj, *vlj;                     /* log |dt/dtheta| of each row: the nll in theta's units */
  double *tb, *cb, *lp, *dl;            /* one batch */
  const Npe *init;                      /* -init: the NPE whose scalings a fresh start takes */
} NpeFit;

static PetscErrorCode npe_fit_start(void *p, PetscBool resumed)
{
  NpeFit *t = p;
  Npe *npe = t->npe;
  PetscFunctionBeginUser;
  if (!resumed) {
    /* z-scoring of the flow's variables: theta, or its logit where th_logit (identity scaling so far) */
    for (PetscInt i = 0; i < t->nl; i++) npe_theta_to_flow(npe, t->th + i * CS_NPARAM, t->ths + i * CS_NPARAM, NULL);
    PetscCall(par_column_stats(t->ctx, t->ths, t->nl, CS_NPARAM, npe->th_mean, npe->th_sd));
    if (t->c->kind == NPE_FIXED)
      PetscCall(par_column_stats(t->ctx, t->x, t->nl, CS_NELEM, npe->x_mean, npe->x_sd));
    else
      PetscCall(x_stats(t->ctx, t->x, t->nl, npe->x_mean, npe->x_sd));
    if (t->init) { /* its weights are in place already; its scalings, except where the logit setting differs */
      PetscCall(PetscArraycpy(npe->x_mean, t->init->x_mean, CS_NELEM));
      PetscCall(PetscArraycpy(npe->x_sd, t->init->x_sd, CS_NELEM));
      for (int k = 0; k < CS_NPARAM; k++)
        if (!((t->init->th_logit ^ npe->th_logit) >> k & 1u))
          npe->th_mean[k] = t->init->th_mean[k], npe->th_sd[k] = t->init->th_sd[k];
    } else
      PetscCall(npe->est->ops->init(npe->est, (uint64_t)t->c->seed));
  }
  standardise(npe, t->nl, t->th, t->x, t->sig, t->ths, t->xs, t->lj);
  standardise(npe, t->nv, t->vth, t->vx, t->vsig, t->vths, t->vxs, t->vlj);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode npe_fit_epoch_begin(void *p, PetscInt epoch)
{
  NpeFit *t = p;
  PetscFunctionBeginUser;
  if (t->c->fresh && epoch > 1) {
    PetscCall(
        simulate_rows(t->c, t->emu, t->tab, t->ntr, &t->npe->prior, epoch - 1, t->tlo, t->thi, t->th, t->x, t->sig));
    standardise(t->npe, t->nl, t->th, t->x, t->sig, t->ths, t->xs, t->lj);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode npe_fit_batch(void *p, const PetscInt *local, PetscInt n, PetscInt ng, double *loss)
{
  NpeFit *t = p;
  Estimator *est = t->npe->est;
  const int C = est->C;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    memcpy(t->tb + i * CS_NPARAM, t->ths + local[i] * CS_NPARAM, sizeof(double) * CS_NPARAM);
    memcpy(t->cb + i * C, t->xs + local[i] * C, sizeof(double) * C);
  }
  estimator_log_prob(est, t->tb, t->cb, (int)n, t->lp);
  for (PetscInt i = 0; i < n; i++) {
    *loss -= t->lp[i] + t->lj[local[i]];
    t->dl[i] = -1.0 / (double)ng; /* gradient of the batch-mean negative log-likelihood */
  }
  estimator_backward(est, t->dl, (int)n);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode npe_fit_validate(void *p, double *metric)
{
  NpeFit *t = p;
  PetscFunctionBeginUser;
  PetscCall(nll(t->ctx, t->npe, t->nv, t->nval, t->vths, t->vxs, t->vlj, &metric[0]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode npe_fit_write(void *p, H5File *f)
{
  PetscFunctionBeginUser;
  PetscCall(npe_write_h5(((NpeFit *)p)->npe, f, "/npe"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode npe_fit_read(void *p, H5File *f)
{
  Npe *npe = ((NpeFit *)p)->npe;
  PetscFunctionBeginUser;
  PetscCall(h5_scalings_read(f, "/npe", CS_NPARAM, npe->th_mean, npe->th_sd, CS_NELEM, npe->x_mean, npe->x_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -init: the NPE of that file, of the same kind, estimator and architecture as
 * this training's, whose estimator (weights and stored state) replaces the
 * fresh one; *init keeps its scalings for npe_fit_start. */
static PetscErrorCode init_from(const ParCtx *ctx, const NpeTrainConfig *c, const PetscInt *arch, Npe *npe, Npe **init)
{
  H5File f;
  PetscInt a[EST_MAX_ARCH];
  char name[64] = "maf";
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, c->init, PETSC_FALSE, &f));
  if (h5_attr_exists(&f, "/npe", "estimator")) PetscCall(h5_attr_read_str(&f, "/npe", "estimator", name, sizeof(name)));
  PetscBool same = strcmp(name, c->estimator) ? PETSC_FALSE : PETSC_TRUE;
  if (same) {
    PetscCall(npe->est->ops->read_arch(&f, "/npe", CS_NPARAM, npe_context_size(npe->kind), a));
    for (int k = 0; k < npe->est->ops->narch; k++) same = same && a[k] == arch[k] ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscCall(h5_close(&f));
  PetscCall(h5_share(ctx->comm, c->init));
  PetscCall(npe_read_h5(c->init, "/npe", npe->est->max_batch, init));
  PetscCheck(same && (*init)->kind == npe->kind && (*init)->est->nparams == npe->est->nparams, ctx->comm,
             PETSC_ERR_ARG_WRONG,
             "-init %s: a %s %s NPE; this training makes a %s %s one of %" PetscInt_FMT " x %" PetscInt_FMT
             " x %" PetscInt_FMT " (-transforms, -hidden_features, -blocks): the same kind, estimator and size needed",
             c->init, (*init)->kind == NPE_CONDITIONED ? "conditioned" : "fixed-noise", name,
             npe->kind == NPE_CONDITIONED ? "conditioned" : "fixed-noise", c->estimator, arch[0], arch[1], arch[2]);
  Estimator *e = npe->est; /* swap: the training's NPE takes the file's estimator */
  npe->est = (*init)->est;
  (*init)->est = e;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_train_run(const ParCtx *ctx, const NpeTrainConfig *c)
{
  Emulator *emu;
  Npe *npe;
  Opt *o;
  TrainResult res;
  static char config[H5_CONFIG_LEN]; /* the -emulator path, its identity and every other field, never truncated */
  char chempy[512];
  PetscInt nval = PetscMax(1, (PetscInt)(c->val_fraction * (double)c->n)), ntr = c->n - nval, tlo, thi, vlo, vhi;
  PetscFunctionBeginUser;
  PetscCall(h5_share(ctx->comm, c->emulator));
  PetscCall(emu_read_h5(c->emulator, "/emulator", 4096, &emu));
  /* The CHEMPY the emulator learnt is the NPE's simulator: recorded in npe.h5 for validate. */
  PetscCall(emu_chempy_config_read(ctx->comm, c->emulator, "chempy_config", chempy, sizeof(chempy)));
  SimTable table, *tab = NULL;
  if (c->table[0]) {
    tab = &table;
    PetscCall(sim_table_open(ctx->comm, "-table", c->table, tab));
    /* The NPE and the emulator stored with it (newton's likelihood) must be of one CHEMPY. */
    PetscCheck(!strcmp(tab->chempy, chempy), ctx->comm, PETSC_ERR_ARG_INCOMP,
               "-table %s was simulated with CHEMPY %s, but -emulator %s learnt %s", c->table, tab->chempy, c->emulator,
               chempy);
    PetscCheck(tab->nuse >= c->n, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
               "-table %s has %" PetscInt_FMT " usable rows (of %" PetscInt_FMT "); -n %" PetscInt_FMT
               " simulations need at least as many",
               c->table, tab->nuse, tab->nraw, c->n);
  }
  const PetscInt arch[3] = {c->transforms, c->hidden, c->blocks};
  const PetscInt lb = train_weak_local_batch(&c->weak, c->batch); /* rows of one step on this rank, at most */
  PetscCall(npe_create_estimator(c->kind, c->estimator, arch, (int)PetscMax(lb, 1024), &npe));
  npe->obs = c->obs;
  npe->th_logit = c->logit_uniform ? npe_uniform_params(&npe->prior) : 0;
  npe->noise = c->kind == NPE_CONDITIONED ? sqrt(c->obs.lo * c->obs.hi) : c->noise;
  Npe *init = NULL;
  if (c->init[0]) PetscCall(init_from(ctx, c, arch, npe, &init));
  const int C = npe->est->C;
  PetscCall(config_string(ctx->comm, ctx->size, c, config, sizeof(config)));
  /* Sized by the options: checked before the allocations, naming them. */
  PetscCall(guard_memory(ctx->comm,
                         8.0 * ((double)c->n / ctx->size * 2 * (CS_NPARAM + 2 * CS_NELEM + C) + 4.0 * c->max_epochs +
                                (double)PetscMax(lb, 1024) * c->transforms * c->hidden * (c->blocks + 2) * 4),
                         "-n, -batch, -max_epochs and the flow size"));
  par_block_range(ntr, ctx->rank, ctx->size, &tlo, &thi);
  par_block_range(nval, ctx->rank, ctx->size, &vlo, &vhi);
  NpeFit t = {.ctx = ctx,
              .c = c,
              .npe = npe,
              .emu = emu,
              .tab = tab,
              .nl = thi - tlo,
              .nv = vhi - vlo,
              .ntr = ntr,
              .nval = nval,
              .tlo = tlo,
              .thi = thi,
              .init = init};
  const PetscInt nl = t.nl, nv = t.nv;
  PetscCall(PetscMalloc5(nl * CS_NPARAM + 1, &t.th, nl * CS_NELEM + 1, &t.x, nl * CS_NPARAM + 1, &t.ths, nl * C + 1,
                         &t.xs, nl * CS_NELEM + 1, &t.sig));
  PetscCall(PetscMalloc5(nv * CS_NPARAM + 1, &t.vth, nv * CS_NELEM + 1, &t.vx, nv * CS_NPARAM + 1, &t.vths, nv * C + 1,
                         &t.vxs, nv * CS_NELEM + 1, &t.vsig));
  PetscCall(PetscMalloc2(nl + 1, &t.lj, nv + 1, &t.vlj));
  /* Validation simulations follow the training ones in the global numbering. */
  PetscCall(simulate_rows(c, emu, tab, ntr, &npe->prior, 0, tlo, thi, t.th, t.x, t.sig));
  PetscCall(simulate_rows(c, emu, tab, ntr, &npe->prior, 0, ntr + vlo, ntr + vhi, t.vth, t.vx, t.vsig));
  /* The range of the training observations, stored with the model so that infer can tell a star outside it. */
  PetscCall(npe_set_range(npe, ctx, nl, t.x));
  PetscCall(opt_create(OPT_ADAM, npe->est->nparams, &o));
  o->lr = c->lr;
  PetscCall(PetscMalloc4(lb * CS_NPARAM, &t.tb, lb * C, &t.cb, lb, &t.lp, lb, &t.dl));
  PetscCall(PetscPrintf(ctx->comm,
                        "train-npe: %" PetscInt_FMT " training + %" PetscInt_FMT
                        " validation simulations, %s %" PetscInt_FMT " transforms x %" PetscInt_FMT
                        " hidden (%zu weights), %d ranks\n",
                        ntr, nval, strcmp(c->estimator, "maf") ? c->estimator : "MAF", c->transforms, c->hidden,
                        npe->est->nparams, ctx->size));
  if (tab)
    PetscCall(PetscPrintf(ctx->comm,
                          "train-npe: clean simulations from the CHEMPY table %s (%" PetscInt_FMT
                          " usable of %" PetscInt_FMT " rows; %" PetscInt_FMT " held out for validation)%s\n",
                          c->table, tab->nuse, tab->nraw, nval, c->fresh ? ", the next rows every epoch" : ""));
  if (c->kind == NPE_CONDITIONED) {
    char drop[256];
    obs_elements_string(c->obs.drop, drop, sizeof(drop));
    PetscCall(PetscPrintf(ctx->comm,
                          "train-npe: conditioned on errors and presence (%d inputs): sigma log-uniform in [%g, %g] "
                          "dex, each element missing with p %g, pattern {%s} on a fraction %g\n",
                          C, c->obs.lo, c->obs.hi, c->obs.p_missing, drop, c->obs.p_drop));
  }
  TrainModel m = {npe->est->nparams, npe->est->params,    npe->est->grads,      &t,
                  npe_fit_start,     npe_fit_epoch_begin, npe_fit_batch,        npe_fit_validate,
                  npe_fit_write,     npe_fit_read,        &npe->est->grad_hook, &npe->est->grad_hook_arg};
  TrainSpec s = {.command = "train-npe",
                 .out = c->out,
                 .group = "npe",
                 .config = config,
                 .ntrain = ntr,
                 .g0 = tlo,
                 .nloc = nl,
                 .batch = c->batch,
                 .max_epochs = c->max_epochs,
                 .seed = c->seed,
                 .epochs_option = "-max_epochs",
                 .patience = c->patience,
                 .clip = c->clip,
                 .clip_hint = PETSC_TRUE,
                 .loss_norm = (double)ntr,
                 .nmetric = 1,
                 .hist_names = hist_names,
                 .fmt = hist_fmt,
                 .rows = "sims",
                 .resume = c->resume,
                 .weak = c->weak,
                 .sched = c->sched};
  PetscCall(train_run(ctx, &s, &m, o, &res));
  PetscCall(PetscPrintf(ctx->comm, "train-npe: %s after %" PetscInt_FMT " epochs, best val_nll %.5f, %.1f s\n",
                        res.early_stopped ? "converged (early stopping)" : "stopped at -max_epochs", res.epoch,
                        res.best_val, res.seconds));
  if (ctx->rank == 0) {
    H5File f;
    PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
    PetscCall(h5_write_provenance(&f, "train-npe"));
    PetscCall(h5_attr_write_str(&f, "/", "config", config));
    if (chempy[0]) PetscCall(h5_attr_write_str(&f, "/", "chempy_config", chempy));
    PetscCall(npe_write_h5(npe, &f, "/npe"));
    /* The emulator travels with the NPE: the exact inference methods need it as their likelihood. */
    PetscCall(emu_write_h5(emu, &f, "/emulator"));
    PetscCall(h5_table_write(&f, "history", H5T_NATIVE_DOUBLE, res.epoch, HIST_NCOL, hist_names, res.hist));
    PetscCall(h5_attr_write_double(&f, "/", "best_val_nll", 1, &res.best_val));
    PetscCall(h5_commit(&f));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
  }
  PetscCall(PetscFree4(t.tb, t.cb, t.lp, t.dl));
  PetscCall(PetscFree(res.hist));
  PetscCall(PetscFree5(t.th, t.x, t.ths, t.xs, t.sig));
  PetscCall(PetscFree5(t.vth, t.vx, t.vths, t.vxs, t.vsig));
  PetscCall(PetscFree2(t.lj, t.vlj));
  PetscCall(npe_destroy(&init));
  if (tab) PetscCall(sim_table_close(tab));
  PetscCall(opt_destroy(&o));
  PetscCall(npe_destroy(&npe));
  PetscCall(emu_destroy(&emu));
  PetscFunctionReturn(PETSC_SUCCESS);
}
