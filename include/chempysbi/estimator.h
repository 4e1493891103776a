/* A conditional density estimator q(u | c) over D standardised parameters
 * given C standardised conditioner inputs: a small table of functions over
 * one flat parameter buffer and its gradient. The NPE (npe.h) wraps one with
 * its standardisation, prior and observation model, so train-npe, validate,
 * coverage and infer reach the network only through these functions. The MAF
 * (maf.h, src/sbi/est_maf.c) is the first implementation; a new one is a file
 * with its EstimatorOps and one line in the registry (src/sbi/estimator.c). */
#ifndef CHEMPYSBI_ESTIMATOR_H
#define CHEMPYSBI_ESTIMATOR_H

#include <chempysbi/h5.h>
#include <stdint.h>

#define EST_MAX_ARCH 8 /* architecture integers an estimator may take */

typedef struct Estimator Estimator;

typedef struct {
  const char *name; /* stored in the file's "estimator" attribute; the -estimator choice */
  /* The architecture integers (sizes) in the order of -arch help, e.g. MAF: transforms, hidden, blocks. */
  int narch;
  const char *arch_help;
  /* Fill e->impl, nparams, params, grads for D, C, max_batch and arch. */
  PetscErrorCode (*create)(Estimator *e, const PetscInt *arch);
  PetscErrorCode (*destroy)(Estimator *e);
  /* The initial weights from the stream (seed, RNG_INIT, ...). */
  PetscErrorCode (*init)(Estimator *e, uint64_t seed);
  /* logp (n) = log q(u | c) for u (n, D), c (n, C), n <= max_batch; keeps
   * what backward needs. */
  void (*log_prob)(Estimator *e, const double *u, const double *c, int n, double *logp);
  /* grads += sum_rows dlogp[r] d logp[r] / d params, for the last log_prob. */
  void (*backward)(Estimator *e, const double *dlogp, int n);
  /* u (n, D) from standard normals z (n, D) the caller draws, one context c (C), any n. */
  void (*sample)(Estimator *e, const double *c, const double *z, size_t n, double *u);
  /* Architecture attributes in group; read_arch fills arch (narch) for create. */
  PetscErrorCode (*write_arch)(const Estimator *e, H5File *f, const char *group);
  PetscErrorCode (*read_arch)(H5File *f, const char *group, int D, int C, PetscInt *arch);
  /* After create and the weights are read: the rest of the stored state (e.g. permutations). */
  PetscErrorCode (*read_state)(Estimator *e, H5File *f, const char *group);
} EstimatorOps;

struct Estimator {
  const EstimatorOps *ops;
  int D, C, max_batch;
  size_t nparams;
  double *params, *grads; /* the one flat parameter buffer and its gradient */
  void *impl;
  /* Optional: backward calls grad_hook(arg, lo) when grads[lo..nparams) are
   * final (a trainer overlapping the all-reduce); implementations may ignore it. */
  void (*grad_hook)(void *arg, size_t lo);
  void *grad_hook_arg;
};

/* The implementation named `name` (NULL if none); list the names into buf. */
const EstimatorOps *estimator_find(const char *name);
void estimator_names(char *buf, size_t len);
PetscErrorCode estimator_create(const char *name, int D, int C, int max_batch, const PetscInt *arch, Estimator **e);
PetscErrorCode estimator_destroy(Estimator **e);
/* In group: "estimator" (the name), the architecture and "params" (written by f's rank 0). */
PetscErrorCode estimator_write_h5(const Estimator *e, H5File *f, const char *group);
/* Files without an "estimator" attribute hold a MAF. Errors name path and what does not match. */
PetscErrorCode estimator_read_h5(H5File *f, const char *path, const char *group, int D, int C, int max_batch,
                                 Estimator **e);

static inline void estimator_log_prob(Estimator *e, const double *u, const double *c, int n, double *logp)
{
  e->ops->log_prob(e, u, c, n, logp);
}
static inline void estimator_backward(Estimator *e, const double *dlogp, int n) { e->ops->backward(e, dlogp, n); }
static inline void estimator_sample(Estimator *e, const double *c, const double *z, size_t n, double *u)
{
  e->ops->sample(e, c, z, n, u);
}

#endif
