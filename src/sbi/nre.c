/* Ratio-estimator network (nre.h): the MLP on standardised (theta, x), its
 * binary cross-entropy with the paired forward/backward passes, and HDF5
 * storage like the emulator's (one flat parameter vector and the sizes). */
#include <chempysbi/nn.h>
#include <chempysbi/nre.h>
#include <string.h>

PetscErrorCode nre_create(int P, int X, const PetscInt *hidden, PetscInt nhidden, int max_batch, Nre **nre)
{
  int sizes[MLP_MAX_LAYERS];
  Nre *r;
  PetscFunctionBeginUser;
  PetscCheck(P >= 1 && P <= NRE_MAX_P && X >= 1 && X <= NRE_MAX_X, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "nre: %d parameters and %d observables (at most %d and %d)", P, X, NRE_MAX_P, NRE_MAX_X);
  PetscCheck(nhidden >= 1 && nhidden <= MLP_MAX_LAYERS - 2, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "nre: %" PetscInt_FMT " hidden layers, need 1..%d", nhidden, MLP_MAX_LAYERS - 2);
  sizes[0] = P + X;
  for (PetscInt l = 0; l < nhidden; l++) {
    PetscCheck(hidden[l] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "nre: hidden layer %" PetscInt_FMT " has size %" PetscInt_FMT, l, hidden[l]);
    sizes[1 + l] = (int)hidden[l];
  }
  sizes[nhidden + 1] = 1;
  PetscCall(PetscNew(&r));
  r->P = P;
  r->X = X;
  PetscCall(mlp_create(sizes, (int)nhidden + 2, max_batch, &r->mlp));
  PetscCall(PetscMalloc3(max_batch * (P + X), &r->in, max_batch, &r->dy, max_batch, &r->d));
  for (int k = 0; k < NRE_MAX_P; k++) r->th_sd[k] = 1;
  for (int k = 0; k < NRE_MAX_X; k++) r->x_sd[k] = 1;
  PetscCall(prior_init(PRIOR_GAUSS, &r->prior));
  *nre = r;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_destroy(Nre **nre)
{
  PetscFunctionBeginUser;
  if (!*nre) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(mlp_destroy(&(*nre)->mlp));
  PetscCall(PetscFree3((*nre)->in, (*nre)->dy, (*nre)->d));
  PetscCall(PetscFree(*nre));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void nre_input(const Nre *nre, const double *theta, const double *x, double *in)
{
  for (int k = 0; k < nre->P; k++) in[k] = (theta[k] - nre->th_mean[k]) / nre->th_sd[k];
  for (int k = 0; k < nre->X; k++) in[nre->P + k] = (x[k] - nre->x_mean[k]) / nre->x_sd[k];
}

void nre_log_ratio(Nre *nre, const double *theta, const double *x, PetscInt n, double *logr)
{
  const int mb = nre->mlp->max_batch, W = nre->P + nre->X;
  for (PetscInt i0 = 0; i0 < n; i0 += mb) {
    int m = (int)PetscMin(mb, n - i0);
    for (int i = 0; i < m; i++) nre_input(nre, theta + (i0 + i) * nre->P, x + (i0 + i) * nre->X, nre->in + i * W);
    mlp_forward(nre->mlp, nre->in, m, logr + i0);
  }
}

double nre_bce(Nre *nre, const double *theta, const double *theta_marg, const double *x, int n, double scale,
               PetscBool grads, PetscInt *acc)
{
  const int W = nre->P + nre->X;
  double loss = 0;
  PetscInt hits = 0;
  /* Rows 0..n-1 matched (label 1), n..2n-1 contrastive (label 0): one pass, one activation cache. */
  for (int i = 0; i < n; i++) {
    nre_input(nre, theta + i * nre->P, x + i * nre->X, nre->in + i * W);
    nre_input(nre, theta_marg + i * nre->P, x + i * nre->X, nre->in + (n + i) * W);
  }
  mlp_forward(nre->mlp, nre->in, 2 * n, nre->d);
  for (int i = 0; i < 2 * n; i++) {
    const double d = nre->d[i], y = i < n ? 1.0 : 0.0;
    double sig;
    /* BCE with logits: -y log s(d) - (1 - y) log(1 - s(d)) = softplus(d) - y d; d/dd = s(d) - y. */
    loss += nn_softplus(d, &sig) - y * d;
    nre->dy[i] = (sig - y) * scale;
    hits += (d > 0) == (y > 0.5);
  }
  if (grads) mlp_backward(nre->mlp, nre->dy, 2 * n);
  if (acc) *acc = hits;
  return loss;
}

PetscErrorCode nre_write_h5(const Nre *nre, H5File *f, const char *group)
{
  PetscInt sizes[MLP_MAX_LAYERS], PX[2] = {nre->P, nre->X};
  double pr[4 * CS_NPARAM];
  PetscFunctionBeginUser;
  PetscCall(h5_group_create(f, group));
  for (int l = 0; l < nre->mlp->nsizes; l++) sizes[l] = nre->mlp->sizes[l];
  PetscCall(h5_attr_write_int(f, group, "sizes", nre->mlp->nsizes, sizes));
  PetscCall(h5_attr_write_int(f, group, "n_params_n_obs", 2, PX));
  PetscCall(h5_scalings_write(f, group, nre->P, nre->th_mean, nre->th_sd, nre->X, nre->x_mean, nre->x_sd));
  PetscCall(h5_attr_write_double(f, group, "noise", 1, &nre->noise));
  PetscCall(h5_attr_write_str(f, group, "prior", prior_kind_name(nre->prior.kind)));
  prior_pack(&nre->prior, pr);
  PetscCall(h5_attr_write_double(f, group, "prior_mean_sd_lo_hi", 4 * CS_NPARAM, pr));
  PetscCall(h5_attr_write_str(f, group, "activation", "tanh"));
  PetscCall(h5_attr_write_str(f, group, "output", "logit d(theta, x) = log p(x | theta) / p(x)"));
  PetscCall(h5_params_write(f, group, (PetscInt)nre->mlp->nparams, nre->mlp->params));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_read_h5(const char *path, const char *group, int max_batch, Nre **nre)
{
  H5File f;
  PetscInt sizes[MLP_MAX_LAYERS], nsizes = 0, PX[2];
  char pk[32];
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCheck(h5_exists(&f, group), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: no ratio estimator (group %s missing): is this a train-nre file?", path, group);
  PetscCall(h5_attr_read_int_list(&f, group, "sizes", 3, MLP_MAX_LAYERS, &nsizes, sizes));
  PetscCall(h5_attr_read_int(&f, group, "n_params_n_obs", 2, PX));
  PetscCheck(PX[0] + PX[1] == sizes[0] && sizes[nsizes - 1] == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: the ratio network maps %" PetscInt_FMT " inputs to %" PetscInt_FMT " outputs, expected %" PetscInt_FMT
             " -> 1",
             path, sizes[0], sizes[nsizes - 1], PX[0] + PX[1]);
  PetscCall(nre_create((int)PX[0], (int)PX[1], sizes + 1, nsizes - 2, max_batch, nre));
  PetscCall(h5_scalings_read(&f, group, PX[0], (*nre)->th_mean, (*nre)->th_sd, PX[1], (*nre)->x_mean, (*nre)->x_sd));
  PetscCall(h5_attr_read_double(&f, group, "noise", 1, &(*nre)->noise));
  PetscCall(h5_attr_read_str(&f, group, "prior", pk, sizeof(pk)));
  PriorKind kind;
  PetscCall(prior_kind_from_string(pk, &kind));
  PetscCall(prior_init(kind, &(*nre)->prior));
  PetscCall(h5_params_read(&f, group, (PetscInt)(*nre)->mlp->nparams, (*nre)->mlp->params));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}
