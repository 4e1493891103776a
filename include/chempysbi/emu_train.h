/* Data-parallel training of the CHEMPY emulator: each rank reads its shard of
 * the training set, gradients are summed over ranks every step, and every
 * rank applies the same update. */
#ifndef CHEMPYSBI_EMU_TRAIN_H
#define CHEMPYSBI_EMU_TRAIN_H

#include <chempysbi/emu.h>
#include <chempysbi/opt.h>
#include <chempysbi/par.h>
#include <chempysbi/train.h>

/* A shard of usable (status ok) rows of a simulate file. */
typedef struct {
  PetscInt N;        /* usable rows in the whole file */
  PetscInt g0, nloc; /* this rank's usable rows are global usable rows [g0, g0 + nloc) */
  PetscInt nraw;     /* rows in the file, all statuses */
  double *theta;     /* (nloc, 6) */
  double *abund;     /* (nloc, 8) */
  char chempy[512];  /* the CHEMPY configuration that made the file ("" if not recorded) */
} EmuData;

PetscErrorCode emu_data_load(const ParCtx *ctx, const char *path, EmuData *d);
/* The same, from the first max_rows rows of the file only (0: all). */
PetscErrorCode emu_data_load_rows(const ParCtx *ctx, const char *path, PetscInt max_rows, EmuData *d);
PetscErrorCode emu_data_destroy(EmuData *d);

typedef struct {
  char train[PETSC_MAX_PATH_LEN], val[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt epochs, batch, seed, nhidden, hidden[8];
  PetscReal lr, weight_decay;
  OptKind optimizer;
  PetscBool resume;
  PetscInt train_rows; /* > 0: only the first train_rows rows of -train */
  TrainWeak weak;      /* -batch_per_rank and the rest (train.h) */
  TrainSchedule sched; /* -lr_decay, -lr_patience (constant by default) */
} EmuTrainConfig;

PetscErrorCode emu_train_config_default(EmuTrainConfig *c);
PetscErrorCode emu_train_set_from_options(MPI_Comm comm, EmuTrainConfig *c);
PetscErrorCode emu_train_run(const ParCtx *ctx, const EmuTrainConfig *c);

#endif
