/* Per-star posteriors from the estimators other than the NPE: rejection ABC
 * on a stored table (abc_run.h) and the ratio estimator sampled by MCMC
 * (nre_run.h). The globals' methods `abc` and `nre` multiply their per-star
 * Gaussians as `gauss` does the NPE's (combine.h), so `coverage` measures
 * every family the same way. */
#ifndef CHEMPYSBI_PERSTAR_H
#define CHEMPYSBI_PERSTAR_H
#include <chempysbi/abc_run.h>
#include <chempysbi/nre_run.h>

typedef enum { PERSTAR_ABC = 0, PERSTAR_NRE = 1 } PerStarKind;

typedef struct {
  AbcConfig abc;
  NreRunConfig nre; /* nre.model from -nre FILE */
} PerStarConfig;

typedef struct PerStar PerStar;

PetscErrorCode perstar_config_default(PerStarConfig *c);
/* abc: the abc command's options (-table -accept -quantile -kernel -adjust -rows -prior ...);
 * nre: -nre FILE and the nre command's sampler options (-chains -warmup -thin). */
PetscErrorCode perstar_set_from_options(MPI_Comm comm, PerStarKind kind, PerStarConfig *c);
/* Loads the table or the model (every rank its own copy). */
PetscErrorCode perstar_create(const ParCtx *ctx, PerStarKind kind, const PerStarConfig *c, PerStar **ps);
PetscErrorCode perstar_destroy(PerStar **ps);
const Prior *perstar_prior(const PerStar *ps); /* the prior the per-star posteriors are under */
Nre *perstar_nre(const PerStar *ps);           /* the ratio estimator (nre), else NULL */
PetscInt perstar_samples(const PerStar *ps);   /* draws per star */
/* What fixes the answers (file and settings), for a coverage checkpoint. */
PetscErrorCode perstar_config_string(const PerStar *ps, char *buf, size_t len);
/* Draws (n, perstar_samples, 6) of the stars x, err (n, 8; NaN = missing, an absent error is
 * default_err) with global indices lo .. lo + n - 1, streams keyed by (seed, star);
 * ok[i] false where a star has no posterior (NaN draws). */
PetscErrorCode perstar_sample(PerStar *ps, PetscInt n, const double *x, const double *err, double default_err,
                              PetscInt lo, uint64_t seed, double *samples, PetscBool *ok);
#endif
