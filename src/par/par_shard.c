/* A flat buffer partitioned over the ranks in whole blocks (include/chempysbi/par.h): the sharded
 * optimiser step's reduce-scatter of the gradient, all-gather of the weights, and the gradient norm
 * summed block by block so that it is the same bits sharded or not; optionally both exchanges in
 * single precision, with each rank's slice of the weights kept in double. */
#include <chempysbi/par.h>
#include <string.h>

PetscErrorCode par_shard_create(const ParCtx *ctx, size_t n, PetscBool on, PetscBool single, ParShard *sh)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(sh, sizeof(*sh)));
  sh->on = on && ctx->size > 1 ? PETSC_TRUE : PETSC_FALSE;
  sh->single = sh->on && single ? PETSC_TRUE : PETSC_FALSE;
  sh->n = sh->hi = n;
  sh->nblk = (n + PAR_SHARD_BLOCK - 1) / PAR_SHARD_BLOCK;
  PetscCall(PetscMalloc1(sh->nblk + 1, &sh->bsum));
  if (!sh->on) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(n <= (size_t)PETSC_MPI_INT_MAX, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE, "par_shard: %zu values", n);
  PetscCall(
      PetscMalloc4(ctx->size, &sh->counts, ctx->size, &sh->displs, ctx->size, &sh->bcounts, ctx->size, &sh->bdispls));
  for (int r = 0; r < ctx->size; r++) {
    const size_t b0 = sh->nblk * (size_t)r / (size_t)ctx->size, b1 = sh->nblk * (size_t)(r + 1) / (size_t)ctx->size;
    sh->bdispls[r] = (PetscMPIInt)b0;
    sh->bcounts[r] = (PetscMPIInt)(b1 - b0);
    sh->displs[r] = (PetscMPIInt)PetscMin(n, b0 * PAR_SHARD_BLOCK);
    sh->counts[r] = (PetscMPIInt)PetscMin(n, b1 * PAR_SHARD_BLOCK) - sh->displs[r];
  }
  sh->lo = (size_t)sh->displs[ctx->rank];
  sh->hi = sh->lo + (size_t)sh->counts[ctx->rank];
  PetscCall(PetscMalloc1(sh->hi - sh->lo + 1, &sh->g));
  if (sh->single) PetscCall(PetscMalloc3(n, &sh->w, n, &sh->f, sh->hi - sh->lo + 1, &sh->fg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_shard_destroy(ParShard *sh)
{
  PetscFunctionBeginUser;
  if (sh->counts) PetscCall(PetscFree4(sh->counts, sh->displs, sh->bcounts, sh->bdispls));
  PetscCall(PetscFree(sh->g));
  PetscCall(PetscFree(sh->bsum));
  if (sh->single) PetscCall(PetscFree3(sh->w, sh->f, sh->fg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_shard_reduce(const ParCtx *ctx, ParShard *sh, const double *full)
{
  PetscFunctionBeginUser;
  PetscCheck(sh->on, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "par_shard_reduce on an unsharded buffer");
  if (sh->single) {
    for (size_t k = 0; k < sh->n; k++) sh->f[k] = (float)full[k];
    PetscCallMPI(MPI_Reduce_scatter(sh->f, sh->fg, sh->counts, MPI_FLOAT, MPI_SUM, ctx->comm));
    for (size_t k = 0; k < sh->hi - sh->lo; k++) sh->g[k] = sh->fg[k];
  } else
    PetscCallMPI(MPI_Reduce_scatter(full, sh->g, sh->counts, MPI_DOUBLE, MPI_SUM, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_shard_gather(const ParCtx *ctx, const ParShard *sh, double *buf)
{
  PetscFunctionBeginUser;
  if (sh->on)
    PetscCallMPI(
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, sh->counts, sh->displs, MPI_DOUBLE, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_shard_norm2(const ParCtx *ctx, ParShard *sh, const double *x, double *x2)
{
  const size_t b0 = sh->lo / PAR_SHARD_BLOCK, b1 = (sh->hi + PAR_SHARD_BLOCK - 1) / PAR_SHARD_BLOCK;
  PetscFunctionBeginUser;
  for (size_t b = b0; b < b1; b++) {
    double a = 0;
    for (size_t k = b * PAR_SHARD_BLOCK; k < PetscMin(sh->hi, (b + 1) * PAR_SHARD_BLOCK); k++)
      a += x[k - sh->lo] * x[k - sh->lo];
    sh->bsum[b] = a;
  }
  if (sh->on)
    PetscCallMPI(
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, sh->bsum, sh->bcounts, sh->bdispls, MPI_DOUBLE, ctx->comm));
  *x2 = 0;
  for (size_t b = 0; b < sh->nblk; b++) *x2 += sh->bsum[b];
  PetscFunctionReturn(PETSC_SUCCESS);
}

double *par_shard_master(ParShard *sh, double *params) { return sh->single ? sh->w : params; }

void par_shard_begin(ParShard *sh, double *params)
{
  if (!sh->single) return;
  memcpy(sh->w, params, sh->n * sizeof(double));
  par_shard_round(sh, params);
}

void par_shard_round(const ParShard *sh, double *params)
{
  for (size_t k = 0; sh->single && k < sh->n; k++) params[k] = (float)params[k];
}

PetscErrorCode par_shard_gather_weights(const ParCtx *ctx, ParShard *sh, double *params)
{
  PetscFunctionBeginUser;
  if (!sh->single)
    PetscCall(par_shard_gather(ctx, sh, params));
  else {
    for (size_t k = sh->lo; k < sh->hi; k++) sh->f[k] = (float)sh->w[k];
    PetscCallMPI(
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, sh->f, sh->counts, sh->displs, MPI_FLOAT, ctx->comm));
    for (size_t k = 0; k < sh->n; k++) params[k] = sh->f[k];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_shard_gather_exact(const ParCtx *ctx, ParShard *sh, double *params)
{
  PetscFunctionBeginUser;
  if (sh->single) memcpy(params + sh->lo, sh->w + sh->lo, (sh->hi - sh->lo) * sizeof(double));
  PetscCall(par_shard_gather(ctx, sh, params));
  PetscFunctionReturn(PETSC_SUCCESS);
}
