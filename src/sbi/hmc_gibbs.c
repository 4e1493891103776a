/* HMC within Gibbs over (globals, all locals) in the affine coordinates (hmc.h). */
#include <chempysbi/hmc_affine.h>
#include <chempysbi/mcmc.h>
#include <math.h>

#define NL HIER_NL
#define NZ HIER_NZ

/* Every star's locals: `local_steps` Metropolis steps at fixed u_L, each star with its own scale
 * exp(logs_i), adapted in warm-up towards acceptance 0.3 (Robbins-Monro; adapt_it < 0: fixed). The
 * stars are independent given u_L, so no communication. lpc holds every star's current log
 * density. Random numbers from (seed, RNG_GIBBS, (k << 32) | star). (A per-star HMC step here,
 * 6 leapfrogs at acceptance 0.8, mixed the globals half as well per CPU second as 8 such steps.) */
typedef struct {
  double *up, *ezp, *lpp, *uu; /* proposal (2 + 4n), its eta (n, 4) and log density (n), uniforms (n) */
} LocalWork;

static PetscErrorCode locals_sweep(HmcTarget *t, const HmcConfig *c, uint64_t k0, PetscInt lo, PetscInt adapt_it,
                                   double *u, double *lpc, double *logs, LocalWork *w, double *asum)
{
  const PetscInt n = t->n;
  double etaL[NL];
  PetscFunctionBeginUser;
  for (PetscInt s = 0; s < c->local_steps; s++) {
    uint64_t k = k0 * 16 + (uint64_t)s;
    w->up[0] = u[0], w->up[1] = u[1];
    for (PetscInt i = 0; i < n; i++) {
      Rng r;
      rng_init(&r, c->seed, RNG_GIBBS, (k << 32) | (uint64_t)(lo + i));
      double sc = exp(logs[i]);
      for (int q = 0; q < NZ; q++) w->up[NL + i * NZ + q] = u[NL + i * NZ + q] + sc * rng_normal(&r);
      w->uu[i] = rng_uniform(&r);
    }
    hmc_to_eta(t, w->up, etaL, w->ezp);
    PetscCall(hier_star_logp(t->m, etaL, w->ezp, w->lpp, NULL, NULL));
    for (PetscInt i = 0; i < n; i++) {
      double d = w->lpp[i] - lpc[i];
      PetscBool acc = isfinite(w->lpp[i]) && (d >= 0 || log(w->uu[i]) < d);
      if (acc) {
        for (int q = 0; q < NZ; q++) u[NL + i * NZ + q] = w->up[NL + i * NZ + q];
        lpc[i] = w->lpp[i];
      }
      if (adapt_it >= 0) logs[i] += ((acc ? 1.0 : 0.0) - 0.3) * 2.0 / sqrt((double)adapt_it + 10.0);
      *asum += acc;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One chain's state between blocks of sweeps. */
typedef struct {
  double *u, *lpc, *logs, eps; /* (2 + 4n), (n), (n) */
  HmcDual dual;
} Chain;

typedef struct {
  HmcTarget t;
  HmcWindows win;
  LocalWork lw;
  HmcConfig cc; /* c with draws = the most draws a chain may take (the layout of r->draws) */
  PetscInt lo;
  double *p, *g, *etaz, *zs, *zq, lacc, acc_sum;
  ParProgress prog;
} Gibbs;

/* Sweeps it0 .. it1-1 of chain ch (0 .. W-1 are the warm-up). */
static PetscErrorCode chain_sweeps(Gibbs *G, Chain *s, PetscInt ch, PetscInt it0, PetscInt it1, HmcResult *r)
{
  const HmcConfig *c = &G->cc;
  const PetscInt n = G->t.n, W = c->warmup, T = W + c->draws;
  double *u = s->u, *p = G->p, *g = G->g, logp, ua, uj;
  PetscFunctionBeginUser;
  for (PetscInt it = it0; it < it1; it++) {
    uint64_t gi = (uint64_t)ch * T + it;
    hmc_momenta(c->seed, gi, G->lo, 0, p, &ua, &uj);
    PetscCall(locals_sweep(&G->t, c, gi, G->lo, it < W ? it : -1, u, s->lpc, s->logs, &G->lw, &G->lacc));
    /* The globals: a leapfrog trajectory in u_L at fixed u_z. */
    PetscCall(hmc_logp_grad(&G->t, u, &logp, g));
    if (it < W) s->eps = exp(s->dual.logeps);
    const double eps = s->eps;
    PetscInt L = PetscMax(1, PetscMin((PetscInt)floor(c->leapfrog * (0.5 + uj) + 0.5), c->max_leapfrog));
    double u0[NL] = {u[0], u[1]}, g0[NL] = {g[0], g[1]}, lp1 = logp;
    double H0 = -logp + 0.5 * (p[0] * p[0] + p[1] * p[1]);
    PetscBool div = PETSC_FALSE;
    for (PetscInt l = 0; l < L; l++) {
      for (int b = 0; b < NL; b++) p[b] += 0.5 * eps * g[b], u[b] += eps * p[b];
      PetscCall(hmc_logp_grad(&G->t, u, &lp1, g));
      r->nleapfrog++;
      if (!isfinite(lp1)) {
        div = PETSC_TRUE;
        break;
      }
      for (int b = 0; b < NL; b++) p[b] += 0.5 * eps * g[b];
    }
    double a = 0;
    if (!div) { a = hmc_accept_prob(-lp1 + 0.5 * (p[0] * p[0] + p[1] * p[1]) - H0, &div); }
    if (div && it >= W) r->divergent++;
    if (ua < a) {
      logp = lp1;
      PetscCall(PetscArraycpy(s->lpc, G->t.lp, n)); /* every star's density at the new globals */
    } else
      u[0] = u0[0], u[1] = u0[1], g[0] = g0[0], g[1] = g0[1];
    if (it < W) hmc_dual_update(&s->dual, a, c->target_accept);
    if (it == W - 1) s->eps = exp(s->dual.logbar);
    PetscBool refit;
    PetscCall(hmc_iteration_end(&G->t, &G->win, c, ch, it, a, s->eps, L, u, &logp, g, G->etaz, G->zs, G->zq,
                                &G->acc_sum, &G->prog, r, &refit));
    if (refit) {
      PetscCall(PetscArraycpy(s->lpc, G->t.lp, n));
      hmc_dual_start(&s->dual, exp(s->dual.logeps));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* R-hat and bulk ESS of both globals over the first d kept draws of every chain. */
static PetscBool converged(const HmcConfig *cc, PetscInt chains, PetscInt d, const double *draws, double *x,
                           double rhat[2], double ess[2])
{
  PetscBool ok = PETSC_TRUE;
  for (int b = 0; b < 2; b++) {
    for (PetscInt ch = 0; ch < chains; ch++)
      for (PetscInt k = 0; k < d; k++) x[ch * d + k] = draws[(ch * cc->draws + k) * 2 + b];
    rhat[b] = mcmc_rhat(x, (int)chains, (int)d);
    ess[b] = mcmc_ess_bulk(x, (int)chains, (int)d);
    if (!(rhat[b] <= 1.01) || !(ess[b] >= 400)) ok = PETSC_FALSE;
  }
  return ok;
}

PetscErrorCode hmc_gibbs_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                             HmcResult *r)
{
  const PetscInt n = m->n, dim = NL + NZ * n, W = c->warmup, D = c->draws, K = c->chains;
  const PetscInt Dmax = PetscMax(D, c->max_draws);
  Gibbs G = {.cc = *c, .lo = lo};
  Chain *chs;
  double *x, rhat[2], ess[2];
  PetscFunctionBeginUser;
  PetscCheck(
      K >= 2 && W >= 20 && D >= 10 && c->local_steps >= 1 && c->local_steps <= 16 && c->leapfrog >= 1, PETSC_COMM_SELF,
      PETSC_ERR_ARG_OUTOFRANGE,
      "HMC (gibbs) needs >= 2 chains, >= 20 warm-up and >= 10 kept iterations, 1..16 local steps, >= 1 leapfrog");
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(hmc_zdraws_create(n, r));
  G.cc.draws = Dmax;
  PetscCall(PetscMalloc3(dim, &G.p, dim, &G.g, n * NZ + 1, &G.etaz));
  PetscCall(PetscMalloc4(dim, &G.lw.up, n * NZ + 1, &G.lw.ezp, n + 1, &G.lw.lpp, n + 1, &G.lw.uu));
  PetscCall(PetscCalloc2(n * NZ + 1, &G.zs, n * NZ + 1, &G.zq));
  PetscCall(PetscMalloc1(K * Dmax * 2, &r->draws));
  PetscCall(PetscMalloc1(K * Dmax, &x));
  PetscCall(PetscMalloc1(K, &chs));
  PetscCall(hmc_target_create(ctx, m, &G.t));
  PetscCall(hmc_windows_create(n, W, &G.win));
  double t0 = cs_wtime();
  par_progress_start(&G.prog, "hmc", 0, c->progress_every);
  /* Warm-up and the first D draws of every chain. */
  for (PetscInt ch = 0; ch < K; ch++) {
    Chain *s = &chs[ch];
    double logp;
    PetscCall(PetscMalloc3(dim, &s->u, n + 1, &s->lpc, n + 1, &s->logs));
    PetscCall(hmc_chain_start(&G.t, &G.win, in, c, lo, ch, G.etaz, s->u, G.p, &logp, G.g));
    PetscCall(PetscArraycpy(s->lpc, G.t.lp, n));
    for (PetscInt i = 0; i < n; i++) s->logs[i] = log(2.38 / 2); /* 2.38 / sqrt(dim) for a Gaussian target */
    s->eps = 0.5;
    hmc_dual_start(&s->dual, s->eps);
    PetscCall(chain_sweeps(&G, s, ch, 0, W + D, r));
  }
  /* Not yet converged: every chain D draws more, up to -hmc_max_draws (the same rule on every rank). */
  PetscInt d = D;
  while (!converged(&G.cc, K, d, r->draws, x, rhat, ess) && d + D <= Dmax) {
    PetscCall(PetscInfo(
        NULL, "hmc: R-hat %.4f %.4f, ESS %.0f %.0f after %" PetscInt_FMT " draws: %" PetscInt_FMT " more per chain\n",
        rhat[0], rhat[1], ess[0], ess[1], d, D));
    for (PetscInt ch = 0; ch < K; ch++) PetscCall(chain_sweeps(&G, &chs[ch], ch, W + d, W + d + D, r));
    d += D;
  }
  r->step = chs[K - 1].eps;
  /* The kept draws packed to (chains, d, 2) for the summaries. */
  for (PetscInt ch = 0; ch < K; ch++)
    for (PetscInt k = 0; k < d; k++)
      for (int b = 0; b < 2; b++) r->draws[(ch * d + k) * 2 + b] = r->draws[(ch * Dmax + k) * 2 + b];
  r->ndraws = d;
  PetscCall(hmc_summarise(K, d, n, G.zs, G.zq, G.acc_sum, r));
  int64_t acc[2 * PAR_REPRO_LIMBS];
  par_repro_zero(acc, 2);
  par_repro_add(acc, G.lacc), par_repro_add(acc + PAR_REPRO_LIMBS, (double)n);
  PetscCall(par_allreduce_repro(ctx, acc, 2));
  r->local_accept =
      par_repro_value(acc) / PetscMax(1.0, par_repro_value(acc + PAR_REPRO_LIMBS) * K * (W + d) * c->local_steps);
  r->seconds = cs_wtime() - t0;
  for (PetscInt ch = 0; ch < K; ch++) PetscCall(PetscFree3(chs[ch].u, chs[ch].lpc, chs[ch].logs));
  PetscCall(PetscFree(chs));
  PetscCall(PetscFree(x));
  PetscCall(hmc_windows_destroy(&G.win));
  PetscCall(hmc_target_destroy(&G.t));
  PetscCall(PetscFree3(G.p, G.g, G.etaz));
  PetscCall(PetscFree4(G.lw.up, G.lw.ezp, G.lw.lpp, G.lw.uu));
  PetscCall(PetscFree2(G.zs, G.zq));
  PetscFunctionReturn(PETSC_SUCCESS);
}
