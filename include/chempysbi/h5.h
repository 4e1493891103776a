/* Parallel HDF5 layer: files written under a temporary name and renamed when
 * complete, 2-D row tables where each rank owns a row block, attributes and the
 * provenance every output file carries. */
#ifndef CHEMPYSBI_H5_H
#define CHEMPYSBI_H5_H

#include <chempysbi/common.h>
#include <hdf5.h>

typedef struct {
  hid_t id;
  MPI_Comm comm;
  char path[PETSC_MAX_PATH_LEN]; /* final name */
  char tmp[PETSC_MAX_PATH_LEN];  /* name while being written; empty for files opened in place */
} H5File;

#define H5_NAME_LEN   64                              /* longest column name stored */
#define H5_CONFIG_LEN (4 * PETSC_MAX_PATH_LEN + 1024) /* a checkpoint config: input paths and identities */

/* Layout options for parallel file systems, read once before any file is made:
 * -h5_stripe BYTES (chunks of whole stripes, stripe-aligned objects, MPI-IO
 * striping_unit), -h5_stripe_count N (striping_factor), -h5_align BYTES. */
PetscErrorCode h5_set_from_options(MPI_Comm comm);
/* Create `path` for writing (collective): the data go to "<path>.tmp" until h5_commit. */
PetscErrorCode h5_create(MPI_Comm comm, const char *path, H5File *f);
/* Close and atomically rename the temporary file to its final name (collective). */
PetscErrorCode h5_commit(H5File *f);
/* Open an existing file (collective), read-only or read-write, in place. */
PetscErrorCode h5_open(MPI_Comm comm, const char *path, PetscBool rw, H5File *f);
/* Open "<path>.tmp" in place for continuing a write later committed with h5_commit. */
PetscErrorCode h5_open_tmp(MPI_Comm comm, const char *path, H5File *f);
PetscErrorCode h5_close(H5File *f);
/* A model file every rank will read (collective; h5_share.c): rank 0 reads its
 * bytes and broadcasts them, and a later read-only h5_open of `path` on one
 * rank opens that in-memory copy, so the job opens the file once. A file rank 0
 * cannot read is left alone: each rank's own open then reports it. */
PetscErrorCode h5_share(MPI_Comm comm, const char *path);
PetscBool h5_shared_image(const char *path, const void **buf, size_t *len);
PetscInt h5_shared_count(void);
PetscErrorCode h5_share_free(void);
/* Open a checkpoint on this rank (read-only) and check that its "config"
 * attribute equals config: a resume never continues another run's training. */
PetscErrorCode h5_open_checkpoint(const char *path, const char *config, H5File *f);
PetscBool h5_exists(H5File *f, const char *name);
/* Create group `name` unless it exists (collective). */
PetscErrorCode h5_group_create(H5File *f, const char *name);
/* A model's flat parameter vector, the 1-D dataset "<group>/params": every
 * rank holds the same n values and rank 0 writes them (collective); a read
 * (this rank) first checks that the file holds exactly n, naming both. */
PetscErrorCode h5_params_write(H5File *f, const char *group, PetscInt n, const double *params);
PetscErrorCode h5_params_read(H5File *f, const char *group, PetscInt n, double *params);

/* Tables: datasets [nrows, ncols] of double (or int), chunked along rows and
 * extendible, column names in the attribute "columns". ncols = 0 makes a 1-D
 * dataset [nrows] (used for status columns). */
PetscErrorCode h5_table_create(H5File *f, const char *name, hid_t type, PetscInt nrows, PetscInt ncols,
                               const char *const colnames[]);
/* Write rows [row0, row0 + n) from `data` (row-major, ncols wide). With
 * collective = PETSC_TRUE every rank of the file's communicator must call it
 * (n may be 0); otherwise the write is independent. */
PetscErrorCode h5_table_write_rows(H5File *f, const char *name, hid_t memtype, PetscInt row0, PetscInt n,
                                   const void *data, PetscBool collective);
/* Create a table from each rank's block of rows, concatenated in rank order
 * (offsets by MPI_Exscan) and written collectively. */
PetscErrorCode h5_table_write(H5File *f, const char *name, hid_t type, PetscInt nlocal, PetscInt ncols,
                              const char *const colnames[], const void *data);
/* Tables cut from a row-major record of doubles (n rows of `stride`): each
 * holds columns [off, off + ncol) under its own column names. */
typedef struct {
  const char *name;
  int off, ncol;
  const char *const *cols;
} H5Slice;
PetscErrorCode h5_table_write_slices(H5File *f, PetscInt nlocal, int stride, const double *rec, size_t nslice,
                                     const H5Slice *slice);
/* Shape of a table; errors name the file and dataset if it is missing. */
PetscErrorCode h5_table_info(H5File *f, const char *name, PetscInt *nrows, PetscInt *ncols);
/* Check a table has the expected columns (names and order); the error names what differs. */
PetscErrorCode h5_table_check_columns(H5File *f, const char *name, PetscInt ncols, const char *const expect[]);
/* Read rows [row0, row0 + n) into data (collective when requested, as for writes). */
PetscErrorCode h5_table_read_rows(H5File *f, const char *name, hid_t memtype, PetscInt row0, PetscInt n, void *data,
                                  PetscBool collective);

/* Attributes on an object ("/" for the file, or a dataset/group path). Values
 * must be the same on every rank (HDF5 attribute writes are collective). */
PetscErrorCode h5_attr_write_str(H5File *f, const char *obj, const char *name, const char *value);
PetscErrorCode h5_attr_write_double(H5File *f, const char *obj, const char *name, PetscInt n, const double *v);
PetscErrorCode h5_attr_write_int(H5File *f, const char *obj, const char *name, PetscInt n, const PetscInt *v);
PetscErrorCode h5_attr_read_str(H5File *f, const char *obj, const char *name, char *value, size_t len);
PetscErrorCode h5_attr_read_double(H5File *f, const char *obj, const char *name, PetscInt n, double *v);
/* A network's input/output scalings: theta_mean, theta_sd (P) and x_mean, x_sd (X) of obj. */
PetscErrorCode h5_scalings_write(H5File *f, const char *obj, PetscInt P, const double *th_mean, const double *th_sd,
                                 PetscInt X, const double *x_mean, const double *x_sd);
PetscErrorCode h5_scalings_read(H5File *f, const char *obj, PetscInt P, double *th_mean, double *th_sd, PetscInt X,
                                double *x_mean, double *x_sd);
PetscErrorCode h5_attr_read_int(H5File *f, const char *obj, const char *name, PetscInt n, PetscInt *v);
/* The number of elements of attribute name on object obj. */
PetscErrorCode h5_attr_length(H5File *f, const char *obj, const char *name, PetscInt *n);
/* An integer attribute of nmin..nmax elements (a network's layer sizes): its
 * length in *n, its values in v[nmax]; the error names file, object and length. */
PetscErrorCode h5_attr_read_int_list(H5File *f, const char *obj, const char *name, PetscInt nmin, PetscInt nmax,
                                     PetscInt *n, PetscInt *v);
PetscBool h5_attr_exists(H5File *f, const char *obj, const char *name);
/* Provenance on "/": program version, command, full option set, ranks,
 * SLURM_JOB_ID, UTC time, compiler and library versions. */
PetscErrorCode h5_write_provenance(H5File *f, const char *command);

/* Program and library versions (src/io/version.c). */
const char *cs_version(void);
PetscErrorCode cs_library_versions(char *buf, size_t len);

#endif
