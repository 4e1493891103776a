/* Master-worker farm over row indices. Rank 0 hands out chunks of pending
 * rows on request and computes rows itself between requests, so P ranks do
 * ~P cores of work. Results are stored either by the rank that computed them
 * (direct) or sent to rank 0 with the next request (funnel). */
#ifndef CHEMPYSBI_FARM_H
#define CHEMPYSBI_FARM_H

#include <chempysbi/par.h>

#define FARM_MAX_STATUS 8
typedef enum { FARM_MASTER_AUTO = 0, FARM_MASTER_COMPUTE = 1, FARM_MASTER_SERVE = 2 } FarmMaster;
/* Who stores the rows: each computing rank (direct) or rank 0 (funnel). */
typedef enum { FARM_WRITE_DIRECT = 0, FARM_WRITE_FUNNEL = 1 } FarmWrite;
/* Their names, in PetscOptionsEnum's layout (-farm_master, -farm_write). */
extern const char *const farm_master_names[], *const farm_write_names[];
#define FARM_SERVE_ONLY_FROM 256

typedef struct {
  PetscInt nout; /* doubles per row result; out[0] is the integer status (0..FARM_MAX_STATUS-1) */
  /* Compute row `row` into out[nout]. */
  PetscErrorCode (*compute)(void *ctx, PetscInt row, double *out);
  /* Store n results (rows[n], out[n * nout]); called on rank 0 in funnel
   * mode, on the computing rank in direct mode. */
  PetscErrorCode (*store)(void *ctx, PetscInt n, const PetscInt *rows, const double *out);
  void *ctx;
  PetscInt chunk;   /* rows per assignment; 0 = adaptive */
  PetscBool direct; /* workers store their own results */
  /* Whether rank 0 computes rows between requests: FARM_MASTER_AUTO does below
   * FARM_SERVE_ONLY_FROM ranks. From there on a rank 0 busy with a row (a CHEMPY
   * run, ~1 ms) delays every request by up to a row; serving only costs it 1/P
   * of the compute (benchmarks/scaling_model: 0.95 -> 0.99 at 1024 ranks). */
  FarmMaster master_rows;
  const char *what;                /* label for the progress line */
  const char *const *status_names; /* FARM_MAX_STATUS names for the summary, may be NULL */
  double progress_every;           /* seconds between progress lines */
} FarmSpec;

typedef struct {
  PetscInt count[FARM_MAX_STATUS]; /* rows by status, this run only */
  PetscInt rows_per_rank_max, rows_per_rank_min;
  PetscInt requests;                       /* worker requests rank 0 answered */
  double serve_seconds, serve_cpu_seconds; /* rank 0's wall and CPU time answering them (waits excluded) */
  double seconds;
} FarmSummary;

/* Run the farm over `npending` rows listed in pending[] (significant on rank
 * 0 only); ntotal and ndone describe the whole job for the progress line. */
PetscErrorCode farm_run(const ParCtx *ctx, const FarmSpec *spec, PetscInt npending, const PetscInt *pending,
                        PetscInt ntotal, PetscInt ndone, FarmSummary *sum);

#endif
