/* Global mini-batches for data-parallel training. The shuffle of the N
 * training rows depends only on (seed, epoch); rank r holds global rows
 * [g0, g0 + nloc) and takes from each global batch the rows it owns. So the
 * sequence of global batches, and the summed gradient, is the same for any
 * number of ranks. */
#ifndef CHEMPYSBI_BATCH_H
#define CHEMPYSBI_BATCH_H

#include <chempysbi/common.h>

typedef struct {
  PetscInt N;     /* global rows */
  PetscInt g0;    /* first global row held by this rank */
  PetscInt nloc;  /* rows held by this rank */
  PetscInt B;     /* global batch size */
  PetscInt *perm; /* (N) this epoch's order of global rows */
} Batcher;

PetscErrorCode batcher_create(PetscInt N, PetscInt g0, PetscInt nloc, PetscInt B, uint64_t seed, Batcher *bt);
PetscErrorCode batcher_destroy(Batcher *bt);
/* Fisher-Yates shuffle from the stream (seed, RNG_SHUFFLE, epoch). */
void batcher_shuffle(Batcher *bt, uint64_t seed, PetscInt epoch);
PetscInt batcher_nbatches(const Batcher *bt);
/* Rows of global batch b owned here, as local indices (0..nloc-1); returns
 * their count and, in *nglobal, the size of the whole global batch. */
PetscInt batcher_local(const Batcher *bt, PetscInt b, PetscInt *local, PetscInt *nglobal);

#endif
