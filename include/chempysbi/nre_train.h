/* Data-parallel training of the ratio estimator (nre.h) on emulator
 * simulations: the same simulations as train-npe with the same seed (theta
 * from the prior, x = emulator + noise, streams keyed by the simulation
 * index), each matched pair set against a contrastive theta drawn afresh from
 * the prior every epoch (stream (seed, RNG_NRE, epoch, index)), so every rank
 * count sees the same data and batches; binary cross-entropy, gradient
 * all-reduce every step, Adam, early stopping on the validation loss. */
#ifndef CHEMPYSBI_NRE_TRAIN_H
#define CHEMPYSBI_NRE_TRAIN_H

#include <chempysbi/nre.h>
#include <chempysbi/par.h>
#include <chempysbi/train.h>

typedef struct {
  char emulator[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt n, batch, max_epochs, patience, seed, nhidden, hidden[8];
  PetscReal noise, lr, val_fraction, clip;
  PetscBool resume;
  TrainWeak weak;      /* -batch_per_rank and the rest (train.h) */
  TrainSchedule sched; /* -lr_decay, -lr_patience (constant by default) */
} NreTrainConfig;

PetscErrorCode nre_train_config_default(NreTrainConfig *c);
PetscErrorCode nre_train_set_from_options(MPI_Comm comm, NreTrainConfig *c);
PetscErrorCode nre_train_run(const ParCtx *ctx, const NreTrainConfig *c);

#endif
