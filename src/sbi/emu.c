/* Emulator model: construction, HDF5 storage and batched prediction. */
#include <chempysbi/emu.h>
#include <string.h>

PetscErrorCode emu_create(const PetscInt *hidden, PetscInt nhidden, int max_batch, Emulator **e)
{
  int sizes[MLP_MAX_LAYERS];
  PetscFunctionBeginUser;
  PetscCheck(nhidden >= 1 && nhidden <= MLP_MAX_LAYERS - 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "emulator: %" PetscInt_FMT " hidden layers, need 1..%d", nhidden, MLP_MAX_LAYERS - 2);
  sizes[0] = CS_NPARAM;
  for (PetscInt l = 0; l < nhidden; l++) {
    PetscCheck(hidden[l] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "emulator: hidden layer %" PetscInt_FMT " has size %" PetscInt_FMT, l, hidden[l]);
    sizes[1 + l] = (int)hidden[l];
  }
  sizes[nhidden + 1] = CS_NELEM;
  PetscCall(PetscNew(e));
  PetscCall(mlp_create(sizes, (int)nhidden + 2, max_batch, &(*e)->mlp));
  PetscCall(PetscMalloc2(max_batch * CS_NPARAM, &(*e)->xbuf, max_batch * CS_NELEM, &(*e)->ybuf));
  for (int k = 0; k < CS_NPARAM; k++) (*e)->in_sd[k] = 1;
  for (int k = 0; k < CS_NELEM; k++) (*e)->out_sd[k] = 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_destroy(Emulator **e)
{
  PetscFunctionBeginUser;
  if (!*e) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(mlp_destroy(&(*e)->mlp));
  PetscCall(PetscFree2((*e)->xbuf, (*e)->ybuf));
  PetscCall(PetscFree(*e));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_write_h5(const Emulator *e, H5File *f, const char *group)
{
  PetscInt sizes[MLP_MAX_LAYERS];
  PetscFunctionBeginUser;
  PetscCall(h5_group_create(f, group));
  for (int l = 0; l < e->mlp->nsizes; l++) sizes[l] = e->mlp->sizes[l];
  PetscCall(h5_attr_write_int(f, group, "sizes", e->mlp->nsizes, sizes));
  PetscCall(h5_attr_write_double(f, group, "in_mean", CS_NPARAM, e->in_mean));
  PetscCall(h5_attr_write_double(f, group, "in_sd", CS_NPARAM, e->in_sd));
  PetscCall(h5_attr_write_double(f, group, "out_mean", CS_NELEM, e->out_mean));
  PetscCall(h5_attr_write_double(f, group, "out_sd", CS_NELEM, e->out_sd));
  PetscCall(h5_attr_write_str(f, group, "activation", "tanh"));
  PetscCall(h5_attr_write_str(f, group, "inputs", cs_param_list));
  PetscCall(h5_attr_write_str(f, group, "outputs", cs_elem_list));
  PetscCall(h5_params_write(f, group, (PetscInt)e->mlp->nparams, e->mlp->params));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_read_h5(const char *path, const char *group, int max_batch, Emulator **e)
{
  H5File f;
  PetscInt sizes[MLP_MAX_LAYERS], nsizes = 0;
  char buf[256];
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCheck(h5_exists(&f, group), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: no emulator (group %s missing): is this an emulator file?", path, group);
  PetscCall(h5_attr_read_int_list(&f, group, "sizes", 3, MLP_MAX_LAYERS, &nsizes, sizes));
  PetscCheck(sizes[0] == CS_NPARAM && sizes[nsizes - 1] == CS_NELEM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: emulator maps %" PetscInt_FMT " inputs to %" PetscInt_FMT " outputs, expected %d -> %d", path,
             sizes[0], sizes[nsizes - 1], CS_NPARAM, CS_NELEM);
  PetscCall(h5_attr_read_str(&f, group, "outputs", buf, sizeof(buf)));
  PetscCheck(!strcmp(buf, cs_elem_list), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: emulator outputs are %s, this program's observables %s", path, buf, cs_elem_list);
  PetscCall(h5_attr_read_str(&f, group, "inputs", buf, sizeof(buf)));
  PetscCheck(!strcmp(buf, cs_param_list), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: emulator inputs are %s, this program's parameters %s", path, buf, cs_param_list);
  PetscCall(emu_create(sizes + 1, nsizes - 2, max_batch, e));
  PetscCall(h5_attr_read_double(&f, group, "in_mean", CS_NPARAM, (*e)->in_mean));
  PetscCall(h5_attr_read_double(&f, group, "in_sd", CS_NPARAM, (*e)->in_sd));
  PetscCall(h5_attr_read_double(&f, group, "out_mean", CS_NELEM, (*e)->out_mean));
  PetscCall(h5_attr_read_double(&f, group, "out_sd", CS_NELEM, (*e)->out_sd));
  PetscCall(h5_params_read(&f, group, (PetscInt)(*e)->mlp->nparams, (*e)->mlp->params));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void emu_standardise_in(const Emulator *e, const double *theta, size_t n, double *x)
{
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < CS_NPARAM; k++) x[i * CS_NPARAM + k] = (theta[i * CS_NPARAM + k] - e->in_mean[k]) / e->in_sd[k];
}

void emu_predict(Emulator *e, const double *theta, size_t n, double *abund)
{
  size_t mb = (size_t)e->mlp->max_batch;
  for (size_t i0 = 0; i0 < n; i0 += mb) {
    size_t m = n - i0 < mb ? n - i0 : mb;
    emu_standardise_in(e, theta + i0 * CS_NPARAM, m, e->xbuf);
    mlp_forward(e->mlp, e->xbuf, (int)m, e->ybuf);
    for (size_t i = 0; i < m; i++)
      for (int k = 0; k < CS_NELEM; k++)
        abund[(i0 + i) * CS_NELEM + k] = e->out_mean[k] + e->out_sd[k] * e->ybuf[i * CS_NELEM + k];
  }
}
