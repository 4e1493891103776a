/* NPE model: construction, HDF5 storage, density and prior-respecting sampling. */
#include <chempysbi/calib.h>
#include <chempysbi/npe.h>
#include <chempysbi/par.h>
#include <chempysbi/rng.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NPE_CHUNK 4096

PetscErrorCode npe_create(PetscInt K, PetscInt H, PetscInt nblocks, int max_batch, Npe **npe)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(npe));
  PetscCall(maf_create(CS_NPARAM, CS_NELEM, (int)K, (int)H, (int)nblocks, max_batch, &(*npe)->maf));
  (*npe)->chunk = NPE_CHUNK;
  PetscCall(PetscMalloc2(NPE_CHUNK * CS_NPARAM, &(*npe)->zbuf, NPE_CHUNK * CS_NPARAM, &(*npe)->tbuf));
  for (int k = 0; k < CS_NPARAM; k++) (*npe)->th_sd[k] = 1;
  for (int k = 0; k < CS_NELEM; k++) (*npe)->x_sd[k] = 1;
  PetscCall(prior_init(PRIOR_GAUSS, &(*npe)->prior));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_destroy(Npe **npe)
{
  PetscFunctionBeginUser;
  if (!*npe) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(maf_destroy(&(*npe)->maf));
  PetscCall(PetscFree2((*npe)->zbuf, (*npe)->tbuf));
  PetscCall(PetscFree(*npe));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_write_h5(const Npe *npe, H5File *f, const char *group)
{
  char name[256];
  const Maf *m = npe->maf;
  PetscInt arch[5] = {m->D, m->C, m->K, m->H, m->nblocks}, kind = npe->prior.kind, *perm;
  double pr[4 * CS_NPARAM];
  hid_t g;
  int rank;
  PetscFunctionBeginUser;
  if (!h5_exists(f, group)) {
    H5Call(g = H5Gcreate2(f->id, group, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Call(H5Gclose(g));
  }
  PetscCall(h5_attr_write_int(f, group, "D_C_K_H_blocks", 5, arch));
  PetscCall(PetscMalloc1(m->K * m->D, &perm));
  for (int i = 0; i < m->K * m->D; i++) perm[i] = m->perm[i];
  PetscCall(h5_attr_write_int(f, group, "permutations", m->K * m->D, perm));
  PetscCall(PetscFree(perm));
  PetscCall(h5_attr_write_double(f, group, "theta_mean", CS_NPARAM, npe->th_mean));
  PetscCall(h5_attr_write_double(f, group, "theta_sd", CS_NPARAM, npe->th_sd));
  PetscCall(h5_attr_write_double(f, group, "x_mean", CS_NELEM, npe->x_mean));
  PetscCall(h5_attr_write_double(f, group, "x_sd", CS_NELEM, npe->x_sd));
  PetscCall(h5_attr_write_double(f, group, "noise_dex", 1, &npe->noise));
  PetscCall(h5_attr_write_int(f, group, "prior_kind", 1, &kind));
  prior_pack(&npe->prior, pr);
  PetscCall(h5_attr_write_double(f, group, "prior_mean_sd_lo_hi", 4 * CS_NPARAM, pr));
  PetscCall(
      h5_attr_write_str(f, group, "parameters", "alpha_IMF,log10_N_Ia,log10_SFE,log10_SFR_peak,x_out,birth_time_Gyr"));
  PetscCall(h5_attr_write_str(f, group, "observables", "C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe"));
  if (npe->has_range) {
    PetscCall(h5_attr_write_double(f, group, "x_range_lo", CS_NELEM, npe->x_lo));
    PetscCall(h5_attr_write_double(f, group, "x_range_hi", CS_NELEM, npe->x_hi));
    PetscCall(
        h5_attr_write_str(f, group, "x_range_definition",
                          "per observable: 0.1% and 99.9% quantiles of the noisy training simulations, widened by "
                          "5 noise sd; infer leaves out stars outside it (-keep_out_of_range keeps them)"));
  }
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s/params", group));
  PetscCallMPI(MPI_Comm_rank(f->comm, &rank));
  PetscCall(h5_table_create(f, name, H5T_NATIVE_DOUBLE, (PetscInt)m->nparams, 0, NULL));
  PetscCall(
      h5_table_write_rows(f, name, H5T_NATIVE_DOUBLE, 0, rank == 0 ? (PetscInt)m->nparams : 0, m->params, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode npe_read_h5(const char *path, const char *group, int max_batch, Npe **npe)
{
  H5File f;
  PetscInt arch[5], kind, n, nc, *perm;
  double pr[4 * CS_NPARAM], want[4 * CS_NPARAM];
  char buf[256], name[256];
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f));
  PetscCheck(h5_exists(&f, group), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: no NPE (group %s missing): is this an npe file?", path, group);
  PetscCall(h5_attr_read_str(&f, group, "observables", buf, sizeof(buf)));
  PetscCheck(!strcmp(buf, "C_Fe,Fe_H,He_Fe,Mg_Fe,N_Fe,Ne_Fe,O_Fe,Si_Fe"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: NPE was made for observables %s, not this program's element set", path, buf);
  PetscCall(h5_attr_read_int(&f, group, "D_C_K_H_blocks", 5, arch));
  PetscCheck(arch[0] == CS_NPARAM && arch[1] == CS_NELEM, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: NPE has %" PetscInt_FMT " parameters and %" PetscInt_FMT " observables, expected %d and %d", path,
             arch[0], arch[1], CS_NPARAM, CS_NELEM);
  PetscCall(npe_create(arch[2], arch[3], arch[4], max_batch, npe));
  PetscCall(PetscMalloc1(arch[2] * arch[0], &perm));
  PetscCall(h5_attr_read_int(&f, group, "permutations", arch[2] * arch[0], perm));
  for (PetscInt i = 0; i < arch[2] * arch[0]; i++) (*npe)->maf->perm[i] = (int)perm[i];
  PetscCall(PetscFree(perm));
  PetscCall(h5_attr_read_double(&f, group, "theta_mean", CS_NPARAM, (*npe)->th_mean));
  PetscCall(h5_attr_read_double(&f, group, "theta_sd", CS_NPARAM, (*npe)->th_sd));
  PetscCall(h5_attr_read_double(&f, group, "x_mean", CS_NELEM, (*npe)->x_mean));
  PetscCall(h5_attr_read_double(&f, group, "x_sd", CS_NELEM, (*npe)->x_sd));
  PetscCall(h5_attr_read_double(&f, group, "noise_dex", 1, &(*npe)->noise));
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
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s/params", group));
  PetscCall(h5_table_info(&f, name, &n, &nc));
  PetscCheck(n == (PetscInt)(*npe)->maf->nparams, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s has %" PetscInt_FMT " values, the architecture needs %zu", path, name, n, (*npe)->maf->nparams);
  PetscCall(h5_table_read_rows(&f, name, H5T_NATIVE_DOUBLE, 0, n, (*npe)->maf->params, PETSC_FALSE));
  maf_apply_masks((*npe)->maf);
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

void npe_standardise_x(const Npe *npe, const double *x, double *c)
{
  for (int k = 0; k < CS_NELEM; k++) c[k] = (x[k] - npe->x_mean[k]) / npe->x_sd[k];
}

void npe_log_prob(Npe *npe, const double *theta, const double *x, int n, double *logp)
{
  double *t = npe->tbuf, *c = npe->zbuf, logsd = 0; /* zbuf is (chunk, 6) >= (n, 8) for n <= chunk*6/8 */
  for (int k = 0; k < CS_NPARAM; k++) logsd += log(npe->th_sd[k]);
  int mb = npe->maf->max_batch < 2048 ? npe->maf->max_batch : 2048; /* scratch holds 2048 rows */
  for (int i0 = 0; i0 < n; i0 += mb) {
    int m = n - i0 < mb ? n - i0 : mb;
    for (int i = 0; i < m; i++) {
      for (int k = 0; k < CS_NPARAM; k++)
        t[i * CS_NPARAM + k] = (theta[(i0 + i) * CS_NPARAM + k] - npe->th_mean[k]) / npe->th_sd[k];
      npe_standardise_x(npe, x + (i0 + i) * CS_NELEM, c + i * CS_NELEM);
    }
    maf_log_prob(npe->maf, t, c, m, logp + i0);
    for (int i = 0; i < m; i++) logp[i0 + i] -= logsd;
  }
}

PetscErrorCode npe_sample(Npe *npe, const double *x, PetscInt n, uint64_t seed, RngPurpose purpose, uint64_t index,
                          PetscInt max_draws, double *theta, NpeSampleStats *st)
{
  double c[CS_NELEM];
  Rng r;
  PetscFunctionBeginUser;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative sample count");
  for (int k = 0; k < CS_NELEM; k++)
    PetscCheck(isfinite(x[k]), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "observation value %s is not finite",
               cs_elem_names[k]);
  npe_standardise_x(npe, x, c);
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
    maf_sample(npe->maf, c, npe->zbuf, m, npe->tbuf);
    st->drawn += (PetscInt)m;
    for (size_t i = 0; i < m && st->accepted < n; i++) {
      double *t = npe->tbuf + i * CS_NPARAM, *o = theta + st->accepted * CS_NPARAM;
      for (int k = 0; k < CS_NPARAM; k++) o[k] = npe->th_mean[k] + npe->th_sd[k] * t[k];
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
    if (!(x[k] >= npe->x_lo[k] && x[k] <= npe->x_hi[k])) { /* NaN is outside too */
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
    for (PetscInt i = 0; i < nloc; i++) col[i] = x[i * CS_NELEM + k];
    PetscCall(par_gather_doubles(ctx, col, nloc, &all, &ntot));
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
