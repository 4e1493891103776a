/* The one data-parallel training loop of every network (emulator, flow, and
 * any later estimator): global mini-batches from (seed, epoch) split over
 * ranks, the gradient summed over ranks every step, optional gradient-norm
 * clipping, the optimiser step, validation in the optimiser's evaluation
 * mode, early stopping with the best model kept, an atomic checkpoint after
 * every epoch that -resume continues bit for bit, and the progress line.
 * Or, with -batch_per_rank, weak-scaling training: a fixed number of rows per
 * rank and step, the learning rate scaled with the global batch and warmed up.
 * A model plugs in its loss, forward and backward through TrainModel. The
 * learning-rate schedule (reduce on plateau) is the trainer's too, so every
 * network has the same -lr_decay and -lr_patience options. */
#ifndef CHEMPYSBI_TRAIN_H
#define CHEMPYSBI_TRAIN_H

#include <chempysbi/h5.h>
#include <chempysbi/opt.h>
#include <chempysbi/par.h>

#define TRAIN_MAX_METRICS 4

/* Called by a model's backward pass when the gradient entries [lo, nparams)
 * are final for this batch (the last layers finish first: a network whose
 * flat buffer runs from the first layer to the last reports decreasing lo). */
typedef void (*TrainGradHook)(void *arg, size_t lo);

/* Weak-scaling training, common to every network (train_weak_set_from_options):
 *   -batch_per_rank b   every rank takes b rows per step: the global batch is
 *                       P b and grows with the ranks (default 0: off; -batch is
 *                       then the global batch, split over the ranks, and the
 *                       result does not depend on the rank count)
 *   -lr_scaling linear|sqrt|none and -lr_batch_ref B0: -lr is the rate for a
 *                       global batch of B0 (default the command's default
 *                       -batch); with batch_per_rank the rate used is
 *                       lr k (linear, Goyal et al. 2017), lr sqrt(k) (sqrt, the
 *                       rule for Adam-type optimisers, Malladi et al. 2022) or
 *                       lr, with k = P b / B0
 *   -warmup_epochs w    for k > 1 the rate ramps linearly, step by step, from
 *                       lr to the scaled rate over the first w epochs (Goyal's
 *                       gradual warm-up), then stays
 *   -grad_overlap       start the gradient's all-reduce piece by piece as the
 *                       backward pass finishes each piece (MPI_Iallreduce)
 *                       instead of one MPI_Allreduce after it
 *   -grad_overlap_pieces  pieces of the flat gradient for -grad_overlap
 *   -shard_optimizer    reduce-scatter the gradient, update 1/P of the weights
 *                       on each rank, all-gather them (default: on unless the
 *                       network clips its gradient norm)
 *   -shard_single       the sharded step exchanges floats; each rank keeps its
 *                       slice of the weights in double (par.h) */
typedef enum { TRAIN_LR_LINEAR = 0, TRAIN_LR_SQRT = 1, TRAIN_LR_NONE = 2 } TrainLrScaling;
typedef struct {
  PetscInt batch_per_rank;
  TrainLrScaling lr_scaling;
  PetscInt lr_batch_ref;
  PetscReal warmup_epochs;
  PetscBool overlap;
  PetscInt overlap_pieces;
  PetscBool shard;  /* -shard_optimizer (default on; not with -grad_overlap) */
  PetscBool single; /* -shard_single: the sharded step's exchanges in single precision */
} TrainWeak;

/* Defaults (off) and the options above; batch_ref_default is the command's
 * default -batch, rule_default its -lr_scaling (the rule that kept its accuracy
 * to the largest global batch, benchmarks/large_batch.sh). -batch and
 * -batch_per_rank together are refused. */
PetscErrorCode train_weak_set_from_options(MPI_Comm comm, PetscInt batch_ref_default, TrainLrScaling rule_default,
                                           TrainWeak *w);
/* Rows a rank computes per step at most, for the model's batch buffers. */
PetscInt train_weak_local_batch(const TrainWeak *w, PetscInt batch);
/* Appends the weak-scaling settings to a checkpoint's config string (nothing
 * in the fixed-batch mode, so its checkpoints keep resuming). */
PetscErrorCode train_weak_config(const TrainWeak *w, int ranks, char *config, size_t len);
/* The learning rate of step `step` (0-based) for a base rate lr on `ranks`
 * ranks with `steps_per_epoch` steps per epoch (lr itself in the fixed mode). */
double train_weak_lr(const TrainWeak *w, double lr, int ranks, int64_t step, PetscInt steps_per_epoch);

/* Reduce on plateau: lr *= lr_decay after every lr_patience epochs without a
 * better validation loss (counted from the last better one). lr_decay 1 (or 0,
 * an unset field): a constant rate, and checkpoints exactly as before. */
typedef struct {
  double lr_decay;
  PetscInt lr_patience;
} TrainSchedule;

typedef struct {
  /* The network's one flat parameter buffer and its gradient. */
  size_t nparams;
  double *params, *grads;
  void *ctx; /* handed to every callback */
  /* After the checkpoint (if any) is read: a fresh start (resumed false) sets
   * its standardisation and initial weights; both then prepare their data. */
  PetscErrorCode (*start)(void *ctx, PetscBool resumed);
  /* Optional: before epoch `epoch` (1-based), e.g. draw fresh simulations. */
  PetscErrorCode (*epoch_begin)(void *ctx, PetscInt epoch);
  /* This rank's rows local[0..n) (n > 0, local indices of the shard) of a
   * global batch of ng rows: add the sum of their losses to *loss and the
   * gradient of the global batch-mean loss to grads (zeroed by the trainer). */
  PetscErrorCode (*batch)(void *ctx, const PetscInt *local, PetscInt n, PetscInt ng, double *loss);
  /* Validation metrics (collective, every rank the same values); metric[0] is
   * the validation loss that early stopping watches. */
  PetscErrorCode (*validate)(void *ctx, double *metric);
  /* Checkpoint: write the model (weights and standardisation, the group
   * `group` of TrainSpec), and read back what is not the weights. */
  PetscErrorCode (*write)(void *ctx, H5File *f);
  PetscErrorCode (*read)(void *ctx, H5File *f);
  /* Optional, for -grad_overlap: the network's hook slot and its argument
   * (Mlp, Estimator), which its backward pass calls as pieces of the gradient
   * become final; the trainer fills them for the run and clears them after. */
  TrainGradHook *grad_hook;
  void **grad_hook_arg;
} TrainModel;

typedef struct {
  const char *command;       /* "train-emulator": messages and the checkpoint's provenance */
  const char *out;           /* model file; the checkpoint is <out>.ckpt */
  const char *group;         /* the model's group in the checkpoint ("emulator"): weights in <group>/params */
  const char *config;        /* the run's identity: a checkpoint made with another is refused */
  PetscInt ntrain, g0, nloc; /* training rows in all; this rank holds [g0, g0 + nloc) */
  PetscInt batch, max_epochs, seed;
  const char *epochs_option; /* the option that sets max_epochs ("-epochs"), for messages */
  PetscInt patience;         /* > 0: stop after this many epochs without a better validation loss and
                                keep the best model; 0: train max_epochs, keep the last */
  double clip;               /* gradient norm clip, 0 = none */
  PetscBool clip_hint;       /* the model has a -clip option: name it when training diverges unclipped */
  double loss_norm;          /* train loss reported = the batches' loss sum / loss_norm */
  /* History columns: epoch, train loss, the nmetric validation metrics, seconds;
   * the progress line prints them with fmt[0] (train loss) and fmt[1 + m]. */
  PetscInt nmetric;
  const char *const *hist_names;
  const char *const *fmt;
  const char *rows; /* what a row is, for the rate: "rows", "sims" */
  PetscBool resume;
  TrainWeak weak; /* zero: the fixed global batch `batch` */
  TrainSchedule sched;
} TrainSpec;

/* The run's outcome: history (epoch rows, 3 + nmetric columns), epochs done,
 * best validation loss, and why it stopped. */
typedef struct {
  PetscInt epoch, since_best;
  double best_val;
  double *hist; /* allocated by train_run, free with PetscFree */
  PetscInt ncol;
  PetscBool early_stopped;
  double seconds;   /* wall time of the epochs run here (not those before a resume) */
  double lr_factor; /* the rate's final -lr_decay factor (1: never decayed) */
} TrainResult;

/* Train m on o (hyperparameters set by the caller). On return the parameters
 * are the final model: the best epoch's with patience > 0, else the last
 * epoch's at the optimiser's evaluation point. */
PetscErrorCode train_run(const ParCtx *ctx, const TrainSpec *s, TrainModel *m, Opt *o, TrainResult *r);

/* The schedule's defaults (lr_decay 1: constant, lr_patience 5), its options
 * -lr_decay and -lr_patience of `command` (note: appended to the -lr_decay
 * help, e.g. another default, or NULL; *set_decay says whether -lr_decay was
 * given, may be NULL), and its part of a run's config string (appended to s,
 * nothing for a constant rate, so constant-rate checkpoints still resume). */
void train_schedule_default(TrainSchedule *t);
PetscErrorCode train_schedule_from_options(MPI_Comm comm, const char *command, const char *note, TrainSchedule *t,
                                           PetscBool *set_decay);
PetscErrorCode train_schedule_config(const TrainSchedule *t, char *s, size_t len);

#endif
