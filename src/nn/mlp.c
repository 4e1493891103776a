/* The MLP emulator: a size table builds named views into one parameter and one
 * gradient buffer (llm.c's gpt2 layout), and forward/backward chain the layer
 * kernels of nn.c over a cached batch. */
#include <chempysbi/mlp.h>
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>
#include <assert.h>

PetscErrorCode mlp_create(const int *sizes, int nsizes, int max_batch, Mlp **out)
{
  Mlp *m;
  size_t nacts = 0;
  int wmax = 0;

  PetscFunctionBeginUser;
  PetscCheck(nsizes >= 2 && nsizes <= MLP_MAX_LAYERS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "MLP needs 2..%d layer sizes, got %d", MLP_MAX_LAYERS, nsizes);
  PetscCheck(max_batch > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MLP max_batch must be positive, got %d",
             max_batch);
  for (int l = 0; l < nsizes; l++)
    PetscCheck(sizes[l] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MLP layer size %d is %d", l, sizes[l]);
  PetscCall(PetscCalloc1(1, &m));
  m->nsizes = nsizes;
  m->max_batch = max_batch;
  for (int l = 0; l < nsizes; l++) {
    m->sizes[l] = sizes[l];
    nacts += (size_t)max_batch * sizes[l];
    if (sizes[l] > wmax) wmax = sizes[l];
  }
  for (int l = 0; l + 1 < nsizes; l++) m->nparams += (size_t)sizes[l + 1] * sizes[l] + sizes[l + 1];
  PetscCall(PetscCalloc1(m->nparams, &m->params));
  PetscCall(PetscCalloc1(m->nparams, &m->grads));
  PetscCall(PetscCalloc1(nacts, &m->acts));
  PetscCall(PetscCalloc1(2 * (size_t)max_batch * wmax, &m->scratch));
  double *p = m->params, *g = m->grads, *a = m->acts;
  for (int l = 0; l + 1 < nsizes; l++) {
    size_t nw = (size_t)sizes[l + 1] * sizes[l];
    m->W[l] = p, m->dW[l] = g, p += nw, g += nw;
    m->b[l] = p, m->db[l] = g, p += sizes[l + 1], g += sizes[l + 1];
  }
  for (int l = 0; l < nsizes; l++) m->act[l] = a, a += (size_t)max_batch * sizes[l];
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode mlp_init(Mlp *m, uint64_t seed)
{
  PetscFunctionBeginUser;
  for (int l = 0; l + 1 < m->nsizes; l++) {
    Rng r;
    double bound = 1.0 / sqrt((double)m->sizes[l]);
    size_t nw = (size_t)m->sizes[l + 1] * m->sizes[l];
    rng_init(&r, seed, RNG_INIT, (uint64_t)l);
    for (size_t i = 0; i < nw; i++) m->W[l][i] = bound * (2.0 * rng_uniform(&r) - 1.0);
    for (int i = 0; i < m->sizes[l + 1]; i++) m->b[l][i] = bound * (2.0 * rng_uniform(&r) - 1.0);
  }
  m->n_cached = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode mlp_destroy(Mlp **m)
{
  PetscFunctionBeginUser;
  if (!*m) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree((*m)->params));
  PetscCall(PetscFree((*m)->grads));
  PetscCall(PetscFree((*m)->acts));
  PetscCall(PetscFree((*m)->scratch));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void mlp_forward(Mlp *m, const double *x, int n, double *y)
{
  int nlin = m->nsizes - 1;
  assert(n >= 0 && n <= m->max_batch);
  memcpy(m->act[0], x, (size_t)n * m->sizes[0] * sizeof(double));
  for (int l = 0; l < nlin; l++) {
    linear_forward(m->act[l + 1], m->act[l], m->W[l], m->b[l], n, m->sizes[l], m->sizes[l + 1]);
    if (l + 1 < nlin) tanh_forward(m->act[l + 1], m->act[l + 1], n * m->sizes[l + 1]);
  }
  if (y) memcpy(y, m->act[nlin], (size_t)n * m->sizes[nlin] * sizeof(double));
  m->n_cached = n;
}

void mlp_backward(Mlp *m, const double *dy, int n)
{
  int nlin = m->nsizes - 1, wmax = 0;
  assert(n == m->n_cached);
  for (int l = 0; l < m->nsizes; l++)
    if (m->sizes[l] > wmax) wmax = m->sizes[l];
  /* dcur holds d loss / d (pre-activation of layer l+1); dprev receives the
   * gradient of the layer below, whose tanh is then undone in place. */
  double *dcur = m->scratch, *dprev = m->scratch + (size_t)m->max_batch * wmax;
  memcpy(dcur, dy, (size_t)n * m->sizes[nlin] * sizeof(double));
  for (int l = nlin - 1; l >= 0; l--) {
    int nin = m->sizes[l], nout = m->sizes[l + 1];
    if (l == 0) {
      linear_backward(NULL, m->dW[l], m->db[l], dcur, m->act[l], m->W[l], n, nin, nout);
      break;
    }
    memset(dprev, 0, (size_t)n * nin * sizeof(double));
    linear_backward(dprev, m->dW[l], m->db[l], dcur, m->act[l], m->W[l], n, nin, nout);
    /* through tanh: d pre = d post * (1 - post^2), written into dcur's buffer */
    const double *post = m->act[l];
    size_t cnt = (size_t)n * nin;
    for (size_t i = 0; i < cnt; i++) dcur[i] = dprev[i] * (1.0 - post[i] * post[i]);
  }
}

void mlp_predict(Mlp *m, const double *x, size_t n, double *y)
{
  int din = m->sizes[0], dout = m->sizes[m->nsizes - 1];
  for (size_t i = 0; i < n; i += (size_t)m->max_batch) {
    int c = (int)(n - i < (size_t)m->max_batch ? n - i : (size_t)m->max_batch);
    mlp_forward(m, x + i * din, c, y + i * dout);
  }
  m->n_cached = 0;
}
