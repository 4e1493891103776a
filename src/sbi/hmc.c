/* HMC over (globals, all locals) with the affine conditional metric (hmc.h).
 * Per leapfrog step: each rank's stars through the mean model (forward and
 * backward), then one par_allreduce_repro of three sums. */
#include <chempysbi/hmc.h>
#include <chempysbi/hmc_affine.h>
#include <math.h>

#define NL HIER_NL
#define NZ HIER_NZ

const char *const hmc_sampler_names[] = {"gibbs", "joint", "HmcSampler", "HMC_", NULL};

void hmc_config_default(HmcConfig *c)
{
  c->sampler = HMC_GIBBS;
  c->local_steps = 8;
  c->leapfrog = 4;
  c->chains = 4;
  c->warmup = 400;
  c->draws = 1000;
  c->max_draws = 4000;
  c->max_leapfrog = 512;
  c->target_accept = 0.8;
  c->traj = M_PI / 2;
  c->seed = 1;
  c->progress_every = 5;
}

PetscErrorCode hmc_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                       HmcResult *r)
{
  PetscFunctionBeginUser;
  if (c->sampler == HMC_GIBBS)
    PetscCall(hmc_gibbs_run(ctx, m, in, lo, c, r));
  else
    PetscCall(hmc_joint_run(ctx, m, in, lo, c, r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The joint sampler: one leapfrog trajectory over all 2 + 4N parameters per iteration. */
PetscErrorCode hmc_joint_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const HmcConfig *c,
                             HmcResult *r)
{
  const PetscInt n = m->n, dim = NL + NZ * n, W = c->warmup, D = c->draws, T = W + D;
  HmcTarget t;
  double *u, *u0, *p, *g, *g0, *etaz, *zs, *zq;
  HmcWindows win;
  PetscInt ntot = n;
  ParProgress prog;
  PetscFunctionBeginUser;
  PetscCheck(c->chains >= 2 && W >= 20 && D >= 10, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "HMC needs >= 2 chains, >= 20 warm-up and >= 10 kept iterations");
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(hmc_zdraws_create(n, r));
  PetscCall(par_allreduce_count(ctx, &ntot));
  PetscCall(PetscMalloc5(dim, &u, dim, &u0, dim, &p, dim, &g, dim, &g0));
  PetscCall(hmc_target_create(ctx, m, &t));
  PetscCall(PetscMalloc1(n * NZ + 1, &etaz));
  PetscCall(hmc_windows_create(n, W, &win));
  PetscCall(PetscCalloc2(n * 4 + 1, &zs, n * 4 + 1, &zq));
  PetscCall(PetscMalloc1(c->chains * D * 2, &r->draws));
  const double eps0 = pow((double)(NL + NZ * ntot), -0.25);
  double acc_sum = 0, t0 = cs_wtime();
  par_progress_start(&prog, "hmc", 0, c->progress_every);
  for (PetscInt ch = 0; ch < c->chains; ch++) {
    double logp, eps = eps0, ua, uj;
    HmcDual dual;
    PetscCall(hmc_chain_start(&t, &win, in, c, lo, ch, etaz, u, p, &logp, g));
    hmc_dual_start(&dual, eps);
    for (PetscInt it = 0; it < T; it++) {
      uint64_t gi = (uint64_t)ch * T + it;
      hmc_momenta(c->seed, gi, lo, n, p, &ua, &uj);
      if (it < W) eps = exp(dual.logeps);
      PetscInt L = (PetscInt)ceil(c->traj * (0.5 + uj) / eps);
      L = PetscMax(1, PetscMin(L, c->max_leapfrog));
      double K0, K1, lp1 = logp, H0;
      PetscCall(hmc_kinetic(&t, p, &K0));
      H0 = -logp + K0;
      PetscCall(PetscArraycpy(u0, u, dim));
      PetscCall(PetscArraycpy(g0, g, dim));
      PetscBool div = PETSC_FALSE;
      for (PetscInt l = 0; l < L; l++) {
        for (PetscInt k = 0; k < dim; k++) p[k] += 0.5 * eps * g[k];
        for (PetscInt k = 0; k < dim; k++) u[k] += eps * p[k];
        PetscCall(hmc_logp_grad(&t, u, &lp1, g));
        r->nleapfrog++;
        if (!isfinite(lp1)) {
          div = PETSC_TRUE;
          break;
        }
        for (PetscInt k = 0; k < dim; k++) p[k] += 0.5 * eps * g[k];
      }
      double a = 0;
      if (!div) {
        PetscCall(hmc_kinetic(&t, p, &K1));
        a = hmc_accept_prob(-lp1 + K1 - H0, &div);
      }
      if (div && it >= W) r->divergent++; /* after warm-up, as Stan reports them */
      if (ua < a)
        logp = lp1;
      else {
        PetscCall(PetscArraycpy(u, u0, dim));
        PetscCall(PetscArraycpy(g, g0, dim));
      }
      if (it < W) hmc_dual_update(&dual, a, c->target_accept);
      if (it == W - 1) eps = exp(dual.logbar);
      PetscBool refit;
      PetscCall(
          hmc_iteration_end(&t, &win, c, ch, it, a, eps, L, u, &logp, g, etaz, zs, zq, &acc_sum, &prog, r, &refit));
      if (refit) { hmc_dual_start(&dual, exp(dual.logeps)); }
    }
    r->step = eps;
  }
  r->ndraws = D;
  PetscCall(hmc_summarise(c->chains, D, n, zs, zq, acc_sum, r));
  r->seconds = cs_wtime() - t0;
  PetscCall(PetscFree5(u, u0, p, g, g0));
  PetscCall(hmc_target_destroy(&t));
  PetscCall(PetscFree(etaz));
  PetscCall(hmc_windows_destroy(&win));
  PetscCall(PetscFree2(zs, zq));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hmc_result_destroy(HmcResult *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(r->draws));
  PetscCall(PetscFree2(r->zmean, r->zsd));
  PetscCall(PetscFree(r->zdraws));
  PetscFunctionReturn(PETSC_SUCCESS);
}
