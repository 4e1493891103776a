/* MPI context, block decomposition, flat-buffer reductions and the rank-0
 * progress line shared by every long-running command. */
#include <chempysbi/par.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

PetscErrorCode par_ctx_init(MPI_Comm comm, ParCtx *ctx)
{
  PetscFunctionBeginUser;
  ctx->comm = comm;
  PetscCallMPI(MPI_Comm_rank(comm, &ctx->rank));
  PetscCallMPI(MPI_Comm_size(comm, &ctx->size));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void par_block_range(PetscInt n, int rank, int size, PetscInt *lo, PetscInt *hi)
{
  PetscInt base = n / size, rem = n % size;
  *lo = rank * base + PetscMin(rank, rem);
  *hi = *lo + base + (rank < rem ? 1 : 0);
}

PetscErrorCode par_allreduce_sum(const ParCtx *ctx, double *buf, PetscInt n)
{
  PetscFunctionBeginUser;
  if (ctx->size > 1) PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_allreduce_count(const ParCtx *ctx, PetscInt *v)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, v, 1, MPIU_INT, MPI_SUM, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_bcast_ints(const ParCtx *ctx, PetscInt *v, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(v, (int)n, MPIU_INT, 0, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_bcast_bytes(MPI_Comm comm, void *buf, size_t n)
{
  PetscFunctionBeginUser;
  PetscCheck(n <= (size_t)PETSC_MPI_INT_MAX, comm, PETSC_ERR_ARG_OUTOFRANGE, "par_bcast_bytes: %zu bytes in one call",
             n);
  PetscCallMPI(MPI_Bcast(buf, (int)n, MPI_BYTE, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_allreduce_max(const ParCtx *ctx, double *buf, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_MAX, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_offset(MPI_Comm comm, PetscInt n, PetscInt *offset)
{
  int rank;
  PetscFunctionBeginUser;
  *offset = 0;
  PetscCallMPI(MPI_Exscan(&n, offset, 1, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) *offset = 0; /* MPI_Exscan leaves rank 0's result undefined */
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_barrier(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Barrier(comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_comm_rank(MPI_Comm comm, int *rank)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, rank));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_comm_size(MPI_Comm comm, int *size)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, size));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int par_world_rank(void)
{
  int rank = 0;
  (void)MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  return rank;
}

PetscErrorCode par_mpi_library_version(char *buf)
{
  int len;
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Get_library_version(buf, &len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void par_abort(MPI_Comm comm, int code) { MPI_Abort(comm, code); }

PetscErrorCode par_root_file_exists(const ParCtx *ctx, const char *path, PetscBool *exists)
{
  PetscInt have = 0;
  PetscFunctionBeginUser;
  if (ctx->rank == 0) have = access(path, F_OK) == 0;
  PetscCallMPI(MPI_Bcast(&have, 1, MPIU_INT, 0, ctx->comm));
  *exists = have ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_bcast_doubles(const ParCtx *ctx, double *buf, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(buf, (int)n, MPI_DOUBLE, 0, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void par_progress_start(ParProgress *p, const char *what, PetscInt done0, double every)
{
  p->t0 = p->last = cs_wtime();
  p->every = every;
  p->done0 = done0;
  p->what = what;
}

PetscErrorCode par_progress_report(const ParCtx *ctx, ParProgress *p, PetscInt done, PetscInt total, const char *extra,
                                   PetscBool force)
{
  PetscFunctionBeginUser;
  double now = cs_wtime();
  if (ctx->rank != 0 || (!force && now - p->last < p->every)) PetscFunctionReturn(PETSC_SUCCESS);
  p->last = now;
  double el = now - p->t0, rate = el > 0 ? (double)(done - p->done0) / el : 0.0;
  double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "[%s] %" PetscInt_FMT "/%" PetscInt_FMT " (%.1f%%)  %.1f/s  elapsed %.0fs  ETA %.0fs%s%s\n",
                        p->what, done, total, total > 0 ? 100.0 * done / total : 100.0, rate, el, eta,
                        extra ? "  " : "", extra ? extra : ""));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_gather_doubles(const ParCtx *ctx, const double *local, PetscInt n, double **all, PetscInt *ntotal)
{
  int *counts = NULL, *displs = NULL, cnt = (int)n;
  PetscFunctionBeginUser;
  *all = NULL;
  if (ctx->rank == 0) PetscCall(PetscMalloc2(ctx->size, &counts, ctx->size, &displs));
  PetscCallMPI(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, ctx->comm));
  *ntotal = 0;
  if (ctx->rank == 0) {
    for (int r = 0; r < ctx->size; r++) {
      displs[r] = (int)*ntotal;
      *ntotal += counts[r];
    }
    PetscCall(PetscMalloc1(*ntotal + 1, all));
  }
  PetscCallMPI(MPI_Gatherv(local, cnt, MPI_DOUBLE, *all, counts, displs, MPI_DOUBLE, 0, ctx->comm));
  PetscCallMPI(MPI_Bcast(ntotal, 1, MPIU_INT, 0, ctx->comm));
  if (ctx->rank == 0) PetscCall(PetscFree2(counts, displs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_log_event(const char *name, PetscLogEvent *ev)
{
  PetscClassId cid;
  PetscFunctionBeginUser;
  /* Look the event up first: each PetscClassIdRegister call makes a new class. */
  PetscCall(PetscLogEventGetId(name, ev));
  if (*ev >= 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscClassIdRegister("chempysbi", &cid));
  PetscCall(PetscLogEventRegister(name, cid, ev));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_column_stats(const ParCtx *ctx, const double *x, PetscInt n, int d, double *mean, double *sd)
{
  double s[2 * PAR_MAX_COLS + 1] = {0};
  PetscFunctionBeginUser;
  PetscCheck(d <= PAR_MAX_COLS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "par_column_stats: %d columns, at most %d",
             d, PAR_MAX_COLS);
  /* Two passes (mean, then squared deviations): stable for columns with a large offset. */
  for (PetscInt i = 0; i < n; i++)
    for (int k = 0; k < d; k++) s[k] += x[i * d + k];
  s[2 * PAR_MAX_COLS] = (double)n;
  PetscCall(par_allreduce_sum(ctx, s, 2 * PAR_MAX_COLS + 1));
  double N = s[2 * PAR_MAX_COLS];
  PetscCheck(N > 1, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE, "par_column_stats: need at least 2 rows over all ranks");
  for (int k = 0; k < d; k++) mean[k] = s[k] / N;
  for (PetscInt i = 0; i < n; i++)
    for (int k = 0; k < d; k++) s[PAR_MAX_COLS + k] += (x[i * d + k] - mean[k]) * (x[i * d + k] - mean[k]);
  PetscCall(par_allreduce_sum(ctx, s + PAR_MAX_COLS, d));
  /* The tiny floor keeps a constant column from dividing by zero when standardising. */
  for (int k = 0; k < d; k++) sd[k] = sqrt(s[PAR_MAX_COLS + k] / (N - 1)) + 1e-12;
  PetscFunctionReturn(PETSC_SUCCESS);
}

void par_repro_zero(int64_t *acc, PetscInt n) { memset(acc, 0, (size_t)n * PAR_REPRO_LIMBS * sizeof(int64_t)); }

void par_repro_add(int64_t acc[PAR_REPRO_LIMBS], double x)
{
  if (!isfinite(x) || fabs(x) >= 0x1p61) {
    acc[3]++;
    return;
  }
  /* x = c0 + (c1 + c2 2^-32) 2^-32 with c1, c2 in [0, 2^32]: all steps exact but the last rounding. */
  double c0 = floor(x), r = ldexp(x - c0, 32), c1 = floor(r), c2 = nearbyint(ldexp(r - c1, 32));
  acc[0] += (int64_t)c0;
  acc[1] += (int64_t)c1;
  acc[2] += (int64_t)c2;
}

double par_repro_value(const int64_t a[PAR_REPRO_LIMBS])
{
  if (a[3]) return -INFINITY;
  int64_t l0 = a[0], l1 = a[1], l2 = a[2];
  l1 += l2 >> 32, l2 &= 0xffffffff; /* limbs 1 and 2 are sums of non-negative terms */
  l0 += l1 >> 32, l1 &= 0xffffffff;
  return (double)l0 + (ldexp((double)l1, -32) + ldexp((double)l2, -64));
}

PetscErrorCode par_allreduce_repro(const ParCtx *ctx, int64_t *acc, PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, acc, (int)(n * PAR_REPRO_LIMBS), MPI_INT64_T, MPI_SUM, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_allgather_int(const ParCtx *ctx, PetscInt v, PetscInt *all)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allgather(&v, 1, MPIU_INT, all, 1, MPIU_INT, ctx->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_iallreduce_sum(const ParCtx *ctx, double *buf, PetscInt n, ParAsync *a)
{
  int done;
  PetscFunctionBeginUser;
  if (ctx->size == 1 || n == 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(a->n < PAR_MAX_ASYNC, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "par_iallreduce_sum: more than %d in flight", PAR_MAX_ASYNC);
  PetscCallMPI(MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, ctx->comm, &a->req[a->n++]));
  PetscCallMPI(MPI_Testall(a->n, a->req, &done, MPI_STATUSES_IGNORE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode par_async_wait(ParAsync *a)
{
  PetscFunctionBeginUser;
  if (a->n) PetscCallMPI(MPI_Waitall(a->n, a->req, MPI_STATUSES_IGNORE));
  a->n = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
