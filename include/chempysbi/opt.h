/* Optimisers over one flat parameter buffer: Adam (Kingma & Ba) and
 * schedule-free AdamW (Defazio et al. 2024, the `schedulefree` package's
 * AdamWScheduleFree). All state is one flat buffer plus a few scalars. */
#ifndef CHEMPYSBI_OPT_H
#define CHEMPYSBI_OPT_H

#include <chempysbi/common.h>
#include <stdint.h>
#include <stddef.h>

typedef enum { OPT_ADAM = 0, OPT_SCHEDULEFREE = 1 } OptKind;

/* Checkpoint/resume: save `state` (nstate = 2 n doubles) and the scalars
 * step, lr_max, weight_sum, train_mode together with the parameters; restoring
 * them (and the same hyperparameters) continues bit for bit. For schedule-free,
 * the parameters buffer holds y in train mode and x in eval mode, so save
 * train_mode with it (or always checkpoint in the same mode). */
typedef struct {
  OptKind kind;
  /* Hyperparameters: defaults set by opt_create, change before the first step. */
  double lr;              /* 1e-3 (schedulefree's own default is 2.5e-3) */
  double beta1, beta2;    /* 0.9, 0.999 */
  double eps;             /* 1e-8, added to sqrt(v_hat) */
  double weight_decay;    /* 0. Adam: decoupled (AdamW), p -= lr wd p.
                             Schedule-free: wd * y added to the normalised
                             gradient, as the package does */
  int64_t warmup_steps;   /* schedule-free linear warmup of lr, 0 = none */
  double r;               /* schedule-free polynomial averaging weight power, 0 */
  double weight_lr_power; /* schedule-free averaging weight lr_max^power, 2 */
  /* Scalars of the state. */
  int64_t step;      /* steps taken */
  double lr_max;     /* schedule-free: largest lr so far (starts at -1) */
  double weight_sum; /* schedule-free: sum of averaging weights */
  int train_mode;    /* schedule-free: params hold y (1) or x (0); starts 1 */
  /* Flat state. */
  size_t n;      /* parameters */
  size_t nstate; /* 2 n */
  double *state; /* Adam: m (n), v (n). Schedule-free: z (n), v (n) */
} Opt;

PetscErrorCode opt_create(OptKind kind, size_t n, Opt **opt);
PetscErrorCode opt_destroy(Opt **opt);
/* One update of params from grads (both n long; grads is not modified).
 * Schedule-free must be in train mode (params = y; the gradient is taken at y). */
void opt_step(Opt *opt, double *params, const double *grads);
/* Schedule-free: switch params from y to the averaged point x, where the model
 * is evaluated (validation, saving the final model), and back. No-ops for Adam,
 * before the first step, and when already in that mode. */
void opt_eval_mode(Opt *opt, double *params);
void opt_train_mode(Opt *opt, double *params);
/* The same on the entries [lo, hi) of params and of the state only (a sharded optimiser:
 * each rank updates its slice, then the slices are gathered); grads holds the gradient
 * of those entries, grads[0] being entry lo. The scalars advance as in opt_step. */
void opt_step_range(Opt *opt, double *params, const double *grads, size_t lo, size_t hi);
void opt_eval_mode_range(Opt *opt, double *params, size_t lo, size_t hi);
void opt_train_mode_range(Opt *opt, double *params, size_t lo, size_t hi);
/* The learning rate the step `step` uses (after warmup scaling). */
double opt_scheduled_lr(const Opt *opt);

#endif
