/* Data-parallel maximum-likelihood training of the NPE on emulator
 * simulations: theta from the prior and noise from counter streams keyed by
 * the simulation index, so every rank count sees the same data and batches. */
#ifndef CHEMPYSBI_NPE_TRAIN_H
#define CHEMPYSBI_NPE_TRAIN_H

#include <chempysbi/npe.h>
#include <chempysbi/par.h>
#include <chempysbi/train.h>

typedef struct {
  char emulator[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  char estimator[32];             /* -estimator: the density estimator (estimator.h), "maf" */
  char init[PETSC_MAX_PATH_LEN];  /* -init: start from this NPE's weights, "" = fresh initialisation */
  char table[PETSC_MAX_PATH_LEN]; /* -table: clean simulations from this CHEMPY table, "" = the emulator */
  PetscInt n, batch, max_epochs, patience, seed, transforms, hidden, blocks;
  PetscReal noise, lr, val_fraction, clip;
  PetscBool fresh, resume;
  PetscBool logit_uniform; /* -logit_uniform: the birth time through the logit of its bounds (Npe.th_logit) */
  TrainSchedule sched;     /* -lr_decay, -lr_patience */
  /* The conditioned NPE (-noise_range, -p_missing, -drop_patterns, -p_drop); with none of them
   * the fixed-noise NPE of the paper (-noise). */
  NpeKind kind;
  ObsModel obs;
  TrainWeak weak; /* -batch_per_rank and the rest (train.h) */
} NpeTrainConfig;

PetscErrorCode npe_train_config_default(NpeTrainConfig *c);
PetscErrorCode npe_train_set_from_options(MPI_Comm comm, NpeTrainConfig *c);
PetscErrorCode npe_train_run(const ParCtx *ctx, const NpeTrainConfig *c);

#endif
