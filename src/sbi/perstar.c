/* ABC and NRE per-star posteriors behind one interface (perstar.h). */
#include <chempysbi/guard.h>
#include <chempysbi/perstar.h>
#include <math.h>

struct PerStar {
  PerStarKind kind;
  PerStarConfig c;
  AbcSampler *abc;
  Nre *nre;
};

PetscErrorCode perstar_config_default(PerStarConfig *c)
{
  PetscFunctionBeginUser;
  PetscCall(abc_config_default(&c->abc));
  PetscCall(nre_run_config_default(&c->nre));
  c->abc.out[0] = c->nre.out[0] = 0;
  c->nre.model[0] = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode perstar_set_from_options(MPI_Comm comm, PerStarKind kind, PerStarConfig *c)
{
  PetscFunctionBeginUser;
  if (kind == PERSTAR_ABC) {
    PetscCall(abc_set_from_options(comm, &c->abc));
    PetscCheck(c->abc.table[0], comm, PETSC_ERR_ARG_WRONG, "-method abc needs -table FILE (a simulate output)");
  } else {
    char path[PETSC_MAX_PATH_LEN] = "";
    PetscCall(nre_run_set_from_options(comm, &c->nre));
    PetscOptionsBegin(comm, NULL, "-method nre: the ratio estimator", "nre");
    PetscCall(PetscOptionsString("-nre", "ratio estimator (train-nre output)", NULL, path, path, sizeof(path), NULL));
    PetscOptionsEnd();
    PetscCheck(path[0], comm, PETSC_ERR_ARG_WRONG, "-method nre needs -nre FILE (a train-nre output)");
    PetscCall(guard_input(comm, "-nre", path, "train-nre,hdf5"));
    PetscCall(PetscStrncpy(c->nre.model, path, sizeof(c->nre.model)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode perstar_create(const ParCtx *ctx, PerStarKind kind, const PerStarConfig *c, PerStar **out)
{
  PerStar *ps;
  PetscFunctionBeginUser;
  PetscCall(PetscNew(&ps));
  ps->kind = kind;
  ps->c = *c;
  if (kind == PERSTAR_ABC)
    PetscCall(abc_sampler_create(ctx, &c->abc, &ps->abc));
  else {
    PetscCall(h5_share(ctx->comm, c->nre.model));
    PetscCall(nre_read_h5(c->nre.model, "/nre", 4096, &ps->nre));
    PetscCheck(ps->nre->P == CS_NPARAM && ps->nre->X == CS_NELEM, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
               "%s: a ratio estimator of %d parameters and %d observables, expected %d and %d", c->nre.model,
               ps->nre->P, ps->nre->X, CS_NPARAM, CS_NELEM);
  }
  *out = ps;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode perstar_destroy(PerStar **ps)
{
  PetscFunctionBeginUser;
  if (!*ps) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(abc_sampler_destroy(&(*ps)->abc));
  if ((*ps)->nre) PetscCall(nre_destroy(&(*ps)->nre));
  PetscCall(PetscFree(*ps));
  PetscFunctionReturn(PETSC_SUCCESS);
}

const Prior *perstar_prior(const PerStar *ps)
{
  return ps->kind == PERSTAR_ABC ? abc_sampler_prior(ps->abc) : &ps->nre->prior;
}

Nre *perstar_nre(const PerStar *ps) { return ps->nre; }

PetscInt perstar_samples(const PerStar *ps) { return ps->kind == PERSTAR_ABC ? ps->c.abc.samples : ps->c.nre.samples; }

PetscErrorCode perstar_config_string(const PerStar *ps, char *buf, size_t len)
{
  const AbcConfig *a = &ps->c.abc;
  const NreRunConfig *r = &ps->c.nre;
  PetscFunctionBeginUser;
  if (ps->kind == PERSTAR_ABC)
    PetscCall(PetscSNPrintf(buf, len,
                            "abc=%s,rows=%" PetscInt_FMT ",k=%" PetscInt_FMT
                            ",q=%.17g,kernel=%d,adjust=%d,samples=%" PetscInt_FMT ",seed=%" PetscInt_FMT ",prior=%d",
                            a->table, a->rows, a->k, (double)a->quantile, (int)a->kernel, (int)a->adjust, a->samples,
                            a->seed, (int)a->prior));
  else
    PetscCall(PetscSNPrintf(buf, len,
                            "nre=%s,samples=%" PetscInt_FMT ",chains=%" PetscInt_FMT ",warmup=%" PetscInt_FMT
                            ",thin=%" PetscInt_FMT,
                            r->model, r->samples, r->chains, r->warmup, r->thin));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode perstar_sample(PerStar *ps, PetscInt n, const double *x, const double *err, double default_err,
                              PetscInt lo, uint64_t seed, double *samples, PetscBool *ok)
{
  const PetscInt L = perstar_samples(ps);
  PetscFunctionBeginUser;
  if (ps->kind == PERSTAR_NRE) { /* the ratio's noise is its training noise: per-star errors do not enter */
    NreRunConfig rc = ps->c.nre;
    rc.seed = (PetscInt)(seed & 0x7fffffff);
    PetscCall(nre_sample_stars(&rc, ps->nre, n, x, lo, samples, ok, NULL));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i = 0; i < n; i++) {
    double sg[CS_NELEM];
    AbcStats st;
    for (int k = 0; k < CS_NELEM; k++) {
      double e = err ? err[i * CS_NELEM + k] : NAN;
      sg[k] = isfinite(e) && e > 0 ? e : default_err;
    }
    PetscCall(abc_sampler_star(ps->abc, lo + i, seed, x + i * CS_NELEM, sg, samples + i * L * CS_NPARAM, &st));
    ok[i] = st.nstat > 0 && st.accepted > 0 ? PETSC_TRUE : PETSC_FALSE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
