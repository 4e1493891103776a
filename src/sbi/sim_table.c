/* A CHEMPY simulation table read row block by row block (sim_table.h). */
#include <chempysbi/emu.h>
#include <chempysbi/gce.h>
#include <chempysbi/sim_table.h>
#include <math.h>
#include <string.h>

PetscErrorCode sim_table_open(MPI_Comm comm, const char *opt, const char *path, SimTable *t)
{
  PetscInt nr, nc;
  char prior[32] = "";
  int *st;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(t, sizeof(*t)));
  PetscCall(PetscStrncpy(t->path, path, sizeof(t->path)));
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &t->f));
  PetscCall(h5_table_check_columns(&t->f, "params", CS_NPARAM, cs_param_names));
  PetscCall(h5_table_check_columns(&t->f, "abundances", CS_NELEM, cs_elem_names));
  PetscCall(h5_table_info(&t->f, "params", &t->nraw, &nc));
  PetscCall(h5_table_info(&t->f, "abundances", &nr, &nc));
  PetscCheck(nr == t->nraw, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s: /params has %" PetscInt_FMT " rows but /abundances %" PetscInt_FMT, opt, path, t->nraw, nr);
  PetscCall(h5_table_info(&t->f, "status", &nr, &nc));
  PetscCheck(nr == t->nraw && nc == 0, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s: /status has %" PetscInt_FMT " rows, expected %" PetscInt_FMT, opt, path, nr, t->nraw);
  if (h5_attr_exists(&t->f, "/", "prior")) PetscCall(h5_attr_read_str(&t->f, "/", "prior", prior, sizeof(prior)));
  /* Its rows are the training set's theta: they must be the NPE's prior draws, not a reweightable box. */
  PetscCheck(!strcmp(prior, "gauss"), comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s: drawn from the '%s' prior; the NPE learns the gauss prior's posterior, so the table must come "
             "from simulate -prior gauss",
             opt, path, prior);
  PetscCall(emu_chempy_config_read_open(&t->f, "config", t->chempy, sizeof(t->chempy)));
  PetscCall(PetscMalloc1(t->nraw + 1, &st));
  PetscCall(PetscMalloc1(t->nraw + 1, &t->raw));
  PetscCall(h5_table_read_rows(&t->f, "status", H5T_NATIVE_INT, 0, t->nraw, st, PETSC_FALSE));
  PetscInt pending = 0;
  for (PetscInt i = 0; i < t->nraw; i++) {
    pending += st[i] < 0;
    if (st[i] == 0) t->raw[t->nuse++] = i;
  }
  PetscCall(PetscFree(st));
  PetscCheck(!pending, comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s %s: %" PetscInt_FMT " of %" PetscInt_FMT
             " rows are not computed yet (status -1): finish it by re-running the same simulate command",
             opt, path, pending, t->nraw);
  PetscCheck(t->nuse > 0, comm, PETSC_ERR_FILE_UNEXPECTED, "%s %s: no row has status ok", opt, path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Usable rows [a, b) (no wrap): the raw block that spans them, then the usable ones. */
static PetscErrorCode read_span(SimTable *t, PetscInt a, PetscInt b, double *th, double *x)
{
  const PetscInt r0 = t->raw[a], nr = t->raw[b - 1] - r0 + 1;
  double *bth, *bx;
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(nr * CS_NPARAM, &bth, nr * CS_NELEM, &bx));
  PetscCall(h5_table_read_rows(&t->f, "params", H5T_NATIVE_DOUBLE, r0, nr, bth, PETSC_FALSE));
  PetscCall(h5_table_read_rows(&t->f, "abundances", H5T_NATIVE_DOUBLE, r0, nr, bx, PETSC_FALSE));
  for (PetscInt u = a; u < b; u++) {
    const PetscInt j = t->raw[u] - r0, i = u - a;
    PetscBool ok = PETSC_TRUE;
    for (int k = 0; k < CS_NPARAM; k++) ok = ok && isfinite(th[i * CS_NPARAM + k] = bth[j * CS_NPARAM + k]);
    for (int k = 0; k < CS_NELEM; k++) ok = ok && isfinite(x[i * CS_NELEM + k] = bx[j * CS_NELEM + k]);
    PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: row %" PetscInt_FMT " has status ok but a non-finite value", t->path, t->raw[u]);
  }
  PetscCall(PetscFree2(bth, bx));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode sim_table_rows(SimTable *t, PetscInt u0, PetscInt n, PetscInt wrap, double *th, double *x)
{
  PetscFunctionBeginUser;
  PetscCheck(n <= wrap && wrap <= t->nuse && u0 >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: rows %" PetscInt_FMT " + %" PetscInt_FMT " of %" PetscInt_FMT, t->path, u0, n, wrap);
  if (n == 0) PetscFunctionReturn(PETSC_SUCCESS);
  u0 %= wrap;
  const PetscInt n1 = PetscMin(n, wrap - u0);
  PetscCall(read_span(t, u0, u0 + n1, th, x));
  if (n1 < n) PetscCall(read_span(t, 0, n - n1, th + n1 * CS_NPARAM, x + n1 * CS_NELEM));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode sim_table_close(SimTable *t)
{
  PetscFunctionBeginUser;
  if (t->raw) PetscCall(h5_close(&t->f));
  PetscCall(PetscFree(t->raw));
  PetscFunctionReturn(PETSC_SUCCESS);
}
