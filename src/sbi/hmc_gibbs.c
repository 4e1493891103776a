/* HMC within Gibbs over (globals, all locals) in the affine coordinates (hmc.h). */
#include <chempysbi/hmc_affine.h>
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

PetscErrorCode hmc_gibbs_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                             HmcResult *r)
{
  const PetscInt n = m->n, dim = NL + NZ * n, W = c->warmup, D = c->draws, T = W + D;
  HmcTarget t;
  HmcWindows win;
  double *u, *p, *g, *etaz, *lpc, *logs, *zs, *zq, lacc = 0;
  LocalWork lw;
  ParProgress prog;
  PetscFunctionBeginUser;
  PetscCheck(
      c->chains >= 2 && W >= 20 && D >= 10 && c->local_steps >= 1 && c->local_steps <= 16 && c->leapfrog >= 1,
      PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
      "HMC (gibbs) needs >= 2 chains, >= 20 warm-up and >= 10 kept iterations, 1..16 local steps, >= 1 leapfrog");
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(PetscMalloc3(dim, &u, dim, &p, dim, &g));
  PetscCall(PetscMalloc3(n * NZ + 1, &etaz, n + 1, &lpc, n + 1, &logs));
  PetscCall(PetscMalloc4(dim, &lw.up, n * NZ + 1, &lw.ezp, n + 1, &lw.lpp, n + 1, &lw.uu));
  PetscCall(PetscCalloc2(n * NZ + 1, &zs, n * NZ + 1, &zq));
  PetscCall(PetscMalloc1(c->chains * D * 2, &r->draws));
  PetscCall(hmc_target_create(ctx, m, &t));
  PetscCall(hmc_windows_create(n, W, &win));
  double acc_sum = 0, t0 = cs_wtime();
  par_progress_start(&prog, "hmc", 0, c->progress_every);
  for (PetscInt ch = 0; ch < c->chains; ch++) {
    double logp, eps = 0.5, ua, uj;
    HmcDual dual;
    PetscCall(hmc_chain_start(&t, &win, in, c, lo, ch, etaz, u, p, &logp, g));
    PetscCall(PetscArraycpy(lpc, t.lp, n));
    for (PetscInt i = 0; i < n; i++) logs[i] = log(2.38 / 2); /* 2.38 / sqrt(dim) for a Gaussian target */
    hmc_dual_start(&dual, eps);
    for (PetscInt it = 0; it < T; it++) {
      uint64_t gi = (uint64_t)ch * T + it;
      hmc_momenta(c->seed, gi, lo, 0, p, &ua, &uj);
      PetscCall(locals_sweep(&t, c, gi, lo, it < W ? it : -1, u, lpc, logs, &lw, &lacc));
      /* The globals: a leapfrog trajectory in u_L at fixed u_z. */
      PetscCall(hmc_logp_grad(&t, u, &logp, g));
      if (it < W) eps = exp(dual.logeps);
      PetscInt L = PetscMax(1, PetscMin((PetscInt)floor(c->leapfrog * (0.5 + uj) + 0.5), c->max_leapfrog));
      double u0[NL] = {u[0], u[1]}, g0[NL] = {g[0], g[1]}, lp1 = logp;
      double H0 = -logp + 0.5 * (p[0] * p[0] + p[1] * p[1]);
      PetscBool div = PETSC_FALSE;
      for (PetscInt l = 0; l < L; l++) {
        for (int b = 0; b < NL; b++) p[b] += 0.5 * eps * g[b], u[b] += eps * p[b];
        PetscCall(hmc_logp_grad(&t, u, &lp1, g));
        r->nleapfrog++;
        if (!isfinite(lp1)) {
          div = PETSC_TRUE;
          break;
        }
        for (int b = 0; b < NL; b++) p[b] += 0.5 * eps * g[b];
      }
      double a = 0;
      if (!div) {
        double dH = -lp1 + 0.5 * (p[0] * p[0] + p[1] * p[1]) - H0;
        if (!isfinite(dH) || dH > 1000)
          div = PETSC_TRUE;
        else
          a = dH <= 0 ? 1 : exp(-dH);
      }
      if (div && it >= W) r->divergent++;
      if (ua < a) {
        logp = lp1;
        PetscCall(PetscArraycpy(lpc, t.lp, n)); /* every star's density at the new globals */
      } else
        u[0] = u0[0], u[1] = u0[1], g[0] = g0[0], g[1] = g0[1];
      if (it < W) hmc_dual_update(&dual, a, c->target_accept);
      if (it == W - 1) eps = exp(dual.logbar);
      PetscBool refit;
      PetscCall(
          hmc_iteration_end(&t, &win, c, ch, it, a, eps, L, u, &logp, g, etaz, zs, zq, &acc_sum, &prog, r, &refit));
      if (refit) {
        PetscCall(PetscArraycpy(lpc, t.lp, n));
        hmc_dual_start(&dual, exp(dual.logeps));
      }
    }
    r->step = eps;
  }
  PetscCall(hmc_summarise(c->chains, D, n, zs, zq, acc_sum, r));
  int64_t acc[2 * PAR_REPRO_LIMBS];
  par_repro_zero(acc, 2);
  par_repro_add(acc, lacc), par_repro_add(acc + PAR_REPRO_LIMBS, (double)n);
  PetscCall(par_allreduce_repro(ctx, acc, 2));
  r->local_accept =
      par_repro_value(acc) / PetscMax(1.0, par_repro_value(acc + PAR_REPRO_LIMBS) * c->chains * T * c->local_steps);
  r->seconds = cs_wtime() - t0;
  PetscCall(hmc_windows_destroy(&win));
  PetscCall(hmc_target_destroy(&t));
  PetscCall(PetscFree3(u, p, g));
  PetscCall(PetscFree3(etaz, lpc, logs));
  PetscCall(PetscFree4(lw.up, lw.ezp, lw.lpp, lw.uu));
  PetscCall(PetscFree2(zs, zq));
  PetscFunctionReturn(PETSC_SUCCESS);
}
