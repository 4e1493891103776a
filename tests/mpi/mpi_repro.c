/* The order-independent sum: each rank adds its block of terms (magnitudes
 * from 1e-9 to 1e6, both signs), the accumulators are all-reduced, and the
 * result must equal bit for bit a serial sum in reverse order, and agree with
 * a compensated long-double sum to 1e-15 relative. Also: -inf propagates. */
#include <chempysbi/par.h>
#include <chempysbi/rng.h>
#include <math.h>

static double term(PetscInt i)
{
  Rng r;
  rng_init(&r, 5, RNG_TEST, (uint64_t)i);
  double u = rng_uniform(&r), s = rng_uniform(&r) < 0.5 ? -1 : 1;
  return s * pow(10.0, -9 + 15 * u);
}

int main(int argc, char **argv)
{
  ParCtx ctx;
  const PetscInt N = 10007;
  PetscInt lo, hi, bad = 0;
  int64_t acc[2 * PAR_REPRO_LIMBS], ser[PAR_REPRO_LIMBS];
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  par_block_range(N, ctx.rank, ctx.size, &lo, &hi);
  par_repro_zero(acc, 2);
  for (PetscInt i = lo; i < hi; i++) par_repro_add(acc, term(i));
  if (ctx.rank == ctx.size - 1) par_repro_add(acc + PAR_REPRO_LIMBS, -INFINITY);
  PetscCall(par_allreduce_repro(&ctx, acc, 2));
  par_repro_zero(ser, 1);
  long double s = 0, c = 0;
  for (PetscInt i = N - 1; i >= 0; i--) {
    par_repro_add(ser, term(i));
    long double y = (long double)term(i) - c, t = s + y;
    c = (t - s) - y, s = t;
  }
  double v = par_repro_value(acc), w = par_repro_value(ser);
  if (v != w) {
    bad++;
    PetscCall(PetscPrintf(ctx.comm, "mpi_repro: %d ranks give %.17g, serial %.17g\n", ctx.size, v, w));
  }
  if (fabs(v - (double)s) > 1e-15 * fabs((double)s) + 1e-17) {
    bad++;
    PetscCall(PetscPrintf(ctx.comm, "mpi_repro: %.17g vs compensated %.17g\n", v, (double)s));
  }
  if (par_repro_value(acc + PAR_REPRO_LIMBS) != -INFINITY) {
    bad++;
    PetscCall(PetscPrintf(ctx.comm, "mpi_repro: -inf term lost\n"));
  }
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
