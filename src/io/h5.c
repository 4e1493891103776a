/* Parallel HDF5 files and row tables. Each rank moves its own block of rows
 * through a hyperslab; writes land in "<path>.tmp" and h5_commit renames, so a
 * failed run never leaves a truncated file under the final name. */
#include <chempysbi/par.h>
#include <chempysbi/h5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A failed write or read names the file (the temporary name while writing):
 * on a full disk "HDF5 call failed: H5Dwrite" alone does not say where. */
#define H5_FILE_NAME(f) ((f)->tmp[0] ? (f)->tmp : (f)->path)
#define H5CallW(f, expr)                                                                                               \
  do {                                                                                                                 \
    if ((expr) < 0)                                                                                                    \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,                                                                   \
              "%s: writing failed (disk full, quota or file system error?): %s", H5_FILE_NAME(f), #expr);              \
  } while (0)
#define H5CallR(f, expr)                                                                                               \
  do {                                                                                                                 \
    if ((expr) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: reading failed: %s", H5_FILE_NAME(f), #expr);   \
  } while (0)

/* Layout for parallel file systems (h5_set_from_options); zero = HDF5's and MPI-IO's defaults. */
static struct {
  PetscInt align, stripe, stripe_count;
} tune;

PetscErrorCode h5_set_from_options(MPI_Comm comm)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "HDF5 files on parallel file systems (0 = the defaults)", "h5");
  PetscCall(
      PetscOptionsInt("-h5_stripe",
                      "stripe size of the file system [bytes] (Lustre: lfs getstripe -S): table chunks fill whole "
                      "stripes, objects start on stripe boundaries, MPI-IO hint striping_unit for new files",
                      NULL, tune.stripe, &tune.stripe, NULL));
  PetscCall(PetscOptionsInt("-h5_stripe_count", "stripes (OSTs) of a new file: MPI-IO hint striping_factor", NULL,
                            tune.stripe_count, &tune.stripe_count, NULL));
  PetscCall(PetscOptionsInt("-h5_align", "alignment of objects of 64 KiB or more [bytes] (default: -h5_stripe)", NULL,
                            tune.align, &tune.align, NULL));
  PetscOptionsEnd();
  PetscCheck(tune.stripe >= 0 && tune.stripe <= (PetscInt)1 << 30, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-h5_stripe %" PetscInt_FMT ": expected 0 (default) up to 1 GiB", tune.stripe);
  PetscCheck(tune.align >= 0 && tune.align <= (PetscInt)1 << 30, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-h5_align %" PetscInt_FMT ": expected 0 (default) up to 1 GiB", tune.align);
  PetscCheck(tune.stripe_count >= 0 && tune.stripe_count <= 100000, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-h5_stripe_count %" PetscInt_FMT ": expected 0 (default) up to 100000", tune.stripe_count);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode h5_fapl(MPI_Comm comm, hid_t *fapl)
{
  MPI_Info info = MPI_INFO_NULL;
  PetscInt align = tune.align ? tune.align : tune.stripe;
  PetscFunctionBeginUser;
  H5Call(*fapl = H5Pcreate(H5P_FILE_ACCESS));
  if (tune.stripe || tune.stripe_count) { /* ROMIO reads these when it creates the file (Lustre, GPFS drivers) */
    char v[32];
    PetscCallMPI(MPI_Info_create(&info));
    if (tune.stripe) {
      PetscCall(PetscSNPrintf(v, sizeof v, "%" PetscInt_FMT, tune.stripe));
      PetscCallMPI(MPI_Info_set(info, "striping_unit", v));
    }
    if (tune.stripe_count) {
      PetscCall(PetscSNPrintf(v, sizeof v, "%" PetscInt_FMT, tune.stripe_count));
      PetscCallMPI(MPI_Info_set(info, "striping_factor", v));
    }
  }
  H5Call(H5Pset_fapl_mpio(*fapl, comm, info));
  if (info != MPI_INFO_NULL) PetscCallMPI(MPI_Info_free(&info));
  /* Every chunk starts on a stripe boundary: two ranks writing different chunks never share a stripe (and its lock). */
  if (align > 0) H5Call(H5Pset_alignment(*fapl, 65536, (hsize_t)align));
  /* No raw-data chunk cache: a row written is in the file at once, so a run
   * killed with -9 keeps everything it reported as written. */
  H5Call(H5Pset_cache(*fapl, 0, 0, 0, 0.75));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill in f and open (or create) `name` with MPI-IO; the error names the file. */
static PetscErrorCode h5_open_as(MPI_Comm comm, const char *path, const char *tmp_suffix, unsigned mode,
                                 PetscBool create, H5File *f)
{
  hid_t fapl;
  const char *name;
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(f, sizeof(*f)));
  f->comm = comm;
  PetscCall(PetscStrncpy(f->path, path, sizeof(f->path)));
  if (tmp_suffix) PetscCall(PetscSNPrintf(f->tmp, sizeof(f->tmp), "%s%s", path, tmp_suffix));
  name = tmp_suffix ? f->tmp : f->path;
  const void *img;
  size_t imglen;
  PetscMPIInt size;
  char imgname[PETSC_MAX_PATH_LEN + 16];
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (!create && mode == H5F_ACC_RDONLY && size == 1 && h5_shared_image(name, &img, &imglen)) {
    H5Call(fapl = H5Pcreate(H5P_FILE_ACCESS)); /* the broadcast copy (h5_share), read in memory */
    H5Call(H5Pset_fapl_core(fapl, 1 << 16, 0));
    H5Call(H5Pset_file_image(fapl, (void *)img, imglen));
    /* HDF5 1.10's core driver refuses an image under the name of a file that
     * exists; a name below /dev/null never does. Messages still use f->path. */
    PetscCall(PetscSNPrintf(imgname, sizeof(imgname), "/dev/null%s%s", name[0] == '/' ? "" : "/", name));
    name = imgname;
  } else
    PetscCall(h5_fapl(comm, &fapl));
  H5E_BEGIN_TRY { f->id = create ? H5Fcreate(name, mode, H5P_DEFAULT, fapl) : H5Fopen(name, mode, fapl); }
  H5E_END_TRY;
  H5Pclose(fapl);
  PetscCheck(f->id >= 0, comm, PETSC_ERR_FILE_OPEN,
             create ? "cannot create HDF5 file %s (is the directory writable?)"
                    : "cannot open HDF5 file %s (missing, or not an HDF5 file)",
             tmp_suffix ? f->tmp : f->path);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_create(MPI_Comm comm, const char *path, H5File *f)
{
  PetscFunctionBeginUser;
  PetscCall(h5_open_as(comm, path, ".tmp", H5F_ACC_TRUNC, PETSC_TRUE, f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_open_tmp(MPI_Comm comm, const char *path, H5File *f)
{
  PetscFunctionBeginUser;
  PetscCall(h5_open_as(comm, path, ".tmp", H5F_ACC_RDWR, PETSC_FALSE, f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_commit(H5File *f)
{
  int rank;
  PetscFunctionBeginUser;
  H5CallW(f, H5Fflush(f->id, H5F_SCOPE_GLOBAL));
  H5CallW(f, H5Fclose(f->id));
  f->id = -1;
  PetscCall(par_barrier(f->comm));
  PetscCall(par_comm_rank(f->comm, &rank));
  if (rank == 0)
    PetscCheck(rename(f->tmp, f->path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s", f->tmp,
               f->path);
  PetscCall(par_barrier(f->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_open(MPI_Comm comm, const char *path, PetscBool rw, H5File *f)
{
  PetscFunctionBeginUser;
  PetscCall(h5_open_as(comm, path, NULL, rw ? H5F_ACC_RDWR : H5F_ACC_RDONLY, PETSC_FALSE, f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_close(H5File *f)
{
  PetscFunctionBeginUser;
  if (f->id >= 0) H5Call(H5Fclose(f->id));
  f->id = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool h5_exists(H5File *f, const char *name)
{
  htri_t e;
  H5E_BEGIN_TRY { e = H5Lexists(f->id, name, H5P_DEFAULT); }
  H5E_END_TRY;
  return e > 0 ? PETSC_TRUE : PETSC_FALSE;
}

PetscErrorCode h5_table_create(H5File *f, const char *name, hid_t type, PetscInt nrows, PetscInt ncols,
                               const char *const colnames[])
{
  int rank = ncols > 0 ? 2 : 1;
  hsize_t dims[2] = {(hsize_t)nrows, (hsize_t)ncols}, maxd[2] = {H5S_UNLIMITED, (hsize_t)ncols};
  /* ~64k values a chunk: big enough for efficient I/O, small enough to extend. With -h5_stripe, as many
   * rows as fill a whole number of stripes (at least the default's bytes), so a chunk never straddles more. */
  PetscInt crows = 65536 / PetscMax(ncols, 1);
  if (tune.stripe > 0) {
    size_t rowb = H5Tget_size(type) * (size_t)PetscMax(ncols, 1), want = 65536 * H5Tget_size(type);
    size_t bytes = ((want + (size_t)tune.stripe - 1) / (size_t)tune.stripe) * (size_t)tune.stripe;
    crows = (PetscInt)PetscMax(1, bytes / rowb);
  }
  hsize_t chunk[2] = {(hsize_t)PetscMax(1, PetscMin(nrows > 0 ? nrows : 1, crows)), (hsize_t)ncols};
  hid_t space, dcpl, ds;
  PetscFunctionBeginUser;
  H5Call(space = H5Screate_simple(rank, dims, maxd));
  H5Call(dcpl = H5Pcreate(H5P_DATASET_CREATE));
  H5Call(H5Pset_chunk(dcpl, rank, chunk));
  /* Unwritten rows read as NaN (float) or -1 (int): "not computed yet". */
  if (H5Tget_class(type) == H5T_FLOAT) {
    double nan = NAN;
    H5Call(H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan));
  } else {
    int minus1 = -1;
    H5Call(H5Pset_fill_value(dcpl, H5T_NATIVE_INT, &minus1));
  }
  H5Call(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY));
  H5Call(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC));
  H5CallW(f, ds = H5Dcreate2(f->id, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  H5Call(H5Pclose(dcpl));
  H5Call(H5Sclose(space));
  H5Call(H5Dclose(ds));
  if (colnames && ncols > 0) {
    /* Column names as one comma-separated string: easy to read from any tool. */
    char buf[4096] = "";
    for (PetscInt c = 0; c < ncols; c++) {
      if (c) PetscCall(PetscStrlcat(buf, ",", sizeof(buf)));
      PetscCall(PetscStrlcat(buf, colnames[c], sizeof(buf)));
    }
    PetscCall(h5_attr_write_str(f, name, "columns", buf));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode h5_open_dataset(H5File *f, const char *name, hid_t *ds)
{
  PetscFunctionBeginUser;
  PetscCheck(h5_exists(f, name), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "file %s: dataset %s is missing", f->path,
             name);
  H5Call(*ds = H5Dopen2(f->id, name, H5P_DEFAULT));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Shared body of row reads and writes: select rows [row0, row0+n) in file and memory. */
static PetscErrorCode h5_rows_io(H5File *f, const char *name, hid_t memtype, PetscInt row0, PetscInt n, void *data,
                                 PetscBool collective, PetscBool write)
{
  hid_t ds, fspace, mspace, dxpl;
  hsize_t dims[2] = {0, 1};
  int rank;
  PetscFunctionBeginUser;
  PetscCall(h5_open_dataset(f, name, &ds));
  H5Call(fspace = H5Dget_space(ds));
  H5Call(rank = H5Sget_simple_extent_ndims(fspace));
  H5Call(H5Sget_simple_extent_dims(fspace, dims, NULL));
  PetscCheck(row0 >= 0 && row0 + n <= (PetscInt)dims[0], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "file %s: dataset %s has %llu rows, rows [%" PetscInt_FMT ", %" PetscInt_FMT ") requested", f->path, name,
             (unsigned long long)dims[0], row0, row0 + n);
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)n, rank == 2 ? dims[1] : 1};
  if (n > 0) {
    H5Call(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
    H5Call(mspace = H5Screate_simple(rank, count, NULL));
  } else {
    H5Call(H5Sselect_none(fspace));
    H5Call(mspace = H5Screate(H5S_NULL));
  }
  H5Call(dxpl = H5Pcreate(H5P_DATASET_XFER));
  H5Call(H5Pset_dxpl_mpio(dxpl, collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT));
  if (write)
    H5CallW(f, H5Dwrite(ds, memtype, mspace, fspace, dxpl, data));
  else
    H5CallR(f, H5Dread(ds, memtype, mspace, fspace, dxpl, data));
  H5Call(H5Pclose(dxpl));
  H5Call(H5Sclose(mspace));
  H5Call(H5Sclose(fspace));
  H5Call(H5Dclose(ds));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_write_rows(H5File *f, const char *name, hid_t memtype, PetscInt row0, PetscInt n,
                                   const void *data, PetscBool collective)
{
  PetscFunctionBeginUser;
  PetscCall(h5_rows_io(f, name, memtype, row0, n, (void *)data, collective, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_read_rows(H5File *f, const char *name, hid_t memtype, PetscInt row0, PetscInt n, void *data,
                                  PetscBool collective)
{
  PetscFunctionBeginUser;
  PetscCall(h5_rows_io(f, name, memtype, row0, n, data, collective, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_write(H5File *f, const char *name, hid_t type, PetscInt nlocal, PetscInt ncols,
                              const char *const colnames[], const void *data)
{
  PetscInt off = 0, total = nlocal;
  ParCtx pc;
  PetscFunctionBeginUser;
  PetscCall(par_ctx_init(f->comm, &pc));
  PetscCall(par_offset(f->comm, nlocal, &off));
  PetscCall(par_allreduce_count(&pc, &total));
  PetscCall(h5_table_create(f, name, type, total, ncols, colnames));
  PetscCall(h5_table_write_rows(f, name, type, off, nlocal, data, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_write_slices(H5File *f, PetscInt nlocal, int stride, const double *rec, size_t nslice,
                                     const H5Slice *slice)
{
  double *buf;
  int wmax = 0;
  PetscFunctionBeginUser;
  for (size_t k = 0; k < nslice; k++) wmax = PetscMax(wmax, slice[k].ncol);
  PetscCall(PetscMalloc1(PetscMax(nlocal * wmax, 1), &buf));
  for (size_t k = 0; k < nslice; k++) {
    const H5Slice *s = &slice[k];
    for (PetscInt i = 0; i < nlocal; i++)
      for (int d = 0; d < s->ncol; d++) buf[i * s->ncol + d] = rec[i * stride + s->off + d];
    PetscCall(h5_table_write(f, s->name, H5T_NATIVE_DOUBLE, nlocal, s->ncol, s->cols, buf));
  }
  PetscCall(PetscFree(buf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_info(H5File *f, const char *name, PetscInt *nrows, PetscInt *ncols)
{
  hid_t ds, sp;
  hsize_t dims[2] = {0, 0};
  int rank;
  PetscFunctionBeginUser;
  PetscCall(h5_open_dataset(f, name, &ds));
  H5Call(sp = H5Dget_space(ds));
  H5Call(rank = H5Sget_simple_extent_ndims(sp));
  PetscCheck(rank == 1 || rank == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s has rank %d, expected a table", f->path, name, rank);
  H5Call(H5Sget_simple_extent_dims(sp, dims, NULL));
  H5Call(H5Sclose(sp));
  H5Call(H5Dclose(ds));
  if (nrows) *nrows = (PetscInt)dims[0];
  if (ncols) *ncols = rank == 2 ? (PetscInt)dims[1] : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_table_check_columns(H5File *f, const char *name, PetscInt ncols, const char *const expect[])
{
  PetscInt nr, nc;
  char have[4096], want[4096] = "";
  PetscFunctionBeginUser;
  PetscCall(h5_table_info(f, name, &nr, &nc));
  PetscCheck(nc == ncols, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s has %" PetscInt_FMT " columns, expected %" PetscInt_FMT, f->path, name, nc, ncols);
  for (PetscInt c = 0; c < ncols; c++) {
    if (c) PetscCall(PetscStrlcat(want, ",", sizeof(want)));
    PetscCall(PetscStrlcat(want, expect[c], sizeof(want)));
  }
  PetscCall(h5_attr_read_str(f, name, "columns", have, sizeof(have)));
  PetscCheck(!strcmp(have, want), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: dataset %s has columns '%s', expected '%s'", f->path, name, have, want);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool h5_attr_exists(H5File *f, const char *obj, const char *name)
{
  htri_t e;
  H5E_BEGIN_TRY { e = H5Aexists_by_name(f->id, obj, name, H5P_DEFAULT); }
  H5E_END_TRY;
  return e > 0 ? PETSC_TRUE : PETSC_FALSE;
}

static PetscErrorCode h5_attr_write(H5File *f, const char *obj, const char *name, hid_t type, PetscInt n, const void *v)
{
  hid_t sp, a;
  hsize_t dim = (hsize_t)n;
  PetscFunctionBeginUser;
  if (h5_attr_exists(f, obj, name)) H5Call(H5Adelete_by_name(f->id, obj, name, H5P_DEFAULT));
  H5Call(sp = H5Screate_simple(1, &dim, NULL));
  H5Call(a = H5Acreate_by_name(f->id, obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(H5Awrite(a, type, v));
  H5Call(H5Aclose(a));
  H5Call(H5Sclose(sp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_write_str(H5File *f, const char *obj, const char *name, const char *value)
{
  hid_t t, sp, a;
  PetscFunctionBeginUser;
  if (h5_attr_exists(f, obj, name)) H5Call(H5Adelete_by_name(f->id, obj, name, H5P_DEFAULT));
  H5Call(t = H5Tcopy(H5T_C_S1));
  H5Call(H5Tset_size(t, strlen(value) + 1));
  H5Call(sp = H5Screate(H5S_SCALAR));
  H5Call(a = H5Acreate_by_name(f->id, obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(H5Awrite(a, t, value));
  H5Call(H5Aclose(a));
  H5Call(H5Sclose(sp));
  H5Call(H5Tclose(t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_write_double(H5File *f, const char *obj, const char *name, PetscInt n, const double *v)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_write(f, obj, name, H5T_NATIVE_DOUBLE, n, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_write_int(H5File *f, const char *obj, const char *name, PetscInt n, const PetscInt *v)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_write(f, obj, name, sizeof(PetscInt) == 8 ? H5T_NATIVE_LLONG : H5T_NATIVE_INT, n, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode h5_attr_open(H5File *f, const char *obj, const char *name, hid_t *a, hsize_t *npts)
{
  hid_t sp;
  hssize_t np;
  PetscFunctionBeginUser;
  PetscCheck(h5_attr_exists(f, obj, name), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: attribute %s of %s is missing", f->path, name, obj);
  H5Call(*a = H5Aopen_by_name(f->id, obj, name, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(sp = H5Aget_space(*a));
  H5Call(np = H5Sget_simple_extent_npoints(sp));
  *npts = (hsize_t)np;
  H5Call(H5Sclose(sp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode h5_attr_read(H5File *f, const char *obj, const char *name, hid_t type, PetscInt n, void *v)
{
  hid_t a;
  hsize_t npts;
  PetscFunctionBeginUser;
  PetscCall(h5_attr_open(f, obj, name, &a, &npts));
  PetscCheck((PetscInt)npts == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: attribute %s of %s has %llu values, expected %" PetscInt_FMT, f->path, name, obj,
             (unsigned long long)npts, n);
  H5Call(H5Aread(a, type, v));
  H5Call(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_read_double(H5File *f, const char *obj, const char *name, PetscInt n, double *v)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_read(f, obj, name, H5T_NATIVE_DOUBLE, n, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_scalings_write(H5File *f, const char *obj, PetscInt P, const double *th_mean, const double *th_sd,
                                 PetscInt X, const double *x_mean, const double *x_sd)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_write_double(f, obj, "theta_mean", P, th_mean));
  PetscCall(h5_attr_write_double(f, obj, "theta_sd", P, th_sd));
  PetscCall(h5_attr_write_double(f, obj, "x_mean", X, x_mean));
  PetscCall(h5_attr_write_double(f, obj, "x_sd", X, x_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_scalings_read(H5File *f, const char *obj, PetscInt P, double *th_mean, double *th_sd, PetscInt X,
                                double *x_mean, double *x_sd)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_read_double(f, obj, "theta_mean", P, th_mean));
  PetscCall(h5_attr_read_double(f, obj, "theta_sd", P, th_sd));
  PetscCall(h5_attr_read_double(f, obj, "x_mean", X, x_mean));
  PetscCall(h5_attr_read_double(f, obj, "x_sd", X, x_sd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_read_int(H5File *f, const char *obj, const char *name, PetscInt n, PetscInt *v)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_read(f, obj, name, sizeof(PetscInt) == 8 ? H5T_NATIVE_LLONG : H5T_NATIVE_INT, n, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_read_str(H5File *f, const char *obj, const char *name, char *value, size_t len)
{
  hid_t a, ft, t;
  hsize_t npts;
  PetscFunctionBeginUser;
  PetscCall(h5_attr_open(f, obj, name, &a, &npts));
  H5Call(ft = H5Aget_type(a));
  size_t sz = H5Tget_size(ft);
  PetscCheck(H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "file %s: attribute %s of %s is not a fixed-length string", f->path, name, obj);
  PetscCheck(sz < len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "file %s: attribute %s of %s is longer than %zu",
             f->path, name, obj, len);
  H5Call(t = H5Tcopy(H5T_C_S1));
  H5Call(H5Tset_size(t, sz));
  H5Call(H5Aread(a, t, value));
  value[sz] = 0;
  H5Call(H5Tclose(t));
  H5Call(H5Tclose(ft));
  H5Call(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_open_checkpoint(const char *path, const char *config, H5File *f)
{
  static char have[H5_CONFIG_LEN], a[H5_CONFIG_LEN], b[H5_CONFIG_LEN]; /* too big for the stack */
  char *sa, *sb, *ta, *tb;
  PetscFunctionBeginUser;
  PetscCall(h5_open(PETSC_COMM_SELF, path, PETSC_FALSE, f));
  PetscCall(h5_attr_read_str(f, "/", "config", have, sizeof(have)));
  if (!strcmp(have, config)) PetscFunctionReturn(PETSC_SUCCESS);
  /* Name the first field that differs: with input identities the strings are long. */
  PetscCall(PetscStrncpy(a, have, sizeof(a)));
  PetscCall(PetscStrncpy(b, config, sizeof(b)));
  ta = strtok_r(a, ";", &sa);
  tb = strtok_r(b, ";", &sb);
  while (ta && tb && !strcmp(ta, tb)) {
    ta = strtok_r(NULL, ";", &sa);
    tb = strtok_r(NULL, ";", &sb);
  }
  SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
          "%s was made with another configuration or other inputs (checkpoint has %s, this run has %s): not resuming "
          "it; run without -resume to start again",
          path, ta ? ta : "(nothing)", tb ? tb : "(nothing)");
}

PetscErrorCode h5_attr_length(H5File *f, const char *obj, const char *name, PetscInt *n)
{
  hid_t a, sp;
  PetscFunctionBeginUser;
  H5Call(a = H5Aopen_by_name(f->id, obj, name, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(sp = H5Aget_space(a));
  *n = (PetscInt)H5Sget_simple_extent_npoints(sp);
  H5Call(H5Sclose(sp));
  H5Call(H5Aclose(a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_attr_read_int_list(H5File *f, const char *obj, const char *name, PetscInt nmin, PetscInt nmax,
                                     PetscInt *n, PetscInt *v)
{
  PetscFunctionBeginUser;
  PetscCall(h5_attr_length(f, obj, name, n));
  PetscCheck(*n >= nmin && *n <= nmax, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: attribute %s of %s has %" PetscInt_FMT " values, expected %" PetscInt_FMT " to %" PetscInt_FMT,
             f->path, name, obj, *n, nmin, nmax);
  PetscCall(h5_attr_read_int(f, obj, name, *n, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_group_create(H5File *f, const char *name)
{
  hid_t g;
  PetscFunctionBeginUser;
  if (h5_exists(f, name)) PetscFunctionReturn(PETSC_SUCCESS);
  H5Call(g = H5Gcreate2(f->id, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Call(H5Gclose(g));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_params_write(H5File *f, const char *group, PetscInt n, const double *params)
{
  char name[PETSC_MAX_PATH_LEN];
  int rank;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s/params", group));
  PetscCall(par_comm_rank(f->comm, &rank));
  PetscCall(h5_table_create(f, name, H5T_NATIVE_DOUBLE, n, 0, NULL));
  PetscCall(h5_table_write_rows(f, name, H5T_NATIVE_DOUBLE, 0, rank == 0 ? n : 0, params, PETSC_TRUE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_params_read(H5File *f, const char *group, PetscInt n, double *params)
{
  char name[PETSC_MAX_PATH_LEN];
  PetscInt have, nc;
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "%s/params", group));
  PetscCall(h5_table_info(f, name, &have, &nc));
  PetscCheck(have == n && nc == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: %s has %" PetscInt_FMT " values, but the architecture needs %" PetscInt_FMT, f->path, name, have, n);
  PetscCall(h5_table_read_rows(f, name, H5T_NATIVE_DOUBLE, 0, n, params, PETSC_FALSE));
  PetscFunctionReturn(PETSC_SUCCESS);
}
