/* The masked autoregressive flow (src/nn/maf.c) as an Estimator. Its file
 * layout is the one NPE files have always had: "D_C_K_H_blocks" and
 * "permutations" beside "params". */
#include <chempysbi/estimator.h>
#include <chempysbi/maf.h>

static Maf *maf_of(const Estimator *e) { return (Maf *)e->impl; }

static PetscErrorCode est_maf_create(Estimator *e, const PetscInt *arch)
{
  Maf *m;
  PetscFunctionBeginUser;
  PetscCall(maf_create(e->D, e->C, (int)arch[0], (int)arch[1], (int)arch[2], e->max_batch, &m));
  e->impl = m;
  e->nparams = m->nparams;
  e->params = m->params;
  e->grads = m->grads;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode est_maf_destroy(Estimator *e)
{
  Maf *m = maf_of(e);
  PetscFunctionBeginUser;
  PetscCall(maf_destroy(&m));
  e->impl = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode est_maf_init(Estimator *e, uint64_t seed)
{
  PetscFunctionBeginUser;
  PetscCall(maf_init(maf_of(e), seed));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void est_maf_log_prob(Estimator *e, const double *u, const double *c, int n, double *logp)
{
  maf_log_prob(maf_of(e), u, c, n, logp);
}

static void est_maf_backward(Estimator *e, const double *dlogp, int n)
{
  Maf *m = maf_of(e);
  m->grad_hook = e->grad_hook;
  m->grad_hook_arg = e->grad_hook_arg;
  maf_backward(m, dlogp, n);
}

static void est_maf_sample(Estimator *e, const double *c, const double *z, size_t n, double *u)
{
  maf_sample(maf_of(e), c, z, n, u);
}

static PetscErrorCode est_maf_write_arch(const Estimator *e, H5File *f, const char *group)
{
  const Maf *m = maf_of(e);
  PetscInt arch[5] = {m->D, m->C, m->K, m->H, m->nblocks}, *perm;
  PetscFunctionBeginUser;
  PetscCall(h5_attr_write_int(f, group, "D_C_K_H_blocks", 5, arch));
  PetscCall(PetscMalloc1(m->K * m->D, &perm));
  for (int i = 0; i < m->K * m->D; i++) perm[i] = m->perm[i];
  PetscCall(h5_attr_write_int(f, group, "permutations", m->K * m->D, perm));
  PetscCall(PetscFree(perm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode est_maf_read_arch(H5File *f, const char *group, int D, int C, PetscInt *arch)
{
  PetscInt a[5];
  PetscFunctionBeginUser;
  PetscCall(h5_attr_read_int(f, group, "D_C_K_H_blocks", 5, a));
  PetscCheck(a[0] == D && a[1] == C, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: the flow has %" PetscInt_FMT " parameters and %" PetscInt_FMT
             " conditioner inputs, expected %d and %d",
             f->path, a[0], a[1], D, C);
  PetscCheck(a[2] >= 1 && a[2] <= MAF_MAX_TRANSFORMS && a[3] >= 1 && a[4] >= 0 && a[4] < MAF_MAX_BLOCKS,
             PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: flow architecture %" PetscInt_FMT " transforms x %" PetscInt_FMT " hidden x %" PetscInt_FMT
             " blocks is out of range",
             f->path, a[2], a[3], a[4]);
  arch[0] = a[2];
  arch[1] = a[3];
  arch[2] = a[4];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode est_maf_read_state(Estimator *e, H5File *f, const char *group)
{
  Maf *m = maf_of(e);
  PetscInt *perm;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(m->K * m->D, &perm));
  PetscCall(h5_attr_read_int(f, group, "permutations", m->K * m->D, perm));
  for (PetscInt i = 0; i < m->K * m->D; i++) m->perm[i] = (int)perm[i];
  PetscCall(PetscFree(perm));
  maf_apply_masks(m);
  PetscFunctionReturn(PETSC_SUCCESS);
}

const EstimatorOps estimator_maf_ops = {.name = "maf",
                                        .narch = 3,
                                        .arch_help = "transforms,hidden_features,blocks",
                                        .create = est_maf_create,
                                        .destroy = est_maf_destroy,
                                        .init = est_maf_init,
                                        .log_prob = est_maf_log_prob,
                                        .backward = est_maf_backward,
                                        .sample = est_maf_sample,
                                        .write_arch = est_maf_write_arch,
                                        .read_arch = est_maf_read_arch,
                                        .read_state = est_maf_read_state};
