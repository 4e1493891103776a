/* Loading a simulate file for training: each rank reads its block of rows by
 * hyperslab, keeps the rows with status ok, and learns its place in the global
 * numbering of usable rows (an MPI_Exscan), so shards are rank-count independent. */
#include <chempysbi/emu.h>
#include <chempysbi/emu_train.h>
#include <chempysbi/gce.h>
#include <chempysbi/h5.h>
#include <math.h>

PetscErrorCode emu_chempy_config_read_open(H5File *f, const char *attr, char *out, size_t len)
{
  char raw[PETSC_MAX_PATH_LEN + 1024]; /* a simulate config holds a -params path and more */
  PetscFunctionBeginUser;
  out[0] = 0;
  if (!h5_attr_exists(f, "/", attr)) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(h5_attr_read_str(f, "/", attr, raw, sizeof(raw)));
  PetscCall(gce_config_string_complete(raw, out, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_chempy_config_read(MPI_Comm comm, const char *path, const char *attr, char *out, size_t len)
{
  H5File f;
  PetscFunctionBeginUser;
  PetscCall(h5_open(comm, path, PETSC_FALSE, &f));
  PetscCall(emu_chempy_config_read_open(&f, attr, out, len));
  PetscCall(h5_close(&f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_data_load(const ParCtx *ctx, const char *path, EmuData *d)
{
  PetscFunctionBeginUser;
  PetscCall(emu_data_load_rows(ctx, path, 0, d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_data_load_rows(const ParCtx *ctx, const char *path, PetscInt max_rows, EmuData *d)
{
  H5File f;
  PetscInt nr, nc, lo, hi, off = 0;
  double *th, *ab;
  int *st;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(d, sizeof(*d)));
  PetscCall(h5_open(ctx->comm, path, PETSC_FALSE, &f));
  PetscCall(h5_table_check_columns(&f, "params", CS_NPARAM, cs_param_names));
  PetscCall(h5_table_check_columns(&f, "abundances", CS_NELEM, cs_elem_names));
  PetscCall(h5_table_info(&f, "params", &nr, &nc));
  PetscCall(h5_table_info(&f, "abundances", &d->nraw, &nc));
  PetscCheck(d->nraw == nr, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: /params has %" PetscInt_FMT " rows but /abundances %" PetscInt_FMT, path, nr, d->nraw);
  PetscCall(h5_table_info(&f, "status", &nr, &nc));
  PetscCheck(d->nraw == nr && nc == 0, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: /status has %" PetscInt_FMT " rows, expected %" PetscInt_FMT, path, nr, d->nraw);
  if (max_rows > 0 && max_rows < d->nraw) d->nraw = max_rows;
  par_block_range(d->nraw, ctx->rank, ctx->size, &lo, &hi);
  PetscCall(PetscMalloc3((hi - lo) * CS_NPARAM + 1, &th, (hi - lo) * CS_NELEM + 1, &ab, hi - lo + 1, &st));
  PetscCall(h5_table_read_rows(&f, "params", H5T_NATIVE_DOUBLE, lo, hi - lo, th, PETSC_TRUE));
  PetscCall(h5_table_read_rows(&f, "abundances", H5T_NATIVE_DOUBLE, lo, hi - lo, ab, PETSC_TRUE));
  PetscCall(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, lo, hi - lo, st, PETSC_TRUE));
  PetscCall(emu_chempy_config_read_open(&f, "config", d->chempy, sizeof(d->chempy)));
  PetscCall(h5_close(&f));
  /* Unfinished rows (status -1): a file still being written, or the .tmp of a killed run. */
  PetscInt pending = 0;
  for (PetscInt i = 0; i < hi - lo; i++) pending += st[i] < 0;
  PetscCall(par_allreduce_count(ctx, &pending));
  PetscCheck(!pending, ctx->comm, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %" PetscInt_FMT " of %" PetscInt_FMT
             " rows are not computed yet (status -1): an unfinished simulate file (a killed run's .tmp?); finish it by "
             "re-running the same simulate command",
             path, pending, d->nraw);
  /* Compact the ok rows in place; a NaN in an ok row is a corrupt file. */
  PetscInt bad = -1;
  for (PetscInt i = 0; i < hi - lo; i++) {
    if (st[i] != 0) continue;
    for (int k = 0; k < CS_NPARAM; k++)
      if (!isfinite(th[i * CS_NPARAM + k]) && bad < 0) bad = lo + i;
    for (int k = 0; k < CS_NELEM; k++)
      if (!isfinite(ab[i * CS_NELEM + k]) && bad < 0) bad = lo + i;
    for (int k = 0; k < CS_NPARAM; k++) th[d->nloc * CS_NPARAM + k] = th[i * CS_NPARAM + k];
    for (int k = 0; k < CS_NELEM; k++) ab[d->nloc * CS_NELEM + k] = ab[i * CS_NELEM + k];
    d->nloc++;
  }
  PetscCheck(bad < 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: row %" PetscInt_FMT " has status ok but a non-finite value", path, bad);
  PetscCall(par_offset(ctx->comm, d->nloc, &off));
  d->g0 = off;
  d->N = d->nloc;
  PetscCall(par_allreduce_count(ctx, &d->N));
  PetscCheck(d->N > 0, ctx->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: no row has status ok", path);
  PetscCall(PetscMalloc2(d->nloc * CS_NPARAM + 1, &d->theta, d->nloc * CS_NELEM + 1, &d->abund));
  PetscCall(PetscArraycpy(d->theta, th, d->nloc * CS_NPARAM));
  PetscCall(PetscArraycpy(d->abund, ab, d->nloc * CS_NELEM));
  PetscCall(PetscFree3(th, ab, st));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode emu_data_destroy(EmuData *d)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(d->theta, d->abund));
  PetscFunctionReturn(PETSC_SUCCESS);
}
