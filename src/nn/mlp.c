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
  for (int l = 0; l + 1 < m->nsizes; l++)
    linear_init(m->W[l], m->b[l], m->sizes[l + 1], m->sizes[l], seed, (uint64_t)l);
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
  PetscCall(PetscFree((*m)->jet));
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

/* One backward pass: weight gradients into dW, db when weights, the input
 * gradient into dx when dx is not NULL. dcur holds d loss / d (pre-activation
 * of layer l+1); dprev receives the gradient of the layer below, whose tanh is
 * then undone in place. */
static void backward(Mlp *m, const double *dy, int n, double *dx, int weights)
{
  int nlin = m->nsizes - 1, wmax = 0;
  assert(n == m->n_cached);
  for (int l = 0; l < m->nsizes; l++)
    if (m->sizes[l] > wmax) wmax = m->sizes[l];
  double *dcur = m->scratch, *dprev = m->scratch + (size_t)m->max_batch * wmax;
  memcpy(dcur, dy, (size_t)n * m->sizes[nlin] * sizeof(double));
  for (int l = nlin - 1; l >= 0; l--) {
    int nin = m->sizes[l], nout = m->sizes[l + 1];
    double *dst = l == 0 ? dx : dprev;
    if (dst) memset(dst, 0, (size_t)n * nin * sizeof(double));
    linear_backward(dst, weights ? m->dW[l] : NULL, weights ? m->db[l] : NULL, dcur, m->act[l], m->W[l], n, nin, nout);
    if (weights && m->grad_hook) m->grad_hook(m->grad_hook_arg, (size_t)(m->dW[l] - m->grads));
    if (l == 0) break;
    memset(dcur, 0, (size_t)n * nin * sizeof(double));
    tanh_backward(dcur, dprev, m->act[l], n * nin);
  }
}

void mlp_backward(Mlp *m, const double *dy, int n) { backward(m, dy, n, NULL, 1); }

void mlp_backward_input(Mlp *m, const double *dy, int n, double *dx) { backward(m, dy, n, dx, 0); }

PetscErrorCode mlp_forward_jet(Mlp *m, const double *x, const double *u, const double *v, int n, double *y, double *dy,
                               double *d2y)
{
  int nlin = m->nsizes - 1, wmax = 0, nout_last = m->sizes[nlin];
  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && n <= m->max_batch, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "mlp_forward_jet: %d rows, max %d",
             n, m->max_batch);
  for (int l = 0; l < m->nsizes; l++)
    if (m->sizes[l] > wmax) wmax = m->sizes[l];
  size_t blk = (size_t)m->max_batch * wmax;
  if (!m->jet) PetscCall(PetscMalloc1(10 * blk, &m->jet));
  /* Six streams (value h, tangents hu, hv, second tangents huu, huv, hvv) and
   * the pre-activations a, au, av of the layer being computed, plus a temporary. */
  double *h = m->jet, *hu = m->jet + blk, *hv = m->jet + 2 * blk, *huu = m->jet + 3 * blk, *huv = m->jet + 4 * blk,
         *hvv = m->jet + 5 * blk;
  double *a = m->jet + 6 * blk, *au = m->jet + 7 * blk, *av = m->jet + 8 * blk, *tmp = m->jet + 9 * blk;
  int nin = m->sizes[0];
  memcpy(h, x, (size_t)n * nin * sizeof(double));
  for (int i = 0; i < n; i++) {
    memcpy(hu + (size_t)i * nin, u, (size_t)nin * sizeof(double));
    memcpy(hv + (size_t)i * nin, v, (size_t)nin * sizeof(double));
  }
  memset(huu, 0, (size_t)n * nin * sizeof(double));
  memset(huv, 0, (size_t)n * nin * sizeof(double));
  memset(hvv, 0, (size_t)n * nin * sizeof(double));
  for (int l = 0; l < nlin; l++) {
    int di = m->sizes[l], dout = m->sizes[l + 1];
    /* Pre-activations: the linear map acts on every stream; only the value gets the bias. */
    linear_forward(a, h, m->W[l], m->b[l], n, di, dout);
    linear_forward(au, hu, m->W[l], NULL, n, di, dout);
    linear_forward(av, hv, m->W[l], NULL, n, di, dout);
    linear_forward(tmp, huu, m->W[l], NULL, n, di, dout);
    memcpy(huu, tmp, (size_t)n * dout * sizeof(double));
    linear_forward(tmp, huv, m->W[l], NULL, n, di, dout);
    memcpy(huv, tmp, (size_t)n * dout * sizeof(double));
    linear_forward(tmp, hvv, m->W[l], NULL, n, di, dout);
    memcpy(hvv, tmp, (size_t)n * dout * sizeof(double));
    size_t cnt = (size_t)n * dout;
    if (l + 1 < nlin) {
      /* tanh: t' = 1 - t^2, t'' = -2 t t'; second tangents pick up t'' au av. */
      tanh_forward(h, a, (int)cnt);
      for (size_t i = 0; i < cnt; i++) {
        double t = h[i], d1 = 1.0 - t * t, d2 = -2.0 * t * d1;
        huu[i] = d1 * huu[i] + d2 * au[i] * au[i];
        huv[i] = d1 * huv[i] + d2 * au[i] * av[i];
        hvv[i] = d1 * hvv[i] + d2 * av[i] * av[i];
        hu[i] = d1 * au[i];
        hv[i] = d1 * av[i];
      }
    } else {
      memcpy(h, a, cnt * sizeof(double));
      memcpy(hu, au, cnt * sizeof(double));
      memcpy(hv, av, cnt * sizeof(double));
    }
  }
  for (int i = 0; i < n; i++) {
    size_t o = (size_t)i * nout_last;
    if (y) memcpy(y + o, h + o, (size_t)nout_last * sizeof(double));
    memcpy(dy + 2 * o, hu + o, (size_t)nout_last * sizeof(double));
    memcpy(dy + 2 * o + nout_last, hv + o, (size_t)nout_last * sizeof(double));
    memcpy(d2y + 3 * o, huu + o, (size_t)nout_last * sizeof(double));
    memcpy(d2y + 3 * o + nout_last, huv + o, (size_t)nout_last * sizeof(double));
    memcpy(d2y + 3 * o + 2 * nout_last, hvv + o, (size_t)nout_last * sizeof(double));
  }
  m->n_cached = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
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
