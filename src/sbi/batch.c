/* Rank-count-independent mini-batches (see batch.h). */
#include <chempysbi/batch.h>
#include <chempysbi/rng.h>

PetscErrorCode batcher_create(PetscInt N, PetscInt g0, PetscInt nloc, PetscInt B, uint64_t seed, Batcher *bt)
{
  PetscFunctionBeginUser;
  PetscCheck(N > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "no training rows");
  PetscCheck(B > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "batch size %" PetscInt_FMT " must be positive", B);
  bt->N = N;
  bt->g0 = g0;
  bt->nloc = nloc;
  bt->B = B;
  PetscCall(PetscMalloc1(N, &bt->perm));
  for (PetscInt i = 0; i < N; i++) bt->perm[i] = i;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode batcher_destroy(Batcher *bt)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(bt->perm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void batcher_shuffle(Batcher *bt, uint64_t seed, PetscInt epoch)
{
  Rng r;
  rng_init(&r, seed, RNG_SHUFFLE, (uint64_t)epoch);
  for (PetscInt i = 0; i < bt->N; i++) bt->perm[i] = i;
  for (PetscInt i = bt->N - 1; i > 0; i--) {
    PetscInt j = (PetscInt)rng_below(&r, (uint64_t)(i + 1)), t = bt->perm[i];
    bt->perm[i] = bt->perm[j];
    bt->perm[j] = t;
  }
}

PetscInt batcher_nbatches(const Batcher *bt) { return (bt->N + bt->B - 1) / bt->B; }

PetscInt batcher_local(const Batcher *bt, PetscInt b, PetscInt *local, PetscInt *nglobal)
{
  PetscInt lo = b * bt->B, hi = PetscMin(bt->N, lo + bt->B), n = 0;
  for (PetscInt i = lo; i < hi; i++) {
    PetscInt g = bt->perm[i] - bt->g0;
    if (g >= 0 && g < bt->nloc) local[n++] = g;
  }
  *nglobal = hi - lo;
  return n;
}
