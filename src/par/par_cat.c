/* Broadcasts of the program's data sets: rank 0 reads a file, every rank
 * gets the same copy. */
#include <chempysbi/cat.h>
#include <chempysbi/par.h>

PetscErrorCode par_bcast_catalogue(const ParCtx *ctx, Catalogue *cat)
{
  PetscInt n = ctx->rank == 0 ? cat->n : 0;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&n, 1, MPIU_INT, 0, ctx->comm));
  if (ctx->rank != 0) PetscCall(cat_alloc(n, cat));
  PetscCallMPI(MPI_Bcast(cat->abund, (int)(n * CS_NELEM), MPI_DOUBLE, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(cat->err, (int)(n * CS_NELEM), MPI_DOUBLE, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(cat->missing, (int)(n * CS_NELEM), MPI_UNSIGNED_CHAR, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(cat->err_present, CS_NELEM, MPIU_BOOL, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(cat->ids, (int)(n * CAT_ID_LEN), MPI_CHAR, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(cat->usable, (int)n, MPIU_BOOL, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(&cat->nunusable, 1, MPIU_INT, 0, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}
