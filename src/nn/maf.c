/* Conditional MAF: construction (size table, masks, degrees), the density
 * direction theta -> z with its log-determinant and gradients (batched through
 * the nn.c kernels), and the two inverse passes: a plain reference one and the
 * blocked sampler that evaluates each hidden unit once per sample. */
#include <chempysbi/maf.h>
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>
#include <assert.h>

static const double LOG_2PI = 1.8378770664093454836;

/* nflows MaskedLinear degrees for a hidden layer of a non-random MADE. */
static int hidden_degree(int h, int D)
{
  int mx = D - 1 > 1 ? D - 1 : 1, mn = D - 1 < 1 ? D - 1 : 1;
  return h % mx + mn;
}

static size_t per_transform(int D, int C, int H, int nb)
{
  return (size_t)H * D + H + (C > 0 ? (size_t)H * C + H : 0) + (size_t)nb * ((size_t)H * H + H) + (size_t)2 * D * H +
         2 * D;
}

/* Point a MadeView at one transform's slice of a flat buffer (params or grads). */
static double *made_views(MadeView *v, double *p, int D, int C, int H, int nb)
{
  v->W0 = p, p += (size_t)H * D;
  v->b0 = p, p += H;
  v->Wc = v->bc = NULL;
  if (C > 0) v->Wc = p, p += (size_t)H * C, v->bc = p, p += H;
  for (int j = 0; j < nb; j++) v->Wh[j] = p, p += (size_t)H * H, v->bh[j] = p, p += H;
  v->Wo = p, p += (size_t)2 * D * H;
  v->bo = p, p += 2 * D;
  return p;
}

PetscErrorCode maf_create(int D, int C, int K, int H, int nblocks, int max_batch, Maf **out)
{
  Maf *m;

  PetscFunctionBeginUser;
  PetscCheck(D >= 1 && C >= 0 && H >= 1 && max_batch >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "MAF sizes: need D >= 1, C >= 0, H >= 1, max_batch >= 1 (got %d, %d, %d, %d)", D, C, H, max_batch);
  PetscCheck(K >= 1 && K <= MAF_MAX_TRANSFORMS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "MAF needs 1..%d transforms, got %d", MAF_MAX_TRANSFORMS, K);
  PetscCheck(nblocks >= 0 && nblocks < MAF_MAX_BLOCKS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "MAF needs 0..%d blocks, got %d", MAF_MAX_BLOCKS - 1, nblocks);
  PetscCall(PetscCalloc1(1, &m));
  m->D = D, m->C = C, m->K = K, m->H = H, m->nblocks = nblocks, m->max_batch = max_batch;
  m->nper = per_transform(D, C, H, nblocks);
  m->nparams = (size_t)K * m->nper;
  PetscCall(PetscCalloc1(m->nparams, &m->params));
  PetscCall(PetscCalloc1(m->nparams, &m->grads));
  for (int k = 0; k < K; k++) {
    made_views(&m->p[k], m->params + k * m->nper, D, C, H, nblocks);
    made_views(&m->g[k], m->grads + k * m->nper, D, C, H, nblocks);
  }

  /* Reversal between transforms: u_{k+1}[i] = z_k[D - 1 - i]. */
  PetscCall(PetscCalloc1((size_t)K * D, &m->perm));
  for (int k = 0; k < K; k++)
    for (int i = 0; i < D; i++) m->perm[k * D + i] = D - 1 - i;

  /* Degrees and masks, shared by every transform (the permutation is explicit). */
  PetscCall(PetscCalloc1(H, &m->deg));
  PetscCall(PetscCalloc1((size_t)H * D, &m->mask0));
  PetscCall(PetscCalloc1((size_t)H * H, &m->maskh));
  PetscCall(PetscCalloc1((size_t)2 * D * H, &m->masko));
  for (int h = 0; h < H; h++) m->deg[h] = hidden_degree(h, D);
  for (int h = 0; h < H; h++)
    for (int i = 0; i < D; i++) m->mask0[h * D + i] = m->deg[h] >= i + 1;
  for (int h = 0; h < H; h++)
    for (int q = 0; q < H; q++) m->maskh[h * H + q] = m->deg[h] >= m->deg[q];
  for (int o = 0; o < 2 * D; o++)
    for (int h = 0; h < H; h++) m->masko[o * H + h] = o / 2 + 1 > m->deg[h];

  /* Activation cache. */
  int L = nblocks;
  size_t row = (size_t)K * (D + (C > 0 ? H : 0) + (size_t)(L + 1) * H + 2 * D) + D + C;
  PetscCall(PetscCalloc1(row * max_batch, &m->cache));
  double *c = m->cache;
  size_t nb = max_batch;
  for (int k = 0; k <= K; k++) m->u[k] = c, c += nb * D;
  for (int k = 0; k < K; k++) {
    m->ct[k] = NULL;
    if (C > 0) m->ct[k] = c, c += nb * H;
    for (int j = 0; j <= L; j++) m->h[k][j] = c, c += nb * H;
    m->o[k] = c, c += nb * 2 * D;
  }
  m->ctx = c;
  PetscCall(PetscCalloc1(nb * (4 * D + 3 * H) + D, &m->scratch));

  /* Sampler: hidden units sorted by degree, counts, and the block workspace. */
  PetscCall(PetscCalloc1(H, &m->order));
  PetscCall(PetscCalloc1(D + 1, &m->cnt_le));
  int r = 0;
  for (int d = 0; d <= D; d++) {
    for (int h = 0; h < H; h++)
      if (m->deg[h] == d) m->order[r++] = h;
    m->cnt_le[d] = r;
  }
  PetscCall(PetscCalloc1((size_t)K * H + (size_t)MAF_SAMPLE_BLOCK * (2 * D + (L + 1) * H + 2), &m->work));
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode maf_destroy(Maf **m)
{
  PetscFunctionBeginUser;
  if (!*m) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree((*m)->params));
  PetscCall(PetscFree((*m)->grads));
  PetscCall(PetscFree((*m)->perm));
  PetscCall(PetscFree((*m)->deg));
  PetscCall(PetscFree((*m)->mask0));
  PetscCall(PetscFree((*m)->maskh));
  PetscCall(PetscFree((*m)->masko));
  PetscCall(PetscFree((*m)->cache));
  PetscCall(PetscFree((*m)->scratch));
  PetscCall(PetscFree((*m)->order));
  PetscCall(PetscFree((*m)->cnt_le));
  PetscCall(PetscFree((*m)->work));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void maf_apply_masks(Maf *m)
{
  int D = m->D, H = m->H;
  for (int k = 0; k < m->K; k++) {
    nn_mask_apply(m->p[k].W0, m->mask0, H * D);
    for (int j = 0; j < m->nblocks; j++) nn_mask_apply(m->p[k].Wh[j], m->maskh, H * H);
    nn_mask_apply(m->p[k].Wo, m->masko, 2 * D * H);
  }
}

PetscErrorCode maf_init(Maf *m, uint64_t seed)
{
  int D = m->D, C = m->C, H = m->H, L = m->nblocks;

  PetscFunctionBeginUser;
  for (int k = 0; k < m->K; k++) {
    MadeView *p = &m->p[k];
    uint64_t base = 64 * (uint64_t)k;
    linear_init(p->W0, p->b0, H, D, seed, base + 0);
    if (C > 0) linear_init(p->Wc, p->bc, H, C, seed, base + 1);
    for (int j = 0; j < L; j++) linear_init(p->Wh[j], p->bh[j], H, H, seed, base + 2 + j);
    linear_init(p->Wo, p->bo, 2 * D, H, seed, base + 2 + L);
  }
  maf_apply_masks(m);
  m->n_cached = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One MADE on a batch: ct (n, H) context term, h[0..L] (n, H), o (n, 2D). */
static void made_forward(const Maf *m, int k, const double *u, const double *ctx, int n, double *ct, double *const *h,
                         double *o)
{
  const MadeView *p = &m->p[k];
  int D = m->D, H = m->H, L = m->nblocks, nh = n * H;
  masked_linear_forward(h[0], u, p->W0, p->b0, n, D, H);
  if (m->C > 0) {
    /* nflows adds activation(context_layer(c)) before the first activation */
    linear_forward(ct, ctx, p->Wc, p->bc, n, m->C, H);
    tanh_forward(ct, ct, nh);
    for (int i = 0; i < nh; i++) h[0][i] += ct[i];
  }
  tanh_forward(h[0], h[0], nh);
  for (int j = 0; j < L; j++) {
    masked_linear_forward(h[j + 1], h[j], p->Wh[j], p->bh[j], n, H, H);
    tanh_forward(h[j + 1], h[j + 1], nh);
  }
  masked_linear_forward(o, h[L], p->Wo, p->bo, n, H, 2 * D);
}

/* theta -> z through all transforms, caching every layer; logdet (n). */
static void flow_forward(Maf *m, const double *theta, const double *ctx, int n, double *logdet)
{
  int D = m->D, K = m->K;
  double *v = m->scratch; /* one row of transform output before the permutation */
  assert(n >= 0 && n <= m->max_batch);
  memcpy(m->u[0], theta, (size_t)n * D * sizeof(double));
  if (m->C > 0) memcpy(m->ctx, ctx, (size_t)n * m->C * sizeof(double));
  for (int r = 0; r < n; r++) logdet[r] = 0.0;
  for (int k = 0; k < K; k++) {
    made_forward(m, k, m->u[k], m->ctx, n, m->ct[k], m->h[k], m->o[k]);
    const int *perm = m->perm + k * D;
    for (int r = 0; r < n; r++) {
      const double *o = m->o[k] + (size_t)r * 2 * D, *u = m->u[k] + (size_t)r * D;
      double *next = m->u[k + 1] + (size_t)r * D, ld = 0.0;
      for (int i = 0; i < D; i++) {
        double s = nn_softplus(o[2 * i], NULL) + MAF_SCALE_EPS;
        v[i] = s * u[i] + o[2 * i + 1];
        ld += log(s);
      }
      logdet[r] += ld;
      if (k + 1 < K)
        for (int i = 0; i < D; i++) next[i] = v[perm[i]];
      else
        memcpy(next, v, (size_t)D * sizeof(double));
    }
  }
  m->n_cached = n;
}

void maf_forward(Maf *m, const double *theta, const double *ctx, int n, double *z, double *logdet)
{
  flow_forward(m, theta, ctx, n, logdet);
  memcpy(z, m->u[m->K], (size_t)n * m->D * sizeof(double));
}

void maf_log_prob(Maf *m, const double *theta, const double *ctx, int n, double *logp)
{
  int D = m->D;
  flow_forward(m, theta, ctx, n, logp);
  for (int r = 0; r < n; r++) {
    const double *z = m->u[m->K] + (size_t)r * D;
    double q = 0.0;
    for (int i = 0; i < D; i++) q += z[i] * z[i];
    logp[r] += -0.5 * q - 0.5 * D * LOG_2PI;
  }
}

void maf_backward(Maf *m, const double *dlogp, int n)
{
  int D = m->D, H = m->H, C = m->C, K = m->K, L = m->nblocks;
  size_t nD = (size_t)n * D, nH = (size_t)n * H;
  double *dv = m->scratch, *du = dv + nD, *dout = du + nD, *dA = dout + 2 * nD, *dB = dA + nH, *dC = dB + nH;
  assert(n == m->n_cached);
  /* d logp / dz = -z, from the standard normal base */
  for (size_t i = 0; i < nD; i++) dv[i] = -dlogp[i / D] * m->u[K][i];
  for (int k = K - 1; k >= 0; k--) {
    const MadeView *p = &m->p[k];
    MadeView *g = &m->g[k];
    const double *u = m->u[k], *o = m->o[k];
    /* Elementwise affine: z = s u + t, logdet += log s, s = softplus(a) + eps. */
    for (int r = 0; r < n; r++)
      for (int i = 0; i < D; i++) {
        size_t ri = (size_t)r * D + i, ro = (size_t)r * 2 * D + 2 * i;
        double sig, s = nn_softplus(o[ro], &sig) + MAF_SCALE_EPS;
        du[ri] = dv[ri] * s;
        dout[ro] = (dv[ri] * u[ri] + dlogp[r] / s) * sig;
        dout[ro + 1] = dv[ri];
      }
    /* MADE, top down: a holds the gradient of a layer's output, b of its pre-activation. */
    double *a = dA, *b = dB;
    memset(a, 0, nH * sizeof(double));
    masked_linear_backward(a, g->Wo, g->bo, dout, m->h[k][L], p->Wo, m->masko, n, H, 2 * D);
    for (int j = L; j >= 1; j--) {
      memset(b, 0, nH * sizeof(double));
      tanh_backward(b, a, m->h[k][j], (int)nH);
      memset(a, 0, nH * sizeof(double));
      masked_linear_backward(a, g->Wh[j - 1], g->bh[j - 1], b, m->h[k][j - 1], p->Wh[j - 1], m->maskh, n, H, H);
    }
    memset(b, 0, nH * sizeof(double));
    tanh_backward(b, a, m->h[k][0], (int)nH);
    masked_linear_backward(du, g->W0, g->b0, b, u, p->W0, m->mask0, n, D, H);
    if (C > 0) { /* the context enters h_0's pre-activation through tanh(Wc c + bc) */
      memset(dC, 0, nH * sizeof(double));
      tanh_backward(dC, b, m->ct[k], (int)nH);
      linear_backward(NULL, g->Wc, g->bc, dC, m->ctx, p->Wc, n, C, H);
    }
    if (m->grad_hook) m->grad_hook(m->grad_hook_arg, (size_t)k * m->nper);
    /* u_k[i] = v_{k-1}[perm[i]] */
    if (k > 0) {
      const int *perm = m->perm + (k - 1) * D;
      for (int r = 0; r < n; r++)
        for (int i = 0; i < D; i++) dv[(size_t)r * D + perm[i]] = du[(size_t)r * D + i];
    }
  }
}

void maf_inverse(Maf *m, const double *z, const double *ctx, int n, double *theta)
{
  int D = m->D, K = m->K;
  double *v = m->scratch;
  assert(n >= 0 && n <= m->max_batch);
  memcpy(v, z, (size_t)n * D * sizeof(double));
  for (int k = K - 1; k >= 0; k--) {
    double *u = m->u[k];
    memset(u, 0, (size_t)n * D * sizeof(double));
    /* Pass i fixes u_i, whose MADE outputs depend on u_0..u_{i-1} only. */
    for (int i = 0; i < D; i++) {
      made_forward(m, k, u, ctx, n, m->ct[k], m->h[k], m->o[k]);
      for (int r = 0; r < n; r++) {
        const double *o = m->o[k] + (size_t)r * 2 * D;
        double s = nn_softplus(o[2 * i], NULL) + MAF_SCALE_EPS;
        u[(size_t)r * D + i] = (v[(size_t)r * D + i] - o[2 * i + 1]) / s;
      }
    }
    if (k > 0) {
      const int *perm = m->perm + (k - 1) * D;
      for (int r = 0; r < n; r++)
        for (int i = 0; i < D; i++) v[(size_t)r * D + perm[i]] = u[(size_t)r * D + i];
    }
  }
  memcpy(theta, m->u[0], (size_t)n * D * sizeof(double));
  m->n_cached = 0;
}

/* ---- Blocked sampler --------------------------------------------------------
 * Within a block, arrays are [feature or unit][sample] so every inner loop
 * runs over MAF_SAMPLE_BLOCK contiguous samples. Hidden units are visited in
 * degree order ("rank" r, unit order[r]): a unit of degree d depends on inputs
 * 1..d only, so it is computed once, right after u_{d-1} is known, instead of
 * D times as in the reference inverse. */

/* Hidden units with rank in [lo, hi) (all of one degree d) for every layer.
 * ck: layer-1 constant (b0 + context term) by rank; u: (D, NB); hs: (L+1, H, NB).
 * Blocks are always full (the sampler pads the last one): every loop runs over
 * the constant NB, which GCC vectorises, and the activations go four at a time. */
static inline __attribute__((always_inline)) void sample_hidden(const Maf *m, const MadeView *p, const double *ck,
                                                                int d, int lo, int hi, const double *u, double *hs)
{
  enum { NB = MAF_SAMPLE_BLOCK, NV = MAF_SAMPLE_BLOCK / 4 };
  int D = m->D, H = m->H, L = m->nblocks;
  const int *ord = m->order;
  for (int r = lo; r < hi; r++) {
    double *acc = hs + (size_t)r * NB;
    nn_v4d_u *av = (nn_v4d_u *)acc;
    const double *w = p->W0 + (size_t)ord[r] * D;
    for (int b = 0; b < NB; b++) acc[b] = ck[r];
    for (int i = 0; i < d; i++) {
      const double wi = w[i];
      const nn_v4d_u *ui = (const nn_v4d_u *)(u + (size_t)i * NB);
      for (int b = 0; b < NV; b++) av[b] += wi * ui[b];
    }
    for (int b = 0; b < NB; b += 4) nn_tanh4(acc + b, acc + b);
  }
  for (int j = 1; j <= L; j++) {
    const double *prev = hs + (size_t)(j - 1) * H * NB;
    double *cur = hs + (size_t)j * H * NB;
    for (int r = lo; r < hi; r++) {
      double *acc = cur + (size_t)r * NB;
      nn_v4d_u *av = (nn_v4d_u *)acc;
      const double *w = p->Wh[j - 1] + (size_t)ord[r] * H;
      const double bias = p->bh[j - 1][ord[r]];
      for (int b = 0; b < NB; b++) acc[b] = bias;
      for (int q = 0; q < hi; q++) { /* units of degree <= d */
        const double wq = w[ord[q]];
        const nn_v4d_u *hq = (const nn_v4d_u *)(prev + (size_t)q * NB);
        for (int b = 0; b < NV; b++) av[b] += wq * hq[b];
      }
      for (int b = 0; b < NB; b += 4) nn_tanh4(acc + b, acc + b);
    }
  }
}

/* Invert all K transforms for one full block: v (D, NB) base normals in, u
 * (D, NB) parameters out. Cloned for AVX2 (chosen at load time by ifunc) so
 * the four-lane vectors map to single instructions; no FMA, so both clones
 * round identically. */
__attribute__((target_clones("avx2", "default"))) static void sample_block(const Maf *m, const double *ck, double *v,
                                                                           double *u, double *hs, double *a, double *t)
{
  enum { NB = MAF_SAMPLE_BLOCK, NV = MAF_SAMPLE_BLOCK / 4 };
  int D = m->D, H = m->H, K = m->K, L = m->nblocks;
  const int *ord = m->order, *cle = m->cnt_le;
  for (int k = K - 1; k >= 0; k--) {
    const MadeView *p = &m->p[k];
    const double *hl = hs + (size_t)L * H * NB;
    sample_hidden(m, p, ck + k * H, 0, 0, cle[0], u, hs); /* degree 0 exists only for D = 1 */
    for (int i = 0; i < D; i++) {
      /* Feature i (degree i+1) from last-layer units of degree <= i. */
      int mlo = cle[i];
      const double *wa = p->Wo + (size_t)(2 * i) * H, *wt = wa + H;
      for (int b = 0; b < NB; b++) a[b] = p->bo[2 * i], t[b] = p->bo[2 * i + 1];
      nn_v4d_u *av = (nn_v4d_u *)a, *tv = (nn_v4d_u *)t;
      for (int q = 0; q < mlo; q++) {
        const double ca = wa[ord[q]], ct = wt[ord[q]];
        const nn_v4d_u *hq = (const nn_v4d_u *)(hl + (size_t)q * NB);
        for (int b = 0; b < NV; b++) av[b] += ca * hq[b], tv[b] += ct * hq[b];
      }
      for (int b = 0; b < NB; b += 4) nn_softplus4(a + b, a + b);
      nn_v4d_u *ui = (nn_v4d_u *)(u + (size_t)i * NB);
      const nn_v4d_u *vi = (const nn_v4d_u *)(v + (size_t)i * NB);
      for (int b = 0; b < NV; b++) ui[b] = (vi[b] - tv[b]) / (av[b] + MAF_SCALE_EPS);
      if (i + 1 < D) sample_hidden(m, p, ck + k * H, i + 1, cle[i], cle[i + 1], u, hs);
    }
    if (k > 0) {
      const int *perm = m->perm + (k - 1) * D;
      for (int i = 0; i < D; i++) memcpy(v + (size_t)perm[i] * NB, u + (size_t)i * NB, (size_t)NB * sizeof(double));
    }
  }
}

void maf_sample(Maf *m, const double *ctx, const double *z, size_t n, double *theta)
{
  enum { NB = MAF_SAMPLE_BLOCK };
  int D = m->D, H = m->H, K = m->K, L = m->nblocks, C = m->C;
  const int *ord = m->order;
  double *ck = m->work; /* (K, H) */
  double *v = ck + (size_t)K * H, *u = v + (size_t)D * NB, *hs = u + (size_t)D * NB;
  double *a = hs + (size_t)(L + 1) * H * NB, *t = a + NB;

  /* The context is the same for every sample: its layer-1 term once per transform. */
  for (int k = 0; k < K; k++)
    for (int r = 0; r < H; r++) {
      int hid = ord[r];
      double c = m->p[k].b0[hid];
      if (C > 0) {
        double s = m->p[k].bc[hid];
        for (int j = 0; j < C; j++) s += m->p[k].Wc[(size_t)hid * C + j] * ctx[j];
        c += nn_tanh(s);
      }
      ck[k * H + r] = c;
    }

  for (size_t s0 = 0; s0 < n; s0 += NB) {
    int nb = n - s0 < (size_t)NB ? (int)(n - s0) : NB;
    for (int b = 0; b < NB; b++) /* pad a short last block with zeros */
      for (int i = 0; i < D; i++) v[(size_t)i * NB + b] = b < nb ? z[(s0 + b) * D + i] : 0.0;
    sample_block(m, ck, v, u, hs, a, t);
    for (int b = 0; b < nb; b++)
      for (int i = 0; i < D; i++) theta[(s0 + b) * D + i] = u[(size_t)i * NB + b];
  }
}
