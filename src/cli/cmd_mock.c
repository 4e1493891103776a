/* chempysbi mock: a mock galaxy made with the real CHEMPY simulator (or, as a
 * diagnostic, the emulator), with the true values in extra columns. */
#include "cli.h"
#include <chempysbi/cat.h>
#include <chempysbi/csv.h>
#include <chempysbi/farm.h>
#include <chempysbi/guard.h>
#include <chempysbi/mock.h>
#include <math.h>
#include <string.h>

typedef struct {
  MockSpec spec;
  CatColumns cols; /* column names of the output (-columns) */
  double *rows;    /* rank 0: (n, MK_NOUT) */
} MockJob;

static PetscErrorCode mock_compute(void *vctx, PetscInt i, double *out)
{
  PetscFunctionBeginUser;
  PetscCall(mock_star(&((MockJob *)vctx)->spec, i, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode mock_store(void *vctx, PetscInt n, const PetscInt *rows, const double *out)
{
  MockJob *m = (MockJob *)vctx;
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscArraycpy(m->rows + rows[i] * MK_NOUT, out + i * MK_NOUT, MK_NOUT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Columns: id, the map's value columns, their error columns, flag columns when
 * elements go missing at random (the value is kept and flagged, as surveys
 * do), then the truths. An element of the survey pattern, or one without a
 * flag column, is written as NaN; an element the map has no column for is
 * not written. */
static PetscErrorCode mock_write(const char *path, PetscInt n, const MockJob *m)
{
  enum { MAXC = 1 + 3 * CS_NELEM + CS_NPARAM + CS_NELEM };
  char names_buf[MAXC][CAT_COL_LEN + 8];
  const char *names[MAXC];
  int nc = 0, cval[CS_NELEM], cerr[CS_NELEM], cflag[CS_NELEM], ctrue;
  PetscBool flags = m->spec.obs.p_missing > 0 ? PETSC_TRUE : PETSC_FALSE;
  double *t;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "%s", m->cols.id[0] ? m->cols.id : "id"));
  for (int k = 0; k < CS_NELEM; k++) cval[k] = cerr[k] = cflag[k] = -1;
  for (int k = 0; k < CS_NELEM; k++) /* all values, then all errors, then the flags */
    if (m->cols.val[k][0]) {
      cval[k] = nc;
      PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "%s", m->cols.val[k]));
    }
  for (int k = 0; k < CS_NELEM; k++)
    if (cval[k] >= 0 && m->cols.err[k][0]) {
      cerr[k] = nc;
      PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "%s", m->cols.err[k]));
    }
  for (int k = 0; k < CS_NELEM; k++)
    if (flags && cval[k] >= 0 && m->cols.flag[k][0]) {
      cflag[k] = nc;
      PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "%s", m->cols.flag[k]));
    }
  ctrue = nc;
  for (int k = 0; k < CS_NPARAM; k++)
    PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "true_%s", cs_param_names[k]));
  for (int k = 0; k < CS_NELEM; k++)
    PetscCall(PetscSNPrintf(names_buf[nc++], sizeof(names_buf[0]), "true_%s", cs_elem_names[k]));
  for (int c = 0; c < nc; c++) names[c] = names_buf[c];
  PetscCall(PetscMalloc1(n * nc, &t));
  for (PetscInt i = 0; i < n; i++) {
    const double *o = m->rows + i * MK_NOUT;
    double *w = t + i * nc;
    PetscBool ok = o[MK_ST] == 0 ? PETSC_TRUE : PETSC_FALSE; /* no accepted run: nothing to observe or report */
    w[0] = (double)i;
    for (int k = 0; k < CS_NELEM; k++) {
      int why = (int)o[MK_WHY + k];
      PetscBool blank = !ok || why == OBS_PATTERN || (why == OBS_RANDOM && cflag[k] < 0) ? PETSC_TRUE : PETSC_FALSE;
      if (cval[k] >= 0) w[cval[k]] = blank ? NAN : o[MK_NOISY + k];
      if (cerr[k] >= 0) w[cerr[k]] = why == OBS_PATTERN ? NAN : o[MK_SIG + k];
      if (cflag[k] >= 0) w[cflag[k]] = why == OBS_RANDOM ? 1 : 0;
      w[ctrue + CS_NPARAM + k] = ok ? o[MK_CLEAN + k] : NAN;
    }
    for (int k = 0; k < CS_NPARAM; k++) w[ctrue + k] = o[MK_TH + k];
  }
  PetscCall(cat_write_table(path, nc, names, n, t));
  PetscCall(PetscFree(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cmd_mock(const ParCtx *ctx)
{
  MockJob m = {.spec = {.alpha = -2.3, .nia = -2.89, .noise = 0.05}};
  PetscInt seed = 7;
  GceConfig gc;
  GceYields *y;
  PetscInt n = 1000, *pending = NULL;
  char out[PETSC_MAX_PATH_LEN] = "", emu_path[PETSC_MAX_PATH_LEN] = "", errors[64] = "", drop[256] = "",
       columns[PETSC_MAX_PATH_LEN] = "chempysbi", tmpl[PETSC_MAX_PATH_LEN] = "";
  double *tmpl_err = NULL;
  PetscReal p_missing = 0;
  FarmSummary sum;
  PetscBool force;
  GuardLock lock;
  PetscFunctionBeginUser;
  PetscCall(gce_config_default(&gc));
  PetscOptionsBegin(ctx->comm, NULL, "mock: a mock galaxy from the real CHEMPY simulator", "mock");
  PetscCall(PetscOptionsInt("-n", "number of stars", NULL, n, &n, NULL));
  PetscCall(
      PetscOptionsReal("-alpha_IMF", "true high-mass IMF slope (global)", NULL, m.spec.alpha, &m.spec.alpha, NULL));
  PetscCall(PetscOptionsReal("-log10_N_Ia", "true SN Ia normalisation, log10 per Msun (global)", NULL, m.spec.nia,
                             &m.spec.nia, NULL));
  PetscCall(PetscOptionsReal("-noise", "Gaussian observational noise [dex]", NULL, m.spec.noise, &m.spec.noise, NULL));
  PetscCall(PetscOptionsInt("-seed", "random seed (star i uses streams keyed by i)", NULL, seed, &seed, NULL));
  PetscCall(PetscOptionsString("-errors",
                               "per-star errors: LO,HI draws each sigma log-uniform in [LO, HI] [dex] "
                               "(default: every sigma is -noise)",
                               NULL, errors, errors, sizeof(errors), NULL));
  PetscCall(PetscOptionsReal("-p_missing", "probability that an element is missing at random (written flagged)", NULL,
                             p_missing, &p_missing, NULL));
  PetscCall(PetscOptionsString("-drop", "elements the survey does not measure, e.g. He_Fe,Ne_Fe (written as NaN)", NULL,
                               drop, drop, sizeof(drop), NULL));
  PetscCall(PetscOptionsString("-columns", "column names: chempysbi, apogee, galah or a map file", NULL, columns,
                               columns, sizeof(columns), NULL));
  PetscCall(PetscOptionsString("-errors_from",
                               "copy per-star errors and missing elements from this catalogue (star i from template "
                               "star i mod N; read with -columns)",
                               NULL, tmpl, tmpl, sizeof(tmpl), NULL));
  PetscCall(PetscOptionsString("-out", "output catalogue (.csv, or .fits for a FITS binary table)", NULL, out, out,
                               sizeof(out), NULL));
  PetscCall(PetscOptionsString("-emulator", "diagnostic only: make the abundances with this emulator instead of CHEMPY",
                               NULL, emu_path, emu_path, sizeof(emu_path), NULL));
  PetscOptionsEnd();
  PetscCall(cli_force_option(ctx->comm, &force));
  PetscCall(gce_config_set_from_options(&gc));
  if (cli_help()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(cli_check_unused_options());
  PetscCheck(n > 0, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE, "-n %" PetscInt_FMT ": must be positive", n);
  PetscCheck(out[0], ctx->comm, PETSC_ERR_ARG_WRONG, "mock needs -out FILE.csv");
  PetscCall(guard_int_option(ctx->comm, "-n", n, 1, PETSC_MAX_INT / (2 * MK_NOUT)));
  PetscCall(guard_int_option(ctx->comm, "-seed", seed, 0, PETSC_MAX_INT));
  PetscCall(guard_real_option(ctx->comm, "-noise", m.spec.noise, 0, 10));
  PetscCall(guard_real_option(ctx->comm, "-alpha_IMF", m.spec.alpha, -PETSC_MAX_REAL, PETSC_MAX_REAL));
  PetscCall(guard_real_option(ctx->comm, "-log10_N_Ia", m.spec.nia, -PETSC_MAX_REAL, PETSC_MAX_REAL));
  PetscCall(guard_memory(ctx->comm, 8.0 * (double)n * (2 * MK_NOUT + 1), "-n"));
  const char *in_opt[2] = {"-emulator", "-errors_from"}, *in_path[2] = {emu_path, tmpl};
  if (emu_path[0]) PetscCall(guard_input(ctx->comm, "-emulator", emu_path, "train-emulator,hdf5"));
  if (tmpl[0])
    PetscCall(guard_input(ctx->comm, "-errors_from", tmpl, "catalogue,catalogue-csv,mock-csv,fits,hdf5,text"));
  size_t olen = strlen(out);
  PetscBool fits = (olen > 5 && !strcmp(out + olen - 5, ".fits")) || (olen > 4 && !strcmp(out + olen - 4, ".fit"));
  PetscCall(guard_output(ctx->comm, "-out", out, fits ? "fits" : "mock-csv", in_opt, in_path, 2, force));
  PetscCall(guard_lock(ctx->comm, out, &lock));
  PetscCheck(m.spec.noise > 0 && p_missing >= 0 && p_missing < 1, ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-noise %g must be > 0 and -p_missing %g in [0, 1)", m.spec.noise, p_missing);
  obs_fixed(m.spec.noise, &m.spec.obs);
  m.spec.obs.p_missing = p_missing;
  if (errors[0]) PetscCall(obs_parse_range(ctx->comm, "-errors", errors, &m.spec.obs.lo, &m.spec.obs.hi));
  if (drop[0]) {
    PetscCall(obs_parse_elements(ctx->comm, "-drop", drop, &m.spec.obs.drop));
    m.spec.obs.p_drop = 1; /* a survey pattern: every star */
  }
  PetscCall(cat_columns_get(columns, &m.cols));
  if (tmpl[0]) { /* rank 0 reads the template, every rank gets its errors (NaN = missing) */
    PetscInt nt = 0, ok = 1;
    Catalogue tc;
    if (ctx->rank == 0) {
      CatOptions co;
      PetscCall(cat_options_default(&co));
      PetscCall(PetscStrncpy(co.columns, columns, sizeof(co.columns)));
      ok = cat_read_opts(tmpl, &co, &tc) ? 0 : 1;
      if (ok) nt = tc.n;
    }
    PetscCall(par_bcast_ints(ctx, &ok, 1));
    PetscCheck(ok, ctx->comm, PETSC_ERR_FILE_READ, "-errors_from %s: cannot read the template catalogue (see above)",
               tmpl);
    PetscCall(par_bcast_ints(ctx, &nt, 1));
    PetscCall(PetscMalloc1(nt * CS_NELEM, &tmpl_err));
    if (ctx->rank == 0) {
      PetscCall(PetscArraycpy(tmpl_err, tc.err, nt * CS_NELEM));
      PetscCall(cat_destroy(&tc));
    }
    PetscCall(par_bcast_doubles(ctx, tmpl_err, nt * CS_NELEM));
    m.spec.tmpl_err = tmpl_err;
    m.spec.ntmpl = nt;
  }
  PetscCall(prior_init(PRIOR_GAUSS, &m.spec.prior));
  m.spec.seed = (uint64_t)seed;
  double th[CS_NPARAM]; /* the globals given, the locals at their prior means */
  for (int k = 0; k < CS_NPARAM; k++) th[k] = m.spec.prior.mean[k];
  th[CS_alpha_IMF] = m.spec.alpha;
  th[CS_log10_N_Ia] = m.spec.nia;
  PetscCheck(prior_contains(&m.spec.prior, th), ctx->comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-alpha_IMF %g / -log10_N_Ia %g lie outside the model's bounds", m.spec.alpha, m.spec.nia);
  if (emu_path[0]) PetscCall(emu_read_h5(emu_path, "/emulator", 16, &m.spec.emu));
  PetscCall(gce_yields_load_shared(ctx->comm, gc.data_dir, gc.yields, &y));
  PetscCall(gce_work_create(y, &gc, &m.spec.work));
  if (ctx->rank == 0) {
    PetscCall(PetscMalloc2(n * MK_NOUT, &m.rows, n, &pending));
    for (PetscInt i = 0; i < n; i++) pending[i] = i;
  }
  FarmSpec spec = {
      .nout = MK_NOUT, .compute = mock_compute, .store = mock_store, .ctx = &m, .what = "mock", .progress_every = 5};
  PetscCall(farm_run(ctx, &spec, n, pending, n, 0, &sum));
  if (ctx->rank == 0) {
    PetscInt failed = 0;
    char gce[512];
    PetscCall(gce_config_string(&gc, gce, sizeof(gce)));
    for (PetscInt i = 0; i < n; i++) failed += m.rows[i * MK_NOUT + MK_ST] != 0;
    PetscCall(mock_write(out, n, &m));
    PetscCall(PetscPrintf(PETSC_COMM_SELF,
                          "mock: %" PetscInt_FMT
                          " stars from %s (alpha_IMF %g, log10_N_Ia %g, errors %g-%g dex, p_missing %g, dropped %s, "
                          "yields %s) in %.2f s; %" PetscInt_FMT
                          " without an accepted CHEMPY run (NaN)\nCHEMPY configuration: %s\nwrote %s\n",
                          n, m.spec.emu ? "the EMULATOR (diagnostic)" : "CHEMPY", m.spec.alpha, m.spec.nia,
                          m.spec.obs.lo, m.spec.obs.hi, m.spec.obs.p_missing, drop[0] ? drop : "none", gc.yields,
                          sum.seconds, failed, gce, out));
    PetscCall(PetscFree2(m.rows, pending));
  }
  PetscCall(gce_work_destroy(&m.spec.work));
  PetscCall(gce_yields_destroy(&y));
  PetscCall(emu_destroy(&m.spec.emu));
  PetscCall(PetscFree(tmpl_err));
  PetscCall(guard_unlock(&lock));
  PetscFunctionReturn(PETSC_SUCCESS);
}
