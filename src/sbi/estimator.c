/* The estimator registry and what every estimator shares: creation by name,
 * and the file layout (name, architecture, one "params" table). */
#include <chempysbi/estimator.h>
#include <string.h>

extern const EstimatorOps estimator_maf_ops;

/* Every implementation, the default first. */
static const EstimatorOps *const registry[] = {&estimator_maf_ops};
#define NREG ((int)(sizeof(registry) / sizeof(registry[0])))

const EstimatorOps *estimator_find(const char *name)
{
  for (int i = 0; i < NREG; i++)
    if (!strcmp(registry[i]->name, name)) return registry[i];
  return NULL;
}

void estimator_names(char *buf, size_t len)
{
  if (!len) return;
  buf[0] = 0;
  for (int i = 0; i < NREG; i++) {
    if (i) strncat(buf, "|", len - strlen(buf) - 1);
    strncat(buf, registry[i]->name, len - strlen(buf) - 1);
  }
}

PetscErrorCode estimator_create(const char *name, int D, int C, int max_batch, const PetscInt *arch, Estimator **e)
{
  const EstimatorOps *ops = estimator_find(name);
  char names[256];
  PetscFunctionBeginUser;
  estimator_names(names, sizeof(names));
  PetscCheck(ops, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "estimator '%s' is not one of %s", name, names);
  PetscCall(PetscNew(e));
  (*e)->ops = ops;
  (*e)->D = D;
  (*e)->C = C;
  (*e)->max_batch = max_batch;
  PetscCall(ops->create(*e, arch));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode estimator_destroy(Estimator **e)
{
  PetscFunctionBeginUser;
  if (!*e) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall((*e)->ops->destroy(*e));
  PetscCall(PetscFree(*e));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode estimator_write_h5(const Estimator *e, H5File *f, const char *group)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_write_str(f, group, "estimator", e->ops->name));
  PetscCall(e->ops->write_arch(e, f, group));
  PetscCall(h5_params_write(f, group, (PetscInt)e->nparams, e->params));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode estimator_read_h5(H5File *f, const char *path, const char *group, int D, int C, int max_batch,
                                 Estimator **e)
{
  char kind[64] = "maf";
  PetscInt arch[EST_MAX_ARCH];
  PetscFunctionBeginUser;
  if (h5_attr_exists(f, group, "estimator")) PetscCall(h5_attr_read_str(f, group, "estimator", kind, sizeof(kind)));
  const EstimatorOps *ops = estimator_find(kind);
  PetscCheck(ops, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: estimator '%s' is not known to this program (a newer file?)", path, kind);
  PetscCall(ops->read_arch(f, group, D, C, arch));
  PetscCall(estimator_create(kind, D, C, max_batch, arch, e));
  PetscCall(h5_params_read(f, group, (PetscInt)(*e)->nparams, (*e)->params));
  PetscCall(ops->read_state(*e, f, group));
  PetscFunctionReturn(PETSC_SUCCESS);
}
