/* The training loop shared by every network (include/chempysbi/train.h).
 * The order of operations is part of the contract: every rank takes the same
 * global batches and the same summed gradient, so the trained weights are the
 * same bits for any number of ranks, and a resumed run continues the
 * uninterrupted one exactly. */
#include <chempysbi/batch.h>
#include <chempysbi/guard.h>
#include <chempysbi/train.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  PetscInt epoch, since_best;
  double best_val;
  double lr_factor; /* the plateau schedule's product of -lr_decay factors so far */
} TrainState;

static PetscBool decaying(const TrainSpec *s)
{
  return s->sched.lr_decay > 0 && s->sched.lr_decay < 1 ? PETSC_TRUE : PETSC_FALSE;
}

/* Whether the loop tracks the best validation loss: for early stopping and for the plateaus. */
static PetscBool tracks_best(const TrainSpec *s) { return s->patience > 0 || decaying(s) ? PETSC_TRUE : PETSC_FALSE; }

void train_schedule_default(TrainSchedule *t)
{
  t->lr_decay = 1;
  t->lr_patience = 5;
}

PetscErrorCode train_schedule_from_options(MPI_Comm comm, const char *command, const char *note, TrainSchedule *t,
                                           PetscBool *set_decay)
{
  char help[256], title[96];
  PetscBool set = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(help, sizeof(help),
                          "multiply the learning rate by this after every -lr_patience epochs without a better "
                          "validation loss (1: constant)%s%s",
                          note ? "; " : "", note ? note : ""));
  PetscCall(PetscSNPrintf(title, sizeof(title), "%s: learning-rate schedule", command));
  PetscOptionsBegin(comm, NULL, title, command);
  PetscCall(PetscOptionsReal("-lr_decay", help, NULL, t->lr_decay, &t->lr_decay, &set));
  PetscCall(PetscOptionsInt("-lr_patience", "epochs without a better validation loss before each -lr_decay", NULL,
                            t->lr_patience, &t->lr_patience, NULL));
  PetscOptionsEnd();
  PetscCheck(t->lr_decay > 0 && t->lr_decay <= 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: -lr_decay %g: need a factor in (0, 1]", command, (double)t->lr_decay);
  PetscCall(guard_int_option(comm, "-lr_patience", t->lr_patience, 1, PETSC_MAX_INT));
  if (set_decay) *set_decay = set;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode train_schedule_config(const TrainSchedule *t, char *s, size_t len)
{
  char more[96];
  PetscFunctionBeginUser;
  if (!(t->lr_decay > 0 && t->lr_decay < 1)) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(more, sizeof(more), ";lr_decay=%g;lr_patience=%" PetscInt_FMT, t->lr_decay, t->lr_patience));
  PetscCall(PetscStrlcat(s, more, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The checkpoint: config, the loop's counters, the optimiser's scalars and
 * state, the model (its group), the best weights with early stopping, and
 * the history. Written by rank 0 under a temporary name, then renamed. */
static PetscErrorCode ckpt_write(const TrainSpec *s, TrainModel *m, const Opt *o, const TrainState *st,
                                 const double *best, const double *hist, PetscInt ncol)
{
  H5File f;
  char path[PETSC_MAX_PATH_LEN], what[128];
  PetscInt sc[2] = {(PetscInt)o->step, o->train_mode};
  double ds[2] = {o->lr_max, o->weight_sum};
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.ckpt", s->out));
  PetscCall(PetscSNPrintf(what, sizeof(what), "%s checkpoint", s->command));
  PetscCall(h5_create(PETSC_COMM_SELF, path, &f));
  PetscCall(h5_write_provenance(&f, what));
  PetscCall(h5_attr_write_str(&f, "/", "config", s->config));
  PetscCall(h5_attr_write_int(&f, "/", "epoch", 1, &st->epoch));
  PetscCall(h5_attr_write_int(&f, "/", "opt_step_train_mode", 2, sc));
  PetscCall(h5_attr_write_double(&f, "/", "opt_lr_max_weight_sum", 2, ds));
  PetscCall(m->write(m->ctx, &f));
  if (tracks_best(s)) {
    PetscCall(h5_attr_write_int(&f, "/", "since_best", 1, &st->since_best));
    PetscCall(h5_attr_write_double(&f, "/", "best_val", 1, &st->best_val));
  }
  if (s->patience > 0)
    PetscCall(h5_table_write(&f, "best_params", H5T_NATIVE_DOUBLE, (PetscInt)m->nparams, 0, NULL, best));
  if (decaying(s)) PetscCall(h5_attr_write_double(&f, "/", "lr_decay_factor", 1, &st->lr_factor));
  PetscCall(h5_table_write(&f, "opt_state", H5T_NATIVE_DOUBLE, (PetscInt)o->nstate, 0, NULL, o->state));
  if (st->epoch > 0) PetscCall(h5_table_write(&f, "history", H5T_NATIVE_DOUBLE, st->epoch, ncol, s->hist_names, hist));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every rank reads the checkpoint. Checkpoints of train-npe before the shared
 * trainer kept (epoch, since_best, step) in one attribute and no optimiser
 * scalars (Adam has none that matter): still read. */
static PetscErrorCode ckpt_read(const TrainSpec *s, TrainModel *m, Opt *o, TrainState *st, double *best, double *hist)
{
  H5File f;
  char path[PETSC_MAX_PATH_LEN], params[128];
  PetscInt n, nc;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s.ckpt", s->out));
  PetscCall(h5_open_checkpoint(path, s->config, &f));
  if (!h5_attr_exists(&f, "/", "epoch") && h5_attr_exists(&f, "/", "epoch_since_best_step")) {
    PetscInt iv[3];
    PetscCall(h5_attr_read_int(&f, "/", "epoch_since_best_step", 3, iv));
    st->epoch = iv[0];
    st->since_best = iv[1];
    o->step = iv[2];
  } else {
    PetscInt sc[2];
    double ds[2];
    PetscCall(h5_attr_read_int(&f, "/", "epoch", 1, &st->epoch));
    PetscCall(h5_attr_read_int(&f, "/", "opt_step_train_mode", 2, sc));
    PetscCall(h5_attr_read_double(&f, "/", "opt_lr_max_weight_sum", 2, ds));
    o->step = sc[0];
    o->train_mode = (int)sc[1];
    o->lr_max = ds[0];
    o->weight_sum = ds[1];
    if (tracks_best(s)) PetscCall(h5_attr_read_int(&f, "/", "since_best", 1, &st->since_best));
  }
  if (decaying(s)) PetscCall(h5_attr_read_double(&f, "/", "lr_decay_factor", 1, &st->lr_factor));
  /* Checked before the history is read: hist holds max_epochs rows, and the limit is not part of the config. */
  PetscCheck(st->epoch >= 0 && st->epoch <= s->max_epochs, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: checkpoint is at epoch %" PetscInt_FMT ", beyond %s %" PetscInt_FMT, path, st->epoch,
             s->epochs_option, s->max_epochs);
  PetscCall(PetscSNPrintf(params, sizeof(params), "%s/params", s->group));
  PetscCall(h5_table_info(&f, params, &n, &nc));
  PetscCheck(n == (PetscInt)m->nparams, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %" PetscInt_FMT " weights, the network has %zu", path, n, m->nparams);
  PetscCall(h5_table_read_rows(&f, params, H5T_NATIVE_DOUBLE, 0, n, m->params, PETSC_FALSE));
  PetscCall(m->read(m->ctx, &f));
  if (tracks_best(s)) PetscCall(h5_attr_read_double(&f, "/", "best_val", 1, &st->best_val));
  if (s->patience > 0) PetscCall(h5_table_read_rows(&f, "best_params", H5T_NATIVE_DOUBLE, 0, n, best, PETSC_FALSE));
  PetscCall(h5_table_read_rows(&f, "opt_state", H5T_NATIVE_DOUBLE, 0, (PetscInt)o->nstate, o->state, PETSC_FALSE));
  if (st->epoch > 0) PetscCall(h5_table_read_rows(&f, "history", H5T_NATIVE_DOUBLE, 0, st->epoch, hist, PETSC_FALSE));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A diverged training (NaN or infinite loss or weights) stops with the epoch
 * and the likely cause, instead of saving a NaN model. */
static PetscErrorCode check_finite(const ParCtx *ctx, const TrainSpec *s, const TrainModel *m, const Opt *o,
                                   PetscInt epoch, double train, double val)
{
  double w = 0;
  PetscFunctionBeginUser;
  for (size_t k = 0; k < m->nparams; k++) w += m->params[k];
  if (!(isfinite(train) && isfinite(val) && isfinite(w))) {
    char msg[320]; /* snprintf: PETSc's printf writes nan as "nan." */
    snprintf(msg, sizeof(msg),
             "%s: epoch %d: %s is not finite (%s %g, %s %g): training diverged; likely cause: -lr %g too large%s",
             s->command, (int)epoch, isfinite(w) ? "the loss" : "a weight", s->hist_names[1], train, s->hist_names[2],
             val, o->lr, s->clip_hint && s->clip <= 0 ? " without gradient clipping (-clip 0)" : "");
    SETERRQ(ctx->comm, PETSC_ERR_FP, "%s", msg);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* "epoch  12  train_nll 1.23456  val_nll ...  best ... (3 since)  0.52 s  (96000 sims/s, elapsed 6 s, ETA <= 10 s)" */
static PetscErrorCode progress(const ParCtx *ctx, const TrainSpec *s, const TrainState *st, const double *h, double lr,
                               double rate, double elapsed, double eta)
{
  char line[512], one[96];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(line, sizeof(line), "epoch %3" PetscInt_FMT, st->epoch));
  for (PetscInt c = 1; c <= 1 + s->nmetric; c++) {
    char f[32];
    PetscCall(PetscSNPrintf(f, sizeof(f), "  %%s %s", s->fmt[c - 1]));
    snprintf(one, sizeof(one), f, s->hist_names[c], h[c]);
    PetscCall(PetscStrlcat(line, one, sizeof(line)));
  }
  if (tracks_best(s)) {
    PetscCall(PetscSNPrintf(one, sizeof(one), "  best %.5f (%" PetscInt_FMT " since)", st->best_val, st->since_best));
    PetscCall(PetscStrlcat(line, one, sizeof(line)));
  }
  if (decaying(s)) {
    PetscCall(PetscSNPrintf(one, sizeof(one), "  lr %.3g", lr));
    PetscCall(PetscStrlcat(line, one, sizeof(line)));
  }
  /* With early stopping the end is unknown: the ETA is the bound -patience and the epoch limit set. */
  PetscCall(PetscSNPrintf(one, sizeof(one), "  %.2f s  (%.0f %s/s, elapsed %.0f s, ETA%s %.0f s)\n", h[2 + s->nmetric],
                          rate, s->rows, elapsed, s->patience > 0 ? " <=" : "", eta));
  PetscCall(PetscStrlcat(line, one, sizeof(line)));
  PetscCall(PetscPrintf(ctx->comm, "%s", line));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode train_weak_set_from_options(MPI_Comm comm, PetscInt batch_ref_default, TrainLrScaling rule_default,
                                           TrainWeak *w)
{
  const char *rules[] = {"linear", "sqrt", "none", "TrainLrScaling", "TRAIN_LR_", NULL};
  PetscEnum rule = (PetscEnum)rule_default;
  PetscBool set_b = PETSC_FALSE, has_batch;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(w, sizeof(*w)));
  w->lr_batch_ref = batch_ref_default;
  w->warmup_epochs = 1;
  w->overlap_pieces = 4;
  w->shard = PETSC_TRUE;
  PetscOptionsBegin(comm, NULL, "Weak-scaling training (the global batch grows with the ranks)", "train");
  PetscCall(PetscOptionsInt("-batch_per_rank", "rows per rank and step: global batch = ranks x this (0: -batch)", NULL,
                            w->batch_per_rank, &w->batch_per_rank, &set_b));
  PetscCall(PetscOptionsEnum("-lr_scaling",
                             "with -batch_per_rank: -lr times k (linear), sqrt(k) or 1 (none), "
                             "k = global batch / -lr_batch_ref",
                             NULL, rules, rule, &rule, NULL));
  PetscCall(PetscOptionsInt("-lr_batch_ref", "the global batch that -lr is meant for", NULL, w->lr_batch_ref,
                            &w->lr_batch_ref, NULL));
  PetscCall(PetscOptionsReal("-warmup_epochs",
                             "with -batch_per_rank: epochs over which the rate ramps from -lr to the "
                             "scaled rate",
                             NULL, w->warmup_epochs, &w->warmup_epochs, NULL));
  PetscCall(PetscOptionsBool("-grad_overlap", "overlap the gradient all-reduce with the backward pass", NULL,
                             w->overlap, &w->overlap, NULL));
  PetscCall(PetscOptionsInt("-grad_overlap_pieces", "pieces of the gradient for -grad_overlap", NULL, w->overlap_pieces,
                            &w->overlap_pieces, NULL));
  PetscCall(PetscOptionsBool("-shard_optimizer",
                             "on P > 1 ranks: reduce-scatter the gradient, each rank updates 1/P of the weights, "
                             "all-gather them (0: all-reduce, every rank updates all)",
                             NULL, w->shard, &w->shard, NULL));
  PetscCall(PetscOptionsBool("-shard_single",
                             "the sharded step exchanges the gradient and the weights in single precision (half the "
                             "bytes); each rank keeps its slice of the weights and the optimiser's state in double",
                             NULL, w->single, &w->single, NULL));
  PetscOptionsEnd();
  w->lr_scaling = (TrainLrScaling)rule;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-batch", &has_batch));
  PetscCheck(!(set_b && has_batch), comm, PETSC_ERR_ARG_INCOMP,
             "-batch (the global batch, split over the ranks) and -batch_per_rank (rows per rank) exclude each other");
  PetscCheck(w->batch_per_rank >= 0 && w->batch_per_rank <= 1000000, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-batch_per_rank %" PetscInt_FMT ": expected 1 to 1000000 (0: off)", w->batch_per_rank);
  PetscCheck(w->lr_batch_ref > 0 && w->warmup_epochs >= 0 && isfinite(w->warmup_epochs), comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-lr_batch_ref must be positive and -warmup_epochs non-negative");
  PetscCheck(w->overlap_pieces >= 1 && w->overlap_pieces <= PAR_MAX_ASYNC, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-grad_overlap_pieces %" PetscInt_FMT ": expected 1 to %d", w->overlap_pieces, PAR_MAX_ASYNC);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscInt train_weak_local_batch(const TrainWeak *w, PetscInt batch)
{
  return w->batch_per_rank > 0 ? w->batch_per_rank : batch;
}

PetscErrorCode train_weak_config(const TrainWeak *w, int ranks, char *config, size_t len)
{
  static const char *names[] = {"linear", "sqrt", "none"};
  char more[160];
  PetscFunctionBeginUser;
  if (w->batch_per_rank <= 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(more, sizeof(more),
                          ";batch_per_rank=%" PetscInt_FMT ";ranks=%d;lr_scaling=%s;lr_batch_ref=%" PetscInt_FMT
                          ";warmup_epochs=%g%s",
                          w->batch_per_rank, ranks, names[w->lr_scaling], w->lr_batch_ref, (double)w->warmup_epochs,
                          w->single && w->shard && ranks > 1 ? ";shard_single=1" : ""));
  PetscCall(PetscStrlcat(config, more, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

double train_weak_lr(const TrainWeak *w, double lr, int ranks, int64_t step, PetscInt steps_per_epoch)
{
  if (w->batch_per_rank <= 0) return lr;
  double k = (double)w->batch_per_rank * ranks / (double)w->lr_batch_ref;
  double top = w->lr_scaling == TRAIN_LR_LINEAR ? lr * k : w->lr_scaling == TRAIN_LR_SQRT ? lr * sqrt(k) : lr;
  double warm = w->warmup_epochs * (double)steps_per_epoch;
  if (top <= lr || (double)step >= warm) return top;
  return lr + (top - lr) * (double)step / warm;
}

/* -grad_overlap: the gradient in `pieces` equal pieces, reduced from the last
 * to the first as the backward pass finishes them. Every rank starts the same
 * pieces in the same order; a rank without rows this step starts them all
 * after its (zero) gradient is ready. */
typedef struct {
  const ParCtx *ctx;
  double *grads;
  size_t n;
  PetscInt pieces, next; /* pieces started: the last `next` */
  ParAsync a;
  PetscErrorCode err;
} Overlap;

static size_t piece_lo(const Overlap *v, PetscInt k) { return v->n * (size_t)k / (size_t)v->pieces; }

static void overlap_ready(void *arg, size_t lo)
{
  Overlap *v = arg;
  while (!v->err && v->next < v->pieces && piece_lo(v, v->pieces - 1 - v->next) >= lo) {
    PetscInt k = v->pieces - 1 - v->next;
    v->err =
        par_iallreduce_sum(v->ctx, v->grads + piece_lo(v, k), (PetscInt)(piece_lo(v, k + 1) - piece_lo(v, k)), &v->a);
    v->next++;
  }
}

/* The optimiser's state vectors (o->state is nstate / n of them, each n long), whole on every rank. */
static PetscErrorCode shard_gather_state(const ParCtx *ctx, const ParShard *sh, Opt *o)
{
  PetscFunctionBeginUser;
  for (size_t k = 0; sh->on && k < o->nstate / o->n; k++) PetscCall(par_shard_gather(ctx, sh, o->state + k * o->n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode train_run(const ParCtx *ctx, const TrainSpec *s, TrainModel *m, Opt *o, TrainResult *r)
{
  TrainState st = {0, 0, INFINITY, 1};
  Batcher bt;
  PetscInt *local, ncol = 3 + s->nmetric;
  double *best = NULL, *hist;
  PetscLogEvent ev_step, ev_reduce, ev_val, ev_gather;
  PetscFunctionBeginUser;
  PetscCheck(s->nmetric >= 1 && s->nmetric <= TRAIN_MAX_METRICS, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "train_run: %" PetscInt_FMT " metrics, expected 1 to %d", s->nmetric, TRAIN_MAX_METRICS);
  PetscCall(par_log_event("train_fwd_bwd", &ev_step));
  PetscCall(par_log_event("grad_allreduce", &ev_reduce));
  PetscCall(par_log_event("weights_allgather", &ev_gather));
  PetscCall(par_log_event("train_validate", &ev_val));
  PetscCall(PetscMalloc1(ncol * (s->max_epochs + 1), &hist));
  if (s->patience > 0) PetscCall(PetscMalloc1(m->nparams, &best));
  PetscBool resume = s->resume;
  if (resume) { /* a requeued job may not have got as far as its first checkpoint */
    char ck[PETSC_MAX_PATH_LEN + 8];
    PetscCall(PetscSNPrintf(ck, sizeof(ck), "%s.ckpt", s->out));
    PetscCall(par_root_file_exists(ctx, ck, &resume));
    if (!resume) PetscCall(PetscPrintf(ctx->comm, "note: -resume: no checkpoint %s; starting from scratch\n", ck));
  }
  if (resume) {
    PetscCall(ckpt_read(s, m, o, &st, best, hist));
    PetscCall(PetscPrintf(ctx->comm, "resuming after epoch %" PetscInt_FMT "\n", st.epoch));
  }
  PetscCall(m->start(m->ctx, resume));
  if (!resume && best) PetscCall(PetscArraycpy(best, m->params, m->nparams));
  const TrainWeak *w = &s->weak;
  if (w->batch_per_rank > 0) {
    PetscInt *nall;
    PetscCall(PetscMalloc1(ctx->size, &nall));
    PetscCall(par_allgather_int(ctx, s->nloc, nall));
    PetscCall(batcher_create_weak(s->g0, s->nloc, w->batch_per_rank, ctx->size, nall, &bt));
    PetscCall(PetscFree(nall));
  } else
    PetscCall(batcher_create(s->ntrain, s->g0, s->nloc, s->batch, (uint64_t)s->seed, &bt));
  PetscCall(PetscMalloc1(batcher_max_local(&bt), &local));
  const double lr_base = o->lr; /* weak mode: the rate of each step follows from it and the step count */
  Overlap ov = {.ctx = ctx, .grads = m->grads, .n = m->nparams, .pieces = w->overlap_pieces};
  const PetscBool overlap = w->overlap && ctx->size > 1 && m->grad_hook ? PETSC_TRUE : PETSC_FALSE;
  if (w->overlap && !m->grad_hook)
    PetscCall(PetscPrintf(
        ctx->comm, "note: -grad_overlap: %s's network does not report its gradient pieces; not used\n", s->command));
  if (overlap) *m->grad_hook = overlap_ready, *m->grad_hook_arg = &ov;
  ParShard sh;
  /* -shard_optimizer: the gradient reduce-scattered, each rank updates its slice of the weights and
   * of the optimiser's state (elementwise, so the same bits), the weights all-gathered: one
   * all-reduce's volume and 1/P of the optimiser's work. The state elsewhere is stale until
   * gathered, for each checkpoint and at the end. With -clip the sharded step needs a third collective (the norm)
   * before the update; on 2 ranks it is still faster than the replicated step (benchmarks/shard_ab.sh, session 8:
   * the NPE 9-15% at 50 rows per rank), and the saving grows with P, so it is the default for every network. */
  const PetscBool shard = w->shard;
  PetscCall(par_shard_create(ctx, m->nparams, shard && !overlap, w->single, &sh));
  par_shard_begin(&sh, m->params);
  if (w->batch_per_rank > 0) { /* snprintf: PETSc's printf writes 1 as "1." */
    char msg[256];
    snprintf(msg, sizeof(msg),
             "%s: weak scaling: %d rows per rank and step, global batch %d, %d steps per epoch, learning rate %g -> %g "
             "(warm-up %g epochs), optimiser step %s%s\n",
             s->command, (int)w->batch_per_rank, (int)(w->batch_per_rank * ctx->size), (int)batcher_nbatches(&bt),
             lr_base, train_weak_lr(w, lr_base, ctx->size, INT64_MAX, 1), (double)w->warmup_epochs,
             ctx->size > 1 && shard && !overlap ? "sharded over the ranks" : "on every rank",
             sh.single ? ", exchanged in single precision" : "");
    PetscCall(PetscPrintf(ctx->comm, "%s", msg));
  }
  double t_start = cs_wtime();
  const PetscInt epoch0 = st.epoch; /* > 0 after -resume */
  while (st.epoch < s->max_epochs && (s->patience <= 0 || st.since_best < s->patience)) {
    double t0 = cs_wtime(), loss = 0, metric[TRAIN_MAX_METRICS];
    st.epoch++;
    if (m->epoch_begin) PetscCall(m->epoch_begin(m->ctx, st.epoch));
    batcher_shuffle(&bt, (uint64_t)s->seed, st.epoch);
    for (PetscInt b = 0; b < batcher_nbatches(&bt); b++) {
      PetscInt ng, n = batcher_local(&bt, b, local, &ng);
      PetscCall(PetscLogEventBegin(ev_step, 0, 0, 0, 0));
      memset(m->grads, 0, m->nparams * sizeof(double));
      ov.next = 0;
      if (n > 0) PetscCall(m->batch(m->ctx, local, n, ng, &loss));
      PetscCall(PetscLogEventEnd(ev_step, 0, 0, 0, 0));
      PetscCall(PetscLogEventBegin(ev_reduce, 0, 0, 0, 0));
      double *g = m->grads; /* the summed gradient of the weights [sh.lo, sh.hi) */
      if (overlap) {
        overlap_ready(&ov, 0); /* the pieces the backward pass did not report (all, on a rank without rows) */
        PetscCall(ov.err);
        PetscCall(par_async_wait(&ov.a));
      } else if (sh.on) {
        PetscCall(par_shard_reduce(ctx, &sh, m->grads));
        g = sh.g;
      } else
        PetscCall(par_allreduce_sum(ctx, m->grads, (PetscInt)m->nparams));
      PetscCall(PetscLogEventEnd(ev_reduce, 0, 0, 0, 0));
      const size_t ng_own = sh.hi - sh.lo;
      if (s->clip > 0) { /* identical on every rank: the gradient (or the norm's sum) already is */
        double g2 = 0;
        PetscCall(par_shard_norm2(ctx, &sh, g, &g2));
        if (sqrt(g2) > s->clip)
          for (size_t k = 0; k < ng_own; k++) g[k] *= s->clip / sqrt(g2);
      }
      o->lr = train_weak_lr(w, lr_base, ctx->size, o->step, batcher_nbatches(&bt)) * st.lr_factor;
      double *wts = par_shard_master(&sh, m->params); /* the double weights the optimiser updates */
      opt_step_range(o, wts, g, sh.lo, sh.hi);
      PetscCall(PetscLogEventBegin(ev_gather, 0, 0, 0, 0));
      PetscCall(par_shard_gather_weights(ctx, &sh, m->params));
      PetscCall(PetscLogEventEnd(ev_gather, 0, 0, 0, 0));
    }
    PetscCall(par_allreduce_sum(ctx, &loss, 1));
    double t_train = cs_wtime() - t0;
    PetscCall(PetscLogEventBegin(ev_val, 0, 0, 0, 0));
    /* validation, the best weights and checkpoints see the double weights */
    opt_eval_mode_range(o, par_shard_master(&sh, m->params), sh.lo, sh.hi); /* schedule-free: the averaged point */
    PetscCall(par_shard_gather_exact(ctx, &sh, m->params));
    PetscCall(m->validate(m->ctx, metric));
    if (tracks_best(s)) {
      if (metric[0] < st.best_val) {
        st.best_val = metric[0];
        st.since_best = 0;
        if (best) PetscCall(PetscArraycpy(best, m->params, m->nparams));
      } else {
        st.since_best++;
        /* Constant-rate Adam ends on noisy steps (biases SBC sees); a smaller rate averages them out. */
        if (decaying(s) && st.since_best % s->sched.lr_patience == 0) st.lr_factor *= s->sched.lr_decay;
      }
    }
    opt_train_mode_range(o, par_shard_master(&sh, m->params), sh.lo, sh.hi);
    PetscCall(par_shard_gather_exact(ctx, &sh, m->params));
    PetscCall(PetscLogEventEnd(ev_val, 0, 0, 0, 0));
    PetscCall(check_finite(ctx, s, m, o, st.epoch, loss / s->loss_norm, metric[0]));
    double *h = hist + ncol * (st.epoch - 1);
    h[0] = (double)st.epoch;
    h[1] = loss / s->loss_norm;
    for (PetscInt k = 0; k < s->nmetric; k++) h[2 + k] = metric[k];
    h[2 + s->nmetric] = cs_wtime() - t0;
    double per = (cs_wtime() - t_start) / (double)(st.epoch - epoch0);
    PetscInt left = s->max_epochs - st.epoch;
    if (s->patience > 0) left = PetscMin(left, s->patience - st.since_best);
    const double lr_next = train_weak_lr(w, lr_base, ctx->size, o->step, batcher_nbatches(&bt)) * st.lr_factor;
    PetscCall(progress(ctx, s, &st, h, lr_next, (double)s->ntrain / t_train, cs_wtime() - t_start, per * (double)left));
    PetscCall(shard_gather_state(ctx, &sh, o));
    if (ctx->rank == 0) PetscCall(ckpt_write(s, m, o, &st, best, hist, ncol));
    par_shard_round(&sh, m->params); /* back to the weights the steps compute with */
  }
  PetscCall(par_shard_gather_exact(ctx, &sh, m->params));
  PetscCall(shard_gather_state(ctx, &sh, o));
  PetscCall(par_shard_destroy(&sh));
  if (overlap) *m->grad_hook = NULL, *m->grad_hook_arg = NULL;
  o->lr = lr_base;
  opt_eval_mode(o, m->params);
  if (best) PetscCall(PetscArraycpy(m->params, best, m->nparams));
  r->epoch = st.epoch;
  r->since_best = st.since_best;
  r->best_val = st.best_val;
  r->hist = hist;
  r->ncol = ncol;
  r->early_stopped = s->patience > 0 && st.since_best >= s->patience ? PETSC_TRUE : PETSC_FALSE;
  r->seconds = cs_wtime() - t_start;
  r->lr_factor = st.lr_factor;
  PetscCall(PetscFree(local));
  PetscCall(PetscFree(best));
  PetscCall(batcher_destroy(&bt));
  PetscFunctionReturn(PETSC_SUCCESS);
}
