/* Input and output safety shared by every command: range checks of numeric
 * options (including the 32-bit wrap of PETSc's integer parser), memory
 * estimates that name the option sizing an allocation, what kind of file a
 * path holds (from the HDF5 provenance or a CSV header), refusal to overwrite
 * inputs or files of another kind, and the writer's lock on <out>.tmp. */
#ifndef CHEMPYSBI_GUARD_H
#define CHEMPYSBI_GUARD_H

#include <chempysbi/common.h>

/* Integer option `opt` (e.g. "-n"): when given, its text must be a whole
 * number in [lo, hi], checked on the text itself because PETSc 3.18 casts a
 * long to the 32-bit PetscInt (-n 4294967396 would read as 100); `value` (the
 * parsed or default value) must be in [lo, hi] too. Collective. */
PetscErrorCode guard_int_option(MPI_Comm comm, const char *opt, PetscInt value, PetscInt lo, PetscInt hi);
/* A comma-separated integer array option: at most nmax entries (more is an
 * error, not a truncation), each in [lo, hi]. */
PetscErrorCode guard_int_array_option(MPI_Comm comm, const char *opt, PetscInt nmax, PetscInt lo, PetscInt hi);
/* Real option: finite and in [lo, hi] (PETSc reads "inf" and "nan"). */
PetscErrorCode guard_real_option(MPI_Comm comm, const char *opt, PetscReal value, PetscReal lo, PetscReal hi);
/* An allocation of `bytes` per rank sized by `what` (e.g. "-batch 10000000"):
 * an error naming it when it exceeds the machine's physical memory, before
 * the allocation is tried. */
PetscErrorCode guard_memory(MPI_Comm comm, double bytes, const char *what);

/* Kinds of file, as the provenance attribute "command" names them (HDF5) or
 * the header implies (CSV). */
#define GUARD_KIND_LEN 64
/* What `path` is: "" (missing), "directory", "simulate", "train-emulator",
 * "train-npe", "validate", "infer", "catalogue", "... checkpoint", "hdf5"
 * (no provenance), "simulate-csv", "emulate-csv", "mock-csv", "params-csv",
 * "catalogue-csv", "history-csv", "fits", "text" or "file" (other binary). Serial. */
PetscErrorCode guard_file_kind(const char *path, char *kind, size_t len);
/* A phrase for messages: "a training set (simulate output)". */
const char *guard_kind_phrase(const char *kind);
/* Input file given by `opt`: it must exist and be a regular file; when want is
 * not NULL, a file whose kind is known and differs from want (a
 * comma-separated list of accepted kinds) is an error saying what it is and
 * what was expected. Rank 0 looks, every rank gets the error. */
PetscErrorCode guard_input(MPI_Comm comm, const char *opt, const char *path, const char *want);
/* Output file given by `opt`, of kind `kind`, checked before any work: not a
 * directory, in a writable directory, not one of the command's inputs (same
 * device and inode; in_opts[i] names the option of in_paths[i], empty paths
 * are skipped), not an existing file of another kind, and an existing file of
 * the same kind only with replace (-force, or a resume). An empty file is no
 * loss and may be replaced. */
PetscErrorCode guard_output(MPI_Comm comm, const char *opt, const char *path, const char *kind,
                            const char *const in_opts[], const char *const in_paths[], PetscInt ninputs,
                            PetscBool replace);

/* Identity of an input file for a checkpoint's config string: its absolute
 * path, size and (HDF5) creation time, "/abs/train.h5:123456:2026-12-01T10:00:00Z",
 * so that -resume with another input is refused. Rank 0 looks; collective. */
PetscErrorCode guard_file_identity(MPI_Comm comm, const char *path, char *buf, size_t len);

/* The writer's lock on <out> and its "<out>.tmp": rank 0 holds flock(LOCK_EX)
 * on "<out>.lock" for the run, so a second writer of the same output gets a
 * clear error before it touches <out>.tmp. A separate file, not the .tmp
 * itself: on NFS flock is emulated by whole-file fcntl locks, which would
 * block ROMIO's own fcntl locks on the data file from the other ranks.
 * Released (and the lock file removed) by guard_unlock, or by the kernel when
 * the process ends (a stale lock file is then reused, never trusted). */
typedef struct {
  int fd; /* rank 0: the locked descriptor, else -1 */
  char path[PETSC_MAX_PATH_LEN + 8];
} GuardLock;
PetscErrorCode guard_lock(MPI_Comm comm, const char *out, GuardLock *lk);
PetscErrorCode guard_unlock(GuardLock *lk);
/* On an error exit: remove the lock file of a lock still held (main calls it before MPI_Abort). */
void guard_abort_cleanup(void);

#endif
