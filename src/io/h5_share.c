/* Model files that every rank reads whole (emulator, NPE, NRE): rank 0 reads
 * the bytes once and broadcasts them, and each rank's later read-only
 * h5_open of that path on one rank opens the in-memory copy (HDF5's core
 * driver). A job of any size then opens each model file once: on a parallel
 * file system 1024 ranks opening the same file at start-up is a metadata storm. */
#include <chempysbi/h5.h>
#include <chempysbi/par.h>
#include <stdio.h>
#include <string.h>

#define H5_SHARE_MAX       16
#define H5_SHARE_MAX_BYTES ((long long)1 << 30) /* larger files are read by every rank, as before */
#define H5_SHARE_PIECE     ((long long)1 << 28) /* par_bcast_bytes takes an int count */

static struct {
  char path[PETSC_MAX_PATH_LEN];
  char *buf;
  size_t len;
} share[H5_SHARE_MAX];
static int nshare;

static int share_find(const char *path)
{
  for (int i = 0; i < nshare; i++)
    if (!strcmp(share[i].path, path)) return i;
  return -1;
}

/* Rank 0's file bytes, or len -1 if it cannot read them (then every rank opens
 * the file itself and the usual error names it). */
static long long share_read(const char *path, char **buf)
{
  long long len = -1;
  FILE *fp = fopen(path, "rb");
  *buf = NULL;
  if (!fp) return -1;
  if (!fseek(fp, 0, SEEK_END)) len = ftell(fp);
  if (len <= 0 || len > H5_SHARE_MAX_BYTES || fseek(fp, 0, SEEK_SET)) len = -1;
  if (len > 0 && PetscMalloc((size_t)len, buf)) len = -1;
  if (len > 0 && fread(*buf, 1, (size_t)len, fp) != (size_t)len) len = -1;
  fclose(fp);
  if (len < 0 && *buf) {
    PetscFree(*buf);
    *buf = NULL;
  }
  return len;
}

PetscErrorCode h5_share(MPI_Comm comm, const char *path)
{
  PetscMPIInt rank, size;
  long long len = -1;
  char *buf = NULL;
  PetscFunctionBeginUser;
  if (!path || !path[0]) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_size(comm, &size));
  /* The registry is the same on every rank, so the early returns are collective. */
  if (size == 1 || share_find(path) >= 0 || nshare == H5_SHARE_MAX) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(strlen(path) < PETSC_MAX_PATH_LEN, comm, PETSC_ERR_ARG_SIZ, "path too long: %s", path);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) len = share_read(path, &buf);
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm));
  if (len < 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (rank != 0) PetscCall(PetscMalloc((size_t)len, &buf));
  for (long long off = 0; off < len; off += H5_SHARE_PIECE) {
    long long n = len - off < H5_SHARE_PIECE ? len - off : H5_SHARE_PIECE;
    PetscCall(par_bcast_bytes(comm, buf + off, (size_t)n));
  }
  PetscCall(PetscStrncpy(share[nshare].path, path, sizeof(share[nshare].path)));
  share[nshare].buf = buf;
  share[nshare].len = (size_t)len;
  nshare++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscBool h5_shared_image(const char *path, const void **buf, size_t *len)
{
  int i = share_find(path);
  if (i < 0) return PETSC_FALSE;
  *buf = share[i].buf;
  *len = share[i].len;
  return PETSC_TRUE;
}

PetscInt h5_shared_count(void) { return nshare; }

PetscErrorCode h5_share_free(void)
{
  PetscFunctionBeginUser;
  for (int i = 0; i < nshare; i++) PetscCall(PetscFree(share[i].buf));
  nshare = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}
