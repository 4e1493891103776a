/* NPE model: construction, HDF5 storage, the conditioner input of an
 * observation (abundances, or abundances + errors + presence mask), density
 * and prior-respecting sampling. */
#include <chempysbi/calib.h>
#include <chempysbi/npe.h>
#include <chempysbi/par.h>
#include <chempysbi/rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NPE_CHUNK   4096
#define NPE_LP_ROWS 2048 /* rows per estimator_log_prob call in npe_log_prob */

int npe_context_size(NpeKind kind) { return kind == NPE_CONDITIONED ? 3 * CS_NELEM : CS_NELEM; }

/* Everything but the estimator. */
static PetscErrorCode npe_alloc(NpeKind kind, Npe **npe)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(npe));
  (*npe)->kind = kind;
  (*npe)->chunk = NPE_CHUNK;
  PetscCall(PetscMalloc3(NPE_CHUNK * CS_NPARAM, &(*npe)->zbuf, NPE_CHUNK * CS_NPARAM, &(*npe)->tbuf,
                         NPE_LP_ROWS * NPE_CTX_MAX, &(*npe)->cbuf));
  for (int k = 0; k < CS_NPARAM; k++) (*npe)->th_sd[k] = 1;
  for (int k = 0; k < CS_NELEM; k++) (*npe)->x_sd[k] = 1;
  obs_fixed(0.05, &(*npe)->obs);
  (*npe)->noise = 0.05;
  PetscCall(prior_init(PRIOR_GAUSS, &(*npe)->prior));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_create_estimator(NpeKind kind, const char *estimator, const PetscInt *arch, int max_batch, Npe **npe)
{
  PetscFunctionBeginUser;
  PetscCall(npe_alloc(kind, npe));
  PetscCall(estimator_create(estimator, CS_NPARAM, npe_context_size(kind), max_batch, arch, &(*npe)->est));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_create_kind(NpeKind kind, PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe)
{
  const PetscInt arch[3] = {K, H, nblocks};
  PetscFunctionBeginUser;
  PetscCall(npe_create_estimator(kind, "maf", arch, max_batch, npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_create(PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe)
{
  PetscFunctionBeginUser;
  PetscCall(npe_create_kind(NPE_FIXED, K, H, nblocks, max_batch, npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_destroy(Npe **npe)
{
  PetscFunctionBeginUser;
  if (!*npe) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(estimator_destroy(&(*npe)->est));
  PetscCall(PetscFree3((*npe)->zbuf, (*npe)->tbuf, (*npe)->cbuf));
  PetscCall(PetscFree(*npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_write_h5(const Npe *npe, H5File *f, const char *group)
{
  PetscInt kind = npe->prior.kind;
  double pr[4 * CS_NPARAM];
  hid_t g;
  PetscFunctionBeginUser;
  if (!h5_exists(f, group)) {
    H5Call(g = H5Gcreate2(f->id, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Call(H5Gclose(g));
  }
  PetscCall(h5_scalings_write(f, group, CS_NPARAM, npe->th_mean, npe->th_sd, CS_NELEM, npe->x_mean, npe->x_sd));
  if (npe->th_logit) { /* files without it: every parameter affine, as before */
    PetscInt lm = (PetscInt)npe->th_logit;
    PetscCall(h5_attr_write_int(f, group, "theta_logit_mask", 1, &lm));
  }
  PetscCall(h5_attr_write_double(f, group, "noise_dex", 1, &npe->noise));
  if (npe->kind == NPE_CONDITIONED) { /* a FIXED file stays exactly what older versions wrote */
    double range[2] = {npe->obs.lo, npe->obs.hi}, pm[2] = {npe->obs.p_missing, npe->obs.p_drop};
    char drop[256];
    obs_elements_string(npe->obs.drop, drop, sizeof(drop));
    PetscCall(h5_attr_write_str(f, group, "kind", "conditioned"));
    PetscCall(h5_attr_write_str(f, group, "context", "x_std_or_0(8),log_sigma_std_or_0(8),present(8)"));
    PetscCall(h5_attr_write_double(f, group, "noise_range_dex", 2, range));
    PetscCall(h5_attr_write_double(f, group, "p_missing_p_drop", 2, pm));
    PetscCall(h5_attr_write_str(f, group, "drop_pattern", drop[0] ? drop : "none"));
  }
  PetscCall(h5_attr_write_int(f, group, "prior_kind", 1, &kind));
  prior_pack(&npe->prior, pr);
  PetscCall(h5_attr_write_double(f, group, "prior_mean_sd_lo_hi", 4 * CS_NPARAM, pr));
  PetscCall(h5_attr_write_str(f, group, "parameters", cs_param_list));
  PetscCall(h5_attr_write_str(f, group, "observables", cs_elem_list));
  if (npe->has_range) {
    PetscCall(h5_attr_write_double(f, group, "x_range_lo", CS_NELEM, npe->x_lo));
    PetscCall(h5_attr_write_double(f, group, "x_range_hi", CS_NELEM, npe->x_hi));
    PetscCall(
        h5_attr_write_str(f, group, "x_range_definition",
                          "per observable: 0.1% and 99.9% quantiles of the noisy training simulations, widened by "
                          "5 noise sd; infer leaves out stars outside it (-keep_out_of_range keeps them)"));
  }
  PetscCall(estimator_write_h5(npe->est, f, group));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_read_h5(const char *path, const char *group, int max_batch, Npe **npe)
{
  H5File f;
  PetscInt kind;
  double pr[4 * CS_NPARAM], want[4 * CS_NPARAM];
  char buf[256];
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCheck(h5_exists(&f, group), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: no NPE (group %s missing): is this an npe file?", path, group);
  PetscCall(h5_attr_read_str(&f, group, "observables", buf, sizeof(buf)));
  PetscCheck(!strcmp(buf, cs_elem_list), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: NPE was made for observables %s, this program's are %s", path, buf, cs_elem_list);
  PetscCall(h5_attr_read_str(&f, group, "parameters", buf, sizeof(buf)));
  PetscCheck(!strcmp(buf, cs_param_list), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: NPE was made for parameters %s, this program's are %s", path, buf, cs_param_list);
  NpeKind kind_npe = NPE_FIXED;
  if (h5_attr_exists(&f, group, "kind")) { /* files before the conditioned NPE have no kind: fixed noise */
    PetscCall(h5_attr_read_str(&f, group, "kind", buf, sizeof(buf)));
    PetscCheck(!strcmp(buf, "conditioned") || !strcmp(buf, "fixed"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: NPE kind '%s' is not fixed or conditioned", path, buf);
    kind_npe = strcmp(buf, "conditioned") ? NPE_FIXED : NPE_CONDITIONED;
  }
  PetscCall(npe_alloc(kind_npe, npe));
  PetscCall(estimator_read_h5(&f, path, group, CS_NPARAM, npe_context_size(kind_npe), max_batch, &(*npe)->est));
  PetscCall(
      h5_scalings_read(&f, group, CS_NPARAM, (*npe)->th_mean, (*npe)->th_sd, CS_NELEM, (*npe)->x_mean, (*npe)->x_sd));
  if (h5_attr_exists(&f, group, "theta_logit_mask")) {
    PetscInt lm;
    PetscCall(h5_attr_read_int(&f, group, "theta_logit_mask", 1, &lm));
    PetscCheck(lm >= 0 && lm < (1 << CS_NPARAM), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: theta_logit_mask %" PetscInt_FMT " names no parameter set", path, lm);
    (*npe)->th_logit = (unsigned)lm;
  }
  PetscCall(h5_attr_read_double(&f, group, "noise_dex", 1, &(*npe)->noise));
  obs_fixed((*npe)->noise, &(*npe)->obs);
  if (kind_npe == NPE_CONDITIONED) {
    double range[2], pm[2];
    PetscCall(h5_attr_read_double(&f, group, "noise_range_dex", 2, range));
    PetscCall(h5_attr_read_double(&f, group, "p_missing_p_drop", 2, pm));
    PetscCall(h5_attr_read_str(&f, group, "drop_pattern", buf, sizeof(buf)));
    PetscCheck(range[0] > 0 && range[1] >= range[0], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: noise_range_dex %g, %g is not a range", path, range[0], range[1]);
    (*npe)->obs.lo = range[0];
    (*npe)->obs.hi = range[1];
    (*npe)->obs.p_missing = pm[0];
    (*npe)->obs.p_drop = pm[1];
    if (strcmp(buf, "none")) PetscCall(obs_parse_elements(PETSC_COMM_SELF, "drop_pattern", buf, &(*npe)->obs.drop));
  }
  PetscCall(h5_attr_read_int(&f, group, "prior_kind", 1, &kind));
  PetscCall(h5_attr_read_double(&f, group, "prior_mean_sd_lo_hi", 4 * CS_NPARAM, pr));
  PetscCall(prior_init((PriorKind)kind, &(*npe)->prior));
  prior_pack(&(*npe)->prior, want);
  for (int k = 0; k < 4 * CS_NPARAM; k++)
    PetscCheck(fabs(pr[k] - want[k]) <= 1e-12 * (1 + fabs(want[k])), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: the stored prior differs from this program's %s prior (entry %d: %g vs %g)", path,
               prior_kind_name((PriorKind)kind), k, pr[k], want[k]);
  if (h5_attr_exists(&f, group, "x_range_lo")) {
    PetscCall(h5_attr_read_double(&f, group, "x_range_lo", CS_NELEM, (*npe)->x_lo));
    PetscCall(h5_attr_read_double(&f, group, "x_range_hi", CS_NELEM, (*npe)->x_hi));
    (*npe)->has_range = PETSC_TRUE;
  }
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

unsigned npe_uniform_params(const Prior *p)
{
  unsigned m = 0;
  for (int k = 0; k < CS_NPARAM; k++) /* as prior_sample draws them: the birth time in the Gaussian prior */
    if (p->kind == PRIOR_WIDE || cs_parameters[k].prior == CS_PRIOR_UNIFORM) m |= 1u << k;
  return m;
}

PetscBool npe_theta_to_flow(const Npe *npe, const double *theta, double *t, double *logjac)
{
  double lj = 0;
  for (int k = 0; k < CS_NPARAM; k++) {
    double u = theta[k];
    if (npe->th_logit >> k & 1u) {
      double lo = npe->prior.lo[k], hi = npe->prior.hi[k];
      if (!(theta[k] > lo && theta[k] < hi)) return PETSC_FALSE;
      u = log((theta[k] - lo) / (hi - theta[k]));
      lj += log(hi - lo) - log(theta[k] - lo) - log(hi - theta[k]);
    }
    t[k] = (u - npe->th_mean[k]) / npe->th_sd[k];
    lj -= log(npe->th_sd[k]);
  }
  if (logjac) *logjac = lj;
  return PETSC_TRUE;
}

void npe_flow_to_theta(const Npe *npe, const double *t, double *theta)
{
  for (int k = 0; k < CS_NPARAM; k++) {
    double u = npe->th_mean[k] + npe->th_sd[k] * t[k];
    if (npe->th_logit >> k & 1u) {
      double lo = npe->prior.lo[k], hi = npe->prior.hi[k];
      u = lo + (hi - lo) / (1 + exp(-u));
    }
    theta[k] = u;
  }
}

void npe_standardise_x(const Npe *npe, const double *x, double *c)
{
  for (int k = 0; k < CS_NELEM; k++) c[k] = (x[k] - npe->x_mean[k]) / npe->x_sd[k];
}

PetscBool npe_context(const Npe *npe, const double *x, const double *sigma, double *ctx, int *nwide)
{
  if (nwide) *nwide = 0;
  if (npe->kind == NPE_FIXED) {
    for (int k = 0; k < CS_NELEM; k++)
      if (!isfinite(x[k])) return PETSC_FALSE;
    npe_standardise_x(npe, x, ctx);
    return PETSC_TRUE;
  }
  /* log sigma is log-uniform in training: standardise by that distribution's mean and sd. */
  double la = log(npe->obs.lo), lb = log(npe->obs.hi), m = 0.5 * (la + lb), sd = (lb - la) / sqrt(12.0);
  if (!(sd > 0)) sd = 1;
  for (int k = 0; k < CS_NELEM; k++) {
    double s = sigma ? sigma[k] : npe->noise;
    PetscBool have = isfinite(x[k]) && isfinite(s) && s > 0 ? PETSC_TRUE : PETSC_FALSE;
    if (have && s > npe->obs.hi * (1 + 1e-12)) {
      have = PETSC_FALSE;
      if (nwide) (*nwide)++;
    }
    s = PetscMax(s, npe->obs.lo);
    ctx[k] = have ? (x[k] - npe->x_mean[k]) / npe->x_sd[k] : 0;
    ctx[CS_NELEM + k] = have ? (log(s) - m) / sd : 0;
    ctx[2 * CS_NELEM + k] = have ? 1 : 0;
  }
  return PETSC_TRUE;
}

void npe_log_prob_ctx(Npe *npe, const double *theta, const double *ctx, int n, double *logp)
{
  double *t = npe->tbuf, lj[NPE_LP_ROWS];
  unsigned char ok[NPE_LP_ROWS];
  const int C = npe->est->C;
  int mb = npe->est->max_batch < NPE_LP_ROWS ? npe->est->max_batch : NPE_LP_ROWS; /* tbuf holds 4096 rows */
  for (int i0 = 0; i0 < n; i0 += mb) {
    int m = n - i0 < mb ? n - i0 : mb;
    for (int i = 0; i < m; i++) {
      ok[i] = npe_theta_to_flow(npe, theta + (size_t)(i0 + i) * CS_NPARAM, t + i * CS_NPARAM, &lj[i]);
      if (!ok[i]) /* outside a logit parameter's bounds: no density there */
        for (int k = 0; k < CS_NPARAM; k++) t[i * CS_NPARAM + k] = 0;
    }
    estimator_log_prob(npe->est, t, ctx + (size_t)i0 * C, m, logp + i0);
    for (int i = 0; i < m; i++) logp[i0 + i] = ok[i] ? logp[i0 + i] + lj[i] : -INFINITY;
  }
}

void npe_log_prob(Npe *npe, const double *theta, const double *x, int n, double *logp)
{
  const int C = npe->est->C;
  for (int i0 = 0; i0 < n; i0 += NPE_LP_ROWS) {
    int m = n - i0 < NPE_LP_ROWS ? n - i0 : NPE_LP_ROWS;
    for (int i = 0; i < m; i++)
      npe_context(npe, x + (size_t)(i0 + i) * CS_NELEM, NULL, npe->cbuf + (size_t)i * C, NULL);
    npe_log_prob_ctx(npe, theta + (size_t)i0 * CS_NPARAM, npe->cbuf, m, logp + i0);
  }
}

PetscErrorCode npe_sample(Npe *npe, const double *x, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                          PetscInt max_draws, double *theta, NpeSampleStats *st)
{
  double c[NPE_CTX_MAX];
  PetscFunctionBeginUser;
  for (int k = 0; k < CS_NELEM; k++)
    PetscCheck(isfinite(x[k]), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "observation value %s is not finite",
               cs_elem_names[k]);
  npe_context(npe, x, NULL, c, NULL);
  PetscCall(npe_sample_ctx(npe, c, n, seed, purpose, index, max_draws, theta, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_sample_ctx(Npe *npe, const double *c, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                              PetscInt max_draws, double *theta, NpeSampleStats *st)
{
  Rng r;
  PetscFunctionBeginUser;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative sample count");
  rng_init(&r, seed, purpose, index);
  st->drawn = st->accepted = 0;
  st->capped = PETSC_FALSE;
  while (st->accepted < n) {
    if (st->drawn >= max_draws) {
      st->capped = PETSC_TRUE;
      break;
    }
    /* Draw a little more than still needed: most samples land in the support. */
    size_t m = (size_t)PetscMin(PetscMin((PetscInt)npe->chunk, max_draws - st->drawn),
                                (n - st->accepted) + (n - st->accepted) / 8 + 16);
    for (size_t i = 0; i < m * CS_NPARAM; i++) npe->zbuf[i] = rng_normal(&r);
    estimator_sample(npe->est, c, npe->zbuf, m, npe->tbuf);
    st->drawn += (PetscInt)m;
    for (size_t i = 0; i < m && st->accepted < n; i++) {
      double *t = npe->tbuf + i * CS_NPARAM, *o = theta + st->accepted * CS_NPARAM;
      npe_flow_to_theta(npe, t, o);
      if (prior_contains(&npe->prior, o)) st->accepted++;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool npe_star_in_range(const Npe *npe, const double x[CS_NELEM], char *why, size_t len)
{
  if (why && len) why[0] = 0;
  if (!npe->has_range) return PETSC_TRUE;
  for (int k = 0; k < CS_NELEM; k++)
    /* NaN is outside for a fixed-noise NPE; for a conditioned one it is a missing value, which it takes. */
    if (!(isnan(x[k]) && npe->kind == NPE_CONDITIONED) && !(x[k] >= npe->x_lo[k] && x[k] <= npe->x_hi[k])) {
      if (why && len)
        snprintf(why, len, "%s = %g outside the training range [%.3f, %.3f]", cs_elem_names[k], x[k], npe->x_lo[k],
                 npe->x_hi[k]);
      return PETSC_FALSE;
    }
  return PETSC_TRUE;
}

PetscErrorCode npe_star_screen(Npe *npe, const char *id, PetscInt row, const double x[CS_NELEM], PetscBool keep,
                               PetscBool *use, PetscBool *outside)
{
  char why[256];
  PetscFunctionBeginUser;
  *use = PETSC_TRUE;
  *outside = PETSC_FALSE;
  if (!npe->has_range) {
    if (!npe->range_warned)
      PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr,
                             "warning: this NPE file stores no training-data range (made before it was recorded): "
                             "stars are not checked against it; retrain with train-npe to get the check\n"));
    npe->range_warned = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (npe_star_in_range(npe, x, why, sizeof(why))) PetscFunctionReturn(PETSC_SUCCESS);
  *outside = PETSC_TRUE;
  *use = keep;
  PetscCall(
      PetscFPrintf(PETSC_COMM_SELF, stderr, "warning: star '%s' (row %" PetscInt_FMT "): %s; %s\n", id, row, why,
                   keep ? "kept and flagged (-keep_out_of_range)" : "star left out (-keep_out_of_range keeps it)"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_set_range(Npe *npe, const ParCtx *ctx, PetscInt nloc, const double *x)
{
  const double q[2] = {NPE_RANGE_QLO, NPE_RANGE_QHI};
  double *col, *all = NULL;
  PetscInt ntot;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nloc + 1, &col));
  for (int k = 0; k < CS_NELEM; k++) {
    double qq[2] = {0, 0};
    PetscInt m = 0;
    for (PetscInt i = 0; i < nloc; i++) /* a conditioned NPE's training set has missing (NaN) values */
      if (isfinite(x[i * CS_NELEM + k])) col[m++] = x[i * CS_NELEM + k];
    PetscCall(par_gather_doubles(ctx, col, m, &all, &ntot));
    if (ctx->rank == 0) PetscCall(calib_quantiles(ntot, all, 2, q, qq));
    PetscCall(PetscFree(all));
    PetscCall(par_bcast_doubles(ctx, qq, 2));
    npe->x_lo[k] = qq[0] - NPE_RANGE_NOISE_SD * npe->noise;
    npe->x_hi[k] = qq[1] + NPE_RANGE_NOISE_SD * npe->noise;
  }
  npe->has_range = PETSC_TRUE;
  PetscCall(PetscFree(col));
  PetscFunctionReturn(PETSC_SUCCESS);
}
