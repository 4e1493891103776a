/* The sharded step's exchanges (src/par/par_shard.c) against sums and values every rank can work
 * out alone. A buffer of 1000 values (not whole blocks) with terms from 1e-6 to 1e3 of both signs:
 * - double: each rank's reduced slice equals the serial sum of the ranks' terms to 1e-14 relative
 *   to the sum of magnitudes; the gathered weights are every rank's slice, bit for bit;
 * - single (on 2 or more ranks): the reduced slice is within (P + 1) 2^-24 of the sum of
 *   magnitudes of the true sum, and somewhere differs from the double one; par_shard_begin leaves
 *   the weights float-representable with the exact ones kept; after the owners change their
 *   slices, par_shard_gather_weights gives every rank those values rounded to float, gather_exact
 *   the doubles bit for bit, and par_shard_round the rounded ones again. */
#include <chempysbi/par.h>
#include <chempysbi/rng.h>
#include <math.h>

#define N 1000

static double term(int rank, size_t k)
{
  Rng r;
  rng_init(&r, 11, RNG_TEST, (uint64_t)rank * N + k);
  double u = rng_uniform(&r), s = rng_uniform(&r) < 0.5 ? -1 : 1;
  return s * pow(10.0, -6 + 9 * u);
}

static double weight(size_t k, int version) { return sin(0.37 * (double)k + version) / 3.0 + 1e-3 * version; }

static PetscErrorCode check(const ParCtx *ctx, PetscBool single, PetscInt *bad)
{
  ParShard sh;
  double full[N], par[N], sum[N], mag[N];
  PetscFunctionBeginUser;
  PetscCall(par_shard_create(ctx, N, PETSC_TRUE, single, &sh));
  const char *what = single ? "single" : "double";
  for (size_t k = 0; k < N; k++) {
    full[k] = term(ctx->rank, k);
    sum[k] = mag[k] = 0;
    for (int r = 0; r < ctx->size; r++) sum[k] += term(r, k), mag[k] += fabs(term(r, k));
  }
  const double *g = full; /* on one rank nothing is reduced: the slice is the buffer */
  if (sh.on) {
    PetscCall(par_shard_reduce(ctx, &sh, full));
    g = sh.g;
  }
  PetscInt differs = 0;
  for (size_t k = sh.lo; k < sh.hi; k++) {
    double tol = sh.single ? (ctx->size + 1) * ldexp(mag[k], -24) : 1e-14 * mag[k];
    if (fabs(g[k - sh.lo] - sum[k]) > tol) {
      (*bad)++;
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "mpi_shard %s rank %d: value %zu reduced to %.17g, sum %.17g\n", what,
                            ctx->rank, k, g[k - sh.lo], sum[k]));
    }
    if (g[k - sh.lo] != sum[k]) differs++;
  }
  PetscCall(par_allreduce_count(ctx, &differs));
  if (sh.single && differs == 0) {
    (*bad)++;
    PetscCall(PetscPrintf(ctx->comm, "mpi_shard: the single-precision sums equal the double ones everywhere\n"));
  }
  /* the weights: begin, the owners update their slices, gather rounded, exact, rounded */
  for (size_t k = 0; k < N; k++) par[k] = weight(k, 0);
  par_shard_begin(&sh, par);
  for (size_t k = 0; k < N; k++)
    if (par[k] != (sh.single ? (double)(float)weight(k, 0) : weight(k, 0))) (*bad)++;
  double *w = par_shard_master(&sh, par);
  for (size_t k = sh.lo; k < sh.hi; k++) {
    if (w[k] != weight(k, 0)) (*bad)++; /* the master keeps the exact values */
    w[k] = weight(k, 1);
  }
  PetscCall(par_shard_gather_weights(ctx, &sh, par));
  for (size_t k = 0; k < N; k++)
    if (par[k] != (sh.single ? (double)(float)weight(k, 1) : weight(k, 1))) (*bad)++;
  PetscCall(par_shard_gather_exact(ctx, &sh, par));
  for (size_t k = 0; k < N; k++)
    if (par[k] != weight(k, 1)) (*bad)++;
  par_shard_round(&sh, par);
  for (size_t k = 0; k < N; k++)
    if (par[k] != (sh.single ? (double)(float)weight(k, 1) : weight(k, 1))) (*bad)++;
  PetscCall(par_shard_destroy(&sh));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  ParCtx ctx;
  PetscInt bad = 0;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  PetscCall(check(&ctx, PETSC_FALSE, &bad));
  PetscCall(check(&ctx, PETSC_TRUE, &bad));
  PetscCall(par_allreduce_count(&ctx, &bad));
  if (bad) PetscCall(PetscPrintf(ctx.comm, "mpi_shard: %" PetscInt_FMT " failures on %d ranks\n", bad, ctx.size));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
