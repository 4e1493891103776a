/* Galaxy-level coverage (coverage.h). Galaxy g's globals come from the stream
 * (seed, RNG_COVERAGE, g), its stars from the mock streams keyed by a
 * per-galaxy seed, its inference from a per-galaxy seed: every galaxy is the
 * same for any rank count and whether or not the run was resumed. */
#include <chempysbi/cat.h>
#include <chempysbi/coverage.h>
#include <chempysbi/h5.h>
#include <chempysbi/infer.h>
#include <chempysbi/mcmc.h>
#include <chempysbi/mock.h>
#include <chempysbi/report.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const cv_cols[CV_NCOL] = {
    "true_alpha_IMF",  "true_log10_N_Ia", "mean_alpha_IMF", "mean_log10_N_Ia", "sd_alpha_IMF", "sd_log10_N_Ia",
    "cov_01",          "z_alpha_IMF",     "z_log10_N_Ia",   "mahalanobis2",    "n_stars",      "rhat_alpha_IMF",
    "rhat_log10_N_Ia", "ess_alpha_IMF",   "ess_log10_N_Ia", "converged",       "seconds",      "method"};

PetscErrorCode coverage_config_default(CoverageConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->galaxies = 100;
  c->n_stars = 1000;
  c->seed = 1;
  c->alpha = -2.3, c->nia = -2.89, c->noise = 0.05;
  c->plots = PETSC_TRUE;
  obs_fixed(c->noise, &c->obs);
  PetscCall(PetscStrncpy(c->columns, "chempysbi", sizeof(c->columns)));
  globals_config_default(&c->g);
  PetscCall(gce_config_default(&c->gce));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode coverage_set_from_options(MPI_Comm comm, CoverageConfig *c)
{
  const char *mocks[] = {"chempy", "emulator", "CoverageMock", "MOCK_", NULL};
  PetscEnum mk = c->mock_emulator ? 1 : 0;
  PetscBool fa = PETSC_FALSE, fn = PETSC_FALSE, fe;
  char errors[64] = "", drop[256] = "";
  PetscReal p_missing = c->obs.p_missing;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "coverage: galaxy-level calibration of an inference method", "coverage");
  PetscCall(PetscOptionsString("-model", "posterior estimator file (.h5, from train-npe)", NULL, c->npe, c->npe,
                               sizeof(c->npe), NULL));
  PetscCall(PetscOptionsString("-npe", "synonym of -model", NULL, c->npe, c->npe, sizeof(c->npe), NULL));
  PetscCall(PetscOptionsString("-emulator", "emulator file (default: the copy inside the NPE file)", NULL, c->emulator,
                               c->emulator, sizeof(c->emulator), NULL));
  PetscCall(
      PetscOptionsString("-out", "result file (.h5); PNG plots beside it", NULL, c->out, c->out, sizeof(c->out), NULL));
  PetscCall(PetscOptionsInt("-galaxies", "mock galaxies", NULL, c->galaxies, &c->galaxies, NULL));
  PetscCall(PetscOptionsInt("-n_stars", "stars per galaxy", NULL, c->n_stars, &c->n_stars, NULL));
  PetscCall(PetscOptionsEnum("-mock",
                             "who makes the stars: chempy (method + emulator error) or emulator (method error)", NULL,
                             mocks, mk, &mk, NULL));
  PetscCall(PetscOptionsReal("-alpha_IMF", "fix every galaxy's alpha_IMF (default: drawn from the prior)", NULL,
                             c->alpha, &c->alpha, &fa));
  PetscCall(PetscOptionsReal("-log10_N_Ia", "fix every galaxy's log10_N_Ia (default: drawn from the prior)", NULL,
                             c->nia, &c->nia, &fn));
  PetscCall(PetscOptionsReal("-noise", "Gaussian noise of the mock abundances [dex]", NULL, c->noise, &c->noise, NULL));
  PetscCall(PetscOptionsString("-errors",
                               "per-star errors: LO,HI draws each sigma log-uniform in [LO, HI] [dex], as mock", NULL,
                               errors, errors, sizeof(errors), &fe));
  PetscCall(PetscOptionsReal("-p_missing", "probability that an element is missing at random, as mock", NULL, p_missing,
                             &p_missing, NULL));
  PetscCall(PetscOptionsString("-drop", "elements the survey does not measure, e.g. He_Fe,Ne_Fe, as mock", NULL, drop,
                               drop, sizeof(drop), NULL));
  PetscCall(PetscOptionsString("-columns",
                               "survey column map (chempysbi, apogee, galah or a map file): its elements without a "
                               "value column are missing in every star",
                               NULL, c->columns, c->columns, sizeof(c->columns), NULL));
  PetscCall(
      PetscOptionsInt("-seed", "seed of the galaxies, their stars and their inference", NULL, c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsInt("-samples", "gauss: NPE draws per star", NULL, c->g.samples, &c->g.samples, NULL));
  PetscCall(PetscOptionsBool("-plots", "write PNG plots with gnuplot", NULL, c->plots, &c->plots, NULL));
  PetscOptionsEnd();
  PetscCall(globals_set_from_options(comm, &c->g));
  PetscCall(gce_config_set_from_options(&c->gce));
  c->mock_emulator = mk == 1;
  /* Emulator-made stars have no CHEMPY residual to correct: their model is the emulator itself. */
  if (c->mock_emulator) c->g.correct = PETSC_FALSE;
  /* abc and nre use no emulator: nothing to correct. */
  if (globals_is_other(c->g.method)) c->g.correct = PETSC_FALSE;
  PetscCheck(fa == fn, comm, PETSC_ERR_ARG_WRONG, "give both -alpha_IMF and -log10_N_Ia, or neither");
  c->fixed = fa;
  PetscCheck(c->galaxies >= 2 && c->galaxies <= 1000000, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-galaxies %" PetscInt_FMT ": need 2 .. 1e6", c->galaxies);
  PetscCheck(c->n_stars >= 1 && c->n_stars <= 100000000, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-n_stars %" PetscInt_FMT ": need 1 .. 1e8", c->n_stars);
  PetscCheck(c->noise > 0 && isfinite(c->noise), comm, PETSC_ERR_ARG_OUTOFRANGE, "-noise %g: must be positive",
             c->noise);
  PetscCheck(c->g.samples >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE, "-samples: need at least 2");
  /* The stars' observation model, as mock builds it from the same options. */
  obs_fixed(c->noise, &c->obs);
  PetscCheck(p_missing >= 0 && p_missing < 1, comm, PETSC_ERR_ARG_OUTOFRANGE, "-p_missing %g: need [0, 1)",
             (double)p_missing);
  c->obs.p_missing = p_missing;
  if (fe) PetscCall(obs_parse_range(comm, "-errors", errors, &c->obs.lo, &c->obs.hi));
  if (drop[0] && strcmp(drop, "none")) PetscCall(obs_parse_elements(comm, "-drop", drop, &c->obs.drop));
  {
    CatColumns map;
    PetscCall(cat_columns_get(c->columns, &map));
    for (int k = 0; k < CS_NELEM; k++)
      if (!map.val[k][0]) c->obs.drop |= 1u << k;
  }
  if (c->obs.drop) c->obs.p_drop = 1; /* a survey pattern: every star */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Everything that fixes the galaxies and their answers: a resume must match it. */
static PetscErrorCode config_string(const CoverageConfig *c, const PerStar *ps, char *buf, size_t len)
{
  char gce[512], obs[384] = "", drop[256], other[2 * PETSC_MAX_PATH_LEN] = "";
  PetscFunctionBeginUser;
  if (ps) { /* abc, nre: their table or model and settings (absent before these methods: old checkpoints match) */
    other[0] = ';';
    PetscCall(perstar_config_string(ps, other + 1, sizeof(other) - 1));
  }
  PetscCall(gce_config_string(&c->gce, gce, sizeof(gce)));
  if (!obs_is_fixed(&c->obs)) { /* unset: the configuration string of the runs before these options */
    obs_elements_string(c->obs.drop, drop, sizeof(drop));
    PetscCall(PetscSNPrintf(obs, sizeof(obs), ";errors=%.17g,%.17g;p_missing=%.17g;drop=%s", c->obs.lo, c->obs.hi,
                            c->obs.p_missing, drop));
  }
  PetscCall(PetscSNPrintf(
      buf, len,
      "npe=%s;emulator=%s;galaxies=%" PetscInt_FMT ";n_stars=%" PetscInt_FMT
      ";mock=%s;fixed=%d;alpha=%.17g;nia=%.17g;noise=%.17g;seed=%" PetscInt_FMT ";method=%s;correct=%d,%" PetscInt_FMT
      ";auto_below=%" PetscInt_FMT ";init=%" PetscInt_FMT ";samples=%" PetscInt_FMT ";err=%.17g;hmc=%" PetscInt_FMT
      ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g;newton=%" PetscInt_FMT ",%" PetscInt_FMT
      ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ",%" PetscInt_FMT ";gce=%s%s%s",
      c->npe, c->emulator, c->galaxies, c->n_stars, c->mock_emulator ? "emulator" : "chempy", (int)c->fixed, c->alpha,
      c->nia, c->noise, c->seed, globals_method_names[c->g.method], (int)c->g.correct, c->g.correct_draws,
      c->g.auto_hmc_below, c->g.init_samples, c->g.samples, c->g.default_err, c->g.hmc.chains, c->g.hmc.warmup,
      c->g.hmc.draws, c->g.hmc.max_leapfrog, c->g.hmc.target_accept, c->g.newton.max_iter, c->g.newton.steps,
      c->g.newton.final_steps, c->g.newton.thin, c->g.newton.burn0, c->g.newton.burn, gce, obs, other));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void coverage_summarise(PetscInt m, const double *rows, CoverageSummary *s)
{
  const double q68 = mcmc_norm_quantile(0.84), q95 = mcmc_norm_quantile(0.975);
  const double c68 = -2 * log(1 - 0.68), c95 = -2 * log(1 - 0.95);
  PetscMemzero(s, sizeof(*s));
  PetscInt k = 0;
  for (PetscInt g = 0; g < m; g++) {
    const double *r = rows + g * CV_NCOL;
    if (!isfinite(r[CV_Z]) || !isfinite(r[CV_Z + 1])) continue;
    k++;
    for (int a = 0; a < 2; a++) {
      double z = r[CV_Z + a];
      s->zmean[a] += z, s->zsd[a] += z * z;
      s->cover68[a] += fabs(z) < q68, s->cover95[a] += fabs(z) < q95;
    }
    s->cover68_2d += r[CV_D2] < c68, s->cover95_2d += r[CV_D2] < c95;
    s->nconverged += r[CV_CONV] != 0;
  }
  s->galaxies = k;
  for (int a = 0; a < 2; a++) {
    double mu = s->zmean[a] / PetscMax(k, 1);
    s->zsd[a] = k > 1 ? sqrt((s->zsd[a] - k * mu * mu) / (k - 1)) : NAN;
    s->zmean[a] = mu;
    s->cover68[a] /= PetscMax(k, 1), s->cover95[a] /= PetscMax(k, 1);
  }
  s->cover68_2d /= PetscMax(k, 1), s->cover95_2d /= PetscMax(k, 1);
}

/* Galaxy g: its globals, its stars (this rank's block), the inference. */
static PetscErrorCode run_galaxy(const ParCtx *ctx, const CoverageConfig *c, PetscInt g, const Prior *prior, Npe *npe,
                                 Emulator *emu, PerStar *ps, GceWork *work, double row[CV_NCOL])
{
  MockSpec ms = {.alpha = c->alpha,
                 .nia = c->nia,
                 .noise = c->noise,
                 .obs = c->obs,
                 .work = work,
                 .emu = c->mock_emulator ? emu : NULL};
  PetscInt lo, hi;
  double *x, *err, out[MK_NOUT];
  GlobalsConfig gc = c->g;
  GlobalsResult r;
  gc.chempy = c->g.correct ? work : NULL;
  gc.perstar = ps;
  gc.default_err = c->noise; /* the mock's noise is every star's error */
  PetscFunctionBeginUser;
  ms.prior = *prior;
  if (!c->fixed) { /* from the NPE's prior: the globals every method divides by or samples under */
    double th[CS_NPARAM];
    prior_sample(prior, (uint64_t)c->seed, RNG_COVERAGE, (uint64_t)g, th);
    ms.alpha = th[0], ms.nia = th[1];
  }
  ms.seed = ((uint64_t)c->seed << 32) + (uint64_t)g + 1;
  par_block_range(c->n_stars, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc2((hi - lo) * CS_NELEM + 1, &x, (hi - lo) * CS_NELEM + 1, &err));
  for (PetscInt i = lo; i < hi; i++) { /* each star's own errors; a missing value drops out (NaN) */
    PetscCall(mock_star(&ms, i, out));
    for (int k = 0; k < CS_NELEM; k++) {
      PetscBool have = out[MK_WHY + k] == OBS_PRESENT ? PETSC_TRUE : PETSC_FALSE;
      x[(i - lo) * CS_NELEM + k] = have ? out[MK_NOISY + k] : NAN;
      err[(i - lo) * CS_NELEM + k] = have ? out[MK_SIG + k] : NAN;
    }
  }
  gc.seed = (PetscInt)((c->seed * 1000003 + g) & 0x7fffffff);
  PetscCall(globals_infer(ctx, &gc, npe, emu, hi - lo, x, err, lo, &r));
  double t[2] = {ms.alpha, ms.nia}, d[2] = {r.mean[0] - t[0], r.mean[1] - t[1]};
  double det = r.cov[0] * r.cov[3] - r.cov[1] * r.cov[2];
  row[CV_TRUTH] = t[0], row[CV_TRUTH + 1] = t[1];
  for (int a = 0; a < 2; a++) {
    row[CV_MEAN + a] = r.mean[a], row[CV_SD + a] = r.sd[a], row[CV_Z + a] = r.ok ? d[a] / r.sd[a] : NAN;
    row[CV_RHAT + a] = r.rhat[a], row[CV_ESS + a] = r.ess[a];
  }
  row[CV_COV01] = r.cov[1];
  row[CV_D2] =
      r.ok && det > 0 ? (r.cov[3] * d[0] * d[0] - 2 * r.cov[1] * d[0] * d[1] + r.cov[0] * d[1] * d[1]) / det : NAN;
  row[CV_N] = (double)r.n;
  row[CV_CONV] = r.converged ? 1 : 0;
  row[CV_SECONDS] = r.seconds;
  row[CV_METHOD] = (double)r.method;
  PetscCall(globals_result_destroy(&r));
  PetscCall(PetscFree2(x, err));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_rows(const char *path, const char *config, const char *command, PetscInt m,
                                 const double *rows, const CoverageSummary *s, const double *curve, PetscInt ncurve)
{
  H5File f;
  static const char *const ccols[4] = {"credibility", "alpha_IMF", "log10_N_Ia", "joint"};
  PetscFunctionBeginUser;
  PetscCall(h5_create(PETSC_COMM_SELF, path, &f));
  PetscCall(h5_write_provenance(&f, command));
  PetscCall(h5_attr_write_str(&f, "/", "config", config));
  PetscCall(h5_table_write(&f, "galaxies", H5T_NATIVE_DOUBLE, m, CV_NCOL, cv_cols, rows));
  if (s) {
    double v[10] = {s->zmean[0],   s->zsd[0],     s->zmean[1],   s->zsd[1],     s->cover68[0],
                    s->cover68[1], s->cover95[0], s->cover95[1], s->cover68_2d, s->cover95_2d};
    PetscCall(h5_attr_write_str(&f, "/", "summary_fields",
                                "z_alpha_mean,z_alpha_sd,z_NIa_mean,z_NIa_sd,cover68_alpha,cover68_NIa,cover95_alpha,"
                                "cover95_NIa,cover68_2d,cover95_2d"));
    PetscCall(h5_attr_write_double(&f, "/", "summary", 10, v));
    PetscCall(h5_table_write(&f, "coverage_curve", H5T_NATIVE_DOUBLE, ncurve, 4, ccols, curve));
  }
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode coverage_run(const ParCtx *ctx, const CoverageConfig *c, double **rows_out, CoverageSummary *s)
{
  Npe *npe = NULL;
  Emulator *emu = NULL;
  PerStar *ps = NULL;
  const Prior *prior;
  GceYields *y = NULL;
  GceWork *work = NULL;
  double *rows;
  char config[4 * PETSC_MAX_PATH_LEN], ckpt[PETSC_MAX_PATH_LEN + 8];
  PetscInt g0 = 0;
  ParProgress prog;
  PetscFunctionBeginUser;
  const PetscBool other = globals_is_other(c->g.method);
  if (other) PetscCall(perstar_create(ctx, c->g.method == GLOBALS_ABC ? PERSTAR_ABC : PERSTAR_NRE, &c->g.ps, &ps));
  PetscCall(config_string(c, ps, config, sizeof(config)));
  /* abc and nre need neither the NPE (their own prior) nor the emulator (unless it makes the stars). */
  PetscCall(h5_share(ctx->comm, c->npe));
  PetscCall(h5_share(ctx->comm, c->emulator));
  if (c->npe[0]) PetscCall(npe_read_h5(c->npe, "/npe", 1024, &npe));
  PetscCheck(npe || other, ctx->comm, PETSC_ERR_ARG_WRONG, "coverage -method %s needs -model FILE (an NPE)",
             globals_method_names[c->g.method]);
  prior = npe ? &npe->prior : perstar_prior(ps);
  if (!other || c->mock_emulator) {
    PetscCheck(c->npe[0] || c->emulator[0], ctx->comm, PETSC_ERR_ARG_WRONG,
               "coverage -mock emulator needs -emulator FILE (or an NPE file that carries it)");
    PetscCall(infer_load_emulator(c->emulator, c->npe, &emu));
  }
  if (c->g.correct) PetscCall(infer_check_chempy(ctx->comm, c->npe, &c->gce));
  if (!c->mock_emulator || c->g.correct) {
    PetscCall(gce_yields_load_shared(ctx->comm, c->gce.data_dir, c->gce.yields, &y));
    PetscCall(gce_work_create(y, &c->gce, &work));
  }
  PetscCall(PetscCalloc1(c->galaxies * CV_NCOL, &rows));
  /* Resume: the finished galaxies of a checkpoint made with this configuration. */
  PetscCall(PetscSNPrintf(ckpt, sizeof(ckpt), "%s.ckpt", c->out));
  if (ctx->rank == 0) {
    FILE *fp = fopen(ckpt, "r");
    if (fp) {
      H5File f;
      PetscInt nr, nc;
      fclose(fp);
      PetscCall(h5_open_checkpoint(ckpt, config, &f));
      PetscCall(h5_table_info(&f, "galaxies", &nr, &nc));
      PetscCheck(nc == CV_NCOL && nr <= c->galaxies, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: %" PetscInt_FMT " x %" PetscInt_FMT " galaxy table, expected at most %" PetscInt_FMT " x %d",
                 ckpt, nr, nc, c->galaxies, CV_NCOL);
      PetscCall(h5_table_read_rows(&f, "galaxies", H5T_NATIVE_DOUBLE, 0, nr, rows, PETSC_FALSE));
      PetscCall(h5_close(&f));
      g0 = nr;
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "coverage: resuming %s after %" PetscInt_FMT " galaxies\n", ckpt, g0));
    }
  }
  PetscCall(par_bcast_ints(ctx, &g0, 1));
  par_progress_start(&prog, "coverage", g0, 0);
  for (PetscInt g = g0; g < c->galaxies; g++) {
    double *row = rows + g * CV_NCOL;
    char extra[160];
    PetscCall(run_galaxy(ctx, c, g, prior, npe, emu, ps, work, row));
    PetscCall(PetscSNPrintf(extra, sizeof(extra), "galaxy %" PetscInt_FMT ": truth (%.3f, %.3f) z (%+.2f, %+.2f) %s",
                            g + 1, row[CV_TRUTH], row[CV_TRUTH + 1], row[CV_Z], row[CV_Z + 1],
                            globals_method_names[(int)row[CV_METHOD]]));
    PetscCall(par_progress_report(ctx, &prog, g + 1, c->galaxies, extra, PETSC_TRUE));
    if (ctx->rank == 0) PetscCall(write_rows(ckpt, config, "coverage checkpoint", g + 1, rows, NULL, NULL, 0));
  }
  coverage_summarise(c->galaxies, rows, s);
  if (ctx->rank == 0) {
    enum { NC = 20 };
    double curve[4 * NC];
    for (int k = 0; k < NC; k++) { /* levels 0.05 .. 0.95, then 0.99 */
      double lev = k < NC - 1 ? 0.05 * (k + 1) : 0.99, q = mcmc_norm_quantile(0.5 + lev / 2), c2 = -2 * log(1 - lev);
      double in[3] = {0, 0, 0};
      PetscInt n = 0;
      for (PetscInt g = 0; g < c->galaxies; g++) {
        const double *r = rows + g * CV_NCOL;
        if (!isfinite(r[CV_D2])) continue;
        n++, in[0] += fabs(r[CV_Z]) < q, in[1] += fabs(r[CV_Z + 1]) < q, in[2] += r[CV_D2] < c2;
      }
      curve[4 * k] = lev;
      for (int a = 0; a < 3; a++) curve[4 * k + 1 + a] = in[a] / PetscMax(n, 1);
    }
    if (c->out[0]) {
      char title[256];
      PetscCall(write_rows(c->out, config, "coverage", c->galaxies, rows, s, curve, NC));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
      remove(ckpt);
      PetscCall(PetscSNPrintf(title, sizeof(title), "%s, %" PetscInt_FMT " stars, %" PetscInt_FMT " %s galaxies",
                              globals_method_names[c->g.method], c->n_stars, c->galaxies,
                              c->mock_emulator ? "emulator" : "CHEMPY"));
      if (c->plots) PetscCall(report_coverage_plots(c->out, title, NC, curve, c->galaxies, rows + CV_Z, CV_NCOL));
    }
    *rows_out = rows;
  } else {
    PetscCall(PetscFree(rows));
    *rows_out = NULL;
  }
  PetscCall(gce_work_destroy(&work));
  if (y) PetscCall(gce_yields_destroy(&y));
  if (emu) PetscCall(emu_destroy(&emu));
  if (npe) PetscCall(npe_destroy(&npe));
  PetscCall(perstar_destroy(&ps));
  PetscFunctionReturn(PETSC_SUCCESS);
}
