/* The affine metric shared by the HMC samplers (hmc_affine.h). */
#include <chempysbi/hmc_affine.h>
#include <chempysbi/mcmc.h>
#include <math.h>

#define NL HIER_NL
#define NZ HIER_NZ

/* y = L x, and x = L^-1 y, for lower-triangular L (d x d). */
static void lmul(int d, const double *L, const double *x, double *y)
{
  for (int i = d - 1; i >= 0; i--) {
    double s = 0;
    for (int k = 0; k <= i; k++) s += L[i * d + k] * x[k];
    y[i] = s;
  }
}
static void lsolve(int d, const double *L, const double *y, double *x)
{
  for (int i = 0; i < d; i++) {
    double s = y[i];
    for (int k = 0; k < i; k++) s -= L[i * d + k] * x[k];
    x[i] = s / L[i * d + i];
  }
}
/* y = L^T x */
static void ltmul(int d, const double *L, const double *x, double *y)
{
  for (int i = 0; i < d; i++) {
    double s = 0;
    for (int k = i; k < d; k++) s += L[k * d + i] * x[k];
    y[i] = s;
  }
}

void hmc_to_eta(const HmcTarget *t, const double *u, double etaL[NL], double *etaz)
{
  const HmcAffine *f = &t->f;
  double d[NL];
  lmul(NL, f->A, u, d);
  etaL[0] = f->m[0] + d[0], etaL[1] = f->m[1] + d[1];
  for (PetscInt i = 0; i < t->n; i++) {
    double c[NZ];
    const double *B = f->B + i * 8;
    lmul(NZ, f->C + i * 16, u + NL + i * NZ, c);
    for (int q = 0; q < NZ; q++) etaz[i * NZ + q] = f->a[i * 4 + q] + B[q * 2] * d[0] + B[q * 2 + 1] * d[1] + c[q];
  }
}

void hmc_from_eta(const HmcTarget *t, const double etaL[NL], const double *etaz, double *u)
{
  const HmcAffine *f = &t->f;
  double d[NL] = {etaL[0] - f->m[0], etaL[1] - f->m[1]};
  lsolve(NL, f->A, d, u);
  for (PetscInt i = 0; i < t->n; i++) {
    double r[NZ];
    const double *B = f->B + i * 8;
    for (int q = 0; q < NZ; q++) r[q] = etaz[i * NZ + q] - f->a[i * 4 + q] - B[q * 2] * d[0] - B[q * 2 + 1] * d[1];
    lsolve(NZ, f->C + i * 16, r, u + NL + i * NZ);
  }
}

/* log density (-inf outside the support) and its gradient g in u. */
PetscErrorCode hmc_logp_grad(HmcTarget *t, const double *u, double *logp, double *g)
{
  const HmcAffine *f = &t->f;
  double etaL[NL], gp[NL], gLt[NL];
  int64_t acc[3 * PAR_REPRO_LIMBS];
  PetscFunctionBeginUser;
  hmc_to_eta(t, u, etaL, t->etaz);
  PetscCall(hier_star_logp(t->m, etaL, t->etaz, t->lp, t->gz, t->gL));
  par_repro_zero(acc, 3);
  for (PetscInt i = 0; i < t->n; i++) {
    const double *B = f->B + i * 8, *gz = t->gz + i * NZ;
    par_repro_add(acc, t->lp[i]);
    for (int b = 0; b < NL; b++) {
      double s = t->gL[i * NL + b];
      for (int q = 0; q < NZ; q++) s += B[q * 2 + b] * gz[q]; /* eta_z moves with eta_L */
      par_repro_add(acc + (1 + b) * PAR_REPRO_LIMBS, s);
    }
    ltmul(NZ, f->C + i * 16, gz, g + NL + i * NZ);
  }
  PetscCall(par_allreduce_repro(t->ctx, acc, 3));
  *logp = par_repro_value(acc) + hier_global_logp(&t->m->prior, etaL, gp);
  for (int b = 0; b < NL; b++) gLt[b] = par_repro_value(acc + (1 + b) * PAR_REPRO_LIMBS) + gp[b];
  ltmul(NL, f->A, gLt, g);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sum over all ranks of the locals' squared momenta (order-independent); the
 * globals' part is the same on every rank and added once. */
PetscErrorCode hmc_kinetic(const HmcTarget *t, const double *p, double *K)
{
  int64_t acc[PAR_REPRO_LIMBS];
  PetscFunctionBeginUser;
  par_repro_zero(acc, 1);
  for (PetscInt i = 0; i < t->n; i++) {
    double s = 0;
    for (int q = 0; q < NZ; q++) s += p[NL + i * NZ + q] * p[NL + i * NZ + q];
    par_repro_add(acc, s);
  }
  PetscCall(par_allreduce_repro(t->ctx, acc, 1));
  *K = 0.5 * (par_repro_value(acc) + p[0] * p[0] + p[1] * p[1]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Laplace metric at (etaL, etaz): per star the Gauss-Newton Hessian gives
 * the locals' conditional covariance C_i C_i^T = H_zz^-1 and their shift with
 * the globals B_i = -H_zz^-1 H_zL; the globals' covariance is the inverse of
 * the Schur complement summed over all stars (one order-independent
 * all-reduce) plus the prior's curvature. u = 0 is the given point. */
PetscErrorCode hmc_affine_laplace(HmcTarget *t, const double etaL[NL], const double *etaz, double *H)
{
  HmcAffine *f = &t->f;
  int64_t acc[3 * PAR_REPRO_LIMBS];
  double P[4], SL[4];
  PetscFunctionBeginUser;
  PetscCall(hier_star_gn(t->m, etaL, etaz, H));
  par_repro_zero(acc, 3);
  for (PetscInt i = 0; i < t->n; i++) {
    const double *Hi = H + i * 36;
    double Hzz[16], L[16], Ci[16], col[4], e[4], *B = f->B + i * 8;
    for (int q = 0; q < NZ; q++)
      for (int r = 0; r < NZ; r++) Hzz[q * 4 + r] = Hi[(2 + q) * 6 + 2 + r];
    hier_chol(NZ, Hzz, L);
    for (int r = 0; r < NZ; r++) { /* Ci = Hzz^-1, column by column */
      for (int q = 0; q < NZ; q++) e[q] = q == r;
      lsolve(NZ, L, e, col);
      for (int q = NZ - 1; q >= 0; q--) { /* L^T x = col */
        double v = col[q];
        for (int k = q + 1; k < NZ; k++) v -= L[k * 4 + q] * e[k];
        e[q] = v / L[q * 4 + q];
      }
      for (int q = 0; q < NZ; q++) Ci[q * 4 + r] = e[q];
    }
    for (int q = 0; q < NZ; q++)
      for (int r = 0; r < q; r++) Ci[q * 4 + r] = Ci[r * 4 + q] = 0.5 * (Ci[q * 4 + r] + Ci[r * 4 + q]);
    hier_chol(NZ, Ci, f->C + i * 16);
    for (int q = 0; q < NZ; q++)
      for (int a = 0; a < NL; a++) {
        double v = 0;
        for (int r = 0; r < NZ; r++) v -= Ci[q * 4 + r] * Hi[(2 + r) * 6 + a];
        B[q * 2 + a] = v;
      }
    /* Schur complement H_LL + H_Lz B */
    double S[3];
    int idx[3][2] = {{0, 0}, {0, 1}, {1, 1}};
    for (int k = 0; k < 3; k++) {
      int a = idx[k][0], b = idx[k][1];
      double v = Hi[a * 6 + b];
      for (int q = 0; q < NZ; q++) v += Hi[a * 6 + 2 + q] * B[q * 2 + b];
      S[k] = v;
    }
    for (int k = 0; k < 3; k++) par_repro_add(acc + k * PAR_REPRO_LIMBS, S[k]);
    for (int q = 0; q < NZ; q++) f->a[i * 4 + q] = etaz[i * NZ + q];
  }
  PetscCall(par_allreduce_repro(t->ctx, acc, 3));
  hier_global_curvature(&t->m->prior, etaL, P);
  P[0] += par_repro_value(acc), P[1] += par_repro_value(acc + PAR_REPRO_LIMBS),
      P[3] += par_repro_value(acc + 2 * PAR_REPRO_LIMBS);
  double det = P[0] * P[3] - P[1] * P[1];
  PetscCheck(det > 0 && P[0] > 0, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
             "HMC: the Laplace metric of the globals is not positive definite");
  SL[0] = P[3] / det, SL[1] = SL[2] = -P[1] / det, SL[3] = P[0] / det;
  f->m[0] = etaL[0], f->m[1] = etaL[1];
  hier_chol(NL, SL, f->A);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-star sums of eta (6) and eta eta^T (36) over the draws of a window. */
void hmc_window_add(double *W, PetscInt n, const double etaL[NL], const double *etaz)
{
  for (PetscInt i = 0; i < n; i++) {
    double e[6] = {etaL[0], etaL[1], etaz[i * 4], etaz[i * 4 + 1], etaz[i * 4 + 2], etaz[i * 4 + 3]}, *w = W + i * 42;
    for (int a = 0; a < 6; a++) {
      w[a] += e[a];
      for (int b = 0; b < 6; b++) w[6 + a * 6 + b] += e[a] * e[b];
    }
  }
}

void hmc_dual_start(HmcDual *d, double eps)
{
  d->mu = log(10 * eps), d->hbar = 0, d->logeps = log(eps), d->logbar = 0, d->m = 0;
}
void hmc_dual_update(HmcDual *d, double accept, double target)
{
  const double gamma = 0.05, t0 = 10, kappa = 0.75;
  d->m++;
  double w = 1.0 / (d->m + t0);
  d->hbar = (1 - w) * d->hbar + w * (target - accept);
  d->logeps = d->mu - sqrt((double)d->m) / gamma * d->hbar;
  double mk = pow((double)d->m, -kappa);
  d->logbar = mk * d->logeps + (1 - mk) * d->logbar;
}

PetscErrorCode hmc_target_create(const ParCtx *ctx, HierModel *m, HmcTarget *t)
{
  const PetscInt n = m->n;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  t->ctx = ctx, t->m = m, t->n = n;
  PetscCall(PetscMalloc4(n * NZ + 1, &t->etaz, n + 1, &t->lp, n * NZ + 1, &t->gz, n * NL + 1, &t->gL));
  PetscCall(PetscMalloc3(n * 4 + 1, &t->f.a, n * 8 + 1, &t->f.B, n * 16 + 1, &t->f.C));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_target_destroy(HmcTarget *t)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(t->etaz, t->lp, t->gz, t->gL));
  PetscCall(PetscFree3(t->f.a, t->f.B, t->f.C));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_windows_create(PetscInt n, PetscInt warmup, HmcWindows *w)
{
  PetscFunctionBeginUser;
  w->n = n, w->w1 = (PetscInt)(0.15 * warmup), w->w2 = (PetscInt)(0.5 * warmup), w->w3 = (PetscInt)(0.8 * warmup);
  PetscCall(PetscMalloc3(n * 42 + 1, &w->sum, n * NZ + 1, &w->mu, n * 36 + 1, &w->H));
  hmc_windows_reset(w);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void hmc_windows_reset(HmcWindows *w)
{
  for (PetscInt k = 0; k < w->n * 42; k++) w->sum[k] = 0;
  for (int k = 0; k < 6; k++) w->G[k] = 0;
  w->count = 0;
}

PetscErrorCode hmc_windows_step(HmcTarget *t, HmcWindows *w, PetscInt it, const double etaL[NL], const double *etaz,
                                PetscBool *refit)
{
  PetscFunctionBeginUser;
  *refit = PETSC_FALSE;
  if (it < w->w1 || it >= w->w3) PetscFunctionReturn(PETSC_SUCCESS);
  hmc_window_add(w->sum, w->n, etaL, etaz);
  w->G[0] += etaL[0], w->G[1] += etaL[1];
  for (int x = 0; x < 2; x++)
    for (int y = 0; y < 2; y++) w->G[2 + x * 2 + y] += etaL[x] * etaL[y];
  w->count++;
  if ((it == w->w2 - 1 || it == w->w3 - 1) && w->count >= 10) {
    double mL[NL] = {w->G[0] / w->count, w->G[1] / w->count};
    for (PetscInt i = 0; i < w->n; i++)
      for (int q = 0; q < NZ; q++) w->mu[i * NZ + q] = w->sum[i * 42 + 2 + q] / w->count;
    PetscCall(hmc_affine_laplace(t, mL, w->mu, w->H));
    hmc_windows_reset(w);
    *refit = PETSC_TRUE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_windows_destroy(HmcWindows *w)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(w->sum, w->mu, w->H));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void hmc_momenta(uint64_t seed, uint64_t it, PetscInt lo, PetscInt n, double *p, double *uacc, double *ujit)
{
  Rng r;
  rng_init(&r, seed, RNG_HMC, (it << 32) | UINT64_C(0xffffffff));
  p[0] = rng_normal(&r), p[1] = rng_normal(&r);
  *uacc = rng_uniform(&r), *ujit = rng_uniform(&r);
  for (PetscInt i = 0; i < n; i++) {
    rng_init(&r, seed, RNG_HMC, (it << 32) | (uint64_t)(lo + i));
    for (int q = 0; q < NZ; q++) p[NL + i * NZ + q] = rng_normal(&r);
  }
}

void hmc_record(const HierPrior *hp, PetscInt n, const double etaL[NL], const double *etaz, double *draw, double *zs,
                double *zq)
{
  for (int b = 0; b < NL; b++) draw[b] = hier_to_theta(hp, b, etaL[b]);
  for (PetscInt i = 0; i < n * NZ; i++) {
    double th = hier_to_theta(hp, 2 + (int)(i % NZ), etaz[i]);
    zs[i] += th, zq[i] += th * th;
  }
}

PetscErrorCode hmc_summarise(PetscInt chains, PetscInt D, PetscInt n, const double *zs, const double *zq,
                             double acc_sum, HmcResult *r)
{
  const PetscInt S = chains * D;
  double mean[2] = {0, 0}, C[4] = {0, 0, 0, 0}, *x;
  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < S; s++) mean[0] += r->draws[2 * s], mean[1] += r->draws[2 * s + 1];
  mean[0] /= S, mean[1] /= S;
  for (PetscInt s = 0; s < S; s++)
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) C[a * 2 + b] += (r->draws[2 * s + a] - mean[a]) * (r->draws[2 * s + b] - mean[b]);
  for (int k = 0; k < 4; k++) r->cov[k] = C[k] / (S - 1);
  r->mean[0] = mean[0], r->mean[1] = mean[1];
  r->sd[0] = sqrt(r->cov[0]), r->sd[1] = sqrt(r->cov[3]);
  r->corr = r->cov[1] / (r->sd[0] * r->sd[1]);
  PetscCall(PetscMalloc1(S, &x));
  r->converged = PETSC_TRUE;
  for (int b = 0; b < 2; b++) {
    for (PetscInt s = 0; s < S; s++) x[s] = r->draws[2 * s + b];
    r->rhat[b] = mcmc_rhat(x, (int)chains, (int)D);
    r->ess[b] = mcmc_ess_bulk(x, (int)chains, (int)D);
    if (!(r->rhat[b] <= 1.01) || !(r->ess[b] >= 400)) r->converged = PETSC_FALSE;
  }
  PetscCall(PetscFree(x));
  r->accept = acc_sum / S;
  PetscCall(PetscMalloc2(n * NZ + 1, &r->zmean, n * NZ + 1, &r->zsd));
  for (PetscInt i = 0; i < n * NZ; i++) {
    r->zmean[i] = zs[i] / S;
    r->zsd[i] = sqrt(fmax(0, (zq[i] - S * r->zmean[i] * r->zmean[i]) / (S - 1)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_chain_start(HmcTarget *t, HmcWindows *w, const HierInit *in, const HmcConfig *c, PetscInt lo,
                               PetscInt ch, double *etaz, double *u, double *p, double *logp, double *g)
{
  const PetscInt n = t->n, dim = NL + NZ * n;
  double ua, uj;
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(etaz, in->start, n * NZ));
  PetscCall(hmc_affine_laplace(t, in->etaL, etaz, w->H));
  hmc_from_eta(t, in->etaL, etaz, u);
  hmc_momenta(c->seed, (UINT64_C(1) << 31) + (uint64_t)ch, lo, n, p, &ua, &uj);
  for (PetscInt k = 0; k < dim; k++) u[k] += 0.3 * p[k];
  PetscCall(hmc_logp_grad(t, u, logp, g));
  if (!isfinite(*logp)) {
    hmc_from_eta(t, in->etaL, etaz, u);
    PetscCall(hmc_logp_grad(t, u, logp, g));
  }
  PetscCheck(isfinite(*logp), t->ctx->comm, PETSC_ERR_NOT_CONVERGED,
             "HMC: the starting point from the NPE draws lies outside the model's support");
  hmc_windows_reset(w);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_iteration_end(HmcTarget *t, HmcWindows *w, const HmcConfig *c, PetscInt ch, PetscInt it, double a,
                                 double eps, PetscInt L, double *u, double *logp, double *g, double *etaz, double *zs,
                                 double *zq, double *acc_sum, ParProgress *prog, HmcResult *r, PetscBool *refit)
{
  const PetscInt W = c->warmup, D = c->draws, T = W + D;
  double etaL[NL];
  char extra[96];
  PetscFunctionBeginUser;
  hmc_to_eta(t, u, etaL, etaz);
  PetscCall(hmc_windows_step(t, w, it, etaL, etaz, refit));
  if (*refit) {
    hmc_from_eta(t, etaL, etaz, u);
    PetscCall(hmc_logp_grad(t, u, logp, g));
  }
  if (it >= W) {
    hmc_record(&t->m->prior, t->n, etaL, etaz, r->draws + (ch * D + it - W) * 2, zs, zq);
    *acc_sum += a;
    /* A few of chain 1's kept draws of every star's locals, 10 iterations apart. */
    const PetscInt j = (it - W) / HMC_ZDRAW_GAP;
    if (ch == 0 && (it - W) % HMC_ZDRAW_GAP == 0 && j < HIER_ZDRAWS && r->zdraws) {
      for (PetscInt i = 0; i < t->n; i++)
        for (int q = 0; q < NZ; q++)
          r->zdraws[(i * HIER_ZDRAWS + j) * NZ + q] = hier_to_theta(&t->m->prior, 2 + q, etaz[i * NZ + q]);
      r->nzdraws = j + 1;
    }
  }
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "chain %" PetscInt_FMT " step %.3g L %" PetscInt_FMT, ch + 1, eps, L));
  PetscCall(par_progress_report(t->ctx, prog, ch * T + it + 1, c->chains * T, extra, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_zdraws_create(PetscInt n, HmcResult *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n * HIER_ZDRAWS * NZ + 1, &r->zdraws));
  r->nzdraws = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

double hmc_accept_prob(double dH, PetscBool *div)
{
  if (!isfinite(dH) || dH > 1000) {
    *div = PETSC_TRUE;
    return 0;
  }
  return dH <= 0 ? 1 : exp(-dH);
}
