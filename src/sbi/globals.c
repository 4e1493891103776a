/* Method dispatch for the globals (globals.h). */
#include <chempysbi/globals.h>
#include <chempysbi/combine.h>
#include <chempysbi/gce.h>
#include <math.h>

const char *const globals_method_names[] = {"auto", "gauss",     "hmc",           "newton",   "abc",
                                            "nre",  "nre_gauss", "GlobalsMethod", "GLOBALS_", NULL};

void globals_config_default(GlobalsConfig *c)
{
  c->method = GLOBALS_AUTO;
  c->auto_hmc_below = 100;
  c->init_samples = 200;
  c->samples = 1000;
  c->default_err = 0.05;
  c->seed = 1;
  c->correct = PETSC_TRUE;
  c->correct_draws = 4;
  c->chempy = NULL;
  c->perstar = NULL;
  (void)perstar_config_default(&c->ps);
  hmc_config_default(&c->hmc);
  newton_config_default(&c->newton);
}

PetscErrorCode globals_set_from_options(MPI_Comm comm, GlobalsConfig *c)
{
  PetscEnum m = (PetscEnum)c->method;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "Inference method for the globals", "globals");
  PetscCall(
      PetscOptionsEnum("-method",
                       "auto (hmc below -auto_hmc_below stars, newton above), gauss (Gaussian product of NPE "
                       "posteriors), hmc (exact joint HMC), newton (Newton on the globals, Monte-Carlo locals), "
                       "abc (Gaussian product of ABC posteriors, -table), nre (newton with a ratio estimator as the "
                       "likelihood, -nre), nre_gauss (Gaussian product of NRE posteriors, -nre)",
                       NULL, globals_method_names, m, &m, NULL));
  PetscCall(PetscOptionsInt("-auto_hmc_below", "auto: use hmc below this many stars, newton from it", NULL,
                            c->auto_hmc_below, &c->auto_hmc_below, NULL));
  PetscCall(PetscOptionsInt("-init_samples", "exact methods: NPE draws per star for the starting point", NULL,
                            c->init_samples, &c->init_samples, NULL));
  PetscCall(PetscOptionsBool("-correct_emulator",
                             "exact methods: subtract the emulator's residual, from CHEMPY runs at each star's "
                             "posterior draws (CHEMPY options -scheme, -yields, ... as for the training set)",
                             NULL, c->correct, &c->correct, NULL));
  PetscCall(PetscOptionsInt("-correct_draws",
                            "-correct_emulator: average each star's residual over this many of its posterior draws "
                            "(one CHEMPY run each; 0: one run at the posterior mean)",
                            NULL, c->correct_draws, &c->correct_draws, NULL));
  PetscCall(PetscOptionsEnum("-hmc_sampler",
                             "hmc: gibbs (leapfrog on the globals within sweeps of per-star Metropolis steps) or joint "
                             "(one leapfrog over all parameters)",
                             NULL, hmc_sampler_names, (PetscEnum)c->hmc.sampler, (PetscEnum *)&c->hmc.sampler, NULL));
  PetscCall(PetscOptionsInt("-hmc_local_steps", "hmc gibbs: Metropolis steps of each star's locals per sweep", NULL,
                            c->hmc.local_steps, &c->hmc.local_steps, NULL));
  PetscCall(PetscOptionsInt("-hmc_leapfrog", "hmc gibbs: mean leapfrog steps of the globals per sweep", NULL,
                            c->hmc.leapfrog, &c->hmc.leapfrog, NULL));
  PetscCall(PetscOptionsInt("-hmc_chains", "hmc: chains", NULL, c->hmc.chains, &c->hmc.chains, NULL));
  PetscCall(
      PetscOptionsInt("-hmc_warmup", "hmc: warm-up iterations per chain", NULL, c->hmc.warmup, &c->hmc.warmup, NULL));
  PetscCall(PetscOptionsInt("-hmc_draws", "hmc: kept iterations per chain", NULL, c->hmc.draws, &c->hmc.draws, NULL));
  PetscCall(PetscOptionsInt("-hmc_max_draws",
                            "hmc gibbs: while R-hat > 1.01 or ESS < 400, -hmc_draws more per chain, up to this many",
                            NULL, c->hmc.max_draws, &c->hmc.max_draws, NULL));
  PetscCall(PetscOptionsInt("-hmc_max_leapfrog", "hmc: cap on leapfrog steps per iteration", NULL, c->hmc.max_leapfrog,
                            &c->hmc.max_leapfrog, NULL));
  PetscCall(PetscOptionsReal("-hmc_target_accept", "hmc: dual-averaging acceptance target", NULL, c->hmc.target_accept,
                             &c->hmc.target_accept, NULL));
  PetscCall(PetscOptionsInt("-newton_steps", "newton: Metropolis steps per star per iteration", NULL, c->newton.steps,
                            &c->newton.steps, NULL));
  PetscCall(PetscOptionsInt("-newton_final_steps", "newton: Metropolis steps per star in the final evaluation", NULL,
                            c->newton.final_steps, &c->newton.final_steps, NULL));
  PetscCall(PetscOptionsInt("-newton_max_iter", "newton: iterations before the final evaluation", NULL,
                            c->newton.max_iter, &c->newton.max_iter, NULL));
  PetscCall(PetscOptionsInt("-newton_burn0", "newton: Metropolis burn-in steps per star before the first iteration",
                            NULL, c->newton.burn0, &c->newton.burn0, NULL));
  PetscCall(PetscOptionsInt("-newton_burn", "newton: Metropolis burn-in steps per star after each move of the globals",
                            NULL, c->newton.burn, &c->newton.burn, NULL));
  PetscCall(PetscOptionsInt("-newton_thin", "newton: score every this many steps", NULL, c->newton.thin,
                            &c->newton.thin, NULL));
  PetscOptionsEnd();
  c->method = (GlobalsMethod)m;
  if (globals_is_other(c->method))
    PetscCall(perstar_set_from_options(comm, c->method == GLOBALS_ABC ? PERSTAR_ABC : PERSTAR_NRE, &c->ps));
  PetscCheck(c->correct_draws >= 0 && c->correct_draws <= HIER_ZDRAWS, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-correct_draws %" PetscInt_FMT ": need 0 .. %d", c->correct_draws, HIER_ZDRAWS);
  PetscCheck(c->init_samples >= 8 && c->init_samples <= 100000, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-init_samples %" PetscInt_FMT ": need 8 .. 100000", c->init_samples);
  PetscCheck(c->hmc.chains >= 2 && c->hmc.chains <= 64 && c->hmc.warmup >= 20 && c->hmc.draws >= 10 &&
                 c->hmc.warmup + c->hmc.draws <= 1000000 && c->hmc.max_leapfrog >= 1,
             comm, PETSC_ERR_ARG_OUTOFRANGE,
             "hmc: need 2..64 -hmc_chains, -hmc_warmup >= 20, -hmc_draws >= 10, -hmc_max_leapfrog >= 1");
  PetscCheck(c->hmc.local_steps >= 1 && c->hmc.local_steps <= 16 && c->hmc.leapfrog >= 1, comm,
             PETSC_ERR_ARG_OUTOFRANGE, "hmc: need -hmc_local_steps 1..16 and -hmc_leapfrog >= 1");
  PetscCheck(c->hmc.target_accept > 0.3 && c->hmc.target_accept < 0.99, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-hmc_target_accept %g: need 0.3 .. 0.99", c->hmc.target_accept);
  PetscCheck(c->newton.thin >= 1 && c->newton.steps >= 10 * c->newton.thin &&
                 c->newton.final_steps >= 10 * c->newton.thin && c->newton.max_iter >= 1 && c->newton.burn0 >= 0 &&
                 c->newton.burn >= 0,
             comm, PETSC_ERR_ARG_OUTOFRANGE,
             "newton: -newton_steps and -newton_final_steps must be >= 10 x -newton_thin, burn-ins >= 0");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool globals_is_other(GlobalsMethod m)
{
  return m == GLOBALS_ABC || m == GLOBALS_NRE || m == GLOBALS_NRE_GAUSS ? PETSC_TRUE : PETSC_FALSE;
}

GlobalsMethod globals_pick(const GlobalsConfig *c, PetscInt nstars)
{
  if (c->method != GLOBALS_AUTO) return c->method;
  return nstars < c->auto_hmc_below ? GLOBALS_HMC : GLOBALS_NEWTON;
}

/* One run of an exact method on model m from start in. */
static PetscErrorCode run_exact(const ParCtx *ctx, const GlobalsConfig *c, GlobalsMethod method, HierModel *m,
                                const HierInit *in, PetscInt lo, PetscInt ntot, PetscBool quiet, GlobalsResult *r)
{
  PetscFunctionBeginUser;
  if (method == GLOBALS_HMC) {
    HmcResult h;
    HmcConfig hc = c->hmc;
    hc.seed = (uint64_t)c->seed;
    PetscCall(hmc_run(ctx, m, in, lo, &hc, &h));
    r->ok = PETSC_TRUE;
    for (int a = 0; a < 2; a++)
      r->mean[a] = h.mean[a], r->sd[a] = h.sd[a], r->rhat[a] = h.rhat[a], r->ess[a] = h.ess[a];
    for (int k = 0; k < 4; k++) r->cov[k] = h.cov[k];
    r->corr = h.corr;
    r->converged = h.converged;
    r->zmean = h.zmean, r->zsd = h.zsd, r->draws = h.draws, r->ndraws = hc.chains * h.ndraws;
    r->zdraws = h.zdraws, r->nzdraws = h.nzdraws;
    char lacc[64] = "";
    if (hc.sampler == HMC_GIBBS)
      PetscCall(PetscSNPrintf(lacc, sizeof(lacc), ", locals' Metropolis acceptance %.2f", h.local_accept));
    if (!quiet)
      PetscCall(PetscPrintf(ctx->comm,
                            "hmc (%s): %" PetscInt_FMT " stars, %" PetscInt_FMT " chains x %" PetscInt_FMT
                            " draws, %" PetscInt_FMT " leapfrog steps, step %.3g, acceptance %.2f%s, %" PetscInt_FMT
                            " divergent, ESS %.0f / %.0f, %.1f s\n",
                            hmc_sampler_names[hc.sampler], ntot, hc.chains, h.ndraws, h.nleapfrog, h.step, h.accept,
                            lacc, h.divergent, h.ess[0], h.ess[1], h.seconds));
  } else {
    NewtonResult nr;
    NewtonConfig nc = c->newton;
    nc.seed = (uint64_t)c->seed;
    PetscCall(newton_run(ctx, m, in, lo, &nc, &nr));
    r->ok = PETSC_TRUE;
    for (int a = 0; a < 2; a++)
      r->mean[a] = nr.mean[a], r->sd[a] = nr.sd[a], r->mc_frac[a] = nr.mc_cov[3 * a] / nr.cov[3 * a];
    for (int k = 0; k < 4; k++) r->cov[k] = nr.cov[k];
    r->corr = nr.corr;
    r->converged = nr.converged;
    r->zmean = nr.zmean, r->zsd = nr.zsd, r->zdraws = nr.zdraws, r->nzdraws = nr.nzdraws;
    if (!quiet)
      PetscCall(PetscPrintf(ctx->comm,
                            "newton: %" PetscInt_FMT " stars, %" PetscInt_FMT " iterations, last step %.2f sd, "
                            "Metropolis acceptance %.2f, Monte-Carlo share of the variance %.1f%% / %.1f%%, %.1f s\n",
                            ntot, nr.iters, nr.step_sd, nr.accept, 100 * r->mc_frac[0], 100 * r->mc_frac[1],
                            nr.seconds));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The emulator's residual delta_i = CHEMPY - emulator for each star at the first pass's globals L,
 * averaged over K of the star's posterior draws of its locals (K = 0: at its posterior mean).
 * The average is what removes the residual's shared part: the error it leaves,
 * r(z_true) - E[r(z) | x], has zero mean given the star's data, so its effect on the summed score
 * averages out over stars, while r(E[z | x]) differs from E[r(z) | x] by a curvature term of
 * the same sign in many stars. Points CHEMPY rejects drop out; a star with none: no correction. */
static PetscErrorCode residuals(GceWork *w, Emulator *emu, const double L[2], const GlobalsResult *r1, PetscInt K,
                                PetscInt n, double *delta, PetscInt *nrej)
{
  const PetscInt nd = K > 0 ? PetscMin(K, r1->nzdraws) : 0;
  PetscFunctionBeginUser;
  PetscCheck(K == 0 || nd > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "the first pass kept no posterior draws of the locals");
  *nrej = 0;
  for (PetscInt i = 0; i < n; i++) {
    double sum[CS_NELEM] = {0};
    PetscInt ok = 0;
    for (PetscInt d = 0; d < PetscMax(nd, 1); d++) {
      const double *z = nd ? r1->zdraws + (i * HIER_ZDRAWS + d) * 4 : r1->zmean + i * 4;
      double th[CS_NPARAM] = {L[0], L[1], z[0], z[1], z[2], z[3]}, fc[CS_NELEM], fe[CS_NELEM];
      GceStatus st;
      PetscCall(gce_run(w, th, fc, &st, NULL));
      if (st != GCE_OK) continue;
      emu_predict(emu, th, 1, fe);
      for (int k = 0; k < CS_NELEM; k++) sum[k] += fc[k] - fe[k];
      ok++;
    }
    for (int k = 0; k < CS_NELEM; k++) delta[i * CS_NELEM + k] = ok ? sum[k] / ok : 0;
    *nrej += ok == 0;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* abc, nre: a Gaussian fitted to each star's draws, their product over all ranks (order-independent
 * sums), the prior divided out N - 1 times: the paper's combination with another per-star estimator. */
static PetscErrorCode infer_perstar(const ParCtx *ctx, const GlobalsConfig *c, PetscInt n, const double *x,
                                    const double *err, PetscInt lo, GlobalsResult *r)
{
  PetscFunctionBeginUser;
  PetscCheck(c->perstar, ctx->comm, PETSC_ERR_ARG_WRONG, "method %s: no %s loaded", globals_method_names[r->method],
             r->method == GLOBALS_ABC ? "ABC table (-table FILE)" : "ratio estimator (-nre FILE)");
  const PetscInt L = perstar_samples(c->perstar);
  const Prior *p = perstar_prior(c->perstar);
  double *draws, acc[COMBINE_NACC];
  int64_t racc[COMBINE_NACC * PAR_REPRO_LIMBS];
  PetscBool *ok;
  CombineResult cr;
  PetscCall(PetscMalloc2(n * L * CS_NPARAM + 1, &draws, n + 1, &ok));
  PetscCall(perstar_sample(c->perstar, n, x, err, c->default_err, lo, (uint64_t)c->seed, draws, ok));
  par_repro_zero(racc, COMBINE_NACC);
  for (PetscInt i = 0; i < n; i++) {
    CombineStar g;
    double a1[COMBINE_NACC];
    if (!ok[i]) continue;
    PetscCall(combine_fit(L, draws + i * L * CS_NPARAM, &g));
    combine_acc_zero(a1);
    if (combine_accumulate(a1, g.mu2, g.S2))
      for (int s = 0; s < COMBINE_NACC; s++) par_repro_add(racc + s * PAR_REPRO_LIMBS, a1[s]);
  }
  PetscCall(PetscFree2(draws, ok));
  PetscCall(par_allreduce_repro(ctx, racc, COMBINE_NACC));
  for (int s = 0; s < COMBINE_NACC; s++) acc[s] = par_repro_value(racc + s * PAR_REPRO_LIMBS);
  const double mu0[2] = {p->mean[0], p->mean[1]}, S0[4] = {p->sd[0] * p->sd[0], 0, 0, p->sd[1] * p->sd[1]};
  combine_finish(acc, mu0, S0, &cr);
  r->ok = cr.pd;
  for (int a = 0; a < 2; a++) r->mean[a] = cr.mean[a], r->sd[a] = cr.sd[a];
  for (int k = 0; k < 4; k++) r->cov[k] = cr.cov[k];
  r->corr = cr.corr;
  r->converged = PETSC_TRUE;
  r->n = (PetscInt)acc[COMBINE_N];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* nre: the ratio estimator's log r(theta, x) = log p(x | theta) - log p(x) is each star's likelihood
 * up to a constant, so the hierarchical posterior is exact in it; newton on the globals, from the
 * stars' own NRE draws. */
static PetscErrorCode nre_loglik(void *ctx, const double *theta, const double *x, int n, double *ll)
{
  nre_log_ratio((Nre *)ctx, theta, x, n, ll);
  return PETSC_SUCCESS;
}

typedef struct {
  const double *draws;
  const PetscBool *ok;
  PetscInt L;
} DrawTable;

static PetscErrorCode table_draws(void *ctx, PetscInt i, PetscInt nsamples, double *draws, PetscBool *ok)
{
  const DrawTable *t = ctx;
  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(draws, t->draws + i * t->L * CS_NPARAM, nsamples * CS_NPARAM));
  *ok = t->ok[i];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode infer_nre(const ParCtx *ctx, const GlobalsConfig *c, PetscInt n, const double *x, PetscInt lo,
                                PetscInt ntot, GlobalsResult *r)
{
  PetscCheck(c->perstar && perstar_nre(c->perstar), ctx->comm, PETSC_ERR_ARG_WRONG,
             "method nre: no ratio estimator loaded (-nre FILE)");
  Nre *nre = perstar_nre(c->perstar);
  const PetscInt L = perstar_samples(c->perstar);
  HierPrior hp;
  HierMean mean = {.max_batch = 512}; /* batch of the likelihood calls; no mean model */
  HierLik lik = {.ctx = nre, .loglik = nre_loglik};
  HierModel *m;
  HierInit in;
  double *draws;
  PetscBool *ok;
  PetscFunctionBeginUser;
  hier_prior_from(&nre->prior, &hp);
  PetscCall(hier_create(&mean, &hp, n, x, NULL, nre->noise, &m));
  PetscCall(hier_set_lik(m, &lik));
  PetscCall(PetscMalloc2(n * L * CS_NPARAM + 1, &draws, n + 1, &ok));
  PetscCall(perstar_sample(c->perstar, n, x, NULL, nre->noise, lo, (uint64_t)c->seed, draws, ok));
  DrawTable t = {.draws = draws, .ok = ok, .L = L};
  PetscCall(hier_init_draws(ctx, m, table_draws, &t, L, &in));
  PetscCall(PetscFree2(draws, ok));
  PetscCall(run_exact(ctx, c, GLOBALS_NEWTON, m, &in, lo, ntot, PETSC_FALSE, r));
  r->method = GLOBALS_NRE;
  PetscCall(hier_init_destroy(&in));
  PetscCall(hier_destroy(&m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode globals_infer(const ParCtx *ctx, const GlobalsConfig *c, Npe *npe, Emulator *emu, PetscInt n,
                             const double *x, const double *err, PetscInt lo, GlobalsResult *r)
{
  HierMean mean;
  HierPrior hp;
  HierModel *m;
  HierInit in;
  PetscInt ntot = n;
  double t0 = cs_wtime();
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(par_allreduce_count(ctx, &ntot));
  r->n = ntot;
  r->method = globals_pick(c, ntot);
  for (int a = 0; a < 2; a++) r->rhat[a] = r->ess[a] = r->mc_frac[a] = NAN;
  PetscCheck(ntot > 0, ctx->comm, PETSC_ERR_ARG_WRONG, "no usable stars");
  if (r->method == GLOBALS_NRE) {
    PetscCall(infer_nre(ctx, c, n, x, lo, ntot, r));
    r->seconds = cs_wtime() - t0;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (globals_is_other(r->method)) {
    PetscCall(infer_perstar(ctx, c, n, x, err, lo, r));
    r->seconds = cs_wtime() - t0;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCheck(emu, ctx->comm, PETSC_ERR_ARG_WRONG,
             "method %s needs the emulator (-emulator FILE, or an NPE file that carries it)",
             globals_method_names[r->method]);
  hier_prior_from(&npe->prior, &hp);
  hier_mean_emulator(emu, &mean);
  PetscCall(hier_create(&mean, &hp, n, x, err, c->default_err, &m));
  PetscCall(hier_init_npe(ctx, m, npe, x, lo, (uint64_t)c->seed,
                          r->method == GLOBALS_GAUSS ? c->samples : c->init_samples, &in));
  if (r->method == GLOBALS_GAUSS) {
    r->ok = in.gauss.pd;
    for (int a = 0; a < 2; a++) r->mean[a] = in.gauss.mean[a], r->sd[a] = in.gauss.sd[a];
    for (int k = 0; k < 4; k++) r->cov[k] = in.gauss.cov[k];
    r->corr = in.gauss.corr;
    r->converged = PETSC_TRUE;
    r->n = in.nused;
  } else if (!c->chempy) {
    PetscCall(run_exact(ctx, c, r->method, m, &in, lo, ntot, PETSC_FALSE, r));
  } else {
    /* Two passes: a first answer, the emulator's residual for each star from CHEMPY runs at its
     * posterior draws, then the method again on the corrected model from the first answer. The
     * first pass only places the residuals, so from -auto_hmc_below stars it is newton's for
     * either method (at 10,000 stars 1 min against 4 for a short HMC run; the two agree to a few
     * hundredths of a posterior sd); below, where newton is not trusted, a short run of the method. */
    GlobalsResult r1 = *r;
    GlobalsConfig c1 = *c;
    PetscInt nrej;
    const GlobalsMethod m1 = ntot >= c->auto_hmc_below ? GLOBALS_NEWTON : r->method;
    c1.newton.final_steps = PetscMax(10 * c->newton.thin, c->newton.final_steps / 4);
    c1.hmc.draws = PetscMax(10, c->hmc.draws / 4);
    c1.hmc.max_draws = c1.hmc.draws; /* the first pass needs no convergence check */
    PetscCall(run_exact(ctx, &c1, m1, m, &in, lo, ntot, PETSC_TRUE, &r1));
    PetscCall(residuals(c->chempy, emu, r1.mean, &r1, c->correct_draws, n, m->delta, &nrej));
    PetscCall(par_allreduce_count(ctx, &nrej));
    for (int a = 0; a < 2; a++) in.etaL[a] = hier_to_eta(&hp, a, r1.mean[a]);
    for (PetscInt i = 0; i < n; i++)
      for (int q = 0; q < 4; q++) in.start[i * 4 + q] = hier_to_eta(&hp, 2 + q, r1.zmean[i * 4 + q]);
    PetscCall(PetscPrintf(ctx->comm,
                          "%s: emulator residuals from %" PetscInt_FMT " CHEMPY runs (%s per star; %" PetscInt_FMT
                          " stars without an accepted run: no correction there); first pass (%s) (%.5f, %.5f)\n",
                          globals_method_names[r->method], ntot * PetscMax(1, PetscMin(c->correct_draws, r1.nzdraws)),
                          c->correct_draws ? "averaged over posterior draws" : "at the posterior mean", nrej,
                          globals_method_names[m1], r1.mean[0], r1.mean[1]));
    PetscCall(globals_result_destroy(&r1));
    PetscCall(run_exact(ctx, c, r->method, m, &in, lo, ntot, PETSC_FALSE, r));
  }
  PetscCall(hier_init_destroy(&in));
  PetscCall(hier_destroy(&m));
  r->seconds = cs_wtime() - t0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode globals_result_destroy(GlobalsResult *r)
{
  PetscFunctionBeginUser;
  if (r->draws) PetscCall(PetscFree(r->draws));
  if (r->zmean) PetscCall(PetscFree2(r->zmean, r->zsd));
  PetscCall(PetscFree(r->zdraws));
  r->zmean = r->zsd = r->draws = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
