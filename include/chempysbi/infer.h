/* Multi-star inference: per-star NPE posteriors fitted by Gaussians, stars
 * sharded over ranks, one all-reduce of the additive sums, the prior divided
 * out on rank 0 (pipeline.md section 3). */
#ifndef CHEMPYSBI_INFER_H
#define CHEMPYSBI_INFER_H

#include <chempysbi/cat.h>
#include <chempysbi/combine.h>
#include <chempysbi/par.h>

typedef struct {
  char npe[PETSC_MAX_PATH_LEN], stars[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN];
  PetscInt samples, seed, max_draws_factor;
  PetscBool plots;
  PetscBool keep_out_of_range; /* use stars outside the NPE's training range (flagged 2 in /stars usable) */
  CatOptions cat;              /* -columns -min_elements -error_floor -error_default -bad_above */
} InferConfig;

PetscErrorCode infer_config_default(InferConfig *c);
PetscErrorCode infer_set_from_options(MPI_Comm comm, InferConfig *c);
/* Runs the inference; r (rank 0 and every other rank) receives the combined result. */
PetscErrorCode infer_run(const ParCtx *ctx, const InferConfig *c, CombineResult *r, PetscInt *nused,
                         PetscInt *nskipped);

#endif
