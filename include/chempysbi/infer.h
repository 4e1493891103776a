/* The infer command's engine: the catalogue read on rank 0 and broadcast,
 * stars block-distributed over ranks, and the globals by the chosen method:
 * the Gaussian product of per-star NPE posteriors (pipeline.md section 3), or
 * an exact method of globals.h; results in HDF5 with plots. */
#ifndef CHEMPYSBI_INFER_H
#define CHEMPYSBI_INFER_H

#include <chempysbi/cat.h>
#include <chempysbi/combine.h>
#include <chempysbi/gce.h>
#include <chempysbi/globals.h>
#include <chempysbi/par.h>

typedef struct {
  char npe[PETSC_MAX_PATH_LEN], stars[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  char emulator[PETSC_MAX_PATH_LEN]; /* exact methods' likelihood; default: the one inside the NPE file */
  PetscInt samples, seed, max_draws_factor;
  PetscBool plots;
  PetscBool keep_out_of_range; /* use stars outside the NPE's training range (flagged 2 in /stars usable) */
  CatOptions cat;              /* -columns -min_elements -error_floor -error_default -bad_above */
  GlobalsConfig g;
  GceConfig gce; /* CHEMPY for -correct_emulator */
} InferConfig;

typedef struct {
  CombineResult r;      /* mean, cov, sd, corr; pd = a valid answer */
  GlobalsMethod method; /* the method used */
  PetscInt nused, nskipped;
  double rhat[2], ess[2]; /* hmc; NaN otherwise */
  PetscBool converged;
} InferOutcome;

PetscErrorCode infer_config_default(InferConfig *c);
PetscErrorCode infer_set_from_options(MPI_Comm comm, InferConfig *c);
/* Runs the inference; r (rank 0 and every other rank) receives the combined result. */
PetscErrorCode infer_run(const ParCtx *ctx, const InferConfig *c, InferOutcome *o);
/* The CHEMPY model of gce must be the one the NPE's training set was made with
 * (numerical settings may differ; files from before it was recorded pass). */
PetscErrorCode infer_check_chempy(MPI_Comm comm, const char *npe, const GceConfig *gce);
/* The emulator for the exact methods: -emulator, else the copy inside the NPE file (every rank reads). */
PetscErrorCode infer_load_emulator(const char *emulator, const char *npe, Emulator **e);

#endif
