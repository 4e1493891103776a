/* The hierarchical model's per-star log density, gradients and global score
 * (hier.h). Stars go through the mean model in batches; everything per star
 * depends only on that star's data and parameters. */
#include <chempysbi/gce.h>
#include <chempysbi/hier.h>
#include <math.h>

/* ---- the emulator as a mean model ---- */

static PetscErrorCode emu_fwd(void *ctx, const double *theta, int n, double *f)
{
  Emulator *e = (Emulator *)ctx;
  PetscFunctionBeginUser;
  emu_standardise_in(e, theta, (size_t)n, e->xbuf);
  mlp_forward(e->mlp, e->xbuf, n, e->ybuf);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++) f[i * CS_NELEM + k] = e->out_mean[k] + e->out_sd[k] * e->ybuf[i * CS_NELEM + k];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_bwd(void *ctx, const double *df, int n, double *dtheta)
{
  Emulator *e = (Emulator *)ctx;
  PetscFunctionBeginUser;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++) e->ybuf[i * CS_NELEM + k] = e->out_sd[k] * df[i * CS_NELEM + k];
  mlp_backward_input(e->mlp, e->ybuf, n, dtheta);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NPARAM; k++) dtheta[i * CS_NPARAM + k] /= e->in_sd[k];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode emu_jet(void *ctx, const double *theta, int n, double *f, double *df, double *d2f)
{
  Emulator *e = (Emulator *)ctx;
  double u[CS_NPARAM] = {0}, v[CS_NPARAM] = {0};
  PetscFunctionBeginUser;
  u[0] = 1.0 / e->in_sd[0]; /* d(standardised input)/d(theta) along each global */
  v[1] = 1.0 / e->in_sd[1];
  emu_standardise_in(e, theta, (size_t)n, e->xbuf);
  PetscCall(mlp_forward_jet(e->mlp, e->xbuf, u, v, n, f, df, d2f));
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++) {
      double s = e->out_sd[k];
      f[i * CS_NELEM + k] = e->out_mean[k] + s * f[i * CS_NELEM + k];
      for (int a = 0; a < 2; a++) df[(i * 2 + a) * CS_NELEM + k] *= s;
      for (int a = 0; a < 3; a++) d2f[(i * 3 + a) * CS_NELEM + k] *= s;
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

void hier_mean_emulator(Emulator *e, HierMean *m)
{
  m->ctx = e;
  m->max_batch = e->mlp->max_batch;
  m->forward = emu_fwd;
  m->backward = emu_bwd;
  m->jet = emu_jet;
}

/* ---- priors and transforms ---- */

void hier_prior_from(const Prior *p, HierPrior *h)
{
  for (int k = 0; k < CS_NPARAM; k++) {
    h->mean[k] = p->mean[k];
    h->sd[k] = k == 5 ? 0.0 : p->sd[k];
    h->lo[k] = p->lo[k];
    h->hi[k] = p->hi[k];
  }
  h->sfr_rule = PETSC_TRUE;
}

static PetscBool bounded(const HierPrior *h, int k) { return isfinite(h->lo[k]) && isfinite(h->hi[k]); }

static double log_sigmoid(double x) { return x > 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }

/* theta, dtheta/deta, log|dtheta/deta| and its derivative in eta. */
static void transform(const HierPrior *h, int k, double eta, double *th, double *dth, double *logj, double *dlogj)
{
  if (!bounded(h, k)) {
    *th = eta, *dth = 1, *logj = 0, *dlogj = 0;
    return;
  }
  double w = h->hi[k] - h->lo[k], s = 1.0 / (1.0 + exp(-eta));
  *th = h->lo[k] + w * s;
  *dth = w * s * (1 - s);
  *logj = log(w) + log_sigmoid(eta) + log_sigmoid(-eta);
  *dlogj = 1 - 2 * s;
}

double hier_to_theta(const HierPrior *h, int k, double eta)
{
  double th, d, lj, dlj;
  transform(h, k, eta, &th, &d, &lj, &dlj);
  return th;
}

double hier_to_eta(const HierPrior *h, int k, double theta)
{
  if (!bounded(h, k)) return theta;
  double s = (theta - h->lo[k]) / (h->hi[k] - h->lo[k]);
  return log(s) - log1p(-s);
}

/* Gaussian or flat prior term in theta and its theta-derivative. */
static double prior_term(const HierPrior *h, int k, double th, double *d)
{
  if (h->sd[k] <= 0) {
    *d = 0;
    return 0;
  }
  double z = (th - h->mean[k]) / h->sd[k];
  *d = -z / h->sd[k];
  return -0.5 * z * z;
}

/* Positive part of the -log prior's curvature in eta: the Gaussian term
 * (dtheta/deta / sd)^2 and the logistic Jacobian's 2 s (1 - s). */
static double prior_curv(const HierPrior *h, int k, double eta)
{
  double th, dth, lj, dlj, c = 0;
  transform(h, k, eta, &th, &dth, &lj, &dlj);
  if (h->sd[k] > 0) c += dth * dth / (h->sd[k] * h->sd[k]);
  if (bounded(h, k)) c += 0.5 * (1 - dlj * dlj); /* 2 s (1 - s) with dlj = 1 - 2 s */
  return c;
}

void hier_global_curvature(const HierPrior *h, const double etaL[HIER_NL], double H[4])
{
  H[0] = prior_curv(h, 0, etaL[0]), H[1] = H[2] = 0, H[3] = prior_curv(h, 1, etaL[1]);
}

double hier_global_logp(const HierPrior *h, const double etaL[HIER_NL], double g[HIER_NL])
{
  double lp = 0;
  for (int a = 0; a < HIER_NL; a++) {
    double th, dth, lj, dlj, dp;
    transform(h, a, etaL[a], &th, &dth, &lj, &dlj);
    lp += prior_term(h, a, th, &dp) + lj;
    if (g) g[a] = dp * dth + dlj;
  }
  return lp;
}

/* ---- the model ---- */

PetscErrorCode hier_create(const HierMean *mean, const HierPrior *prior, PetscInt n, const double *x, const double *err,
                           double default_err, HierModel **out)
{
  HierModel *m;
  int B = mean->max_batch;
  PetscFunctionBeginUser;
  PetscCheck(default_err > 0 && isfinite(default_err), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "hierarchical model: default error %g must be positive", default_err);
  PetscCall(PetscNew(&m));
  m->mean = *mean;
  m->prior = *prior;
  m->n = n;
  PetscCall(PetscMalloc3(n * CS_NELEM + 1, &m->x, n * CS_NELEM + 1, &m->w, n * CS_NELEM + 1, &m->delta));
  PetscCall(PetscMalloc5(B * CS_NPARAM, &m->th, B * CS_NELEM, &m->f, B * CS_NELEM, &m->df, B * CS_NPARAM, &m->dth,
                         B * 5 * CS_NELEM, &m->jf));
  for (PetscInt i = 0; i < n * CS_NELEM; i++) {
    double e = err && isfinite(err[i]) && err[i] > 0 ? err[i] : default_err;
    PetscBool have = isfinite(x[i]) ? PETSC_TRUE : PETSC_FALSE;
    m->x[i] = have ? x[i] : 0;
    m->w[i] = have ? 1.0 / (e * e) : 0;
    m->delta[i] = 0;
  }
  *out = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_set_lik(HierModel *m, const HierLik *lik)
{
  const int B = m->mean.max_batch;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < m->n * CS_NELEM; i++)
    PetscCheck(m->w[i] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
               "star %" PetscInt_FMT " of this block misses %s: this likelihood needs every element", i / CS_NELEM,
               cs_elem_names[i % CS_NELEM]);
  m->lik = *lik;
  PetscCall(PetscFree2(m->thfd, m->llfd));
  PetscCall(PetscMalloc2(7 * B * CS_NPARAM, &m->thfd, 7 * B, &m->llfd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_destroy(HierModel **m)
{
  PetscFunctionBeginUser;
  if (!*m) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree2((*m)->thfd, (*m)->llfd));
  PetscCall(PetscFree3((*m)->x, (*m)->w, (*m)->delta));
  PetscCall(PetscFree5((*m)->th, (*m)->f, (*m)->df, (*m)->dth, (*m)->jf));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_star_logp(HierModel *m, const double etaL[HIER_NL], const double *etaz, double *lp, double *gz,
                              double *gL)
{
  const HierPrior *h = &m->prior;
  double thL[HIER_NL], dthL[HIER_NL];
  PetscFunctionBeginUser;
  for (int a = 0; a < HIER_NL; a++) {
    double lj, dlj;
    transform(h, a, etaL[a], &thL[a], &dthL[a], &lj, &dlj);
  }
  for (PetscInt i0 = 0; i0 < m->n; i0 += m->mean.max_batch) {
    int b = (int)PetscMin(m->n - i0, m->mean.max_batch);
    double dz[HIER_NZ];
    for (int j = 0; j < b; j++) {
      PetscInt i = i0 + j;
      double *th = m->th + j * CS_NPARAM, lpz = 0;
      th[0] = thL[0], th[1] = thL[1];
      for (int q = 0; q < HIER_NZ; q++) {
        double lj, dlj, dp;
        transform(h, 2 + q, etaz[i * HIER_NZ + q], &th[2 + q], &dz[q], &lj, &dlj);
        lpz += prior_term(h, 2 + q, th[2 + q], &dp) + lj;
        if (gz) gz[i * HIER_NZ + q] = dp * dz[q] + dlj;
      }
      if (h->sfr_rule && !gce_sfr_rule_accepts(th[3], th[5])) lpz = -INFINITY;
      lp[i] = lpz;
    }
    if (m->lik.loglik) {
      PetscCheck(!gz && !gL, PETSC_COMM_SELF, PETSC_ERR_SUP,
                 "this likelihood (a ratio estimator) has no gradients: use -method newton, not hmc");
      PetscCall(m->lik.loglik(m->lik.ctx, m->th, m->x + i0 * CS_NELEM, b, m->f));
      for (int j = 0; j < b; j++)
        if (isfinite(lp[i0 + j])) lp[i0 + j] += m->f[j];
      continue;
    }
    PetscCall(m->mean.forward(m->mean.ctx, m->th, b, m->f));
    for (int j = 0; j < b; j++) {
      PetscInt i = i0 + j;
      double ll = 0;
      for (int k = 0; k < CS_NELEM; k++) {
        double r = m->x[i * CS_NELEM + k] - m->f[j * CS_NELEM + k] - m->delta[i * CS_NELEM + k],
               w = m->w[i * CS_NELEM + k];
        ll -= 0.5 * w * r * r;
        m->df[j * CS_NELEM + k] = w * r;
      }
      lp[i] += ll;
    }
    if (!gz && !gL) continue;
    PetscCall(m->mean.backward(m->mean.ctx, m->df, b, m->dth));
    for (int j = 0; j < b; j++) {
      PetscInt i = i0 + j;
      const double *d = m->dth + j * CS_NPARAM;
      if (!isfinite(lp[i])) { /* outside the support: no gradient to follow */
        if (gz)
          for (int q = 0; q < HIER_NZ; q++) gz[i * HIER_NZ + q] = 0;
        if (gL) gL[i * HIER_NL] = gL[i * HIER_NL + 1] = 0;
        continue;
      }
      if (gz)
        for (int q = 0; q < HIER_NZ; q++) {
          double lj, dlj, th;
          transform(h, 2 + q, etaz[i * HIER_NZ + q], &th, &dz[q], &lj, &dlj);
          gz[i * HIER_NZ + q] += d[2 + q] * dz[q];
        }
      if (gL)
        for (int a = 0; a < HIER_NL; a++) gL[i * HIER_NL + a] = d[a] * dthL[a];
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The score and Hessian in the globals of a values-only likelihood, by central differences of
 * step FD_H on seven points (the centre, +-h along each global, +-h along both). */
#define FD_H 2e-3
static PetscErrorCode lik_score(HierModel *m, const double thetaL[HIER_NL], const double *etaz, double *s, double *hs)
{
  static const int off[7][2] = {{0, 0}, {1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, -1}};
  PetscFunctionBeginUser;
  for (PetscInt i0 = 0; i0 < m->n; i0 += m->mean.max_batch) {
    int b = (int)PetscMin(m->n - i0, m->mean.max_batch);
    for (int p = 0; p < 7; p++)
      for (int j = 0; j < b; j++) {
        double *th = m->thfd + ((size_t)p * b + j) * CS_NPARAM;
        th[0] = thetaL[0] + off[p][0] * FD_H, th[1] = thetaL[1] + off[p][1] * FD_H;
        for (int q = 0; q < HIER_NZ; q++) th[2 + q] = hier_to_theta(&m->prior, 2 + q, etaz[(i0 + j) * HIER_NZ + q]);
      }
    for (int p = 0; p < 7; p++)
      PetscCall(
          m->lik.loglik(m->lik.ctx, m->thfd + (size_t)p * b * CS_NPARAM, m->x + i0 * CS_NELEM, b, m->llfd + p * b));
    for (int j = 0; j < b; j++) {
      const double *f = m->llfd + j, h2 = FD_H * FD_H; /* f[p * b]: point p */
      double f0 = f[0], fa = f[b], fA = f[2 * b], fb = f[3 * b], fB = f[4 * b], fab = f[5 * b], fAB = f[6 * b];
      PetscInt i = i0 + j;
      s[i * 2] = (fa - fA) / (2 * FD_H), s[i * 2 + 1] = (fb - fB) / (2 * FD_H);
      hs[i * 3] = (fa - 2 * f0 + fA) / h2;
      hs[i * 3 + 1] = (fab - fa - fb + 2 * f0 - fA - fB + fAB) / (2 * h2);
      hs[i * 3 + 2] = (fb - 2 * f0 + fB) / h2;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_star_score(HierModel *m, const double thetaL[HIER_NL], const double *etaz, double *s, double *hs)
{
  PetscFunctionBeginUser;
  if (m->lik.loglik) {
    PetscCall(lik_score(m, thetaL, etaz, s, hs));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i0 = 0; i0 < m->n; i0 += m->mean.max_batch) {
    int b = (int)PetscMin(m->n - i0, m->mean.max_batch);
    double *df = m->jf, *d2f = m->jf + (size_t)b * 2 * CS_NELEM;
    for (int j = 0; j < b; j++) {
      double *th = m->th + j * CS_NPARAM;
      th[0] = thetaL[0], th[1] = thetaL[1];
      for (int q = 0; q < HIER_NZ; q++) th[2 + q] = hier_to_theta(&m->prior, 2 + q, etaz[(i0 + j) * HIER_NZ + q]);
    }
    PetscCall(m->mean.jet(m->mean.ctx, m->th, b, m->f, df, d2f));
    for (int j = 0; j < b; j++) {
      PetscInt i = i0 + j;
      double g[2] = {0, 0}, H[3] = {0, 0, 0};
      for (int k = 0; k < CS_NELEM; k++) {
        double w = m->w[i * CS_NELEM + k],
               r = m->x[i * CS_NELEM + k] - m->f[j * CS_NELEM + k] - m->delta[i * CS_NELEM + k];
        double d0 = df[(j * 2) * CS_NELEM + k], d1 = df[(j * 2 + 1) * CS_NELEM + k];
        g[0] += w * r * d0, g[1] += w * r * d1;
        H[0] += w * (r * d2f[(j * 3) * CS_NELEM + k] - d0 * d0);
        H[1] += w * (r * d2f[(j * 3 + 1) * CS_NELEM + k] - d0 * d1);
        H[2] += w * (r * d2f[(j * 3 + 2) * CS_NELEM + k] - d1 * d1);
      }
      for (int a = 0; a < 2; a++) s[i * 2 + a] = g[a];
      for (int a = 0; a < 3; a++) hs[i * 3 + a] = H[a];
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_star_gn(HierModel *m, const double etaL[HIER_NL], const double *etaz, double *H)
{
  const HierPrior *h = &m->prior;
  double dthL[HIER_NL], *J;
  PetscFunctionBeginUser;
  for (int a = 0; a < HIER_NL; a++) {
    double th, lj, dlj;
    transform(h, a, etaL[a], &th, &dthL[a], &lj, &dlj);
  }
  PetscCheck(!m->lik.loglik, PETSC_COMM_SELF, PETSC_ERR_SUP,
             "this likelihood (a ratio estimator) has no gradients: use -method newton, not hmc");
  PetscCall(PetscMalloc1((size_t)m->mean.max_batch * CS_NELEM * CS_NPARAM, &J));
  for (PetscInt i0 = 0; i0 < m->n; i0 += m->mean.max_batch) {
    int b = (int)PetscMin(m->n - i0, m->mean.max_batch);
    double dz[HIER_NZ];
    for (int j = 0; j < b; j++) {
      double *th = m->th + j * CS_NPARAM;
      th[0] = hier_to_theta(h, 0, etaL[0]), th[1] = hier_to_theta(h, 1, etaL[1]);
      for (int q = 0; q < HIER_NZ; q++) th[2 + q] = hier_to_theta(h, 2 + q, etaz[(i0 + j) * HIER_NZ + q]);
    }
    PetscCall(m->mean.forward(m->mean.ctx, m->th, b, m->f));
    /* One input-gradient pass per output gives the Jacobian rows: J (b, 8, 6). */
    for (int k = 0; k < CS_NELEM; k++) {
      for (int j = 0; j < b * CS_NELEM; j++) m->df[j] = j % CS_NELEM == k;
      PetscCall(m->mean.backward(m->mean.ctx, m->df, b, m->dth));
      for (int j = 0; j < b; j++)
        for (int p = 0; p < CS_NPARAM; p++) J[(j * CS_NELEM + k) * CS_NPARAM + p] = m->dth[j * CS_NPARAM + p];
    }
    for (int j = 0; j < b; j++) {
      PetscInt i = i0 + j;
      double d[CS_NPARAM], *Hi = H + i * 36;
      d[0] = dthL[0], d[1] = dthL[1];
      for (int q = 0; q < HIER_NZ; q++) {
        double th, lj, dlj;
        transform(h, 2 + q, etaz[i * HIER_NZ + q], &th, &dz[q], &lj, &dlj);
        d[2 + q] = dz[q];
      }
      for (int p = 0; p < CS_NPARAM; p++)
        for (int r = 0; r < CS_NPARAM; r++) {
          double s = 0;
          for (int k = 0; k < CS_NELEM; k++)
            s += m->w[i * CS_NELEM + k] * J[(j * CS_NELEM + k) * CS_NPARAM + p] * J[(j * CS_NELEM + k) * CS_NPARAM + r];
          Hi[p * 6 + r] = s * d[p] * d[r];
        }
      for (int q = 0; q < HIER_NZ; q++) Hi[(2 + q) * 7] += prior_curv(h, 2 + q, etaz[i * HIER_NZ + q]);
    }
  }
  PetscCall(PetscFree(J));
  PetscFunctionReturn(PETSC_SUCCESS);
}
