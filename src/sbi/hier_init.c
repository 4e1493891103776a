/* NPE draws to starting moments and the Gaussian product (hier_init.h). */
#include <chempysbi/hier_init.h>
#include <math.h>

#define NSTART 32 /* candidate starts per star: the best of the first draws at the globals' start */

/* Star i's NPE draws (the callback of hier_init_draws). */
typedef struct {
  HierModel *m;
  Npe *npe;
  const double *x;
  PetscInt lo;
  uint64_t seed;
} NpeSource;

static PetscErrorCode npe_draws(void *ctx, PetscInt i, PetscInt nsamples, double *draws, PetscBool *ok)
{
  NpeSource *src = ctx;
  Npe *npe = src->npe;
  double xs[CS_NELEM], sg[CS_NELEM], cx[NPE_CTX_MAX];
  NpeSampleStats st;
  PetscFunctionBeginUser;
  /* A conditioned NPE sees the star's own errors and gaps (the model's weights); a fixed one
   * cannot take a gap, and gets the training mean there instead. */
  for (int k = 0; k < CS_NELEM; k++) {
    double w = src->m->w[i * CS_NELEM + k];
    xs[k] = w > 0 && isfinite(src->x[i * CS_NELEM + k]) ? src->x[i * CS_NELEM + k] : NAN;
    sg[k] = w > 0 ? 1 / sqrt(w) : NAN;
  }
  if (!npe_context(npe, xs, sg, cx, NULL)) {
    for (int k = 0; k < CS_NELEM; k++) xs[k] = isfinite(xs[k]) ? xs[k] : npe->x_mean[k];
    npe_context(npe, xs, NULL, cx, NULL);
  }
  PetscCall(
      npe_sample_ctx(npe, cx, nsamples, src->seed, RNG_POSTERIOR, (uint64_t)(src->lo + i), 100 * nsamples, draws, &st));
  *ok = !st.capped && st.accepted == nsamples;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_init_npe(const ParCtx *ctx, HierModel *m, Npe *npe, const double *x, PetscInt lo, uint64_t seed,
                             PetscInt nsamples, HierInit *in)
{
  NpeSource src = {.m = m, .npe = npe, .x = x, .lo = lo, .seed = seed};
  PetscFunctionBeginUser;
  PetscCall(hier_init_draws(ctx, m, npe_draws, &src, nsamples, in));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_init_draws(const ParCtx *ctx, HierModel *m, HierDrawFn draw, void *dctx, PetscInt nsamples,
                               HierInit *in)
{
  const PetscInt n = m->n;
  const HierPrior *hp = &m->prior;
  double *draws, *cand, *lp, *best;
  int64_t racc[COMBINE_NACC * PAR_REPRO_LIMBS];
  PetscFunctionBeginUser;
  PetscCheck(nsamples >= 8, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "start: %" PetscInt_FMT " draws, need >= 8",
             nsamples);
  PetscCall(PetscMemzero(in, sizeof(*in)));
  in->n = n;
  PetscCall(PetscMalloc4(n * 6 + 1, &in->mu, n * 36 + 1, &in->cov, n * 4 + 1, &in->start, n + 1, &in->ok));
  PetscCall(PetscMalloc4(nsamples * CS_NPARAM, &draws, NSTART * n * 4 + 1, &cand, n + 1, &lp, n + 1, &best));
  par_repro_zero(racc, COMBINE_NACC);
  for (PetscInt i = 0; i < n; i++) {
    double acc[COMBINE_NACC], e[CS_NPARAM], *mu = in->mu + i * 6, *C = in->cov + i * 36;
    CombineStar g;
    PetscCall(draw(dctx, i, nsamples, draws, &in->ok[i]));
    if (!in->ok[i]) { /* prior moments; the samplers find their own way */
      for (int k = 0; k < CS_NPARAM; k++) {
        double t = hp->sd[k] > 0 ? hp->mean[k] : 0.5 * (hp->lo[k] + hp->hi[k]);
        mu[k] = hier_to_eta(hp, k, t);
      }
      for (int k = 0; k < 36; k++) C[k] = k % 7 ? 0 : 1.0;
      for (int s = 0; s < NSTART; s++)
        for (int q = 0; q < 4; q++) cand[(s * n + i) * 4 + q] = mu[2 + q];
      continue;
    }
    PetscCall(combine_fit(nsamples, draws, &g));
    combine_acc_zero(acc);
    if (combine_accumulate(acc, g.mu2, g.S2))
      for (int s = 0; s < COMBINE_NACC; s++) par_repro_add(racc + s * PAR_REPRO_LIMBS, acc[s]);
    /* Moments in eta. */
    for (int k = 0; k < 6; k++) mu[k] = 0;
    for (int k = 0; k < 36; k++) C[k] = 0;
    for (PetscInt s = 0; s < nsamples; s++) {
      for (int k = 0; k < CS_NPARAM; k++) e[k] = hier_to_eta(hp, k, draws[s * CS_NPARAM + k]);
      for (int k = 0; k < CS_NPARAM; k++) mu[k] += e[k];
      for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) C[a * 6 + b] += e[a] * e[b];
      if (s < NSTART)
        for (int q = 0; q < 4; q++) cand[(s * n + i) * 4 + q] = e[2 + q];
    }
    for (int k = 0; k < 6; k++) mu[k] /= nsamples;
    for (int a = 0; a < 6; a++)
      for (int b = 0; b < 6; b++) C[a * 6 + b] = (C[a * 6 + b] - nsamples * mu[a] * mu[b]) / (nsamples - 1);
  }
  PetscCall(par_allreduce_repro(ctx, racc, COMBINE_NACC));
  double acc[COMBINE_NACC], mu0[2] = {hp->mean[0], hp->mean[1]},
                            S0[4] = {hp->sd[0] * hp->sd[0], 0, 0, hp->sd[1] * hp->sd[1]};
  for (int s = 0; s < COMBINE_NACC; s++) acc[s] = par_repro_value(racc + s * PAR_REPRO_LIMBS);
  combine_finish(acc, mu0, S0, &in->gauss);
  in->nused = (PetscInt)acc[COMBINE_N];
  PetscInt nfail = 0;
  for (PetscInt i = 0; i < n; i++) nfail += !in->ok[i];
  PetscCall(par_allreduce_count(ctx, &nfail));
  in->nfailed = nfail;
  /* Globals' start in eta: the product if it is a valid Gaussian, else the prior mean. */
  for (int a = 0; a < 2; a++) in->etaL[a] = hier_to_eta(hp, a, in->gauss.pd ? in->gauss.mean[a] : mu0[a]);
  /* Starting locals: the best of the first draws at the globals' start. */
  for (PetscInt i = 0; i < n; i++) best[i] = -INFINITY;
  for (int s = 0; s < NSTART; s++) {
    PetscCall(hier_star_logp(m, in->etaL, cand + (size_t)s * n * 4, lp, NULL, NULL));
    for (PetscInt i = 0; i < n; i++)
      if (lp[i] > best[i] || s == 0) {
        best[i] = lp[i];
        for (int q = 0; q < 4; q++) in->start[i * 4 + q] = cand[(s * n + i) * 4 + q];
      }
  }
  PetscCall(PetscFree4(draws, cand, lp, best));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode hier_init_destroy(HierInit *in)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(in->mu, in->cov, in->start, in->ok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Lower Cholesky factor of a d x d SPD matrix (row-major); a ridge is added
 * until it succeeds, so a poorly estimated covariance still gives a metric. */
void hier_chol(int d, const double *S, double *L)
{
  double ridge = 0, tr = 0;
  for (int i = 0; i < d; i++) tr += fabs(S[i * d + i]);
  tr = tr > 0 && isfinite(tr) ? tr / d : 1;
  for (int attempt = 0; attempt < 30; attempt++) {
    int ok = 1;
    for (int i = 0; i < d && ok; i++)
      for (int j = 0; j <= i; j++) {
        double s = S[i * d + j] + (i == j ? ridge : 0);
        for (int k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
        if (i == j) {
          if (!(s > 0) || !isfinite(s)) {
            ok = 0;
            break;
          }
          L[i * d + i] = sqrt(s);
        } else
          L[i * d + j] = s / L[j * d + j];
      }
    if (ok) {
      for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) L[i * d + j] = 0;
      return;
    }
    ridge = ridge ? 10 * ridge : 1e-10 * tr;
    if (!isfinite(S[0])) break;
  }
  for (int i = 0; i < d * d; i++) L[i] = i % (d + 1) ? 0 : 1; /* hopeless input: unit metric */
}
