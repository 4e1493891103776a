/* The nre command's engine (nre_run.h): adaptive random-walk Metropolis on
 * log r(theta, x) + log prior(theta) for blocks of stars at once. */
#include <chempysbi/calib.h>
#include <chempysbi/cases.h>
#include <chempysbi/emu.h>
#include <chempysbi/gce.h>
#include <chempysbi/guard.h>
#include <chempysbi/mcmc.h>
#include <chempysbi/nre.h>
#include <chempysbi/nre_run.h>
#include <chempysbi/rng.h>
#include <petscblaslapack.h>
#include <math.h>
#include <string.h>

#define NP              CS_NPARAM
#define NRE_BLOCK       256 /* stars sampled together on a rank */
#define NRE_INIT        256 /* prior draws per star to start the chains from */
#define NRE_WIN         100 /* warm-up adaptation window [steps] */
#define NRE_CHAIN_INDEX (UINT64_C(1) << 42)
#define NRE_START_INDEX (UINT64_C(1) << 44)

/* Per-star record gathered to rank 0 (acceptance and used side by side: the "chains" table). */
enum { RC_MEAN = 0, RC_SD = RC_MEAN + NP, RC_ACC = RC_SD + NP, RC_USED, RC_RHAT, RC_NCOL = RC_RHAT + NP };
static const char *const info_cols[2] = {"acceptance", "used"};

PetscErrorCode nre_run_config_default(NreRunConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->samples = 1000;
  c->chains = 4;
  c->warmup = 1000;
  c->thin = 4;
  c->seed = 1;
  c->tarp_bins = 30;
  c->progress_every = 10;
  PetscCall(PetscStrncpy(c->out, "output/nre_posteriors.h5", sizeof(c->out)));
  PetscCall(cat_options_default(&c->cat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_run_set_from_options(MPI_Comm comm, NreRunConfig *c)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "nre: per-star posteriors from a ratio estimator (MCMC on r x prior)", "nre");
  PetscCall(PetscOptionsString("-model", "ratio estimator (train-nre output)", NULL, c->model, c->model,
                               sizeof(c->model), NULL));
  PetscCall(PetscOptionsString("-stars", "star catalogue (CSV, HDF5, FITS; as infer)", NULL, c->stars, c->stars,
                               sizeof(c->stars), NULL));
  PetscCall(PetscOptionsString("-cases", "instead of -stars: a validate output's test cases, calibrated as validate",
                               NULL, c->cases, c->cases, sizeof(c->cases), NULL));
  PetscCall(PetscOptionsInt("-n", "with -cases: the first N test cases (0: all)", NULL, c->ncases, &c->ncases, NULL));
  PetscCall(
      PetscOptionsInt("-samples", "posterior draws per star (over all chains)", NULL, c->samples, &c->samples, NULL));
  PetscCall(PetscOptionsInt("-chains", "Metropolis chains per star", NULL, c->chains, &c->chains, NULL));
  PetscCall(
      PetscOptionsInt("-warmup", "warm-up steps per chain (proposal adapted)", NULL, c->warmup, &c->warmup, NULL));
  PetscCall(PetscOptionsInt("-thin", "steps per kept draw", NULL, c->thin, &c->thin, NULL));
  PetscCall(PetscOptionsInt("-seed", "seed of the chains (star j, chain c: stream (seed, nre, j, c))", NULL, c->seed,
                            &c->seed, NULL));
  PetscCall(PetscOptionsString("-out", "result file (.h5)", NULL, c->out, c->out, sizeof(c->out), NULL));
  PetscCall(
      PetscOptionsInt("-tarp_bins", "with -cases: TARP credibility bins", NULL, c->tarp_bins, &c->tarp_bins, NULL));
  PetscCall(PetscOptionsReal("-progress_every", "seconds between progress lines [s]", NULL, c->progress_every,
                             &c->progress_every, NULL));
  PetscOptionsEnd();
  PetscCall(cat_options_set_from_options(comm, &c->cat));
  PetscCall(guard_int_option(comm, "-n", c->ncases, 0, VALIDATE_MAX_CASES));
  PetscCall(guard_int_option(comm, "-chains", c->chains, 1, 64));
  PetscCall(guard_int_option(comm, "-samples", c->samples, 2 * c->chains, 1000000));
  PetscCall(guard_int_option(comm, "-warmup", c->warmup, 2 * NRE_WIN, 1000000));
  PetscCall(guard_int_option(comm, "-thin", c->thin, 1, 10000));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-tarp_bins", c->tarp_bins, 1, 100000));
  PetscCall(guard_real_option(comm, "-progress_every", c->progress_every, 0, 1e9));
  PetscCheck(c->samples % c->chains == 0, comm, PETSC_ERR_ARG_WRONG,
             "-samples %" PetscInt_FMT " must be a multiple of -chains %" PetscInt_FMT, c->samples, c->chains);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* log r + log prior for R rows (theta, x); -inf outside the prior's support. */
static void log_target(Nre *nre, const double *th, const double *x, PetscInt R, double *lp)
{
  nre_log_ratio(nre, th, x, R, lp);
  for (PetscInt r = 0; r < R; r++) {
    double p = prior_log_prob(&nre->prior, th + r * NP);
    lp[r] = isfinite(p) ? lp[r] + p : -INFINITY;
  }
}

/* Proposal of one star: Cholesky factor (row-major lower) and scale. */
typedef struct {
  double Lc[NP * NP], scale;
  PetscInt acc, tried;
} Prop;

/* Lower Cholesky factor of the window covariance of one star's chains, times 2.38 / sqrt(6); false if not PD. */
static PetscBool adapt_cov(const double *win, PetscInt m, double Lc[NP * NP])
{
  double mean[NP] = {0}, A[NP * NP] = {0};
  for (PetscInt i = 0; i < m; i++)
    for (int a = 0; a < NP; a++) mean[a] += win[i * NP + a] / (double)m;
  for (PetscInt i = 0; i < m; i++)
    for (int a = 0; a < NP; a++)
      for (int b = 0; b < NP; b++)
        A[a * NP + b] += (win[i * NP + a] - mean[a]) * (win[i * NP + b] - mean[b]) / (double)(m - 1);
  for (int a = 0; a < NP; a++) A[a * NP + a] += 1e-12 + 1e-8 * A[a * NP + a];
  PetscBLASInt n = NP, info = 0;
  LAPACKpotrf_("U", &n, A, &n, &info); /* column-major upper of the symmetric A = row-major lower */
  if (info) return PETSC_FALSE;
  for (int a = 0; a < NP; a++)
    for (int b = 0; b < NP; b++) Lc[a * NP + b] = b <= a ? A[a * NP + b] * 2.38 / sqrt((double)NP) : 0;
  return PETSC_TRUE;
}

/* Samples (ns, L, 6) for the stars of global indices jidx (ns) with observations x (ns, 8), chain c's draws at
 * [c * L/C, (c+1) * L/C), and the acceptance after warm-up; every star's streams are keyed by its own index. */
static PetscErrorCode sample_block(const NreRunConfig *c, Nre *nre, const PetscInt *jidx, PetscInt ns, const double *x,
                                   double *samples, double *acc)
{
  const PetscInt C = c->chains, R = ns * C, per = c->samples / C, M = NRE_INIT;
  double *cur, *clp, *prop, *plp, *xr, *win, *ith, *ix, *ilp;
  Rng *rng;
  Prop *pp;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc6(R * NP, &cur, R, &clp, R * NP, &prop, R, &plp, R * CS_NELEM, &xr, R * NRE_WIN * NP, &win));
  PetscCall(PetscMalloc5(R, &rng, ns, &pp, ns * M * NP, &ith, ns * M * CS_NELEM, &ix, ns * M, &ilp));
  /* Start: the C most probable of M prior draws per star. */
  for (PetscInt s = 0; s < ns; s++)
    for (PetscInt i = 0; i < M; i++) {
      prior_sample(&nre->prior, (uint64_t)c->seed, RNG_NRE, NRE_START_INDEX + (uint64_t)jidx[s] * M + (uint64_t)i,
                   ith + (s * M + i) * NP);
      memcpy(ix + (s * M + i) * CS_NELEM, x + s * CS_NELEM, CS_NELEM * sizeof(double));
    }
  log_target(nre, ith, ix, ns * M, ilp);
  for (PetscInt s = 0; s < ns; s++) {
    for (PetscInt k = 0; k < C; k++) { /* selection of the k-th best (C is small) */
      PetscInt best = -1;
      for (PetscInt i = 0; i < M; i++)
        if (ilp[s * M + i] > -INFINITY && (best < 0 || ilp[s * M + i] > ilp[s * M + best])) best = i;
      if (best < 0) best = k; /* nothing inside the support: cannot happen for prior draws */
      memcpy(cur + (s * C + k) * NP, ith + (s * M + best) * NP, NP * sizeof(double));
      clp[s * C + k] = ilp[s * M + best];
      ilp[s * M + best] = -INFINITY;
    }
    PetscCall(PetscMemzero(&pp[s], sizeof(Prop)));
    for (int a = 0; a < NP; a++) pp[s].Lc[a * NP + a] = 0.1 * nre->prior.sd[a]; /* until the first window */
    pp[s].scale = 1;
    for (PetscInt k = 0; k < C; k++) {
      rng_init(&rng[s * C + k], (uint64_t)c->seed, RNG_NRE, NRE_CHAIN_INDEX + (uint64_t)jidx[s] * 64 + (uint64_t)k);
      memcpy(xr + (s * C + k) * CS_NELEM, x + s * CS_NELEM, CS_NELEM * sizeof(double));
    }
  }
  const PetscInt T = c->warmup + per * c->thin;
  for (PetscInt t = 0; t < T; t++) {
    const PetscBool warm = t < c->warmup;
    for (PetscInt r = 0; r < R; r++) {
      const Prop *q = &pp[r / C];
      double z[NP];
      for (int a = 0; a < NP; a++) z[a] = rng_normal(&rng[r]);
      for (int a = 0; a < NP; a++) {
        double d = 0;
        for (int b = 0; b <= a; b++) d += q->Lc[a * NP + b] * z[b];
        prop[r * NP + a] = cur[r * NP + a] + q->scale * d;
      }
    }
    log_target(nre, prop, xr, R, plp);
    for (PetscInt r = 0; r < R; r++) {
      double u = rng_uniform(&rng[r]);
      PetscBool ok = plp[r] > -INFINITY && log(u) < plp[r] - clp[r];
      if (ok) {
        memcpy(cur + r * NP, prop + r * NP, NP * sizeof(double));
        clp[r] = plp[r];
      }
      pp[r / C].acc += ok;
      pp[r / C].tried++;
      if (warm)
        memcpy(win + (r * NRE_WIN + t % NRE_WIN) * NP, cur + r * NP, NP * sizeof(double));
      else if ((t - c->warmup + 1) % c->thin == 0) {
        PetscInt s = r / C, k = r % C, l = k * per + (t - c->warmup + 1) / c->thin - 1;
        memcpy(samples + (s * c->samples + l) * NP, cur + r * NP, NP * sizeof(double));
      }
    }
    if (warm && (t + 1) % NRE_WIN == 0) /* adapt: the window's covariance, then the scale toward ~25% acceptance */
      for (PetscInt s = 0; s < ns; s++) {
        double rate = (double)pp[s].acc / (double)PetscMax(pp[s].tried, 1);
        double Lc[NP * NP];
        if (t + 1 >= 2 * NRE_WIN && adapt_cov(win + s * C * NRE_WIN * NP, C * NRE_WIN, Lc)) {
          PetscCall(PetscArraycpy(pp[s].Lc, Lc, NP * NP));
          pp[s].scale = PetscMin(PetscMax(pp[s].scale, 0.3), 1.5); /* a new shape: restart near the optimal scale */
        }
        pp[s].scale *= rate < 0.15 ? 0.6 : rate > 0.4 ? 1.5 : 1.0;
        pp[s].acc = pp[s].tried = 0;
      }
    if (t + 1 == c->warmup)
      for (PetscInt s = 0; s < ns; s++) pp[s].acc = pp[s].tried = 0;
  }
  for (PetscInt s = 0; s < ns; s++) acc[s] = (double)pp[s].acc / (double)PetscMax(pp[s].tried, 1);
  PetscCall(PetscFree6(cur, clp, prop, plp, xr, win));
  PetscCall(PetscFree5(rng, pp, ith, ix, ilp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_sample_stars(const NreRunConfig *c, Nre *nre, PetscInt n, const double *x, PetscInt lo,
                                double *samples, PetscBool *ok, double *accept)
{
  const PetscInt L = c->samples;
  double *xs, *bs, acc[NRE_BLOCK];
  PetscInt idx[NRE_BLOCK], loc[NRE_BLOCK];
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(NRE_BLOCK * CS_NELEM, &xs, NRE_BLOCK * L * NP, &bs));
  for (PetscInt b = 0; b < n;) {
    PetscInt ns = 0;
    for (; b < n && ns < NRE_BLOCK; b++) {
      ok[b] = PETSC_TRUE;
      for (int e = 0; e < CS_NELEM && ok[b]; e++) ok[b] = isfinite(x[b * CS_NELEM + e]) ? PETSC_TRUE : PETSC_FALSE;
      if (!ok[b]) { /* a ratio estimator of fixed noise needs all eight elements */
        for (PetscInt l = 0; l < L * NP; l++) samples[b * L * NP + l] = NAN;
        continue;
      }
      if (accept) accept[b] = NAN;
      idx[ns] = lo + b, loc[ns] = b;
      memcpy(xs + ns * CS_NELEM, x + b * CS_NELEM, CS_NELEM * sizeof(double));
      ns++;
    }
    if (ns > 0) PetscCall(sample_block(c, nre, idx, ns, xs, bs, acc));
    for (PetscInt q = 0; q < ns; q++) {
      PetscCall(PetscArraycpy(samples + loc[q] * L * NP, bs + q * L * NP, L * NP));
      if (accept) accept[loc[q]] = acc[q];
    }
  }
  PetscCall(PetscFree2(xs, bs));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_output(const NreRunConfig *c, const ObsSet *o, const NreRunSummary *s, const double *rec,
                                   const double *samples, const double *alpha, const double *ecp)
{
  const H5Slice tab[] = {{"posterior_mean", RC_MEAN, NP, cs_param_names},
                         {"posterior_sd", RC_SD, NP, cs_param_names},
                         {"rhat", RC_RHAT, NP, cs_param_names},
                         {"chains", RC_ACC, 2, info_cols}};
  const PetscInt n = o->n;
  H5File f;
  PetscFunctionBeginUser;
  PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
  PetscCall(h5_write_provenance(&f, "nre"));
  PetscCall(h5_table_write_slices(&f, n, RC_NCOL, rec, sizeof(tab) / sizeof(tab[0]), tab));
  PetscCall(h5_table_write(&f, "samples", H5T_NATIVE_DOUBLE, n * c->samples, NP, cs_param_names, samples));
  PetscCall(h5_attr_write_str(&f, "/", "model", c->model));
  PetscCall(h5_attr_write_str(&f, "/", "observations", o->cases ? c->cases : c->stars));
  const PetscInt iv[5] = {c->samples, c->chains, c->warmup, c->thin, c->seed};
  PetscCall(h5_attr_write_int(&f, "/", "samples_chains_warmup_thin_seed", 5, iv));
  if (s->calibrated) PetscCall(cases_write_calibration(&f, o, &s->cal, alpha, ecp));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_run(const ParCtx *ctx, const NreRunConfig *c, NreRunSummary *s)
{
  Nre *nre;
  ObsSet o;
  PetscInt lo, hi;
  ParProgress prog;
  char have[512], fa[128], fb[128];
  PetscFunctionBeginUser;
  PetscCheck(c->model[0], ctx->comm, PETSC_ERR_ARG_WRONG, "nre needs -model FILE (a train-nre output)");
  PetscCall(PetscMemzero(s, sizeof(*s)));
  const PetscInt C = c->chains, L = c->samples;
  PetscCall(h5_share(ctx->comm, c->model));
  PetscCall(nre_read_h5(c->model, "/nre", 4096, &nre));
  PetscCheck(nre->P == NP && nre->X == CS_NELEM, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: a ratio estimator of %d parameters and %d observables, expected %d and %d", c->model, nre->P, nre->X,
             NP, CS_NELEM);
  PetscCall(obsset_load(ctx, c->stars, c->cases, c->ncases, &c->cat, &o));
  PetscCall(emu_chempy_config_read(ctx->comm, c->model, "chempy_config", have, sizeof(have)));
  PetscCheck(!gce_config_string_model_differs(have, o.chempy, fa, fb, sizeof(fa)), ctx->comm, PETSC_ERR_ARG_INCOMP,
             "-model %s was trained on CHEMPY with %s, but the test cases %s come from %s", c->model, fa, c->cases, fb);
  s->n = o.n;
  PetscCall(guard_memory(ctx->comm, (double)o.n * L * NP * 8 * (ctx->rank == 0 ? 2 : 1), "stars x -samples"));
  par_block_range(o.n, ctx->rank, ctx->size, &lo, &hi);
  const PetscInt nloc = hi - lo;
  double *rec, *smp, *xs, *acc;
  PetscCall(
      PetscMalloc4(nloc * RC_NCOL + 1, &rec, nloc * L * NP + 1, &smp, NRE_BLOCK * CS_NELEM, &xs, NRE_BLOCK, &acc));
  PetscCall(PetscPrintf(ctx->comm,
                        "nre: %" PetscInt_FMT " %s, %" PetscInt_FMT " chains x (%" PetscInt_FMT
                        " warm-up + %" PetscInt_FMT " x %" PetscInt_FMT
                        " steps) per star, %d ranks; noise model %g dex (the training noise)\n",
                        o.n, o.cases ? "test cases" : "stars", C, c->warmup, L / C, c->thin, ctx->size, nre->noise));
  par_progress_start(&prog, "nre", 0, c->progress_every);
  double t0 = cs_wtime();
  for (PetscInt b0 = lo; b0 < hi; b0 += NRE_BLOCK) {
    /* A block of stars; left-out ones (unusable, or missing an element) get NaN rows. */
    const PetscInt nb = PetscMin(NRE_BLOCK, hi - b0);
    PetscBool ok[NRE_BLOCK];
    for (PetscInt q = 0; q < nb; q++)
      for (int e = 0; e < CS_NELEM; e++) xs[q * CS_NELEM + e] = o.usable[b0 + q] ? o.x[(b0 + q) * CS_NELEM + e] : NAN;
    PetscCall(nre_sample_stars(c, nre, nb, xs, b0, smp + (b0 - lo) * L * NP, ok, acc));
    for (PetscInt q = 0; q < nb; q++) {
      double *r = rec + (b0 + q - lo) * RC_NCOL, *sm = smp + (b0 + q - lo) * L * NP, *col;
      for (int d = 0; d < RC_NCOL; d++) r[d] = NAN;
      r[RC_USED] = 0;
      if (!ok[q]) continue;
      PetscCall(PetscMalloc1(L, &col));
      for (int d = 0; d < NP; d++) {
        double m = 0, v = 0;
        for (PetscInt l = 0; l < L; l++) m += sm[l * NP + d] / (double)L;
        for (PetscInt l = 0; l < L; l++) v += (sm[l * NP + d] - m) * (sm[l * NP + d] - m) / (double)(L - 1);
        for (PetscInt l = 0; l < L; l++) col[l] = sm[l * NP + d];
        r[RC_MEAN + d] = m;
        r[RC_SD + d] = sqrt(v);
        r[RC_RHAT + d] = mcmc_rhat(col, (int)C, (int)(L / C));
      }
      PetscCall(PetscFree(col));
      r[RC_ACC] = acc[q];
      r[RC_USED] = 1;
    }
    PetscCall(par_progress_report(ctx, &prog, b0 + nb - lo, nloc, "", b0 + nb == hi));
  }
  double tt[2] = {cs_wtime() - t0, nloc > 0 ? (cs_wtime() - t0) / (double)nloc : 0};
  PetscCall(par_allreduce_max(ctx, tt, 2));
  s->seconds = tt[0];
  s->star_seconds = tt[1];

  double *all_rec = NULL, *all_smp = NULL;
  PetscInt ntot;
  PetscCall(par_gather_doubles(ctx, rec, nloc * RC_NCOL, &all_rec, &ntot));
  PetscCall(par_gather_doubles(ctx, smp, nloc * L * NP, &all_smp, &ntot));
  PetscCall(PetscFree4(rec, smp, xs, acc));
  if (ctx->rank == 0) {
    double *col, *alpha = NULL, *ecp = NULL, v[3];
    const double q[3] = {0.5, 1.0, 0};
    PetscCall(PetscMalloc1(o.n + 1, &col));
    for (PetscInt i = 0; i < o.n; i++) s->nused += all_rec[i * RC_NCOL + RC_USED] != 0;
    for (PetscInt i = 0; i < o.n; i++) col[i] = all_rec[i * RC_NCOL + RC_ACC];
    PetscCall(calib_quantiles(o.n, col, 1, q, v));
    s->accept_median = v[0];
    for (int d = 0; d < 2; d++) {
      for (PetscInt i = 0; i < o.n; i++) col[i] = all_rec[i * RC_NCOL + RC_RHAT + d];
      PetscCall(calib_quantiles(o.n, col, 2, q, v));
      s->rhat_median[d] = v[0];
      s->rhat_max[d] = v[1];
    }
    PetscCall(PetscFree(col));
    if (o.cases) {
      PetscCheck(s->nused == o.n, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
                 "nre -cases: %" PetscInt_FMT " test cases have missing elements; the fixed-noise ratio estimator "
                 "needs all eight",
                 o.n - s->nused);
      PetscCall(PetscMalloc2(c->tarp_bins + 1, &alpha, c->tarp_bins + 1, &ecp));
      PetscCall(cases_calibrate(o.n, L, all_smp, o.tc.truth, &nre->prior, (uint64_t)c->seed, c->tarp_bins, &s->cal,
                                NULL, alpha, ecp));
      s->calibrated = PETSC_TRUE;
      PetscCall(cases_print("nre calibration", &s->cal, &nre->prior));
    }
    if (c->out[0]) {
      PetscCall(write_output(c, &o, s, all_rec, all_smp, alpha, ecp));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
    }
    if (alpha) PetscCall(PetscFree2(alpha, ecp));
  }
  PetscCall(par_bcast_bytes(ctx->comm, s, sizeof(*s)));
  PetscCall(PetscFree(all_rec));
  PetscCall(PetscFree(all_smp));
  PetscCall(obsset_destroy(&o));
  PetscCall(nre_destroy(&nre));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode nre_run_summary_line(const NreRunSummary *s, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(buf, len,
                          "NRE n=%" PetscInt_FMT " used=%" PetscInt_FMT
                          " accept_median=%.3g rhat_alpha_median=%.4g rhat_alpha_max=%.4g rhat_nia_median=%.4g "
                          "rhat_nia_max=%.4g s_per_star=%.4g",
                          s->n, s->nused, s->accept_median, s->rhat_median[0], s->rhat_max[0], s->rhat_median[1],
                          s->rhat_max[1], s->star_seconds));
  PetscFunctionReturn(PETSC_SUCCESS);
}
