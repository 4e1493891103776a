/* HMC and the Newton method on a linear-Gaussian hierarchical toy whose
 * posterior is known in closed form: f(theta) = A theta + b with Gaussian
 * priors on all six parameters, 24 stars block-distributed over the ranks.
 * The globals' posterior mean must be within 0.1 sd and the sd within 5% of
 * the exact values, for both methods at every rank count. */
#include <chempysbi/hmc.h>
#include <chempysbi/newton.h>
#include <math.h>

#define NS 24
static double Amat[CS_NELEM * CS_NPARAM], bvec[CS_NELEM];

static PetscErrorCode lin_fwd(void *ctx, const double *th, int n, double *f)
{
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++) {
      double s = bvec[k];
      for (int j = 0; j < CS_NPARAM; j++) s += Amat[k * CS_NPARAM + j] * th[i * CS_NPARAM + j];
      f[i * CS_NELEM + k] = s;
    }
  return PETSC_SUCCESS;
}
static PetscErrorCode lin_bwd(void *ctx, const double *df, int n, double *dth)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < CS_NPARAM; j++) {
      double s = 0;
      for (int k = 0; k < CS_NELEM; k++) s += Amat[k * CS_NPARAM + j] * df[i * CS_NELEM + k];
      dth[i * CS_NPARAM + j] = s;
    }
  return PETSC_SUCCESS;
}
static PetscErrorCode lin_jet(void *ctx, const double *th, int n, double *f, double *df, double *d2f)
{
  lin_fwd(ctx, th, n, f);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < CS_NELEM; k++) {
      for (int a = 0; a < 2; a++) df[(i * 2 + a) * CS_NELEM + k] = Amat[k * CS_NPARAM + a];
      for (int a = 0; a < 3; a++) d2f[(i * 3 + a) * CS_NELEM + k] = 0;
    }
  return PETSC_SUCCESS;
}

/* Gaussian elimination solve of the dense SPD system Q x = h (d <= 2 + 4 NS). */
static void solve(int d, double *Q, double *h)
{
  for (int c = 0; c < d; c++) {
    for (int r = c + 1; r < d; r++) {
      double f = Q[r * d + c] / Q[c * d + c];
      for (int k = c; k < d; k++) Q[r * d + k] -= f * Q[c * d + k];
      h[r] -= f * h[c];
    }
  }
  for (int r = d - 1; r >= 0; r--) {
    for (int k = r + 1; k < d; k++) h[r] -= Q[r * d + k] * h[k];
    h[r] /= Q[r * d + r];
  }
}

int main(int argc, char **argv)
{
  ParCtx ctx;
  Rng rg;
  HierPrior hp;
  HierMean mean = {.ctx = NULL, .max_batch = 1024, .forward = lin_fwd, .backward = lin_bwd, .jet = lin_jet};
  double X[NS * CS_NELEM], sig = 0.1, truth[CS_NPARAM];
  PetscInt lo, hi, bad = 0;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  rng_init(&rg, 3, RNG_TEST, 0);
  for (int i = 0; i < CS_NELEM * CS_NPARAM; i++) Amat[i] = rng_normal(&rg);
  for (int k = 0; k < CS_NELEM; k++) bvec[k] = rng_normal(&rg);
  for (int k = 0; k < CS_NPARAM; k++) {
    hp.mean[k] = 0.3 * k - 0.5, hp.sd[k] = 0.5 + 0.1 * k, hp.lo[k] = -INFINITY, hp.hi[k] = INFINITY;
  }
  hp.sfr_rule = PETSC_FALSE;
  truth[0] = 0.2, truth[1] = -0.4;
  for (int i = 0; i < NS; i++) {
    Rng r;
    rng_init(&r, 3, RNG_TEST, 1 + i);
    for (int k = 2; k < CS_NPARAM; k++) truth[k] = hp.mean[k] + hp.sd[k] * rng_normal(&r);
    lin_fwd(NULL, truth, 1, X + i * CS_NELEM);
    for (int k = 0; k < CS_NELEM; k++) X[i * CS_NELEM + k] += sig * rng_normal(&r);
  }
  X[3 * CS_NELEM + 2] = NAN; /* a missing value drops out of the exact answer too */
  /* Exact posterior: the dense precision over all 2 + 4 NS parameters. */
  enum { D = 2 + 4 * NS };
  static double Q[D * D], h[D], Qs[D * D];
  for (int a = 0; a < D; a++) {
    int k = a < 2 ? a : 2 + (a - 2) % 4;
    Q[a * D + a] = 1 / (hp.sd[k] * hp.sd[k]);
    h[a] = hp.mean[k] / (hp.sd[k] * hp.sd[k]);
  }
  for (int i = 0; i < NS; i++) {
    int idx[6] = {0, 1, 2 + 4 * i, 3 + 4 * i, 4 + 4 * i, 5 + 4 * i};
    for (int k = 0; k < CS_NELEM; k++) {
      if (!isfinite(X[i * CS_NELEM + k])) continue;
      double w = 1 / (sig * sig), y = X[i * CS_NELEM + k] - bvec[k];
      for (int a = 0; a < 6; a++) {
        h[idx[a]] += w * Amat[k * CS_NPARAM + a] * y;
        for (int b = 0; b < 6; b++) Q[idx[a] * D + idx[b]] += w * Amat[k * CS_NPARAM + a] * Amat[k * CS_NPARAM + b];
      }
    }
  }
  double m_ex[2], cov_ex[4], hh[D];
  for (int j = 0; j < D; j++) hh[j] = h[j];
  for (int j = 0; j < D * D; j++) Qs[j] = Q[j];
  solve(D, Qs, hh);
  m_ex[0] = hh[0], m_ex[1] = hh[1];
  for (int c = 0; c < 2; c++) { /* columns of Q^-1 for the globals */
    for (int j = 0; j < D; j++) hh[j] = j == c, Qs[j] = 0;
    for (int j = 0; j < D * D; j++) Qs[j] = Q[j];
    solve(D, Qs, hh);
    cov_ex[c] = hh[0], cov_ex[2 + c] = hh[1];
  }
  /* This rank's stars, a deliberately crude start (prior moments) for the adaptation. */
  par_block_range(NS, ctx.rank, ctx.size, &lo, &hi);
  HierModel *m;
  PetscCall(hier_create(&mean, &hp, hi - lo, X + lo * CS_NELEM, NULL, sig, &m));
  HierInit in;
  PetscCall(PetscMemzero(&in, sizeof(in)));
  in.n = hi - lo;
  PetscCall(PetscCalloc3(in.n * 6 + 1, &in.mu, in.n * 36 + 1, &in.cov, in.n * 4 + 1, &in.start));
  for (PetscInt i = 0; i < in.n; i++) {
    for (int k = 0; k < 6; k++) in.mu[i * 6 + k] = hp.mean[k], in.cov[i * 36 + k * 7] = hp.sd[k] * hp.sd[k];
    for (int q = 0; q < 4; q++) in.start[i * 4 + q] = hp.mean[2 + q];
  }
  in.etaL[0] = hp.mean[0], in.etaL[1] = hp.mean[1];
  HmcResult r;
  for (int smp = 0; smp < 2; smp++) { /* both samplers against the exact answer */
    HmcConfig c;
    hmc_config_default(&c);
    c.sampler = smp ? HMC_JOINT : HMC_GIBBS;
    c.warmup = 300, c.draws = smp ? 1500 : 1000, c.seed = 5, c.progress_every = 1e9;
    PetscCall(hmc_run(&ctx, m, &in, lo, &c, &r));
    for (int a = 0; a < 2; a++) {
      double sd = sqrt(cov_ex[a * 3]), dm = (r.mean[a] - m_ex[a]) / sd, ds = r.sd[a] / sd - 1;
      PetscCall(PetscPrintf(
          ctx.comm,
          "mpi_hier np=%d hmc %s global %d: mean %.10f exact %.5f (%.3f sd), sd %.5f exact %.5f (%+.1f%%), R-hat "
          "%.4f, ESS %.0f, accept %.2f, step %.3f, divergent %" PetscInt_FMT "\n",
          ctx.size, hmc_sampler_names[c.sampler], a, r.mean[a], m_ex[a], dm, r.sd[a], sd, 100 * ds, r.rhat[a], r.ess[a],
          r.accept, r.step, r.divergent));
      if (fabs(dm) > 0.1 || fabs(ds) > 0.05) bad++;
    }
    PetscCall(hmc_result_destroy(&r));
  }
  { /* too few draws for R-hat and ESS: the Gibbs sampler extends every chain until they pass */
    HmcConfig c;
    hmc_config_default(&c);
    c.warmup = 100, c.draws = 20, c.max_draws = 2000, c.seed = 6, c.progress_every = 1e9;
    PetscCall(hmc_run(&ctx, m, &in, lo, &c, &r));
    PetscCall(PetscPrintf(ctx.comm,
                          "mpi_hier np=%d hmc gibbs from 20 draws: %" PetscInt_FMT
                          " draws per chain, R-hat %.4f %.4f, ESS %.0f %.0f, converged %d\n",
                          ctx.size, r.ndraws, r.rhat[0], r.rhat[1], r.ess[0], r.ess[1], (int)r.converged));
    if (!(r.ndraws > 20 && r.ndraws <= 2000 && r.ndraws % 20 == 0 && r.converged)) bad++;
    PetscCall(hmc_result_destroy(&r));
  }
  NewtonConfig nc;
  NewtonResult nr;
  newton_config_default(&nc);
  nc.seed = 5, nc.progress_every = 1e9;
  PetscCall(newton_run(&ctx, m, &in, lo, &nc, &nr));
  for (int a = 0; a < 2; a++) {
    double sd = sqrt(cov_ex[a * 3]), dm = (nr.mean[a] - m_ex[a]) / sd, ds = nr.sd[a] / sd - 1;
    PetscCall(PetscPrintf(ctx.comm,
                          "mpi_hier np=%d newton global %d: mean %.10f exact %.5f (%.3f sd), sd %.5f (%+.1f%%, Monte "
                          "Carlo part %.1f%% of the variance), %" PetscInt_FMT " iterations, accept %.2f\n",
                          ctx.size, a, nr.mean[a], m_ex[a], dm, nr.sd[a], 100 * ds,
                          100 * nr.mc_cov[a * 3] / nr.cov[a * 3], nr.iters, nr.accept));
    if (fabs(dm) > 0.1 || fabs(ds) > 0.05) bad++;
  }
  PetscCall(newton_result_destroy(&nr));
  if (bad) PetscCall(PetscPrintf(ctx.comm, "mpi_hier: a method differs from the exact posterior\n"));
  PetscCall(PetscFree3(in.mu, in.cov, in.start));
  PetscCall(hier_destroy(&m));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
