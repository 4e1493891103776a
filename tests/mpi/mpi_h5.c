/* Parallel HDF5 tables at any rank count: each rank writes its block, the file
 * reads back identical (values are a function of the global row, so every
 * rank count must produce the same file content), attributes included, and
 * only the committed name exists afterwards; a file shared with h5_share is
 * read from the broadcast copy. Exit code 0 = pass. */
#include <chempysbi/h5.h>
#include <chempysbi/par.h>
#include <chempysbi/rng.h>
#include <stdio.h>
#include <unistd.h>

static double value(PetscInt i, PetscInt c) { return 1000.0 * (double)i + (double)c + 0.25; }

int main(int argc, char **argv)
{
  ParCtx ctx;
  H5File f;
  const char *cols[3] = {"x", "y", "z"};
  const PetscInt N = 1001;
  PetscInt lo, hi, nr, nc, bad = 0, nranks;
  char path[256], s[64];
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(par_ctx_init(PETSC_COMM_WORLD, &ctx));
  PetscCall(PetscSNPrintf(path, sizeof(path), "/tmp/cs_mpi_h5_%d.h5", ctx.size));
  par_block_range(N, ctx.rank, ctx.size, &lo, &hi);
  double *buf;
  int *st;
  PetscCall(PetscMalloc1((hi - lo) * 3, &buf));
  PetscCall(PetscMalloc1(hi - lo, &st));
  for (PetscInt i = lo; i < hi; i++) {
    for (PetscInt c = 0; c < 3; c++) buf[(i - lo) * 3 + c] = value(i, c);
    st[i - lo] = (int)(i % 7);
  }
  PetscCall(h5_create(ctx.comm, path, &f));
  PetscCall(h5_table_write(&f, "table", H5T_NATIVE_DOUBLE, hi - lo, 3, cols, buf));
  PetscCall(h5_table_write(&f, "status", H5T_NATIVE_INT, hi - lo, 0, NULL, st));
  PetscCall(h5_attr_write_str(&f, "/", "purpose", "test"));
  PetscCall(h5_write_provenance(&f, "mpi_h5"));
  if (ctx.rank == 0 && access(path, F_OK) == 0) bad++; /* final name must not exist before commit */
  PetscCall(h5_commit(&f));
  if (access(path, F_OK) != 0) bad++;

  /* Read back with a different partition: rank r reads the block of rank size-1-r. */
  PetscCall(h5_open(ctx.comm, path, PETSC_FALSE, &f));
  PetscCall(h5_table_info(&f, "table", &nr, &nc));
  if (nr != N || nc != 3) bad++;
  PetscCall(h5_table_check_columns(&f, "table", 3, cols));
  par_block_range(N, ctx.size - 1 - ctx.rank, ctx.size, &lo, &hi);
  double *rd;
  int *rs;
  PetscCall(PetscMalloc1((hi - lo) * 3 + 1, &rd));
  PetscCall(PetscMalloc1(hi - lo + 1, &rs));
  PetscCall(h5_table_read_rows(&f, "table", H5T_NATIVE_DOUBLE, lo, hi - lo, rd, PETSC_TRUE));
  PetscCall(h5_table_read_rows(&f, "status", H5T_NATIVE_INT, lo, hi - lo, rs, PETSC_TRUE));
  for (PetscInt i = lo; i < hi; i++) {
    for (PetscInt c = 0; c < 3; c++)
      if (rd[(i - lo) * 3 + c] != value(i, c)) bad++;
    if (rs[i - lo] != (int)(i % 7)) bad++;
  }
  PetscCall(h5_attr_read_str(&f, "/", "purpose", s, sizeof(s)));
  if (strcmp(s, "test")) bad++;
  PetscCall(h5_attr_read_int(&f, "/", "mpi_ranks", 1, &nranks));
  if (nranks != ctx.size) bad++;
  PetscCall(h5_attr_read_str(&f, "/", "command", s, sizeof(s)));
  if (strcmp(s, "mpi_h5")) bad++;
  PetscCall(h5_close(&f));
  /* h5_share: after it, each rank's own read-only open of the file reads the
   * broadcast copy, so it still reads the table after rank 0 has replaced the
   * file on disk by a non-HDF5 file. On one rank nothing is shared. */
  PetscCall(h5_share(ctx.comm, path));
  PetscCall(h5_share(ctx.comm, "/tmp/cs_mpi_h5_no_such_file.h5")); /* left to each rank's own open */
  if (h5_shared_count() != (ctx.size > 1 ? 1 : 0)) bad++;
  if (ctx.size > 1) {
    if (ctx.rank == 0) {
      char junk[300];
      FILE *fp;
      PetscCall(PetscSNPrintf(junk, sizeof(junk), "%s.junk", path));
      fp = fopen(junk, "w");
      if (!fp || fputs("not an HDF5 file\n", fp) < 0 || fclose(fp) || rename(junk, path)) bad++;
    }
    PetscCallMPI(MPI_Barrier(ctx.comm));
    if (h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, &f) == PETSC_SUCCESS) {
      double row[3];
      if (h5_attr_read_str(&f, "/", "purpose", s, sizeof(s)) || strcmp(s, "test")) bad++;
      if (h5_table_read_rows(&f, "table", H5T_NATIVE_DOUBLE, N - 1, 1, row, PETSC_FALSE) || row[2] != value(N - 1, 2))
        bad++;
      PetscCall(h5_close(&f));
    } else
      bad++;
  }
  PetscCall(h5_share_free());
  if (h5_shared_count() != 0) bad++;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPIU_INT, MPI_SUM, ctx.comm));
  if (bad)
    PetscCall(PetscPrintf(ctx.comm, "mpi_h5: %" PetscInt_FMT " mismatches at %d ranks\n", bad, ctx.size));
  else
    PetscCall(PetscPrintf(ctx.comm, "mpi_h5: table of %" PetscInt_FMT " rows identical at %d ranks\n", N, ctx.size));
  if (ctx.rank == 0) unlink(path);
  PetscCall(PetscFree(buf));
  PetscCall(PetscFree(st));
  PetscCall(PetscFree(rd));
  PetscCall(PetscFree(rs));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
