/* Test cases from a validate output, and the calibration of any estimator's
 * samples on them with validate's statistics (cases.h). */
#include <chempysbi/calib.h>
#include <chempysbi/cases.h>
#include <chempysbi/emu.h>
#include <chempysbi/h5.h>
#include <math.h>

PetscErrorCode cases_read(const char *path, PetscInt nmax, TestCases *tc)
{
  H5File f;
  PetscInt n, nc;
  const char *tabs[3] = {"truth", "observations", "errors"};
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(tc, sizeof(*tc)));
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  for (int k = 0; k < 3; k++)
    PetscCheck(h5_exists(&f, tabs[k]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s has no /%s table: test cases come from a validate output (validate -out FILE)", path, tabs[k]);
  PetscCall(h5_table_check_columns(&f, "truth", CS_NPARAM, cs_param_names));
  PetscCall(h5_table_check_columns(&f, "observations", CS_NELEM, cs_elem_names));
  PetscCall(h5_table_check_columns(&f, "errors", CS_NELEM, cs_elem_names));
  PetscCall(h5_table_info(&f, "truth", &n, &nc));
  if (nmax > 0) n = PetscMin(n, nmax);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s holds no test cases", path);
  tc->n = n;
  PetscCall(PetscMalloc3(n * CS_NPARAM, &tc->truth, n * CS_NELEM, &tc->x, n * CS_NELEM, &tc->sigma));
  PetscCall(h5_table_read_rows(&f, "truth", H5T_NATIVE_DOUBLE, 0, n, tc->truth, PETSC_FALSE));
  PetscCall(h5_table_read_rows(&f, "observations", H5T_NATIVE_DOUBLE, 0, n, tc->x, PETSC_FALSE));
  PetscCall(h5_table_read_rows(&f, "errors", H5T_NATIVE_DOUBLE, 0, n, tc->sigma, PETSC_FALSE));
  PetscCall(emu_chempy_config_read_open(&f, "chempy_config", tc->chempy, sizeof(tc->chempy)));
  if (h5_attr_exists(&f, "/", "npe_file")) PetscCall(h5_attr_read_str(&f, "/", "npe_file", tc->npe, sizeof(tc->npe)));
  PetscCall(h5_close(&f));
  for (PetscInt i = 0; i < n; i++)
    for (int d = 0; d < CS_NPARAM; d++)
      PetscCheck(isfinite(tc->truth[i * CS_NPARAM + d]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: /truth row %" PetscInt_FMT " column %s is not finite", path, i, cs_param_names[d]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cases_destroy(TestCases *tc)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(tc->truth, tc->x, tc->sigma));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* validate's TARP box: Gaussian prior mean +- 3 sd clipped to the support, otherwise the support. */
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

PetscErrorCode cases_calibrate(PetscInt n, PetscInt L, const double *samples, const double *truth, const Prior *prior,
                               uint64_t seed, PetscInt tarp_bins, ValidateSummary *s, double *tarp_f, double *alpha,
                               double *ecp)
{
  PetscInt *rank;
  double *mean, *g_mean, *g_truth, *a = alpha, *e = ecp;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(s, sizeof(*s)));
  s->n = n;
  s->samples = L;
  s->nalpha = tarp_bins + 1;
  PetscCall(PetscMalloc4(n * CS_NPARAM, &rank, n * CS_NPARAM, &mean, 2 * n, &g_mean, 2 * n, &g_truth));
  if (!alpha) PetscCall(PetscMalloc2(s->nalpha, &a, s->nalpha, &e));
  for (PetscInt i = 0; i < n; i++) {
    const double *sm = samples + i * L * CS_NPARAM;
    calib_sbc_ranks(L, CS_NPARAM, sm, truth + i * CS_NPARAM, rank + i * CS_NPARAM);
    for (int d = 0; d < CS_NPARAM; d++) {
      double m = 0, v = 0, t = truth[i * CS_NPARAM + d];
      for (PetscInt l = 0; l < L; l++) m += sm[l * CS_NPARAM + d];
      m /= (double)L;
      for (PetscInt l = 0; l < L; l++) v += (sm[l * CS_NPARAM + d] - m) * (sm[l * CS_NPARAM + d] - m);
      mean[i * CS_NPARAM + d] = m;
      s->rmse[d] += (m - t) * (m - t);
      s->mean_sd[d] += sqrt(v / (double)(L - 1));
    }
    for (int d = 0; d < 2; d++)
      g_mean[2 * i + d] = mean[i * CS_NPARAM + d], g_truth[2 * i + d] = truth[i * CS_NPARAM + d];
  }
  for (int d = 0; d < CS_NPARAM; d++) {
    s->rmse[d] = sqrt(s->rmse[d] / (double)n);
    s->mean_sd[d] /= (double)n;
    PetscCall(calib_sbc_ks(n, L, rank + d, CS_NPARAM, &s->sbc_D[d], &s->sbc_p[d]));
  }
  PetscCall(calib_ape(n, CS_NPARAM, mean, truth, s->ape_q25, s->ape_median, s->ape_q75, s->ape_all));
  PetscCall(calib_ape(n, 2, g_mean, g_truth, NULL, NULL, NULL, s->ape_globals));
  tarp_box(prior, s->tarp_lo, s->tarp_hi);
  PetscCall(calib_tarp(n, L, CS_NPARAM, samples, truth, s->tarp_lo, s->tarp_hi, seed, s->nalpha, e, a, &s->tarp_atc_sum,
                       &s->tarp_ks_p));
  s->tarp_atc = s->tarp_atc_sum / (double)(s->nalpha - 1);
  if (tarp_f) PetscCall(calib_tarp_f(n, L, CS_NPARAM, samples, truth, s->tarp_lo, s->tarp_hi, seed, tarp_f));
  if (!alpha) PetscCall(PetscFree2(a, e));
  PetscCall(PetscFree4(rank, mean, g_mean, g_truth));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cases_write_calibration(H5File *f, const ObsSet *o, const ValidateSummary *v, const double *alpha,
                                       const double *ecp)
{
  static const char *const tc[2] = {"alpha", "ecp"};
  double *buf;
  PetscFunctionBeginUser;
  PetscCall(h5_table_write(f, "truth", H5T_NATIVE_DOUBLE, o->n, CS_NPARAM, cs_param_names, o->tc.truth));
  PetscCall(PetscMalloc1(2 * PetscMax(v->nalpha, 1), &buf));
  for (PetscInt q = 0; q < v->nalpha; q++) buf[2 * q] = alpha[q], buf[2 * q + 1] = ecp[q];
  PetscCall(h5_table_write(f, "tarp", H5T_NATIVE_DOUBLE, v->nalpha, 2, tc, buf));
  PetscCall(PetscFree(buf));
  PetscCall(h5_attr_write_double(f, "/", "tarp_atc", 1, &v->tarp_atc));
  PetscCall(h5_attr_write_double(f, "/", "tarp_ks_p", 1, &v->tarp_ks_p));
  PetscCall(h5_attr_write_double(f, "/", "sbc_ks_p", CS_NPARAM, v->sbc_p));
  PetscCall(h5_attr_write_double(f, "/", "ape_median", CS_NPARAM, v->ape_median));
  PetscCall(h5_attr_write_double(f, "/", "ape_globals_q25_median_q75", 3, v->ape_globals));
  PetscCall(h5_attr_write_double(f, "/", "rmse", CS_NPARAM, v->rmse));
  PetscCall(h5_attr_write_double(f, "/", "mean_posterior_sd", CS_NPARAM, v->mean_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cases_print(const char *what, const ValidateSummary *s, const Prior *prior)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%s: %" PetscInt_FMT " test cases, %" PetscInt_FMT " samples each\n", what,
                        s->n, s->samples));
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "%-16s %7s %7s | %8s %8s %8s | %9s %9s %9s\n", "parameter", "SBC D", "SBC p",
                        "APE q25", "median", "q75", "RMSE", "post sd", "prior sd"));
  for (int d = 0; d < CS_NPARAM; d++)
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "%-16s %7.4f %7.4f | %7.2f%% %7.2f%% %7.2f%% | %9.4g %9.4g %9.4g\n",
                          cs_param_names[d], s->sbc_D[d], s->sbc_p[d], s->ape_q25[d], s->ape_median[d], s->ape_q75[d],
                          s->rmse[d], s->mean_sd[d], prior->sd[d]));
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "APE of posterior means, median (q25 - q75): globals %.2f%% (%.2f - %.2f), all six %.2f%% "
                        "(%.2f - %.2f)\nTARP: ATC %.4f (> 0 too wide, < 0 too narrow or biased), KS p %.4g\n",
                        s->ape_globals[1], s->ape_globals[0], s->ape_globals[2], s->ape_all[1], s->ape_all[0],
                        s->ape_all[2], s->tarp_atc, s->tarp_ks_p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode obsset_load(const ParCtx *ctx, const char *stars, const char *cases, PetscInt ncases,
                           const CatOptions *cat, ObsSet *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCheck(!!stars[0] != !!cases[0], ctx->comm, PETSC_ERR_ARG_WRONG,
             "give exactly one of -stars FILE (a catalogue) and -cases FILE (a validate output)");
  if (cases[0]) {
    o->cases = PETSC_TRUE;
    PetscCall(cases_read(cases, ncases, &o->tc));
    o->n = o->tc.n;
    PetscCall(PetscMalloc3(o->n * CS_NELEM, &o->x, o->n * CS_NELEM, &o->sigma, o->n, &o->usable));
    PetscCall(PetscArraycpy(o->x, o->tc.x, o->n * CS_NELEM));
    PetscCall(PetscArraycpy(o->sigma, o->tc.sigma, o->n * CS_NELEM));
    for (PetscInt i = 0; i < o->n; i++) o->usable[i] = 1;
    PetscCall(PetscStrncpy(o->chempy, o->tc.chempy, sizeof(o->chempy)));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  Catalogue c;
  double hdr[2] = {0, 0}; /* ok, n */
  if (ctx->rank == 0) {
    PetscErrorCode e = cat_read_opts(stars, cat, &c);
    hdr[0] = e ? 0 : 1;
    hdr[1] = e ? 0 : (double)c.n;
  }
  PetscCall(par_bcast_doubles(ctx, hdr, 2));
  PetscCheck(hdr[0] == 1, ctx->comm, PETSC_ERR_FILE_READ, "cannot read the star catalogue %s (see the message above)",
             stars);
  o->n = (PetscInt)hdr[1];
  PetscCall(PetscMalloc3(o->n * CS_NELEM + 1, &o->x, o->n * CS_NELEM + 1, &o->sigma, o->n + 1, &o->usable));
  if (ctx->rank == 0) {
    PetscCall(PetscArraycpy(o->x, c.abund, o->n * CS_NELEM));
    PetscCall(PetscArraycpy(o->sigma, c.err, o->n * CS_NELEM));
    for (PetscInt i = 0; i < o->n; i++) o->usable[i] = c.usable[i] ? 1 : 0;
    PetscCall(cat_destroy(&c));
  }
  PetscCall(par_bcast_doubles(ctx, o->x, o->n * CS_NELEM));
  PetscCall(par_bcast_doubles(ctx, o->sigma, o->n * CS_NELEM));
  PetscCall(par_bcast_doubles(ctx, o->usable, o->n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode obsset_destroy(ObsSet *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree3(o->x, o->sigma, o->usable));
  if (o->cases) PetscCall(cases_destroy(&o->tc));
  PetscFunctionReturn(PETSC_SUCCESS);
}
