/* The abc command's engine (abc_run.h). Every rank holds the whole table
 * (ABC compares each star with every row); stars are block-distributed, and
 * every random number is keyed by (seed, RNG_ABC, index): row i's noise by i,
 * star j's resampling by 2^40 + j, so the result is the same on any number of
 * ranks. */
#include <chempysbi/abc_run.h>
#include <chempysbi/calib.h>
#include <chempysbi/cases.h>
#include <chempysbi/emu_train.h>
#include <chempysbi/gce.h>
#include <chempysbi/guard.h>
#include <chempysbi/h5.h>
#include <chempysbi/rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ABC_STAR_INDEX (UINT64_C(1) << 40)

/* Per-star record gathered to rank 0. */
enum {
  RC_MEAN = 0,                 /* weighted posterior mean (6) */
  RC_SD = RC_MEAN + CS_NPARAM, /* weighted posterior sd (6) */
  RC_EPS = RC_SD + CS_NPARAM,  /* tolerance (noise units) */
  RC_RATE,                     /* acceptance rate */
  RC_ESS,                      /* effective sample size of the weights */
  RC_ADJ,                      /* regression adjustment applied */
  RC_NSTAT,                    /* elements present */
  RC_USED,                     /* 1: posterior computed, 0: star left out */
  RC_NCOL
};
static const char *const rc_info_cols[6] = {"eps", "acceptance_rate", "ess", "adjusted", "n_elements", "used"};

PetscErrorCode abc_config_default(AbcConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(c, sizeof(*c)));
  c->k = 1000;
  c->kernel = ABC_KERNEL_UNIFORM;
  c->adjust = PETSC_TRUE;
  c->samples = 1000;
  c->seed = 1;
  c->prior = PRIOR_GAUSS;
  c->tarp_bins = 30;
  c->progress_every = 10;
  PetscCall(PetscStrncpy(c->out, "output/abc.h5", sizeof(c->out)));
  PetscCall(cat_options_default(&c->cat));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode abc_set_from_options(MPI_Comm comm, AbcConfig *c)
{
  PetscBool adjust_set = PETSC_FALSE, k_set = PETSC_FALSE, q_set = PETSC_FALSE;
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "abc: rejection ABC of each star's six parameters on a simulation table", "abc");
  PetscCall(PetscOptionsString("-table", "simulation table: a simulate file (.h5), read by every rank", NULL, c->table,
                               c->table, sizeof(c->table), NULL));
  PetscCall(PetscOptionsInt("-rows", "use the first N usable table rows (0: all)", NULL, c->rows, &c->rows, NULL));
  PetscCall(PetscOptionsString("-stars", "star catalogue (CSV, HDF5, FITS; as infer)", NULL, c->stars, c->stars,
                               sizeof(c->stars), NULL));
  PetscCall(PetscOptionsString("-cases",
                               "instead of -stars: the test cases of a validate output, calibrated as validate", NULL,
                               c->cases, c->cases, sizeof(c->cases), NULL));
  PetscCall(
      PetscOptionsInt("-n", "with -cases: use the first N test cases (0: all)", NULL, c->ncases, &c->ncases, NULL));
  PetscCall(PetscOptionsInt("-accept", "rows accepted per star (the k nearest); -kernel gauss: -quantile 0.01 instead",
                            NULL, c->k, &c->k, &k_set));
  PetscCall(PetscOptionsReal("-quantile", "instead of -accept: the acceptance quantile (fraction of eligible rows)",
                             NULL, c->quantile, &c->quantile, &q_set));
  PetscCall(PetscOptionsEnum("-kernel",
                             "uniform (rejection of noisy simulations) or gauss (clean rows weighted by the noise "
                             "density)",
                             NULL, abc_kernel_names, (PetscEnum)c->kernel, (PetscEnum *)&c->kernel, NULL));
  PetscCall(PetscOptionsBool("-adjust", "local-linear regression adjustment (Beaumont et al. 2002; uniform kernel)",
                             NULL, c->adjust, &c->adjust, &adjust_set));
  PetscCall(PetscOptionsInt("-samples", "equally weighted posterior draws per star (resampled)", NULL, c->samples,
                            &c->samples, NULL));
  PetscCall(
      PetscOptionsInt("-seed", "seed of the table rows' noise and of the resampling", NULL, c->seed, &c->seed, NULL));
  PetscCall(PetscOptionsEnum("-prior", "target prior: gauss (the NPE's, default) or wide", NULL, prior_kind_names,
                             (PetscEnum)c->prior, (PetscEnum *)&c->prior, NULL));
  PetscCall(PetscOptionsString("-out", "result file (.h5)", NULL, c->out, c->out, sizeof(c->out), NULL));
  PetscCall(
      PetscOptionsInt("-tarp_bins", "with -cases: TARP credibility bins", NULL, c->tarp_bins, &c->tarp_bins, NULL));
  PetscCall(PetscOptionsReal("-progress_every", "seconds between progress lines [s]", NULL, c->progress_every,
                             &c->progress_every, NULL));
  PetscOptionsEnd();
  PetscCall(cat_options_set_from_options(comm, &c->cat));
  if (c->kernel == ABC_KERNEL_GAUSS) {
    PetscCheck(!(adjust_set && c->adjust), comm, PETSC_ERR_ARG_INCOMP,
               "-adjust applies to -kernel uniform only: the Gaussian kernel is already the noise likelihood, and "
               "regressing to a zero residual would condition on a noise-free observation");
    c->adjust = PETSC_FALSE;
    /* The Gaussian kernel weighs rows by the noise density, so a fixed k cuts it where its weight is
     * still large once the table grows (10^6 rows, k 1000: eps 2.75 noise units, SBC fails); a 1%
     * quantile keeps eps near 3.8 at any size and passes at 10^5 and 10^7 rows (README, ABC). */
    if (!k_set && !q_set) c->quantile = ABC_GAUSS_QUANTILE;
  }
  PetscCall(guard_int_option(comm, "-rows", c->rows, 0, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-n", c->ncases, 0, VALIDATE_MAX_CASES));
  PetscCall(guard_int_option(comm, "-accept", c->k, 1, 100000000));
  PetscCall(guard_int_option(comm, "-samples", c->samples, 2, 1000000));
  PetscCall(guard_int_option(comm, "-seed", c->seed, 0, PETSC_MAX_INT));
  PetscCall(guard_int_option(comm, "-tarp_bins", c->tarp_bins, 1, 100000));
  PetscCall(guard_real_option(comm, "-quantile", c->quantile, 0, 1));
  PetscCall(guard_real_option(comm, "-progress_every", c->progress_every, 0, 1e9));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The table on this rank: usable rows, their noise, the prior ratio. */
typedef struct {
  EmuData d;
  double *noise, *logw;
  Prior target;
  char prior_name[32];
  PetscInt eligible;
} Table;

static PetscErrorCode table_load(const ParCtx *ctx, const AbcConfig *c, Table *t)
{
  const ParCtx self = {.comm = PETSC_COMM_SELF, .rank = 0, .size = 1};
  H5File f;
  PetscInt nr, nc;
  Prior tab;
  PriorKind tk;
  PetscBool known;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  PetscCall(h5_open(PETSC_COMM_SELF, c->table, PETSC_FALSE, &f));
  PetscCall(h5_table_info(&f, "params", &nr, &nc));
  if (h5_attr_exists(&f, "/", "prior"))
    PetscCall(h5_attr_read_str(&f, "/", "prior", t->prior_name, sizeof(t->prior_name)));
  PetscCall(h5_close(&f));
  PetscCall(PetscEnumFind(prior_kind_names, t->prior_name, (PetscEnum *)&tk, &known));
  PetscCheck(known, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
             "-table %s: its parameters were not drawn from a known prior (attribute prior = '%s'): ABC needs a table "
             "made by simulate -n N -prior wide|gauss",
             c->table, t->prior_name);
  PetscCheck(!(tk == PRIOR_GAUSS && c->prior == PRIOR_WIDE), ctx->comm, PETSC_ERR_ARG_INCOMP,
             "-table %s was drawn from the gauss prior, which does not cover the wide target prior (-prior wide)",
             c->table);
  PetscInt use = c->rows > 0 ? PetscMin(c->rows, nr) : nr;
  /* Every rank: the file's rows while loading, then (6 + 8 + 8 + 1) doubles and a 16-byte pair per row. */
  PetscCall(guard_memory(ctx->comm, (double)nr * 16 * 8 + (double)use * (23 * 8 + 16), "-table rows (every rank)"));
  PetscCall(emu_data_load(&self, c->table, &t->d));
  if (c->rows > 0 && c->rows < t->d.N) t->d.N = t->d.nloc = c->rows;
  const PetscInt n = t->d.N;
  PetscCall(prior_init(c->prior, &t->target));
  PetscCall(prior_init(tk, &tab));
  PetscCall(PetscMalloc2(c->kernel == ABC_KERNEL_UNIFORM ? n * CS_NELEM : 1, &t->noise, n, &t->logw));
  t->eligible = 0;
  for (PetscInt i = 0; i < n; i++) {
    const double *th = t->d.theta + i * CS_NPARAM;
    /* Rows drawn from the target itself weigh the same (only its support counts); from another prior, the ratio. */
    const double lt = prior_log_prob(&t->target, th);
    t->logw[i] = tk == c->prior ? (isfinite(lt) ? 0 : -INFINITY) : lt - prior_log_prob(&tab, th);
    if (isfinite(t->logw[i])) t->eligible++;
  }
  if (c->kernel == ABC_KERNEL_UNIFORM)
    for (PetscInt i = 0; i < n; i++) {
      Rng r;
      rng_init(&r, (uint64_t)c->seed, RNG_ABC, (uint64_t)i);
      for (int e = 0; e < CS_NELEM; e++) t->noise[i * CS_NELEM + e] = rng_normal(&r);
    }
  PetscCheck(t->eligible > 0, ctx->comm, PETSC_ERR_FILE_UNEXPECTED, "-table %s: no usable row lies inside the %s prior",
             c->table, prior_kind_name(c->prior));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode table_destroy(Table *t)
{
  PetscFunctionBeginUser;
  PetscCall(emu_data_destroy(&t->d));
  PetscCall(PetscFree2(t->noise, t->logw));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode write_output(const AbcConfig *c, const Table *t, const ObsSet *o, const AbcSummary *s, PetscInt k,
                                   const double *rec, const double *samples, const double *alpha, const double *ecp)
{
  const H5Slice tab[] = {{"posterior_mean", RC_MEAN, CS_NPARAM, cs_param_names},
                         {"posterior_sd", RC_SD, CS_NPARAM, cs_param_names},
                         {"abc", RC_EPS, 6, rc_info_cols}};
  const PetscInt n = o->n;
  H5File f;
  PetscFunctionBeginUser;
  PetscCall(h5_create(PETSC_COMM_SELF, c->out, &f));
  PetscCall(h5_write_provenance(&f, "abc"));
  PetscCall(h5_table_write_slices(&f, n, RC_NCOL, rec, sizeof(tab) / sizeof(tab[0]), tab));
  PetscCall(h5_table_write(&f, "samples", H5T_NATIVE_DOUBLE, n * c->samples, CS_NPARAM, cs_param_names, samples));
  PetscCall(h5_attr_write_str(&f, "/", "table", c->table));
  PetscCall(h5_attr_write_str(&f, "/", "table_prior", t->prior_name));
  PetscCall(h5_attr_write_str(&f, "/", "prior", prior_kind_name(c->prior)));
  PetscCall(h5_attr_write_str(&f, "/", "kernel", abc_kernel_names[c->kernel]));
  PetscCall(h5_attr_write_str(&f, "/", "observations", o->cases ? c->cases : c->stars));
  const PetscInt iv[6] = {s->rows, s->eligible, k, c->adjust ? 1 : 0, c->samples, c->seed};
  PetscCall(h5_attr_write_int(&f, "/", "rows_eligible_accept_adjust_samples_seed", 6, iv));
  const double dv[5] = {s->eps_median, s->eps_q90, s->rate, s->ess_median, s->star_seconds};
  PetscCall(h5_attr_write_double(&f, "/", "eps_median_eps_q90_rate_ess_median_seconds_per_star", 5, dv));
  if (s->calibrated) PetscCall(cases_write_calibration(&f, o, &s->cal, alpha, ecp));
  PetscCall(h5_commit(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The accepted k of the eligible rows: -accept, or -quantile of them. */
static PetscInt accepted_k(const AbcConfig *c, const Table *t)
{
  return c->quantile > 0 ? PetscMax(1, (PetscInt)ceil(c->quantile * (double)t->eligible)) : PetscMin(c->k, t->eligible);
}

struct AbcSampler {
  Table t;
  AbcTable at;
  AbcOptions ao;
  AbcWork *w;
  double *th, *wt; /* (k, P) the last star's accepted rows and (k) their weights */
  PetscInt samples;
};

PetscErrorCode abc_sampler_create(const ParCtx *ctx, const AbcConfig *c, AbcSampler **out)
{
  AbcSampler *s;
  PetscFunctionBeginUser;
  PetscCheck(c->table[0], ctx->comm, PETSC_ERR_ARG_WRONG, "abc needs -table FILE (a simulate output)");
  PetscCall(PetscNew(&s));
  PetscCall(table_load(ctx, c, &s->t));
  const PetscInt k = accepted_k(c, &s->t);
  s->at = (AbcTable){.n = s->t.d.N,
                     .P = CS_NPARAM,
                     .E = CS_NELEM,
                     .theta = s->t.d.theta,
                     .sim = s->t.d.abund,
                     .noise = c->kernel == ABC_KERNEL_UNIFORM ? s->t.noise : NULL,
                     .logw = s->t.logw,
                     .lo = s->t.target.lo,
                     .hi = s->t.target.hi};
  s->ao = (AbcOptions){.kernel = c->kernel, .k = k, .adjust = c->adjust};
  s->samples = c->samples;
  PetscCall(abc_work_create(&s->at, k, &s->w));
  PetscCall(PetscMalloc2(k * CS_NPARAM, &s->th, k, &s->wt));
  *out = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode abc_sampler_destroy(AbcSampler **s)
{
  PetscFunctionBeginUser;
  if (!*s) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(abc_work_destroy(&(*s)->w));
  PetscCall(PetscFree2((*s)->th, (*s)->wt));
  PetscCall(table_destroy(&(*s)->t));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

const Prior *abc_sampler_prior(const AbcSampler *s) { return &s->t.target; }
PetscInt abc_sampler_samples(const AbcSampler *s) { return s->samples; }

PetscErrorCode abc_sampler_star(AbcSampler *s, PetscInt j, uint64_t seed, const double *x, const double *sigma,
                                double *samples, AbcStats *st)
{
  Rng rg;
  PetscFunctionBeginUser;
  PetscCall(abc_star(&s->at, &s->ao, x, sigma, s->w, s->th, s->wt, st));
  rng_init(&rg, seed, RNG_ABC, ABC_STAR_INDEX + (uint64_t)j);
  abc_resample(s->ao.k, CS_NPARAM, s->th, s->wt, s->samples, rng_uniform(&rg), samples);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode abc_run(const ParCtx *ctx, const AbcConfig *c, AbcSummary *s)
{
  AbcSampler *sp;
  ObsSet o;
  PetscInt lo, hi;
  ParProgress prog;
  char fa[128], fb[128];
  PetscFunctionBeginUser;
  PetscCheck(!!c->stars[0] != !!c->cases[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "abc needs exactly one of -stars FILE (a catalogue) and -cases FILE (a validate output)");
  PetscCall(PetscMemzero(s, sizeof(*s)));
  double t0 = cs_wtime();
  PetscCall(abc_sampler_create(ctx, c, &sp));
  const Table *tp = &sp->t;
  PetscCall(obsset_load(ctx, c->stars, c->cases, c->ncases, &c->cat, &o));
  PetscCheck(!gce_config_string_model_differs(tp->d.chempy, o.chempy, fa, fb, sizeof(fa)), ctx->comm,
             PETSC_ERR_ARG_INCOMP, "-table %s was simulated with CHEMPY %s, but the test cases %s with %s", c->table,
             fa, c->cases, fb);
  s->load_seconds = cs_wtime() - t0;
  const PetscInt k = sp->ao.k;
  const PetscInt L = c->samples;
  s->n = o.n;
  s->rows = tp->d.N;
  s->eligible = tp->eligible;
  PetscCall(guard_memory(ctx->comm, (double)o.n * L * CS_NPARAM * 8 * (ctx->rank == 0 ? 2 : 1), "stars x -samples"));
  PetscCall(PetscPrintf(
      ctx->comm,
      "abc: table %s, %" PetscInt_FMT " usable rows (%s prior), %" PetscInt_FMT
      " inside the %s target prior; %" PetscInt_FMT " accepted per star (rate %.3g), %s kernel%s; %" PetscInt_FMT
      " %s on %d ranks; table read and noise drawn in %.2f s\n",
      c->table, tp->d.N, tp->prior_name, tp->eligible, prior_kind_name(c->prior), k, (double)k / (double)tp->eligible,
      c->kernel == ABC_KERNEL_UNIFORM ? "uniform" : "gaussian", c->adjust ? " + regression adjustment" : "", o.n,
      o.cases ? "test cases" : "stars", ctx->size, s->load_seconds));
  if (strcmp(tp->prior_name, prior_kind_name(c->prior)))
    PetscCall(PetscPrintf(ctx->comm, "abc: rows weighted by the prior ratio %s / %s\n", prior_kind_name(c->prior),
                          tp->prior_name));

  double *rec, *smp;
  par_block_range(o.n, ctx->rank, ctx->size, &lo, &hi);
  const PetscInt nloc = hi - lo;
  PetscCall(PetscMalloc2(nloc * RC_NCOL + 1, &rec, nloc * L * CS_NPARAM + 1, &smp));
  par_progress_start(&prog, "abc", 0, c->progress_every);
  double t1 = cs_wtime();
  for (PetscInt j = lo; j < hi; j++) {
    double *r = rec + (j - lo) * RC_NCOL, *sm = smp + (j - lo) * L * CS_NPARAM;
    for (int q = 0; q < RC_NCOL; q++) r[q] = NAN;
    r[RC_USED] = 0;
    if (o.usable[j] != 0) {
      AbcStats st;
      const double *th = sp->th, *wt = sp->wt;
      PetscCall(abc_sampler_star(sp, j, (uint64_t)c->seed, o.x + j * CS_NELEM, o.sigma + j * CS_NELEM, sm, &st));
      for (int d = 0; d < CS_NPARAM; d++) {
        double m = 0, v = 0;
        for (PetscInt a = 0; a < k; a++) m += wt[a] * th[a * CS_NPARAM + d];
        for (PetscInt a = 0; a < k; a++) v += wt[a] * (th[a * CS_NPARAM + d] - m) * (th[a * CS_NPARAM + d] - m);
        r[RC_MEAN + d] = m;
        r[RC_SD + d] = sqrt(v);
      }
      r[RC_EPS] = st.eps;
      r[RC_RATE] = st.rate;
      r[RC_ESS] = st.ess;
      r[RC_ADJ] = st.adjusted ? 1 : 0;
      r[RC_NSTAT] = st.nstat;
      r[RC_USED] = 1;
    } else
      for (PetscInt l = 0; l < L * CS_NPARAM; l++) sm[l] = NAN;
    PetscCall(par_progress_report(ctx, &prog, j - lo + 1, nloc, "", j + 1 == hi));
  }
  double tt[2] = {cs_wtime() - t1, nloc > 0 ? (cs_wtime() - t1) / (double)nloc : 0};
  PetscCall(par_allreduce_max(ctx, tt, 2));
  s->seconds = tt[0];
  s->star_seconds = tt[1];

  double *all_rec = NULL, *all_smp = NULL;
  PetscInt ntot;
  PetscCall(par_gather_doubles(ctx, rec, nloc * RC_NCOL, &all_rec, &ntot));
  PetscCall(par_gather_doubles(ctx, smp, nloc * L * CS_NPARAM, &all_smp, &ntot));
  PetscCall(PetscFree2(rec, smp));
  if (ctx->rank == 0) {
    double *col, *alpha = NULL, *ecp = NULL;
    PetscCall(PetscMalloc1(o.n + 1, &col));
    for (PetscInt i = 0; i < o.n; i++) s->nused += all_rec[i * RC_NCOL + RC_USED] != 0;
    for (PetscInt i = 0; i < o.n; i++) col[i] = all_rec[i * RC_NCOL + RC_EPS];
    const double q[3] = {0, 0.5, 0.9};
    double v[3];
    PetscCall(calib_quantiles(o.n, col, 3, q, v));
    s->eps_median = v[1];
    s->eps_q90 = v[2];
    for (PetscInt i = 0; i < o.n; i++) col[i] = all_rec[i * RC_NCOL + RC_RATE];
    PetscCall(calib_quantiles(o.n, col, 3, q, v));
    s->rate = v[1];
    for (PetscInt i = 0; i < o.n; i++) col[i] = all_rec[i * RC_NCOL + RC_ESS];
    PetscCall(calib_quantiles(o.n, col, 3, q, v));
    s->ess_median = v[1];
    s->ess_min = v[0];
    for (PetscInt i = 0; i < o.n; i++) s->nadjusted += all_rec[i * RC_NCOL + RC_ADJ] == 1;
    PetscCall(PetscFree(col));
    if (o.cases) {
      PetscCall(PetscMalloc2(c->tarp_bins + 1, &alpha, c->tarp_bins + 1, &ecp));
      PetscCall(cases_calibrate(o.n, L, all_smp, o.tc.truth, &tp->target, (uint64_t)c->seed, c->tarp_bins, &s->cal,
                                NULL, alpha, ecp));
      s->calibrated = PETSC_TRUE;
      PetscCall(cases_print("abc calibration", &s->cal, &tp->target));
    }
    if (c->out[0]) {
      PetscCall(write_output(c, tp, &o, s, k, all_rec, all_smp, alpha, ecp));
      PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s\n", c->out));
    }
    if (alpha) PetscCall(PetscFree2(alpha, ecp));
  }
  PetscCall(par_bcast_bytes(ctx->comm, s, sizeof(*s)));
  PetscCall(PetscFree(all_rec));
  PetscCall(PetscFree(all_smp));
  PetscCall(obsset_destroy(&o));
  PetscCall(abc_sampler_destroy(&sp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode abc_summary_line(const AbcConfig *c, const AbcSummary *s, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(
      buf, len,
      "ABC n=%" PetscInt_FMT " used=%" PetscInt_FMT " rows=%" PetscInt_FMT " eligible=%" PetscInt_FMT
      " rate=%.4g eps_median=%.4g eps_q90=%.4g ess_median=%.4g adjusted=%" PetscInt_FMT " s_per_star=%.4g load_s=%.3g",
      s->n, s->nused, s->rows, s->eligible, s->rate, s->eps_median, s->eps_q90, s->ess_median, s->nadjusted,
      s->star_seconds, s->load_seconds));
  PetscFunctionReturn(PETSC_SUCCESS);
}
