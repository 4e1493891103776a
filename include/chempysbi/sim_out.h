/* The simulate job: where parameters come from, the farm's per-row output
 * layout, and the resumable HDF5 / CSV output: the engine of `simulate`, in the
 * library so that tests/unit/test_sim_out.c links it. */
#ifndef CHEMPYSBI_SIM_OUT_H
#define CHEMPYSBI_SIM_OUT_H

#include <chempysbi/farm.h>
#include <chempysbi/gce.h>
#include <chempysbi/h5.h>
#include <chempysbi/prior.h>

/* Farm result row: status, 8 abundances, CVODE steps, RHS evaluations. */
enum {
  SIM_COL_STATUS = 0,
  SIM_COL_ABUND = 1,
  SIM_COL_STEPS = 1 + CS_NELEM,
  SIM_COL_RHS = 2 + CS_NELEM,
  SIM_NOUT = 3 + CS_NELEM
};

/* Largest -n: every per-row table (n x 15 values at most) stays indexable by a 32-bit PetscInt. */
#define SIM_MAX_ROWS (PETSC_MAX_INT / 16)

typedef struct {
  GceConfig gce;
  GceYields *yields;
  GceWork *work;
  PriorKind prior_kind;
  Prior prior;
  PetscInt n, seed, offset, chunk;
  PetscBool direct;       /* -farm_write direct */
  FarmMaster master_rows; /* -farm_master */
  PetscBool force;        /* -force: replace an HDF5 output made with another configuration */
  PetscReal progress_every;
  char params_file[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  double *params; /* (n, 6) on every rank when read from a file, else NULL */
  /* output state */
  H5File h5;
  PetscBool to_h5;
  double *csv_out; /* rank 0, (n, SIM_NOUT), CSV output only */
} SimJob;

PetscErrorCode sim_job_params(const SimJob *job, PetscInt row, double theta[CS_NPARAM]);
PetscErrorCode sim_job_read_params(const ParCtx *ctx, SimJob *job);
PetscErrorCode sim_job_run(const ParCtx *ctx, SimJob *job, PetscErrorCode (*compute)(void *, PetscInt, double *),
                           const char *const status_names[]);

#endif
