/* Row i's random numbers are the same whichever rank draws them: each rank
 * draws its block, rank 0 gathers and compares with drawing every row itself. */
#include <chempysbi/par.h>
#include <chempysbi/rng.h>

#define K 4
int main(int argc, char **argv)
{
  ParCtx ctx;
  const PetscInt N = 997;
  PetscInt lo, hi, bad = 0;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  par_block_range(N, ctx.rank, ctx.size, &lo, &hi);
  double *all;
  PetscCall(PetscCalloc1(N * K, &all));
  for (PetscInt i = lo; i < hi; i++) {
    Rng r;
    rng_init(&r, 77, RNG_PARAMS, (uint64_t)i);
    for (int k = 0; k < K; k++) all[i * K + k] = k % 2 ? rng_normal(&r) : rng_uniform(&r);
  }
  PetscCall(par_allreduce_sum(&ctx, all, N * K)); /* disjoint blocks: the sum is a gather */
  for (PetscInt i = 0; i < N; i++) {
    Rng r;
    rng_init(&r, 77, RNG_PARAMS, (uint64_t)i);
    for (int k = 0; k < K; k++)
      if (all[i * K + k] != (k % 2 ? rng_normal(&r) : rng_uniform(&r))) bad++;
  }
  if (bad) PetscCall(PetscPrintf(ctx.comm, "mpi_rng: %" PetscInt_FMT " draws differ at %d ranks\n", bad, ctx.size));
  PetscCall(PetscFree(all));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
