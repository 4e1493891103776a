/* HMC over (globals, all locals) with the affine conditional metric (hmc.h).
 * Per leapfrog step: each rank's stars through the mean model (forward and
 * backward), then one par_allreduce_repro of three sums. */
#include <chempysbi/hmc.h>
#include <chempysbi/mcmc.h>
#include <math.h>

#define NL         HIER_NL
#define NZ         HIER_NZ
#define GLOBAL_IDX UINT64_C(0xffffffff) /* stream index of the globals' momenta and decisions */

void hmc_config_default(HmcConfig *c)
{
  c->chains = 4;
  c->warmup = 400;
  c->draws = 500;
  c->max_leapfrog = 512;
  c->target_accept = 0.8;
  c->traj = M_PI / 2;
  c->seed = 1;
  c->progress_every = 5;
}

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

typedef struct {
  double m[NL], A[NL * NL]; /* eta_L = m + A u_L */
  double *a, *B, *C;        /* (n, 4), (n, 4 x 2), (n, 4 x 4) */
} Affine;

typedef struct {
  const ParCtx *ctx;
  HierModel *m;
  Affine f;
  PetscInt n;
  double *etaz, *lp, *gz, *gL; /* (n, 4), (n), (n, 4), (n, 2) */
} Target;

static void to_eta(const Target *t, const double *u, double etaL[NL], double *etaz)
{
  const Affine *f = &t->f;
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

static void from_eta(const Target *t, const double etaL[NL], const double *etaz, double *u)
{
  const Affine *f = &t->f;
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
static PetscErrorCode logp_grad(Target *t, const double *u, double *logp, double *g)
{
  const Affine *f = &t->f;
  double etaL[NL], gp[NL], gLt[NL];
  int64_t acc[3 * PAR_REPRO_LIMBS];
  PetscFunctionBeginUser;
  to_eta(t, u, etaL, t->etaz);
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
static PetscErrorCode kinetic(const Target *t, const double *p, double *K)
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
static PetscErrorCode affine_laplace(Target *t, const double etaL[NL], const double *etaz, double *H)
{
  Affine *f = &t->f;
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
static void window_add(double *W, PetscInt n, const double etaL[NL], const double *etaz)
{
  for (PetscInt i = 0; i < n; i++) {
    double e[6] = {etaL[0], etaL[1], etaz[i * 4], etaz[i * 4 + 1], etaz[i * 4 + 2], etaz[i * 4 + 3]}, *w = W + i * 42;
    for (int a = 0; a < 6; a++) {
      w[a] += e[a];
      for (int b = 0; b < 6; b++) w[6 + a * 6 + b] += e[a] * e[b];
    }
  }
}

typedef struct { /* dual averaging of log step size (Hoffman & Gelman 2014) */
  double mu, hbar, logeps, logbar;
  PetscInt m;
} Dual;

static void dual_start(Dual *d, double eps)
{
  d->mu = log(10 * eps), d->hbar = 0, d->logeps = log(eps), d->logbar = 0, d->m = 0;
}
static void dual_update(Dual *d, double accept, double target)
{
  const double gamma = 0.05, t0 = 10, kappa = 0.75;
  d->m++;
  double w = 1.0 / (d->m + t0);
  d->hbar = (1 - w) * d->hbar + w * (target - accept);
  d->logeps = d->mu - sqrt((double)d->m) / gamma * d->hbar;
  double mk = pow((double)d->m, -kappa);
  d->logbar = mk * d->logeps + (1 - mk) * d->logbar;
}

static void momenta(const HmcConfig *c, uint64_t it, PetscInt lo, PetscInt n, double *p, double *uacc, double *ujit)
{
  Rng r;
  rng_init(&r, c->seed, RNG_HMC, (it << 32) | GLOBAL_IDX);
  p[0] = rng_normal(&r), p[1] = rng_normal(&r);
  *uacc = rng_uniform(&r), *ujit = rng_uniform(&r);
  for (PetscInt i = 0; i < n; i++) {
    rng_init(&r, c->seed, RNG_HMC, (it << 32) | (uint64_t)(lo + i));
    for (int q = 0; q < NZ; q++) p[NL + i * NZ + q] = rng_normal(&r);
  }
}

PetscErrorCode hmc_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                       HmcResult *r)
{
  const PetscInt n = m->n, dim = NL + NZ * n, W = c->warmup, D = c->draws, T = W + D;
  const PetscInt w1 = (PetscInt)(0.15 * W), w2 = (PetscInt)(0.5 * W), w3 = (PetscInt)(0.8 * W);
  Target t = {.ctx = ctx, .m = m, .n = n};
  double *u, *u0, *p, *g, *g0, *etaz, *Wsum, *mu, *cov, *zs, *zq, WG[6];
  PetscInt ntot = n;
  ParProgress prog;
  PetscFunctionBeginUser;
  PetscCheck(c->chains >= 2 && W >= 20 && D >= 10, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "HMC needs >= 2 chains, >= 20 warm-up and >= 10 kept iterations");
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(par_allreduce_count(ctx, &ntot));
  PetscCall(PetscMalloc5(dim, &u, dim, &u0, dim, &p, dim, &g, dim, &g0));
  PetscCall(PetscMalloc5(n * NZ + 1, &t.etaz, n + 1, &t.lp, n * NZ + 1, &t.gz, n * NL + 1, &t.gL, n * NZ + 1, &etaz));
  PetscCall(PetscMalloc3(n * 4 + 1, &t.f.a, n * 8 + 1, &t.f.B, n * 16 + 1, &t.f.C));
  PetscCall(PetscMalloc3(n * 42 + 1, &Wsum, n * 6 + 1, &mu, n * 36 + 1, &cov));
  PetscCall(PetscCalloc2(n * 4 + 1, &zs, n * 4 + 1, &zq));
  PetscCall(PetscMalloc1(c->chains * D * 2, &r->draws));
  const double eps0 = pow((double)(NL + NZ * ntot), -0.25);
  double acc_sum = 0, t0 = cs_wtime();
  par_progress_start(&prog, "hmc", 0, c->progress_every);
  for (PetscInt ch = 0; ch < c->chains; ch++) {
    double logp, etaL[NL], eps = eps0, ua, uj;
    Dual dual;
    PetscInt nwin = 0;
    /* Start: the NPE's best draws of the locals, the Laplace metric there; the start jittered per chain. */
    PetscCall(PetscArraycpy(etaz, in->start, n * NZ));
    PetscCall(affine_laplace(&t, in->etaL, etaz, cov));
    from_eta(&t, in->etaL, etaz, u);
    momenta(c, (UINT64_C(1) << 31) + (uint64_t)ch, lo, n, p, &ua, &uj);
    for (PetscInt k = 0; k < dim; k++) u[k] += 0.3 * p[k];
    PetscCall(logp_grad(&t, u, &logp, g));
    if (!isfinite(logp)) { /* a jittered start outside the support: the unjittered one */
      from_eta(&t, in->etaL, etaz, u);
      PetscCall(logp_grad(&t, u, &logp, g));
    }
    PetscCheck(isfinite(logp), ctx->comm, PETSC_ERR_NOT_CONVERGED,
               "HMC: the starting point from the NPE draws lies outside the model's support");
    dual_start(&dual, eps);
    PetscCall(PetscArrayzero(Wsum, n * 42));
    PetscCall(PetscArrayzero(WG, 6));
    for (PetscInt it = 0; it < T; it++) {
      uint64_t gi = (uint64_t)ch * T + it;
      momenta(c, gi, lo, n, p, &ua, &uj);
      if (it < W) eps = exp(dual.logeps);
      PetscInt L = (PetscInt)ceil(c->traj * (0.5 + uj) / eps);
      L = PetscMax(1, PetscMin(L, c->max_leapfrog));
      double K0, K1, lp1 = logp, H0;
      PetscCall(kinetic(&t, p, &K0));
      H0 = -logp + K0;
      PetscCall(PetscArraycpy(u0, u, dim));
      PetscCall(PetscArraycpy(g0, g, dim));
      PetscBool div = PETSC_FALSE;
      for (PetscInt l = 0; l < L; l++) {
        for (PetscInt k = 0; k < dim; k++) p[k] += 0.5 * eps * g[k];
        for (PetscInt k = 0; k < dim; k++) u[k] += eps * p[k];
        PetscCall(logp_grad(&t, u, &lp1, g));
        r->nleapfrog++;
        if (!isfinite(lp1)) {
          div = PETSC_TRUE;
          break;
        }
        for (PetscInt k = 0; k < dim; k++) p[k] += 0.5 * eps * g[k];
      }
      double a = 0;
      if (!div) {
        PetscCall(kinetic(&t, p, &K1));
        double dH = -lp1 + K1 - H0;
        if (!isfinite(dH) || dH > 1000)
          div = PETSC_TRUE;
        else
          a = dH <= 0 ? 1 : exp(-dH);
      }
      if (div && it >= W) r->divergent++; /* after warm-up, as Stan reports them */
      if (ua < a)
        logp = lp1;
      else {
        PetscCall(PetscArraycpy(u, u0, dim));
        PetscCall(PetscArraycpy(g, g0, dim));
      }
      if (it < W) dual_update(&dual, a, c->target_accept);
      if (it == W - 1) eps = exp(dual.logbar);
      to_eta(&t, u, etaL, etaz);
      /* Metric windows [w1, w2) and [w2, w3): re-fit at their ends. */
      if (it >= w1 && it < w3) {
        window_add(Wsum, n, etaL, etaz);
        WG[0] += etaL[0], WG[1] += etaL[1];
        for (int x = 0; x < 2; x++)
          for (int y = 0; y < 2; y++) WG[2 + x * 2 + y] += etaL[x] * etaL[y];
        nwin++;
        if ((it == w2 - 1 || it == w3 - 1) && nwin >= 10) {
          /* The Laplace metric at the window's mean. */
          double mL[NL] = {WG[0] / nwin, WG[1] / nwin};
          for (PetscInt i = 0; i < n; i++)
            for (int q = 0; q < NZ; q++) mu[i * NZ + q] = Wsum[i * 42 + 2 + q] / nwin;
          PetscCall(affine_laplace(&t, mL, mu, cov));
          from_eta(&t, etaL, etaz, u);
          PetscCall(logp_grad(&t, u, &logp, g));
          dual_start(&dual, exp(dual.logeps));
          PetscCall(PetscArrayzero(Wsum, n * 42));
          PetscCall(PetscArrayzero(WG, 6));
          nwin = 0;
        }
      }
      if (it >= W) {
        double *d = r->draws + (ch * D + it - W) * 2;
        for (int b = 0; b < NL; b++) d[b] = hier_to_theta(&m->prior, b, etaL[b]);
        for (PetscInt i = 0; i < n * NZ; i++) {
          double th = hier_to_theta(&m->prior, 2 + (int)(i % NZ), etaz[i]);
          zs[i] += th, zq[i] += th * th;
        }
        acc_sum += a;
      }
      char extra[96];
      PetscCall(
          PetscSNPrintf(extra, sizeof(extra), "chain %" PetscInt_FMT " step %.3g L %" PetscInt_FMT, ch + 1, eps, L));
      PetscCall(par_progress_report(ctx, &prog, ch * T + it + 1, c->chains * T, extra, PETSC_FALSE));
    }
    r->step = eps;
  }
  /* Summaries of the globals from every chain's kept draws. */
  PetscInt S = c->chains * D;
  double mean[2] = {0, 0}, C[4] = {0, 0, 0, 0}, *x;
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
    r->rhat[b] = mcmc_rhat(x, (int)c->chains, (int)D);
    r->ess[b] = mcmc_ess_bulk(x, (int)c->chains, (int)D);
    if (!(r->rhat[b] <= 1.01) || !(r->ess[b] >= 400)) r->converged = PETSC_FALSE;
  }
  PetscCall(PetscFree(x));
  r->accept = acc_sum / S;
  PetscCall(PetscMalloc2(n * NZ + 1, &r->zmean, n * NZ + 1, &r->zsd));
  for (PetscInt i = 0; i < n * NZ; i++) {
    r->zmean[i] = zs[i] / S;
    r->zsd[i] = sqrt(fmax(0, (zq[i] - S * r->zmean[i] * r->zmean[i]) / (S - 1)));
  }
  r->seconds = cs_wtime() - t0;
  PetscCall(PetscFree5(u, u0, p, g, g0));
  PetscCall(PetscFree5(t.etaz, t.lp, t.gz, t.gL, etaz));
  PetscCall(PetscFree3(t.f.a, t.f.B, t.f.C));
  PetscCall(PetscFree3(Wsum, mu, cov));
  PetscCall(PetscFree2(zs, zq));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_result_destroy(HmcResult *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(r->draws));
  PetscCall(PetscFree2(r->zmean, r->zsd));
  PetscFunctionReturn(PETSC_SUCCESS);
}
