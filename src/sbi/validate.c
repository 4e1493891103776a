/* The validate command's engine: test cases from the NPE's prior, observations
 * from CHEMPY (or the emulator) plus noise, posterior samples per case on the
 * rank that owns it, then SBC, TARP and APE on rank 0 from the gathered cases.
 * Every random number is keyed by the global case index (validate.h), so the
 * numbers are the same for any number of ranks. */
#include <chempysbi/report.h>
#include <chempysbi/calib.h>
#include <chempysbi/emu.h>
#include <chempysbi/guard.h>
#include <chempysbi/h5.h>
#include <chempysbi/npe.h>
#include <chempysbi/validate.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-case record gathered to rank 0. */
enum {
  RC_TH = 0,                     /* truth (6) */
  RC_X = RC_TH + CS_NPARAM,      /* noisy observation (8) */
  RC_SIG = RC_X + CS_NELEM,      /* sigma of each observation (8), NaN where missing */
  RC_MEAN = RC_SIG + CS_NELEM,   /* posterior mean (6) */
  RC_SD = RC_MEAN + CS_NPARAM,   /* posterior sd (6) */
  RC_RANK = RC_SD + CS_NPARAM,   /* SBC rank (6), in [0, samples] */
  RC_ACC = RC_RANK + CS_NPARAM,  /* accepted / drawn */
  RC_TRIES,                      /* theta draws until CHEMPY accepted (1 = first) */
  RC_CAPPED,                     /* 1 if the draw cap was hit */
  RC_XMEAN,                      /* exact posterior mean (6), NaN unless -exact */
  RC_XSD = RC_XMEAN + CS_NPARAM, /* exact posterior sd (6) */
  RC_ESS = RC_XSD + CS_NPARAM,   /* effective sample size of the importance weights */
  RC_NCOL
};

PetscErrorCode validate_config_default(ValidateConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->n = 500;
  c->samples = 1000;
  c->seed = 1;
  c->max_draws_factor = 100;
  c->tarp_bins = 30;
  c->simulator = VALIDATE_SIM_CHEMPY;
  c->plots = PETSC_TRUE;
  c->progress_every = 10;
  c->p_missing = -1;
  c->exact_samples = 20000;
  PetscCall(PetscStrncpy(c->out, "output/validation.h5", sizeof(c->out)));
  PetscCall(gce_config_default(&c->gce));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode validate_set_from_options(MPI_Comm comm, ValidateConfig *c)
{
  const char *sims[] = {"chempy", "emulator", "ValidateSimulator", "VALIDATE_SIM_", NULL};
  PetscEnum sim = (PetscEnum)c->simulator;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "validate: calibration of the NPE (SBC, TARP, APE of posterior means)", "validate");
  PetscCall(PetscOptionsString("-model", "posterior estimator file (.h5, from train-npe)", NULL, c->npe, c->npe,
                               sizeof(c->npe), NULL));
  PetscCall(PetscOptionsString("-npe", "synonym of -model", NULL, c->npe, c->npe, sizeof(c->npe), NULL));
  PetscCall(PetscOptionsInt("-n", "test cases (theta from the NPE's prior)", NULL, c->n, &c->n, NULL));
  PetscCall(PetscOptionsInt("-samples", "posterior samples per test case", NULL, c->samples, &c->samples, NULL));
  PetscCall(PetscOptionsEnum("-simulator", "observations from chempy (the honest test, default) or emulator", NULL,
                             sims, sim, &sim, NULL));
  PetscCall(PetscOptionsString("-emulator", "emulator model file (.h5), for -simulator emulator", NULL, c->emulator,
                               c->emulator, sizeof(c->emulator), NULL));
  PetscCall(PetscOptionsInt("-seed", "seed of test parameters, noise, posterior draws and TARP references", NULL,
                            c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsString("-out", "result file (.h5); PNG plots are written beside it", NULL, c->out, c->out,
                               sizeof(c->out), NULL));
  PetscCall(PetscOptionsInt("-max_draws_factor",
                            "cap on NPE draws per case, as a multiple of -samples (prior-support rejection)", NULL,
                            c->max_draws_factor, &c->max_draws_factor, NULL));
  PetscCall(PetscOptionsInt("-tarp_bins", "TARP credibility bins (sbi: 30)", NULL, c->tarp_bins, &c->tarp_bins, NULL));
  PetscCall(PetscOptionsBool("-plots", "write PNG plots with gnuplot", NULL, c->plots, &c->plots, NULL));
  PetscCall(PetscOptionsReal("-progress_every", "seconds between progress lines [s]", NULL, c->progress_every,
                             &c->progress_every, NULL));
  PetscCall(PetscOptionsString("-errors", "test-case errors: sigma log-uniform in LO,HI [dex] (default: the NPE's own)",
                               NULL, c->errors, c->errors, sizeof(c->errors), NULL));
  PetscCall(PetscOptionsReal("-p_missing", "probability that an element of a test case is missing (default: the NPE's)",
                             NULL, c->p_missing, &c->p_missing, NULL));
  PetscCall(PetscOptionsString("-drop",
                               "elements missing in every test case, e.g. He_Fe,Ne_Fe (APOGEE-like); none: no pattern",
                               NULL, c->drop, c->drop, sizeof(c->drop), NULL));
  PetscCall(PetscOptionsInt("-exact", "compare the first N cases with the exact (emulator-likelihood) posterior", NULL,
                            c->exact, &c->exact, NULL));
  PetscCall(PetscOptionsInt("-exact_samples", "importance samples per -exact case", NULL, c->exact_samples,
                            &c->exact_samples, NULL));
  PetscOptionsEnd();
  c->simulator = (ValidateSimulator)sim;
  PetscCall(gce_config_set_from_options(&c->gce));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode validate_check_config(MPI_Comm comm, const ValidateConfig *c)
{
  PetscFunctionBeginUser;
  PetscCheck(c->npe[0], comm, PETSC_ERR_ARG_WRONG,
             "validate needs -model FILE (the posterior estimator to validate; -npe is a synonym)");
  PetscCheck(c->n > 0, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-n %" PetscInt_FMT ": the number of test cases must be positive", c->n);
  PetscCheck(c->n <= VALIDATE_MAX_CASES, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-n %" PetscInt_FMT ": at most %d test cases (random stream layout)", c->n, VALIDATE_MAX_CASES);
  PetscCheck(c->samples >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-samples %" PetscInt_FMT ": need at least 2 posterior samples per case (as infer)", c->samples);
  /* On the option text too: PETSc wraps integers above 2^31 into range. */
  PetscCall(guard_int_option(comm, "-n", c->n, 1, VALIDATE_MAX_CASES));
  PetscCall(guard_int_option(comm, "-samples", c->samples, 2, 100000000));
  PetscCall(guard_int_option(comm, "-max_draws_factor", c->max_draws_factor, 1, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-tarp_bins", c->tarp_bins, 1, 100000));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCall(guard_real_option(comm, "-progress_every", c->progress_every, 0, 1e9));
  PetscCheck((double)c->samples * (double)c->max_draws_factor < 2e9, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-max_draws_factor %" PetscInt_FMT ": -samples x factor must stay below 2e9", c->max_draws_factor);
  PetscCheck(c->max_draws_factor >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-max_draws_factor %" PetscInt_FMT ": must be at least 1", c->max_draws_factor);
  PetscCheck(c->tarp_bins >= 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-tarp_bins %" PetscInt_FMT ": must be positive",
             c->tarp_bins);
  /* All samples go to rank 0 in one MPI_Gatherv (TARP needs every case). */
  PetscCheck((double)c->n * (double)c->samples * CS_NPARAM <= (double)INT_MAX, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-n %" PetscInt_FMT " x -samples %" PetscInt_FMT
             " x 6 values exceed what one MPI gather carries (2^31 - 1): use fewer",
             c->n, c->samples);
  /* Rank 0 holds every case's samples (TARP), each rank its own. */
  PetscCall(guard_memory(comm, 8.0 * CS_NPARAM * (double)c->samples * 2 * (double)c->n, "-n x -samples"));
  if (c->simulator == VALIDATE_SIM_EMULATOR || c->exact > 0)
    PetscCheck(c->emulator[0], comm, PETSC_ERR_ARG_WRONG,
               "-simulator emulator needs -emulator FILE (and so does -exact)");
  else
    PetscCheck(!c->emulator[0], comm, PETSC_ERR_ARG_WRONG,
               "-emulator %s is only used with -simulator emulator or -exact (the default simulator is chempy)",
               c->emulator);
  PetscCheck(c->exact >= 0 && c->exact <= c->n && c->exact_samples >= 100, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-exact %" PetscInt_FMT " must be in 0..-n, -exact_samples %" PetscInt_FMT " at least 100", c->exact,
             c->exact_samples);
  PetscCheck(c->p_missing < 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-p_missing %g must be below 1", c->p_missing);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The test cases' observation model: the NPE's own training model, with
 * -errors, -p_missing and -drop (a pattern on every case) replacing parts. */
static PetscErrorCode case_obs_model(MPI_Comm comm, const ValidateConfig *c, const Npe *npe, ObsModel *m)
{
  PetscFunctionBeginUser;
  *m = npe->obs;
  if (c->errors[0]) PetscCall(obs_parse_range(comm, "-errors", c->errors, &m->lo, &m->hi));
  if (c->p_missing >= 0) m->p_missing = c->p_missing;
  if (!strcmp(c->drop, "none")) { /* no pattern at all, not even the NPE's training one */
    m->drop = 0;
    m->p_drop = 0;
  } else if (c->drop[0]) {
    PetscCall(obs_parse_elements(comm, "-drop", c->drop, &m->drop));
    m->p_drop = 1;
  }
  PetscCheck(npe->kind == NPE_CONDITIONED || obs_is_fixed(m), comm, PETSC_ERR_ARG_WRONG,
             "%s is a fixed-noise NPE: it cannot take missing elements (-p_missing, -drop)", c->npe);
  if (npe->kind == NPE_FIXED && (m->lo != npe->noise || m->hi != npe->noise))
    PetscCall(PetscPrintf(comm,
                          "warning: test-case errors %g-%g dex, but %s assumes %g dex: the posteriors are "
                          "miscalibrated by construction\n",
                          m->lo, m->hi, c->npe, npe->noise));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The TARP normalisation box, fixed by the prior rather than by the truths
 * (sbi uses the truths' min/max): the reference distribution then does not
 * depend on the test set. Gaussian prior: mean +- 3 sd clipped to the support
 * (what 500 truths span anyway); uniform parameters and the wide prior: the support. */
static void tarp_box(const Prior *p, double lo[CS_NPARAM], double hi[CS_NPARAM])
{
  for (int k = 0; k < CS_NPARAM; k++) {
    lo[k] = p->lo[k];
    hi[k] = p->hi[k];
    if (p->kind == PRIOR_GAUSS && cs_parameters[k].prior == CS_PRIOR_NORMAL) {
      lo[k] = PetscMax(p->lo[k], p->mean[k] - 3 * p->sd[k]);
      hi[k] = PetscMin(p->hi[k], p->mean[k] + 3 * p->sd[k]);
    }
  }
}

typedef struct {
  const ValidateConfig *c;
  ObsModel obs; /* the test cases' errors and gaps */
  Npe *npe;
  GceWork *work; /* chempy */
  Emulator *emu; /* emulator */
  PetscLogEvent ev_sim, ev_sample;
  double t_sample; /* [s] in npe_sample */
} CaseCtx;

/* The exact posterior of case j under the emulator likelihood: M draws from
 * the NPE (inside the prior) reweighted by prior x likelihood / NPE density,
 * the likelihood a product over the present elements of N(x_e; emu_e, sigma_e).
 * The NPE's truncation to the prior support is a constant factor, so
 * self-normalised weights need no normalisation. Mean, sd and the ESS go to rec. */
static PetscErrorCode exact_posterior(CaseCtx *cc, PetscInt j, const double *x, const double *sig, const double *ctx,
                                      double *rec)
{
  const PetscInt M = cc->c->exact_samples;
  const int C = cc->npe->est->C;
  double *th, *cx, *lq, *mu, *w, wmax = -INFINITY, sw = 0, sw2 = 0;
  NpeSampleStats ss;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5(M * CS_NPARAM, &th, M * C, &cx, M, &lq, M * CS_NELEM, &mu, M, &w));
  PetscCall(npe_sample_ctx(cc->npe, ctx, M, (uint64_t)cc->c->seed, RNG_POSTERIOR, (uint64_t)j + VALIDATE_EXACT_INDEX,
                           M * cc->c->max_draws_factor, th, &ss));
  PetscInt m = ss.accepted;
  for (PetscInt i = 0; i < m; i++) PetscCall(PetscArraycpy(cx + i * C, ctx, C));
  npe_log_prob_ctx(cc->npe, th, cx, (int)m, lq);
  emu_predict(cc->emu, th, (size_t)m, mu);
  for (PetscInt i = 0; i < m; i++) {
    double ll = 0;
    for (int e = 0; e < CS_NELEM; e++)
      if (isfinite(x[e])) {
        double z = (x[e] - mu[i * CS_NELEM + e]) / sig[e];
        ll -= 0.5 * z * z;
      }
    w[i] = prior_log_prob(&cc->npe->prior, th + i * CS_NPARAM) + ll - lq[i];
    wmax = PetscMax(wmax, w[i]);
  }
  for (PetscInt i = 0; i < m; i++) {
    w[i] = exp(w[i] - wmax);
    sw += w[i];
    sw2 += w[i] * w[i];
  }
  for (int d = 0; d < CS_NPARAM; d++) {
    double mean = 0, var = 0;
    for (PetscInt i = 0; i < m; i++) mean += w[i] * th[i * CS_NPARAM + d];
    mean /= sw;
    for (PetscInt i = 0; i < m; i++) var += w[i] * (th[i * CS_NPARAM + d] - mean) * (th[i * CS_NPARAM + d] - mean);
    rec[RC_XMEAN + d] = mean;
    rec[RC_XSD + d] = sqrt(var / sw);
  }
  rec[RC_ESS] = m > 0 ? sw * sw / sw2 : 0;
  PetscCall(PetscFree5(th, cx, lq, mu, w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Test case j: truth, observation, samples (samples, 6) and its record. */
static PetscErrorCode run_case(CaseCtx *cc, PetscInt j, double *samples, double *rec)
{
  const ValidateConfig *c = cc->c;
  const uint64_t seed = (uint64_t)c->seed;
  const PetscInt L = c->samples;
  double *th = rec + RC_TH, *x = rec + RC_X, clean[CS_NELEM];
  NpeSampleStats ss;
  Rng r;
  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(cc->ev_sim, 0, 0, 0, 0));
  if (c->simulator == VALIDATE_SIM_CHEMPY) {
    GceStatus st = GCE_REJ_BOUNDS;
    int k;
    for (k = 0; k < VALIDATE_MAX_REDRAWS && st != GCE_OK; k++) {
      prior_sample(&cc->npe->prior, seed, RNG_VALIDATE, (uint64_t)j + (uint64_t)k * VALIDATE_REDRAW_STRIDE, th);
      PetscCall(gce_run(cc->work, th, clean, &st, NULL));
    }
    PetscCheck(st == GCE_OK, PETSC_COMM_SELF, PETSC_ERR_LIB,
               "test case %" PetscInt_FMT ": CHEMPY rejected %d parameter draws from the NPE's prior in a row (last: "
               "%s); is the CHEMPY configuration the one the training set used?",
               j, VALIDATE_MAX_REDRAWS, gce_status_name(st));
    rec[RC_TRIES] = k;
  } else {
    prior_sample(&cc->npe->prior, seed, RNG_VALIDATE, (uint64_t)j, th);
    emu_predict(cc->emu, th, 1, clean);
    rec[RC_TRIES] = 1;
  }
  PetscCall(PetscLogEventEnd(cc->ev_sim, 0, 0, 0, 0));
  rng_init(&r, seed, RNG_VALIDATE, (uint64_t)j + VALIDATE_NOISE_INDEX);
  unsigned char why[CS_NELEM];
  double ctx[NPE_CTX_MAX];
  obs_draw(&cc->obs, &r, clean, x, rec + RC_SIG, why);
  obs_mask(why, x, rec + RC_SIG);
  PetscCheck(npe_context(cc->npe, x, rec + RC_SIG, ctx, NULL), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "test case %" PetscInt_FMT ": a fixed-noise NPE cannot take missing elements (-p_missing, -drop)", j);

  double t0 = cs_wtime();
  PetscCall(PetscLogEventBegin(cc->ev_sample, 0, 0, 0, 0));
  PetscCall(npe_sample_ctx(cc->npe, ctx, L, seed, RNG_POSTERIOR, (uint64_t)j + VALIDATE_POST_INDEX,
                           L * c->max_draws_factor, samples, &ss));
  PetscCall(PetscLogEventEnd(cc->ev_sample, 0, 0, 0, 0));
  cc->t_sample += cs_wtime() - t0;
  PetscCheck(ss.accepted > 0, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
             "test case %" PetscInt_FMT ": none of %" PetscInt_FMT
             " NPE draws fell inside the prior's support; the NPE does not fit this prior",
             j, ss.drawn);
  rec[RC_ACC] = (double)ss.accepted / (double)ss.drawn;
  rec[RC_CAPPED] = ss.capped ? 1 : 0;
  if (ss.capped) {
    /* Resample the accepted draws cyclically up to L (the empirical posterior),
     * so SBC ranks stay on the common 0..L scale and TARP sees L samples. */
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                           "warning: test case %" PetscInt_FMT ": only %" PetscInt_FMT " of %" PetscInt_FMT
                           " NPE draws inside the prior (cap reached); its %" PetscInt_FMT " samples repeat them\n",
                           j, ss.accepted, ss.drawn, L));
    for (PetscInt l = ss.accepted; l < L; l++)
      for (int d = 0; d < CS_NPARAM; d++) samples[l * CS_NPARAM + d] = samples[(l % ss.accepted) * CS_NPARAM + d];
  }
  PetscInt rank[CS_NPARAM];
  calib_sbc_ranks(L, CS_NPARAM, samples, th, rank);
  for (int d = 0; d < CS_NPARAM; d++) {
    double m = 0, v = 0;
    for (PetscInt l = 0; l < L; l++) m += samples[l * CS_NPARAM + d];
    m /= (double)L;
    for (PetscInt l = 0; l < L; l++) v += (samples[l * CS_NPARAM + d] - m) * (samples[l * CS_NPARAM + d] - m);
    rec[RC_MEAN + d] = m;
    rec[RC_SD + d] = L > 1 ? sqrt(v / (double)(L - 1)) : 0.0;
    rec[RC_RANK + d] = (double)rank[d];
  }
  for (int d = 0; d < 2 * CS_NPARAM + 1; d++) rec[RC_XMEAN + d] = NAN;
  if (j < c->exact) PetscCall(exact_posterior(cc, j, x, rec + RC_SIG, ctx, rec));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Medians over the -exact cases with a usable ESS of |NPE mean - exact mean| / exact sd and NPE sd / exact sd. */
static PetscErrorCode exact_summary(PetscInt n, const double *rec, ValidateSummary *s)
{
  double *a, *b, half = 0.5;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(n, &a, n, &b));
  s->nexact = 0;
  s->exact_ess_min = INFINITY;
  for (int d = 0; d < CS_NPARAM; d++) {
    PetscInt m = 0;
    for (PetscInt i = 0; i < n; i++) {
      const double *r = rec + i * RC_NCOL;
      if (!(r[RC_ESS] >= 100)) continue; /* not computed (NaN), or too few effective samples */
      a[m] = fabs(r[RC_MEAN + d] - r[RC_XMEAN + d]) / r[RC_XSD + d];
      b[m++] = r[RC_SD + d] / r[RC_XSD + d];
      if (d == 0) s->exact_ess_min = PetscMin(s->exact_ess_min, r[RC_ESS]);
    }
    s->nexact = m;
    s->exact_dmean[d] = s->exact_sdratio[d] = NAN;
    if (m > 0) {
      PetscCall(calib_quantiles(m, a, 1, &half, &s->exact_dmean[d]));
      PetscCall(calib_quantiles(m, b, 1, &half, &s->exact_sdratio[d]));
    }
  }
  PetscCall(PetscFree2(a, b));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: every statistic from the gathered records and samples. */
static PetscErrorCode analyse(const ValidateConfig *c, const Npe *npe, const double *rec, const double *samples,
                              ValidateSummary *s, double *tarp_f, double *alpha, double *ecp)
{
  const PetscInt n = c->n, L = c->samples;
  double *truth, *mean, *g_mean, *g_truth;
  PetscInt *rank;
  PetscFunctionBeginUser;
  PetscCall(
      PetscMalloc5(n * CS_NPARAM, &truth, n * CS_NPARAM, &mean, n * 2, &g_mean, n * 2, &g_truth, n * CS_NPARAM, &rank));
  s->min_acceptance = 1;
  s->nlow = s->ncapped = s->redraws = 0;
  for (int d = 0; d < CS_NPARAM; d++) s->rmse[d] = s->mean_sd[d] = 0;
  for (PetscInt i = 0; i < n; i++) {
    const double *r = rec + i * RC_NCOL;
    for (int d = 0; d < CS_NPARAM; d++) {
      truth[i * CS_NPARAM + d] = r[RC_TH + d];
      mean[i * CS_NPARAM + d] = r[RC_MEAN + d];
      rank[i * CS_NPARAM + d] = (PetscInt)r[RC_RANK + d];
      s->rmse[d] += (r[RC_MEAN + d] - r[RC_TH + d]) * (r[RC_MEAN + d] - r[RC_TH + d]);
      s->mean_sd[d] += r[RC_SD + d];
    }
    for (int d = 0; d < 2; d++) {
      g_truth[i * 2 + d] = r[RC_TH + d];
      g_mean[i * 2 + d] = r[RC_MEAN + d];
    }
    s->min_acceptance = PetscMin(s->min_acceptance, r[RC_ACC]);
    s->nlow += r[RC_ACC] < 0.5;
    s->ncapped += r[RC_CAPPED] != 0;
    s->redraws += (PetscInt)r[RC_TRIES] - 1;
  }
  for (int d = 0; d < CS_NPARAM; d++) {
    s->rmse[d] = sqrt(s->rmse[d] / (double)n);
    s->mean_sd[d] /= (double)n;
    PetscCall(calib_sbc_ks(n, L, rank + d, CS_NPARAM, &s->sbc_D[d], &s->sbc_p[d]));
  }
  PetscCall(calib_ape(n, CS_NPARAM, mean, truth, s->ape_q25, s->ape_median, s->ape_q75, s->ape_all));
  PetscCall(exact_summary(n, rec, s));
  PetscCall(calib_ape(n, 2, g_mean, g_truth, NULL, NULL, NULL, s->ape_globals));
  tarp_box(&npe->prior, s->tarp_lo, s->tarp_hi);
  PetscCall(calib_tarp(n, L, CS_NPARAM, samples, truth, s->tarp_lo, s->tarp_hi, (uint64_t)c->seed, s->nalpha, ecp,
                       alpha, &s->tarp_atc_sum, &s->tarp_ks_p));
  s->tarp_atc = s->tarp_atc_sum / (double)(s->nalpha - 1);
  PetscCall(calib_tarp_f(n, L, CS_NPARAM, samples, truth, s->tarp_lo, s->tarp_hi, (uint64_t)c->seed, tarp_f));
  PetscCall(PetscFree5(truth, mean, g_mean, g_truth, rank));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode validate_summary_line(const ValidateSummary *s, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(buf, len, "VALIDATION tarp_atc=%.4g tarp_ks_p=%.4g", s->tarp_atc, s->tarp_ks_p));
  for (int d = 0; d < CS_NPARAM; d++) {
    char one[128];
    PetscCall(PetscSNPrintf(one, sizeof(one), " %s_sbc_p=%.4g %s_ape_median=%.4g", cs_param_names[d], s->sbc_p[d],
                            cs_param_names[d], s->ape_median[d]));
    PetscCall(PetscStrlcat(buf, one, len));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const char *sim_name(const ValidateConfig *c)
{
  if (c->simulator == VALIDATE_SIM_EMULATOR) return "emulator";
  return c->gce.scheme == GCE_SCHEME_CVODE ? "chempy (cvode)" : "chempy (discrete)";
}

static PetscErrorCode print_table(const ValidateConfig *c, const Npe *npe, const ValidateSummary *s, int nranks)
{
  char pattern[256];
  PetscFunctionBeginUser;
  obs_elements_string(s->obs.p_drop > 0 ? s->obs.drop : 0, pattern, sizeof(pattern));
  if (!pattern[0]) PetscCall(PetscStrncpy(pattern, "none", sizeof(pattern)));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "validate: %" PetscInt_FMT " test cases from %s + errors %.3g-%.3g dex (p_missing %g, "
                        "pattern %s), %" PetscInt_FMT
                        " posterior samples each, %d ranks, %.2f s (sampling %.2f s, %.3g samples/s/rank)\n",
                        s->n, sim_name(c), s->obs.lo, s->obs.hi, s->obs.p_missing, pattern, s->samples, nranks,
                        s->seconds, s->sample_seconds,
                        s->sample_seconds > 0 ? (double)s->n * s->samples / nranks / s->sample_seconds : 0.0));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%-16s %7s %7s | %8s %8s %8s | %9s %9s %9s\n", "parameter", "SBC D", "SBC p",
                        "APE q25", "median", "q75", "RMSE", "post sd", "prior sd"));
  for (int d = 0; d < CS_NPARAM; d++)
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%-16s %7.4f %7.4f | %7.2f%% %7.2f%% %7.2f%% | %9.4g %9.4g %9.4g\n",
                          cs_param_names[d], s->sbc_D[d], s->sbc_p[d], s->ape_q25[d], s->ape_median[d], s->ape_q75[d],
                          s->rmse[d], s->mean_sd[d], npe->prior.sd[d]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "APE of posterior means, median (q25 - q75): globals %.2f%% (%.2f - %.2f), all six %.2f%% "
                        "(%.2f - %.2f)   [paper: 2.3%%, 9.3%%]\n",
                        s->ape_globals[1], s->ape_globals[0], s->ape_globals[2], s->ape_all[1], s->ape_all[0],
                        s->ape_all[2]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "TARP: ATC %.4f (area over alpha in [0.5, 1] = sbi's sum %.4f / %" PetscInt_FMT
                        " bins; > 0 too wide, < 0 too narrow or biased), KS p of the coverage values %.4g\n",
                        s->tarp_atc, s->tarp_atc_sum, s->nalpha - 1, s->tarp_ks_p));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "sampling: lowest acceptance inside the prior %.3f, %" PetscInt_FMT
                        " cases below 0.5, %" PetscInt_FMT " at the draw cap; CHEMPY rejections redrawn: %" PetscInt_FMT
                        "\n",
                        s->min_acceptance, s->nlow, s->ncapped, s->redraws));
  if (c->exact > 0) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "exact posterior (emulator likelihood, importance sampling, %" PetscInt_FMT
                          " of %" PetscInt_FMT " cases with ESS >= 100, min ESS %.0f): median |mean - exact| / exact "
                          "sd, median sd / exact sd:\n",
                          s->nexact, c->exact, s->exact_ess_min));
    for (int d = 0; d < CS_NPARAM; d++)
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "  %-16s %7.3f %7.3f\n", cs_param_names[d], s->exact_dmean[d],
                            s->exact_sdratio[d]));
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "EXACT n=%" PetscInt_FMT " alpha_IMF_dmean=%.4g alpha_IMF_sdratio=%.4g log10_N_Ia_dmean=%.4g "
                          "log10_N_Ia_sdratio=%.4g\n",
                          s->nexact, s->exact_dmean[0], s->exact_sdratio[0], s->exact_dmean[1], s->exact_sdratio[1]));
  }
  /* On stdout, so it stays in order with the table (mpirun forwards stderr separately). */
  if (s->nlow > 0 || s->ncapped > 0)
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "warning: %" PetscInt_FMT
                          " test cases with less than half of the NPE draws inside the prior; %" PetscInt_FMT
                          " stopped at the cap of %" PetscInt_FMT " draws\n",
                          s->nlow, s->ncapped, c->max_draws_factor * c->samples));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_output(const ValidateConfig *c, const Npe *npe, const ValidateSummary *s, const double *rec,
                                   const double *tarp_f, const double *alpha, const double *ecp)
{
  static const char *const info_cols[3] = {"acceptance", "theta_draws", "capped"};
  static const char *const tarp_cols[2] = {"alpha", "ecp"}, *const ess_cols[1] = {"ess"};
  const PetscInt n = s->n;
  double *buf;
  int *ibuf;
  H5File f;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(2 * s->nalpha, &buf, n * CS_NPARAM, &ibuf));
  PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
  PetscCall(h5_write_provenance(&f, "validate"));
  /* Per-case tables. */
  const H5Slice t[] = {
      {"truth", RC_TH, CS_NPARAM, cs_param_names},
      {"observations", RC_X, CS_NELEM, cs_elem_names},
      {"errors", RC_SIG, CS_NELEM, cs_elem_names},
      {"posterior_mean", RC_MEAN, CS_NPARAM, cs_param_names},
      {"posterior_sd", RC_SD, CS_NPARAM, cs_param_names},
      {"case_info", RC_ACC, 3, info_cols},
      {"exact_mean", RC_XMEAN, CS_NPARAM, cs_param_names},
      {"exact_sd", RC_XSD, CS_NPARAM, cs_param_names},
      {"exact_ess", RC_ESS, 1, ess_cols},
  };
  PetscCall(h5_table_write_slices(&f, n, RC_NCOL, rec, sizeof(t) / sizeof(t[0]), t));
  for (PetscInt i = 0; i < n; i++)
    for (int d = 0; d < CS_NPARAM; d++) ibuf[i * CS_NPARAM + d] = (int)rec[i * RC_NCOL + RC_RANK + d];
  PetscCall(h5_table_write(&f, "sbc_rank", H5T_NATIVE_INT, n, CS_NPARAM, cs_param_names, ibuf));
  PetscCall(h5_table_write(&f, "tarp_f", H5T_NATIVE_DOUBLE, n, 0, NULL, tarp_f));
  for (PetscInt k = 0; k < s->nalpha; k++) {
    buf[2 * k] = alpha[k];
    buf[2 * k + 1] = ecp[k];
  }
  PetscCall(h5_table_write(&f, "tarp", H5T_NATIVE_DOUBLE, s->nalpha, 2, tarp_cols, buf));
  /* Inputs and summary numbers. */
  PetscInt iv[3] = {s->n, s->samples, c->seed};
  PetscCall(h5_attr_write_str(&f, "/", "npe_file", c->npe));
  PetscCall(h5_attr_write_str(&f, "/", "simulator", sim_name(c)));
  PetscCall(h5_attr_write_str(&f, "/", "emulator_file", c->emulator));
  PetscCall(h5_attr_write_str(&f, "/", "yields", c->gce.yields));
  if (c->simulator == VALIDATE_SIM_CHEMPY) { /* the CHEMPY that made the observations */
    char gce[512];
    PetscCall(gce_config_string(&c->gce, gce, sizeof(gce)));
    PetscCall(h5_attr_write_str(&f, "/", "chempy_config", gce));
  }
  PetscCall(h5_attr_write_str(&f, "/", "parameters", cs_param_list));
  PetscCall(h5_attr_write_int(&f, "/", "n_cases_samples_seed", 3, iv));
  PetscCall(h5_attr_write_double(&f, "/", "noise_dex", 1, &npe->noise));
  double om[4] = {s->obs.lo, s->obs.hi, s->obs.p_missing, s->obs.p_drop};
  char drop[256];
  obs_elements_string(s->obs.drop, drop, sizeof(drop));
  PetscCall(h5_attr_write_double(&f, "/", "cases_errors_lo_hi_p_missing_p_drop", 4, om));
  PetscCall(h5_attr_write_str(&f, "/", "cases_drop_pattern", drop[0] ? drop : "none"));
  PetscCall(h5_attr_write_double(&f, "/", "tarp_atc", 1, &s->tarp_atc));
  PetscCall(h5_attr_write_double(&f, "/", "tarp_atc_sum", 1, &s->tarp_atc_sum));
  PetscCall(h5_attr_write_str(
      &f, "/", "tarp_atc_definition",
      "tarp_atc = sum over alpha_k >= 0.5 of (ecp_k - alpha_k) / (nalpha - 1): the area between the ECP curve and the "
      "diagonal on [0.5, 1]; tarp_atc_sum is sbi's check_tarp sum (grid dependent)"));
  PetscCall(h5_attr_write_double(&f, "/", "tarp_ks_p", 1, &s->tarp_ks_p));
  PetscCall(h5_attr_write_double(&f, "/", "tarp_box_lo", CS_NPARAM, s->tarp_lo));
  PetscCall(h5_attr_write_double(&f, "/", "tarp_box_hi", CS_NPARAM, s->tarp_hi));
  PetscCall(h5_attr_write_double(&f, "/", "sbc_ks_D", CS_NPARAM, s->sbc_D));
  PetscCall(h5_attr_write_double(&f, "/", "sbc_ks_p", CS_NPARAM, s->sbc_p));
  PetscCall(h5_attr_write_double(&f, "/", "ape_q25", CS_NPARAM, s->ape_q25));
  PetscCall(h5_attr_write_double(&f, "/", "ape_median", CS_NPARAM, s->ape_median));
  PetscCall(h5_attr_write_double(&f, "/", "ape_q75", CS_NPARAM, s->ape_q75));
  PetscCall(h5_attr_write_double(&f, "/", "ape_globals_q25_median_q75", 3, s->ape_globals));
  PetscCall(h5_attr_write_double(&f, "/", "ape_all_q25_median_q75", 3, s->ape_all));
  PetscCall(h5_attr_write_double(&f, "/", "rmse", CS_NPARAM, s->rmse));
  PetscCall(h5_attr_write_double(&f, "/", "mean_posterior_sd", CS_NPARAM, s->mean_sd));
  PetscCall(h5_attr_write_double(&f, "/", "min_acceptance", 1, &s->min_acceptance));
  PetscInt cnt[3] = {s->nlow, s->ncapped, s->redraws};
  PetscCall(h5_attr_write_int(&f, "/", "n_low_acceptance_n_capped_chempy_redraws", 3, cnt));
  PetscCall(h5_commit(&f));
  PetscCall(PetscFree2(buf, ibuf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Test stars from another CHEMPY model than the one the NPE was trained on would measure
   the model mismatch, not the calibration: refused, naming the differing field. Numerical
   settings (scheme, steps, tolerances) may differ; NPE files from before the configuration
   was recorded are not checked. */
static PetscErrorCode validate_check_chempy(MPI_Comm comm, const ValidateConfig *c)
{
  char have[512], want[512], fa[128], fb[128];
  PetscFunctionBeginUser;
  PetscCall(emu_chempy_config_read(comm, c->npe, "chempy_config", have, sizeof(have)));
  PetscCall(gce_config_string(&c->gce, want, sizeof(want)));
  PetscCheck(!gce_config_string_model_differs(have, want, fa, fb, sizeof(fa)), comm, PETSC_ERR_ARG_INCOMP,
             "-npe %s was trained on CHEMPY with %s, but validate runs CHEMPY with %s: give validate the training "
             "set's CHEMPY options (or use -simulator emulator)",
             c->npe, fa, fb);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode validate_run(const ParCtx *ctx, const ValidateConfig *c, ValidateSummary *s)
{
  CaseCtx cc = {.c = c};
  GceYields *y = NULL;
  PetscInt lo, hi, nloc, ntot;
  double *samples, *rec, *all_rec = NULL, *all_samples = NULL;
  ParProgress prog;
  char extra[64];
  PetscFunctionBeginUser;
  PetscCall(validate_check_config(ctx->comm, c));
  PetscCall(par_log_event("validate_simulate", &cc.ev_sim));
  PetscCall(par_log_event("npe_sample", &cc.ev_sample));
  PetscCall(h5_share(ctx->comm, c->npe));
  PetscCall(h5_share(ctx->comm, c->emulator));
  PetscCall(npe_read_h5(c->npe, "/npe", 1024, &cc.npe));
  if (c->simulator == VALIDATE_SIM_CHEMPY) PetscCall(validate_check_chempy(ctx->comm, c));
  if (c->simulator == VALIDATE_SIM_CHEMPY) {
    PetscCall(gce_yields_load_shared(ctx->comm, c->gce.data_dir, c->gce.yields, &y));
    PetscCall(gce_work_create(y, &c->gce, &cc.work));
  }
  if (c->emulator[0]) PetscCall(emu_read_h5(c->emulator, "/emulator", 1024, &cc.emu));
  PetscCall(case_obs_model(ctx->comm, c, cc.npe, &cc.obs));
  PetscCall(PetscMemzero(s, sizeof(*s)));
  s->obs = cc.obs;
  s->n = c->n;
  s->samples = c->samples;
  s->nalpha = c->tarp_bins + 1;

  par_block_range(c->n, ctx->rank, ctx->size, &lo, &hi);
  nloc = hi - lo;
  PetscCall(PetscMalloc2(nloc * c->samples * CS_NPARAM + 1, &samples, nloc * RC_NCOL + 1, &rec));
  PetscCall(PetscPrintf(ctx->comm,
                        "validate: %" PetscInt_FMT " test cases from %s, %" PetscInt_FMT
                        " posterior samples each, on %d ranks (progress: rank 0's %" PetscInt_FMT " cases)\n",
                        c->n, sim_name(c), c->samples, ctx->size, nloc));
  par_progress_start(&prog, "validate", 0, c->progress_every);
  double t0 = cs_wtime();
  for (PetscInt j = lo; j < hi; j++) {
    PetscCall(run_case(&cc, j, samples + (j - lo) * c->samples * CS_NPARAM, rec + (j - lo) * RC_NCOL));
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "(%.3g samples/s)",
                            cc.t_sample > 0 ? (double)(j - lo + 1) * c->samples / cc.t_sample : 0.0));
    PetscCall(par_progress_report(ctx, &prog, j - lo + 1, nloc, extra, j + 1 == hi));
  }
  double tt[2] = {cs_wtime() - t0, cc.t_sample};
  PetscCall(par_allreduce_max(ctx, tt, 2));
  s->seconds = tt[0];
  s->sample_seconds = tt[1];

  PetscCall(par_gather_doubles(ctx, rec, nloc * RC_NCOL, &all_rec, &ntot));
  PetscCall(par_gather_doubles(ctx, samples, nloc * c->samples * CS_NPARAM, &all_samples, &ntot));
  PetscCall(PetscFree2(samples, rec));
  if (ctx->rank == 0) {
    double *tarp_f, *alpha, *ecp;
    PetscCall(PetscMalloc3(c->n, &tarp_f, s->nalpha, &alpha, s->nalpha, &ecp));
    PetscCall(analyse(c, cc.npe, all_rec, all_samples, s, tarp_f, alpha, ecp));
    PetscCall(PetscFree(all_samples));
    PetscCall(print_table(c, cc.npe, s, ctx->size));
    if (c->out[0]) {
      PetscCall(write_output(c, cc.npe, s, all_rec, tarp_f, alpha, ecp));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
      ReportValidate rv = {.out = c->out,
                           .simulator = sim_name(c),
                           .n = s->n,
                           .samples = s->samples,
                           .stride = RC_NCOL,
                           .rank = all_rec + RC_RANK,
                           .truth = all_rec + RC_TH,
                           .mean = all_rec + RC_MEAN,
                           .sd = all_rec + RC_SD,
                           .nalpha = s->nalpha,
                           .alpha = alpha,
                           .ecp = ecp,
                           .sbc_p = s->sbc_p,
                           .ape_median = s->ape_median,
                           .tarp_atc = s->tarp_atc,
                           .tarp_ks_p = s->tarp_ks_p};
      if (c->plots) PetscCall(report_validate_plots(&rv));
    }
    PetscCall(PetscFree3(tarp_f, alpha, ecp));
  }
  PetscCall(par_bcast_bytes(ctx->comm, s, sizeof(*s)));
  PetscCall(PetscFree(all_rec));
  PetscCall(PetscFree(all_samples));
  if (cc.work) PetscCall(gce_work_destroy(&cc.work));
  if (y) PetscCall(gce_yields_destroy(&y));
  if (cc.emu) PetscCall(emu_destroy(&cc.emu));
  PetscCall(npe_destroy(&cc.npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}
