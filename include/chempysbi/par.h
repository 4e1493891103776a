/* The MPI context and the few collective operations the rest of the program
 * needs, named for what they do. All MPI outside HDF5's MPI-IO lives in
 * src/par (par.c, farm.c, par_cat.c): no other file calls MPI_* directly. */
#ifndef CHEMPYSBI_PAR_H
#define CHEMPYSBI_PAR_H

#include <chempysbi/common.h>

typedef struct {
  MPI_Comm comm;
  int rank, size;
} ParCtx;

PetscErrorCode par_ctx_init(MPI_Comm comm, ParCtx *ctx);
/* Contiguous block [*lo, *hi) of n items owned by `rank` of `size`. */
void par_block_range(PetscInt n, int rank, int size, PetscInt *lo, PetscInt *hi);
/* In-place sum of a flat buffer over all ranks (one MPI_Allreduce). */
PetscErrorCode par_allreduce_sum(const ParCtx *ctx, double *buf, PetscInt n);
/* Sum of a count over all ranks. */
PetscErrorCode par_allreduce_count(const ParCtx *ctx, PetscInt *v);
/* Rank 0's n integers to every rank (counts, "rank 0 read it" flags). */
PetscErrorCode par_bcast_ints(const ParCtx *ctx, PetscInt *v, PetscInt n);
/* Rank 0's n bytes to every rank of comm (strings, flag arrays, records). */
PetscErrorCode par_bcast_bytes(MPI_Comm comm, void *buf, size_t n);
/* In-place maximum of a flat buffer over all ranks. */
PetscErrorCode par_allreduce_max(const ParCtx *ctx, double *buf, PetscInt n);
/* This rank's offset in a global numbering: the sum of n over the ranks before it. */
PetscErrorCode par_offset(MPI_Comm comm, PetscInt n, PetscInt *offset);
/* Synchronise every rank of comm (e.g. before renaming a file all have closed). */
PetscErrorCode par_barrier(MPI_Comm comm);
/* This process's rank in comm and the size of comm. */
PetscErrorCode par_comm_rank(MPI_Comm comm, int *rank);
PetscErrorCode par_comm_size(MPI_Comm comm, int *size);
/* This process's rank in PETSC_COMM_WORLD for messages (unchecked: safe in error handlers). */
int par_world_rank(void);
/* The MPI library's version text (MPI_MAX_LIBRARY_VERSION_STRING bytes). */
PetscErrorCode par_mpi_library_version(char *buf);
/* Stop every rank at once: for an error one rank cannot report collectively. */
void par_abort(MPI_Comm comm, int code);
/* Whether `path` exists, as rank 0 sees it, on every rank. */
PetscErrorCode par_root_file_exists(const ParCtx *ctx, const char *path, PetscBool *exists);
/* Rank 0's n doubles to every rank. */
PetscErrorCode par_bcast_doubles(const ParCtx *ctx, double *buf, PetscInt n);
/* Progress line on rank 0: done/total, rate, ETA. Call as often as you like;
 * it prints at most every `every` seconds (and always when force). */
typedef struct {
  double t0, last;
  double every;
  PetscInt done0; /* items already done at start (resume): not counted in the rate */
  const char *what;
} ParProgress;
void par_progress_start(ParProgress *p, const char *what, PetscInt done0, double every);
PetscErrorCode par_progress_report(const ParCtx *ctx, ParProgress *p, PetscInt done, PetscInt total, const char *extra,
                                   PetscBool force);

#endif

#ifndef CHEMPYSBI_PAR_GATHER
#define CHEMPYSBI_PAR_GATHER
/* Gather every rank's n doubles to rank 0 (in rank order); *all is allocated
 * on rank 0 (NULL elsewhere), *ntotal is the total on every rank. */
PetscErrorCode par_gather_doubles(const ParCtx *ctx, const double *local, PetscInt n, double **all, PetscInt *ntotal);
/* Mean and sample standard deviation of each of d columns of x (n, d) over
 * all ranks' rows: the standardisation statistics of a sharded data set. */
#define PAR_MAX_COLS 16
PetscErrorCode par_column_stats(const ParCtx *ctx, const double *x, PetscInt n, int d, double *mean, double *sd);
/* Order-independent sums: each term becomes a fixed-point number (integer part
 * and two 32-bit fraction limbs, resolution 2^-64) held in int64 limbs, which
 * add exactly in any order. The sum over stars is then bit-identical for any
 * number of ranks and any partition. Limb 3 counts non-finite terms (the
 * value is then -inf: a log density outside its support). */
#define PAR_REPRO_LIMBS 4
void par_repro_zero(int64_t *acc, PetscInt n);
void par_repro_add(int64_t acc[PAR_REPRO_LIMBS], double x);
double par_repro_value(const int64_t acc[PAR_REPRO_LIMBS]);
/* Sum n accumulators (n * PAR_REPRO_LIMBS int64) over all ranks, in place. */
PetscErrorCode par_allreduce_repro(const ParCtx *ctx, int64_t *acc, PetscInt n);
/* Every rank's one count, in rank order, on every rank (all[size]). */
PetscErrorCode par_allgather_int(const ParCtx *ctx, PetscInt v, PetscInt *all);
/* Non-blocking in-place sums (MPI_Iallreduce) of pieces of a buffer, for
 * overlapping a gradient's all-reduce with the backward pass that is still
 * filling its other pieces. Every rank must start the same pieces in the same
 * order; par_async_wait completes them all. Starting one also tests those in
 * flight, which is what moves a non-blocking collective on without a progress
 * thread. */
#define PAR_MAX_ASYNC 64
typedef struct {
  MPI_Request req[PAR_MAX_ASYNC];
  int n;
} ParAsync;
PetscErrorCode par_iallreduce_sum(const ParCtx *ctx, double *buf, PetscInt n, ParAsync *a);
PetscErrorCode par_async_wait(ParAsync *a);
/* A flat buffer of n values partitioned over the ranks in whole blocks of PAR_SHARD_BLOCK (the
 * sharded optimiser step): rank r owns [lo, hi). par_shard_reduce sums a full-length buffer over
 * the ranks into this rank's slice g (MPI_Reduce_scatter); par_shard_gather gives every rank every
 * slice of buf (MPI_Allgatherv, in place); par_shard_norm2 is |x|^2 of the whole buffer from each
 * rank's slice x, each block's squares summed in order and then the block sums in order, so that
 * it is the same bits as on one rank. With on false (or one rank) the slice is all of it and
 * nothing is communicated.
 *
 * single (only where something is communicated): both exchanges carry floats, half the bytes.
 * Each rank keeps its slice of the weights in double (par_shard_master: the optimiser updates
 * that), and every rank computes with the same weights rounded to single precision:
 * par_shard_begin rounds them once, par_shard_gather_weights after each step. par_shard_gather_exact
 * gives every rank the double weights (validation, checkpoints, the end); par_shard_round goes
 * back to the rounded ones, which are then the bits par_shard_gather_weights would give. Without
 * single these are par_shard_gather and no-ops. */
#define PAR_SHARD_BLOCK 64
typedef struct {
  PetscBool on, single;
  PetscMPIInt *counts, *displs;   /* values per rank, from whole blocks */
  PetscMPIInt *bcounts, *bdispls; /* the same in blocks */
  size_t n, lo, hi, nblk;
  double *g;    /* this rank's slice of a reduced buffer */
  double *bsum; /* per-block sums of squares */
  double *w;    /* single: the weights in double, valid on [lo, hi) */
  float *f;     /* single: the full buffer in single precision, for both exchanges */
  float *fg;    /* single: this rank's slice of the reduced gradient */
} ParShard;
PetscErrorCode par_shard_create(const ParCtx *ctx, size_t n, PetscBool on, PetscBool single, ParShard *sh);
PetscErrorCode par_shard_destroy(ParShard *sh);
PetscErrorCode par_shard_reduce(const ParCtx *ctx, ParShard *sh, const double *full);
PetscErrorCode par_shard_gather(const ParCtx *ctx, const ParShard *sh, double *buf);
PetscErrorCode par_shard_norm2(const ParCtx *ctx, ParShard *sh, const double *x, double *x2);
double *par_shard_master(ParShard *sh, double *params);
void par_shard_begin(ParShard *sh, double *params);
PetscErrorCode par_shard_gather_weights(const ParCtx *ctx, ParShard *sh, double *params);
PetscErrorCode par_shard_gather_exact(const ParCtx *ctx, ParShard *sh, double *params);
void par_shard_round(const ParShard *sh, double *params);
/* A PETSc log event for profiling with -log_view, registered once per name. */
PetscErrorCode par_log_event(const char *name, PetscLogEvent *ev);
#endif
