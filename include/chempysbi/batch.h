/* Mini-batches for data-parallel training, in two modes.
 *
 * Fixed global batch (batcher_create): the shuffle of the N training rows
 * depends only on (seed, epoch); rank r holds global rows [g0, g0 + nloc) and
 * takes from each global batch of B rows the rows it owns. So the sequence of
 * global batches, and the summed gradient, is the same for any number of ranks.
 *
 * Weak scaling (batcher_create_weak): every rank takes b rows of its own shard
 * per step, so a step is P b rows and no rank waits for a larger share. Each
 * row gets a random 32-bit key from (seed, RNG_ROW_KEY, epoch, global row);
 * the epoch's global order is the rows sorted by (key, global row), and a
 * rank walks that order
 * restricted to its shard. The order is thus defined without the rank count,
 * every row is used once per epoch, each global batch is a stratified sample
 * (b rows from every shard), and a rank sorts only its own rows. */
#ifndef CHEMPYSBI_BATCH_H
#define CHEMPYSBI_BATCH_H

#include <chempysbi/common.h>

typedef struct {
  PetscInt N;     /* global rows */
  PetscInt g0;    /* first global row held by this rank */
  PetscInt nloc;  /* rows held by this rank */
  PetscInt B;     /* fixed mode: global batch size */
  PetscInt *perm; /* fixed mode: (N) this epoch's order of global rows; weak: (nloc) of local rows */
  /* weak mode */
  PetscInt b;         /* rows per rank per step; 0 in fixed mode */
  PetscInt nranks;    /* ranks */
  PetscInt *nloc_all; /* (nranks) every rank's shard size: the size of each global batch */
  PetscInt nmax;      /* the largest shard: steps per epoch = ceil(nmax / b) */
  uint32_t *key;      /* (2 nloc) keys and scratch of the radix sort */
  PetscInt *tmp;      /* (nloc) scratch of the radix sort */
} Batcher;

PetscErrorCode batcher_create(PetscInt N, PetscInt g0, PetscInt nloc, PetscInt B, uint64_t seed, Batcher *bt);
/* Weak scaling: b rows per rank and step; nloc_all[r] is rank r's shard size
 * (shards are consecutive: rank r holds the rows after rank r-1's). */
PetscErrorCode batcher_create_weak(PetscInt g0, PetscInt nloc, PetscInt b, PetscInt nranks, const PetscInt *nloc_all,
                                   Batcher *bt);
PetscErrorCode batcher_destroy(Batcher *bt);
/* Fixed mode: Fisher-Yates shuffle from the stream (seed, RNG_SHUFFLE, epoch).
 * Weak mode: this rank's rows sorted by their keys (above). */
void batcher_shuffle(Batcher *bt, uint64_t seed, PetscInt epoch);
PetscInt batcher_nbatches(const Batcher *bt);
/* Rows of global batch b owned here, as local indices (0..nloc-1); returns
 * their count and, in *nglobal, the size of the whole global batch. */
PetscInt batcher_local(const Batcher *bt, PetscInt b, PetscInt *local, PetscInt *nglobal);
/* The most rows batcher_local returns on this rank (buffer sizes). */
PetscInt batcher_max_local(const Batcher *bt);

#endif
