/* The inference command's engine. Each star's samples come from the stream
 * (seed, posterior, global star index), so the answer is the same for any
 * number of ranks. Communication: the catalogue broadcast from rank 0, one
 * all-reduce of the combination sums (and a few of counts and timings), and
 * one gather of the per-star Gaussians for the output. */
#include <chempysbi/cat.h>
#include <chempysbi/guard.h>
#include <chempysbi/h5.h>
#include <chempysbi/infer.h>
#include <chempysbi/npe.h>
#include <chempysbi/report.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-star record: usable flag (0 left out, 1 used, 2 used but outside the
 * training range, -keep_out_of_range), posterior mean and sd of every parameter, mean (2) and
 * covariance (2 x 2) of the globals, acceptance rate. */
enum {
  ST_FLAG = 0,
  ST_MEAN = 1,
  ST_SD = ST_MEAN + CS_NPARAM,
  ST_MU2 = ST_SD + CS_NPARAM,
  ST_S2 = ST_MU2 + 2,
  ST_ACC = ST_S2 + 4,
  ST_NCOL
};

/* The names of the per-star record's columns. */
static void star_columns(char names[ST_NCOL][H5_NAME_LEN], const char *cols[ST_NCOL])
{
  snprintf(names[ST_FLAG], H5_NAME_LEN, "usable");
  for (int k = 0; k < CS_NPARAM; k++) {
    snprintf(names[ST_MEAN + k], H5_NAME_LEN, "mean_%s", cs_param_names[k]);
    snprintf(names[ST_SD + k], H5_NAME_LEN, "sd_%s", cs_param_names[k]);
  }
  for (int k = 0; k < 2; k++) snprintf(names[ST_MU2 + k], H5_NAME_LEN, "mu_%s", cs_param_names[k]);
  for (int k = 0; k < 4; k++) snprintf(names[ST_S2 + k], H5_NAME_LEN, "S_%d%d", k / 2, k % 2);
  snprintf(names[ST_ACC], H5_NAME_LEN, "acceptance");
  for (int k = 0; k < ST_NCOL; k++) cols[k] = names[k];
}

PetscErrorCode infer_config_default(InferConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->samples = 1000;
  c->seed = 1;
  c->max_draws_factor = 100;
  c->plots = PETSC_TRUE;
  globals_config_default(&c->g);
  PetscCall(gce_config_default(&c->gce));
  PetscCall(cat_options_default(&c->cat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode infer_set_from_options(MPI_Comm comm, InferConfig *c)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "infer: global parameters from a star catalogue", "infer");
  PetscCall(PetscOptionsString("-model", "posterior estimator file (.h5, from train-npe)", NULL, c->npe, c->npe,
                               sizeof(c->npe), NULL));
  PetscCall(PetscOptionsString("-npe", "synonym of -model", NULL, c->npe, c->npe, sizeof(c->npe), NULL));
  PetscCall(PetscOptionsString("-stars", "star catalogue: CSV (Fe_H, C_Fe, ... columns) or HDF5 (/abundances)", NULL,
                               c->stars, c->stars, sizeof(c->stars), NULL));
  PetscCall(PetscOptionsString("-out", "result file (.h5); PNG plots are written beside it", NULL, c->out, c->out,
                               sizeof(c->out), NULL));
  PetscCall(PetscOptionsInt("-samples", "posterior samples per star", NULL, c->samples, &c->samples, NULL));
  PetscCall(PetscOptionsInt("-seed", "seed of the posterior samples (star i uses stream (seed, posterior, i))", NULL,
                            c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsInt("-max_draws_factor",
                            "cap on draws per star, as a multiple of -samples (prior-support rejection)", NULL,
                            c->max_draws_factor, &c->max_draws_factor, NULL));
  PetscCall(PetscOptionsBool("-plots", "write PNG plots with gnuplot", NULL, c->plots, &c->plots, NULL));
  PetscCall(PetscOptionsString("-emulator", "exact methods: emulator file (default: the copy inside the NPE file)",
                               NULL, c->emulator, c->emulator, sizeof(c->emulator), NULL));
  PetscCall(PetscOptionsBool("-keep_out_of_range",
                             "use stars outside the NPE's training range (flagged), instead of leaving them out", NULL,
                             c->keep_out_of_range, &c->keep_out_of_range, NULL));
  PetscOptionsEnd();
  /* On the option text first: PETSc wraps integers above 2^31 (4294967297 reads as 1). */
  PetscCall(guard_int_option(comm, "-samples", c->samples, 2, 100000000));
  PetscCall(guard_int_option(comm, "-max_draws_factor", c->max_draws_factor, 1, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCall(cat_options_set_from_options(comm, &c->cat));
  PetscCall(globals_set_from_options(comm, &c->g));
  PetscCall(gce_config_set_from_options(&c->gce));
  c->g.seed = c->seed;
  c->g.samples = c->samples;
  PetscCheck(c->samples >= 2, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-samples %" PetscInt_FMT ": need at least 2 to fit a Gaussian", c->samples);
  PetscCheck(c->max_draws_factor >= 1 && (double)c->samples * (double)c->max_draws_factor < 2e9, comm,
             PETSC_ERR_ARG_OUTOFRANGE,
             "-max_draws_factor %" PetscInt_FMT ": must be >= 1, with -samples x factor below 2e9",
             c->max_draws_factor);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 reads the catalogue; every rank gets abundances, errors, missing reasons, usable flags and ids. */
static PetscErrorCode load_catalogue(const ParCtx *ctx, const char *path, const CatOptions *o, Catalogue *cat)
{
  PetscInt ok = 1;
  PetscFunctionBeginUser;
  if (ctx->rank == 0) ok = cat_read_opts(path, o, cat) ? 0 : 1;
  PetscCall(par_bcast_ints(ctx, &ok, 1));
  PetscCheck(ok, ctx->comm, PETSC_ERR_FILE_READ, "cannot read the star catalogue %s (see the message above)", path);
  PetscCall(par_bcast_catalogue(ctx, cat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* " (missing: Mg_Fe, O_Fe)" for a warning; static storage, one star at a time. */
static const char *missing_list(const Catalogue *cat, PetscInt i)
{
  static char buf[256];
  size_t k = 0;
  buf[0] = 0;
  for (int e = 0; e < CS_NELEM; e++)
    if (!isfinite(cat->abund[i * CS_NELEM + e]))
      k += (size_t)snprintf(buf + k, k < sizeof(buf) ? sizeof(buf) - k : 0, "%s%s",
                            k ? ", " : " (missing: ", cs_elem_names[e]);
  if (k && k < sizeof(buf)) snprintf(buf + k, sizeof(buf) - k, ")");
  return buf;
}

static PetscErrorCode write_output(const InferConfig *c, const Catalogue *cat, const double *stars,
                                   const CombineResult *r, const CombineResult *run, PetscInt nrun)
{
  H5File f;
  static const char *const rcols[7] = {"n_stars",       "mean_alpha_IMF", "sd_alpha_IMF",     "mean_log10_N_Ia",
                                       "sd_log10_N_Ia", "corr",           "positive_definite"};
  double res[8], *rr;
  static char names[ST_NCOL][H5_NAME_LEN];
  const char *cols[ST_NCOL];
  PetscFunctionBeginUser;
  star_columns(names, cols);
  PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
  PetscCall(h5_write_provenance(&f, "infer"));
  PetscCall(h5_attr_write_str(&f, "/", "npe_file", c->npe));
  PetscCall(h5_attr_write_str(&f, "/", "stars_file", c->stars));
  PetscCall(h5_table_write(&f, "stars", H5T_NATIVE_DOUBLE, cat->n, ST_NCOL, cols, stars));
  res[0] = r->mean[0];
  res[1] = r->sd[0];
  res[2] = r->mean[1];
  res[3] = r->sd[1];
  res[4] = r->corr;
  res[5] = r->n;
  res[6] = r->pd ? 1 : 0;
  PetscCall(h5_attr_write_str(&f, "/", "result_fields", "alpha_IMF,sd,log10_N_Ia,sd,corr,n_stars,positive_definite"));
  PetscCall(h5_attr_write_double(&f, "/", "result", 7, res));
  PetscCall(h5_attr_write_double(&f, "/", "result_cov", 4, r->cov));
  double one[4] = {r->mean1[0], r->sd1[0], r->mean1[1], r->sd1[1]};
  PetscCall(h5_attr_write_double(&f, "/", "result_1d_alpha_sd_NIa_sd", 4, one));
  PetscCall(PetscMalloc1(nrun * 7 + 1, &rr));
  for (PetscInt k = 0; k < nrun; k++) {
    double v[7] = {run[k].n,     run[k].mean[0], run[k].sd[0],         run[k].mean[1],
                   run[k].sd[1], run[k].corr,    run[k].pd ? 1.0 : 0.0};
    PetscCall(PetscArraycpy(rr + 7 * k, v, 7));
  }
  PetscCall(h5_table_write(&f, "running", H5T_NATIVE_DOUBLE, nrun, 7, rcols, rr));
  PetscCall(PetscFree(rr));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode infer_gauss(const ParCtx *ctx, const InferConfig *c, Catalogue *cat, CombineResult *r,
                                  PetscInt *nused, PetscInt *nskipped)
{
  Npe *npe;
  PetscInt lo, hi, nbad = 0, ncap = 0, nrange = 0, nmiss = 0, nwide = 0;
  double acc[COMBINE_NACC], *samples, *mine, *all = NULL, mu0[2], S0[4];
  ParProgress prog;
  PetscLogEvent ev_sample;
  PetscFunctionBeginUser;
  PetscCall(par_log_event("npe_sample", &ev_sample));
  PetscCall(h5_share(ctx->comm, c->npe));
  PetscCall(npe_read_h5(c->npe, "/npe", 1024, &npe));
  par_block_range(cat->n, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc2(c->samples * CS_NPARAM, &samples, (hi - lo) * ST_NCOL + 1, &mine));
  combine_acc_zero(acc);
  par_progress_start(&prog, "infer", 0, 5.0);
  double t0 = cs_wtime();
  for (PetscInt i = lo; i < hi; i++) {
    double *st = mine + (i - lo) * ST_NCOL;
    for (int k = 0; k < ST_NCOL; k++) st[k] = NAN;
    st[ST_FLAG] = 0;
    if (!cat->usable[i]) continue;
    NpeSampleStats ss;
    CombineStar g;
    double ctx_i[NPE_CTX_MAX];
    int wide;
    /* A fixed-noise NPE needs all eight values; a conditioned one takes this star's errors and gaps. */
    if (!npe_context(npe, cat->abund + i * CS_NELEM, cat->err + i * CS_NELEM, ctx_i, &wide)) {
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: star '%s' (row %" PetscInt_FMT "): %d of %d elements present%s; the NPE %s was "
                             "trained for fixed noise and needs all of them (train-npe -noise_range, -p_missing "
                             "gives one that takes missing values); star left out\n",
                             cat->ids[i], i, cat_npresent(cat, i), CS_NELEM, missing_list(cat, i), c->npe));
      nmiss++;
      continue;
    }
    nwide += wide;
    PetscBool use, outside;
    PetscCall(npe_star_screen(npe, cat->ids[i], i, cat->abund + i * CS_NELEM, c->keep_out_of_range, &use, &outside));
    nrange += outside;
    if (!use) continue;
    PetscCall(PetscLogEventBegin(ev_sample, 0, 0, 0, 0));
    PetscCall(npe_sample_ctx(npe, ctx_i, c->samples, (uint64_t)c->seed, RNG_POSTERIOR, (uint64_t)i,
                             c->samples * c->max_draws_factor, samples, &ss));
    PetscCall(PetscLogEventEnd(ev_sample, 0, 0, 0, 0));
    st[ST_ACC] = (double)ss.accepted / PetscMax(1, ss.drawn);
    if (ss.capped || ss.accepted < 2) {
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: star '%s' (row %" PetscInt_FMT "): only %" PetscInt_FMT " of %" PetscInt_FMT
                             " posterior draws inside the prior; star left out\n",
                             cat->ids[i], i, ss.accepted, ss.drawn));
      ncap++;
      continue;
    }
    if (st[ST_ACC] < 0.5)
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "warning: star '%s': low acceptance %.2f inside the prior\n",
                             cat->ids[i], st[ST_ACC]));
    PetscCall(combine_fit(c->samples, samples, &g));
    for (int k = 0; k < CS_NPARAM; k++) {
      st[ST_MEAN + k] = g.mean[k];
      st[ST_SD + k] = g.sd[k];
    }
    for (int k = 0; k < 2; k++) st[ST_MU2 + k] = g.mu2[k];
    for (int k = 0; k < 4; k++) st[ST_S2 + k] = g.S2[k];
    if (combine_accumulate(acc, g.mu2, g.S2))
      st[ST_FLAG] = outside ? 2 : 1;
    else {
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: star '%s': posterior covariance not positive definite; star left out\n",
                             cat->ids[i]));
      nbad++;
    }
    /* Rank 0 sees only its own block; the blocks are equal, so it extrapolates. */
    PetscCall(par_progress_report(ctx, &prog, PetscMin(cat->n, (i - lo + 1) * ctx->size), cat->n, NULL, PETSC_FALSE));
  }
  double t_local = cs_wtime() - t0;
  PetscCall(par_allreduce_sum(ctx, acc, COMBINE_NACC));
  mu0[0] = npe->prior.mean[0];
  mu0[1] = npe->prior.mean[1];
  S0[0] = npe->prior.sd[0] * npe->prior.sd[0];
  S0[1] = S0[2] = 0;
  S0[3] = npe->prior.sd[1] * npe->prior.sd[1];
  combine_finish(acc, mu0, S0, r);
  *nused = (PetscInt)acc[COMBINE_N];
  *nskipped = cat->n - *nused;
  /* Each rank counted only its own block of stars; rank 0 reports the totals. */
  PetscCall(par_allreduce_count(ctx, &ncap));
  PetscCall(par_allreduce_count(ctx, &nbad));
  PetscCall(par_allreduce_count(ctx, &nrange));
  PetscCall(par_allreduce_count(ctx, &nmiss));
  PetscCall(par_allreduce_count(ctx, &nwide));
  PetscCheck(*nused > 0, ctx->comm, PETSC_ERR_ARG_WRONG,
             "no usable stars in %s: all %" PetscInt_FMT " were left out (%" PetscInt_FMT
             " below -min_elements, %" PetscInt_FMT " with missing values the NPE cannot take, %" PetscInt_FMT
             " outside the NPE's training range, %" PetscInt_FMT " sampling cap, %" PetscInt_FMT
             " non-PD; see the warnings above): no result",
             c->stars, cat->n, cat->nunusable, nmiss, nrange, ncap, nbad);
  PetscInt ntot;
  PetscCall(par_gather_doubles(ctx, mine, (hi - lo) * ST_NCOL, &all, &ntot));
  double tmax = t_local;
  PetscCall(par_allreduce_max(ctx, &tmax, 1));
  PetscCall(PetscPrintf(ctx->comm,
                        "infer: %" PetscInt_FMT " stars x %" PetscInt_FMT
                        " samples in %.3f s on %d ranks (%.2f ms per star per rank)\n",
                        cat->n, c->samples, tmax, ctx->size, 1e3 * tmax * ctx->size / PetscMax(1, cat->n)));
  if (ctx->rank == 0) {
    /* Running estimate over the first n usable stars, in catalogue order. */
    PetscInt nu = 0;
    double *mu2, *S2;
    CombineResult *run;
    PetscCall(PetscMalloc3(cat->n * 2 + 1, &mu2, cat->n * 4 + 1, &S2, cat->n + 1, &run));
    for (PetscInt i = 0; i < cat->n; i++)
      if (all[i * ST_NCOL + ST_FLAG] >= 1) {
        for (int k = 0; k < 2; k++) mu2[nu * 2 + k] = all[i * ST_NCOL + ST_MU2 + k];
        for (int k = 0; k < 4; k++) S2[nu * 4 + k] = all[i * ST_NCOL + ST_S2 + k];
        nu++;
      }
    combine_running(nu, mu2, S2, mu0, S0, run, NULL);
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "stars: %" PetscInt_FMT " in catalogue, %" PetscInt_FMT " used, %" PetscInt_FMT
                          " left out (%" PetscInt_FMT " below -min_elements, %" PetscInt_FMT
                          " missing values the NPE cannot take, %" PetscInt_FMT " sampling cap, %" PetscInt_FMT
                          " non-PD); %" PetscInt_FMT " outside the training range (%s)\n",
                          cat->n, *nused, *nskipped, cat->nunusable, nmiss, ncap, nbad, nrange,
                          c->keep_out_of_range ? "kept, flagged 2 in /stars usable" : "left out"));
    if (npe->kind == NPE_CONDITIONED && nwide)
      PetscCall(PetscPrintf(PETSC_COMM_SELF,
                            "note: %" PetscInt_FMT " values with errors above the NPE's trained range (%g dex) were "
                            "treated as missing\n",
                            nwide, npe->obs.hi));
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "1-D form (paper Eqs. 8-9): alpha_IMF=%.5f sd=%.5f log10_N_Ia=%.5f sd=%.5f\n", r->mean1[0],
                          r->sd1[0], r->mean1[1], r->sd1[1]));
    if (c->out[0]) {
      PetscCall(write_output(c, cat, all, r, run, nu));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
      if (c->plots && nu > 0) PetscCall(report_infer_plots(c->out, run, nu, r, mu0));
    }
    PetscCall(PetscFree3(mu2, S2, run));
  }
  PetscCall(PetscFree(all));
  PetscCall(PetscFree2(samples, mine));
  PetscCall(npe_destroy(&npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode infer_check_chempy(MPI_Comm comm, const char *npe, const GceConfig *gce)
{
  char have[512], want[512], fa[128], fb[128];
  PetscFunctionBeginUser;
  PetscCall(emu_chempy_config_read(comm, npe, "chempy_config", have, sizeof(have)));
  PetscCall(gce_config_string(gce, want, sizeof(want)));
  PetscCheck(!gce_config_string_model_differs(have, want, fa, fb, sizeof(fa)), comm, PETSC_ERR_ARG_INCOMP,
             "-npe %s was trained on CHEMPY with %s, but -correct_emulator would run CHEMPY with %s: give the "
             "training set's CHEMPY options (or -correct_emulator 0)",
             npe, fa, fb);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode infer_load_emulator(const char *emulator, const char *npe, Emulator **e)
{
  PetscFunctionBeginUser;
  if (emulator && emulator[0]) {
    PetscCall(emu_read_h5(emulator, "/emulator", 256, e));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  H5File f;
  PetscBool has;
  PetscCall(h5_open(PETSC_COMM_SELF, npe, PETSC_FALSE, &f));
  has = h5_exists(&f, "/emulator");
  PetscCall(h5_close(&f));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s carries no emulator (made before train-npe stored it): give -emulator FILE", npe);
  PetscCall(emu_read_h5(npe, "/emulator", 256, e));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Per-star rows of the exact methods' output: catalogue row, then mean and sd of the four locals. */
enum { EX_ROW = 0, EX_MEAN = 1, EX_SD = 5, EX_NCOL = 9 };

static PetscErrorCode write_exact(const InferConfig *c, const GlobalsResult *g, const double *rows, PetscInt nrows)
{
  H5File f;
  static const char *const cols[EX_NCOL] = {"row",
                                            "mean_log10_SFE",
                                            "mean_log10_SFR_peak",
                                            "mean_x_out",
                                            "mean_birth_time_Gyr",
                                            "sd_log10_SFE",
                                            "sd_log10_SFR_peak",
                                            "sd_x_out",
                                            "sd_birth_time_Gyr"};
  static const char *const dcols[2] = {"alpha_IMF", "log10_N_Ia"};
  double res[7] = {g->mean[0], g->sd[0], g->mean[1], g->sd[1], g->corr, (double)g->n, g->ok ? 1.0 : 0.0};
  double diag[5] = {g->rhat[0], g->rhat[1], g->ess[0], g->ess[1], g->converged ? 1.0 : 0.0};
  PetscFunctionBeginUser;
  PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
  PetscCall(h5_write_provenance(&f, "infer"));
  PetscCall(h5_attr_write_str(&f, "/", "npe_file", c->npe));
  PetscCall(h5_attr_write_str(&f, "/", "stars_file", c->stars));
  PetscCall(h5_attr_write_str(&f, "/", "method", globals_method_names[g->method]));
  PetscCall(h5_attr_write_str(&f, "/", "result_fields", "alpha_IMF,sd,log10_N_Ia,sd,corr,n_stars,positive_definite"));
  PetscCall(h5_attr_write_double(&f, "/", "result", 7, res));
  PetscCall(h5_attr_write_double(&f, "/", "result_cov", 4, g->cov));
  PetscCall(h5_attr_write_str(&f, "/", "diagnostics_fields", "rhat_alpha,rhat_NIa,ess_alpha,ess_NIa,converged"));
  PetscCall(h5_attr_write_double(&f, "/", "diagnostics", 5, diag));
  if (rows) PetscCall(h5_table_write(&f, "locals", H5T_NATIVE_DOUBLE, nrows, EX_NCOL, cols, rows));
  if (g->draws) PetscCall(h5_table_write(&f, "draws", H5T_NATIVE_DOUBLE, g->ndraws, 2, dcols, g->draws));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The combined answer of globals_infer as infer reports it (ncat: the catalogue's stars). */
static void outcome_from(const GlobalsResult *g, PetscInt ncat, InferOutcome *o)
{
  o->method = g->method;
  o->nused = g->n;
  o->nskipped = ncat - g->n;
  o->converged = g->converged;
  o->r.pd = g->ok;
  o->r.n = (double)g->n;
  for (int a = 0; a < 2; a++)
    o->r.mean[a] = g->mean[a], o->r.sd[a] = g->sd[a], o->rhat[a] = g->rhat[a], o->ess[a] = g->ess[a];
  for (int k = 0; k < 4; k++) o->r.cov[k] = g->cov[k];
  o->r.corr = g->corr;
}

/* The exact methods: a star enters with every abundance it has (missing ones drop out of its likelihood). */
static PetscErrorCode infer_exact(const ParCtx *ctx, const InferConfig *c, const Catalogue *cat, GlobalsMethod method,
                                  InferOutcome *o)
{
  Npe *npe;
  Emulator *emu;
  GlobalsConfig gc = c->g;
  GlobalsResult g;
  PetscInt *use, nu = 0, lo, hi, ntot, npartial = 0;
  double *x, *e, *rows, *all = NULL;
  PetscFunctionBeginUser;
  PetscCall(h5_share(ctx->comm, c->npe));
  PetscCall(h5_share(ctx->comm, c->emulator));
  PetscCall(npe_read_h5(c->npe, "/npe", 1024, &npe));
  PetscCall(infer_load_emulator(c->emulator, c->npe, &emu));
  PetscCall(PetscMalloc1(cat->n + 1, &use));
  /* The catalogue reader has left out (and reported) stars below -min_elements; a missing
   * value only drops out of its star's likelihood. */
  for (PetscInt i = 0; i < cat->n; i++) {
    if (!cat->usable[i]) continue;
    double xs[CS_NELEM]; /* the range check sees the training mean where a value is missing */
    char why[256];
    for (int k = 0; k < CS_NELEM; k++)
      xs[k] = isfinite(cat->abund[i * CS_NELEM + k]) ? cat->abund[i * CS_NELEM + k] : npe->x_mean[k];
    if (!npe_star_in_range(npe, xs, why, sizeof(why))) {
      if (ctx->rank == 0)
        PetscCall(PetscFPrintf(
            PETSC_COMM_SELF, stderr, "warning: star '%s' (row %" PetscInt_FMT "): %s; %s\n", cat->ids[i], i, why,
            c->keep_out_of_range ? "kept (-keep_out_of_range), its out-of-range values dropped from its likelihood"
                                 : "star left out (-keep_out_of_range keeps it)"));
      if (!c->keep_out_of_range) continue;
    }
    use[nu++] = i;
    npartial += cat_npresent(cat, i) < CS_NELEM;
  }
  par_block_range(nu, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc3((hi - lo) * CS_NELEM + 1, &x, (hi - lo) * CS_NELEM + 1, &e, (hi - lo) * EX_NCOL + 1, &rows));
  for (PetscInt j = lo; j < hi; j++)
    for (int k = 0; k < CS_NELEM; k++) {
      double v = cat->abund[use[j] * CS_NELEM + k];
      /* A kept out-of-range star keeps its in-range values only: the emulator is not trusted beyond its data. */
      if (npe->has_range && !(v >= npe->x_lo[k] && v <= npe->x_hi[k])) v = NAN;
      x[(j - lo) * CS_NELEM + k] = v;
      e[(j - lo) * CS_NELEM + k] = cat->err[use[j] * CS_NELEM + k];
    }
  PetscCall(PetscPrintf(ctx->comm,
                        "infer: %" PetscInt_FMT " stars with %s (%" PetscInt_FMT " with some abundances missing)\n", nu,
                        globals_method_names[method], npartial));
  gc.method = method;
  gc.default_err = c->cat.error_default;
  GceYields *y = NULL;
  if (gc.correct) {
    PetscCall(infer_check_chempy(ctx->comm, c->npe, &c->gce));
    PetscCall(gce_yields_load_shared(ctx->comm, c->gce.data_dir, c->gce.yields, &y));
    PetscCall(gce_work_create(y, &c->gce, &gc.chempy));
  }
  PetscCall(globals_infer(ctx, &gc, npe, emu, hi - lo, x, e, lo, &g));
  if (y) {
    PetscCall(gce_work_destroy(&gc.chempy));
    PetscCall(gce_yields_destroy(&y));
  }
  for (PetscInt j = lo; j < hi; j++) {
    double *rw = rows + (j - lo) * EX_NCOL;
    rw[EX_ROW] = (double)use[j];
    for (int q = 0; q < 4; q++) rw[EX_MEAN + q] = g.zmean[(j - lo) * 4 + q], rw[EX_SD + q] = g.zsd[(j - lo) * 4 + q];
  }
  PetscCall(par_gather_doubles(ctx, rows, (hi - lo) * EX_NCOL, &all, &ntot));
  outcome_from(&g, cat->n, o);
  if (g.method == GLOBALS_HMC && !g.converged)
    PetscCall(
        PetscFPrintf(ctx->comm, stderr,
                     "WARNING: HMC not converged (R-hat %.4f, %.4f; bulk ESS %.0f, %.0f; want R-hat <= 1.01 and "
                     "ESS >= 400): run longer (-hmc_draws, -hmc_max_draws, -hmc_warmup) before trusting the result\n",
                     g.rhat[0], g.rhat[1], g.ess[0], g.ess[1]));
  if (g.method == GLOBALS_NEWTON && !g.converged)
    PetscCall(PetscFPrintf(ctx->comm, stderr,
                           "WARNING: newton did not converge (the last step is over 1 posterior sd): raise "
                           "-newton_max_iter or check the catalogue\n"));
  if (ctx->rank == 0 && c->out[0]) {
    PetscCall(write_exact(c, &g, all, ntot / EX_NCOL));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
  }
  PetscCall(PetscFree(all));
  PetscCall(PetscFree3(x, e, rows));
  PetscCall(PetscFree(use));
  PetscCall(globals_result_destroy(&g));
  PetscCall(emu_destroy(&emu));
  PetscCall(npe_destroy(&npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* abc, nre_gauss: the per-star posteriors of another SBI family, multiplied as Gaussians; nre: newton with
 * the ratio estimator as the likelihood (no NPE, no emulator). */
static PetscErrorCode infer_other(const ParCtx *ctx, const InferConfig *c, const Catalogue *cat, GlobalsMethod method,
                                  InferOutcome *o)
{
  GlobalsConfig gc = c->g;
  GlobalsResult g;
  PetscInt *use, nu = 0, lo, hi;
  double *x, *e;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(cat->n + 1, &use));
  const PetscBool all = method != GLOBALS_ABC; /* a ratio estimator of fixed noise needs every element */
  for (PetscInt i = 0; i < cat->n; i++)
    if (cat->usable[i] && (!all || cat_npresent(cat, i) == CS_NELEM)) use[nu++] = i;
  par_block_range(nu, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc2((hi - lo) * CS_NELEM + 1, &x, (hi - lo) * CS_NELEM + 1, &e));
  for (PetscInt j = lo; j < hi; j++)
    for (int k = 0; k < CS_NELEM; k++) {
      x[(j - lo) * CS_NELEM + k] = cat->abund[use[j] * CS_NELEM + k];
      e[(j - lo) * CS_NELEM + k] = cat->err[use[j] * CS_NELEM + k];
    }
  gc.method = method;
  gc.default_err = c->cat.error_default;
  PetscCall(perstar_create(ctx, method == GLOBALS_ABC ? PERSTAR_ABC : PERSTAR_NRE, &gc.ps, &gc.perstar));
  PetscCall(PetscPrintf(ctx->comm,
                        "infer: %" PetscInt_FMT " stars with %s: %" PetscInt_FMT " posterior draws per star%s\n", nu,
                        globals_method_names[method], perstar_samples(gc.perstar),
                        method == GLOBALS_NRE ? " to start newton" : ", a Gaussian fitted to each, their product"));
  PetscCall(globals_infer(ctx, &gc, NULL, NULL, hi - lo, x, e, lo, &g));
  PetscCall(perstar_destroy(&gc.perstar));
  outcome_from(&g, cat->n, o);
  if (ctx->rank == 0 && c->out[0]) {
    PetscCall(write_exact(c, &g, NULL, 0));
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
  }
  PetscCall(globals_result_destroy(&g));
  PetscCall(PetscFree2(x, e));
  PetscCall(PetscFree(use));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode infer_run(const ParCtx *ctx, const InferConfig *c, InferOutcome *o)
{
  Catalogue cat;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  for (int a = 0; a < 2; a++) o->rhat[a] = o->ess[a] = NAN;
  PetscCall(load_catalogue(ctx, c->stars, &c->cat, &cat));
  /* auto decides on the stars it can use: those with enough abundances. */
  PetscInt nexact = 0;
  for (PetscInt i = 0; i < cat.n; i++) nexact += cat.usable[i] != 0;
  GlobalsMethod m = globals_pick(&c->g, nexact);
  if (c->g.method == GLOBALS_AUTO)
    PetscCall(PetscPrintf(ctx->comm, "infer: -method auto chose %s for %" PetscInt_FMT " stars\n",
                          globals_method_names[m], nexact));
  if (m == GLOBALS_GAUSS) {
    PetscCall(infer_gauss(ctx, c, &cat, &o->r, &o->nused, &o->nskipped));
    o->method = GLOBALS_GAUSS;
    o->converged = PETSC_TRUE;
  } else if (globals_is_other(m))
    PetscCall(infer_other(ctx, c, &cat, m, o));
  else
    PetscCall(infer_exact(ctx, c, &cat, m, o));
  PetscCall(cat_destroy(&cat));
  PetscFunctionReturn(PETSC_SUCCESS);
}
