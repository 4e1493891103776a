/* Input and output safety: what kind of file a path holds, refusal to replace
 * inputs or files of another kind, and the writer's lock. Rank 0 looks at the
 * file system and broadcasts one verdict, so every rank fails together with
 * the same message, before any MPI-IO open could add its own noise. */
#include <chempysbi/par.h>
#include <chempysbi/guard.h>
#include <hdf5.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define GUARD_MSG_LEN (3 * PETSC_MAX_PATH_LEN + 512)

/* Rank 0 found msg (empty = fine): every rank raises it. */
static PetscErrorCode guard_verdict(MPI_Comm comm, char *msg, PetscErrorCode code)
{
  PetscFunctionBeginUser;
  PetscCall(par_bcast_bytes(comm, msg, GUARD_MSG_LEN));
  PetscCheck(!msg[0], comm, code, "%s", msg);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static const struct {
  const char *kind, *phrase;
} kinds[] = {
    {"simulate", "a training set (simulate output)"},
    {"train-emulator", "an emulator (train-emulator output)"},
    {"train-npe", "an NPE (train-npe output)"},
    {"validate", "a validation result (validate output)"},
    {"infer", "an inference result (infer output)"},
    {"coverage", "a coverage result (coverage output)"},
    {"coverage checkpoint", "a coverage checkpoint"},
    {"abc", "an ABC result (abc output)"},
    {"train-nre", "a ratio estimator (train-nre output)"},
    {"train-nre checkpoint", "a ratio-estimator checkpoint"},
    {"nre", "NRE posteriors (nre output)"},
    {"catalogue", "a star catalogue (HDF5)"},
    {"train-emulator checkpoint", "an emulator checkpoint"},
    {"train-npe checkpoint", "an NPE checkpoint"},
    {"hdf5", "an HDF5 file without chempysbi provenance"},
    {"simulate-csv", "a simulate output (CSV)"},
    {"emulate-csv", "an emulate output (CSV)"},
    {"mock-csv", "a mock catalogue (mock output, CSV)"},
    {"params-csv", "a parameter table (CSV)"},
    {"catalogue-csv", "a star catalogue (CSV)"},
    {"fits", "a FITS file (e.g. a survey catalogue)"},
    {"history-csv", "an ISM history (simulate -history, CSV)"},
    {"text", "a text file"},
    {"file", "a binary file that is not HDF5"},
    {"directory", "a directory"},
    {"empty", "an empty file"},
};

const char *guard_kind_phrase(const char *kind)
{
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (!strcmp(kinds[i].kind, kind)) return kinds[i].phrase;
  return kind;
}

/* A string attribute of "/" (serial, no HDF5 file locking); empty when absent. */
static void guard_h5_attr(const char *path, const char *name, char *val, size_t len)
{
  hid_t fapl, f, a, t, mt;
  val[0] = 0;
  H5E_BEGIN_TRY
  {
    fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f >= 0 && H5Aexists(f, name) > 0 && (a = H5Aopen(f, name, H5P_DEFAULT)) >= 0) {
      t = H5Aget_type(a);
      size_t sz = H5Tget_size(t);
      if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && sz < len) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        if (H5Aread(a, mt, val) >= 0)
          val[sz] = 0;
        else
          val[0] = 0;
        H5Tclose(mt);
      }
      H5Tclose(t);
      H5Aclose(a);
    }
    if (f >= 0) H5Fclose(f);
  }
  H5E_END_TRY;
}

static PetscBool has_field(char *const f[], int n, const char *name)
{
  for (int i = 0; i < n; i++)
    if (!strcmp(f[i], name)) return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Kind of a text file from its header line (fields trimmed, BOM skipped). */
static const char *guard_csv_kind(char *line)
{
  char *f[256], *save = NULL;
  int n = 0;
  if (!strncmp(line, "\xEF\xBB\xBF", 3)) line += 3;
  for (char *tok = strtok_r(line, ",\r\n", &save); tok && n < 256; tok = strtok_r(NULL, ",\r\n", &save)) {
    while (*tok == ' ' || *tok == '\t') tok++;
    char *e = tok + strlen(tok);
    while (e > tok && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    f[n++] = tok;
  }
  if (n > 0 && !strcmp(f[0], "time_Gyr")) return "history-csv";
  if (has_field(f, n, "true_alpha_IMF")) return "mock-csv";
  if (has_field(f, n, "alpha_IMF") && has_field(f, n, "status")) return "simulate-csv";
  if (has_field(f, n, "alpha_IMF") && has_field(f, n, "C_Fe")) return "emulate-csv";
  if (has_field(f, n, "alpha_IMF")) return "params-csv";
  if (has_field(f, n, "Fe_H") || has_field(f, n, "C_Fe")) return "catalogue-csv";
  return "text";
}

PetscErrorCode guard_file_kind(const char *path, char *kind, size_t len)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  struct stat sb;
  char head[4096];
  PetscFunctionBeginUser;
  kind[0] = 0;
  if (stat(path, &sb)) PetscFunctionReturn(PETSC_SUCCESS);
  if (S_ISDIR(sb.st_mode)) {
    PetscCall(PetscStrncpy(kind, "directory", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (S_ISREG(sb.st_mode) && sb.st_size == 0) {
    PetscCall(PetscStrncpy(kind, "empty", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    PetscCall(PetscStrncpy(kind, "file", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  size_t got = fread(head, 1, sizeof(head) - 1, fp);
  fclose(fp);
  head[got] = 0;
  if (got >= 8 && !memcmp(head, sig, 8)) {
    guard_h5_attr(path, "command", kind, len);
    if (!kind[0]) PetscCall(PetscStrncpy(kind, "hdf5", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (got >= 9 && !memcmp(head, "SIMPLE  =", 9)) { /* FITS: 2880-byte ASCII header blocks, no newlines */
    PetscCall(PetscStrncpy(kind, "fits", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (memchr(head, 0, got)) {
    PetscCall(PetscStrncpy(kind, "file", len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  char *nl = strchr(head, '\n');
  if (nl) *nl = 0;
  PetscCall(PetscStrncpy(kind, guard_csv_kind(head), len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_file_identity(MPI_Comm comm, const char *path, char *buf, size_t len)
{
  int rank;
  PetscFunctionBeginUser;
  PetscCall(par_comm_rank(comm, &rank));
  if (rank == 0) {
    char abs[PETSC_MAX_PATH_LEN], when[64];
    struct stat sb;
    if (!realpath(path, abs)) snprintf(abs, sizeof(abs), "%s", path);
    if (stat(path, &sb)) sb.st_size = -1;
    guard_h5_attr(path, "created_utc", when, sizeof(when));
    snprintf(buf, len, "%s:%lld:%s", abs, (long long)sb.st_size, when);
  }
  PetscCall(par_bcast_bytes(comm, buf, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* kind is one of the comma-separated list. */
static PetscBool kind_in(const char *kind, const char *list)
{
  size_t n = strlen(kind);
  for (const char *p = list; p && *p;) {
    const char *c = strchr(p, ',');
    size_t m = c ? (size_t)(c - p) : strlen(p);
    if (m == n && !strncmp(p, kind, n)) return PETSC_TRUE;
    p = c ? c + 1 : NULL;
  }
  return PETSC_FALSE;
}

/* "an NPE (train-npe output)" for the first kind of a list (what a user should give). */
static const char *want_phrase(const char *list, char *buf, size_t len)
{
  const char *c = strchr(list, ',');
  size_t m = c ? (size_t)(c - list) : strlen(list);
  snprintf(buf, len, "%.*s", (int)m, list);
  return guard_kind_phrase(buf);
}

PetscErrorCode guard_input(MPI_Comm comm, const char *opt, const char *path, const char *want)
{
  char msg[GUARD_MSG_LEN] = "", kind[GUARD_KIND_LEN], w[GUARD_KIND_LEN];
  int rank;
  PetscFunctionBeginUser;
  PetscCall(par_comm_rank(comm, &rank));
  if (rank == 0) {
    struct stat sb;
    PetscCall(guard_file_kind(path, kind, sizeof(kind)));
    if (stat(path, &sb))
      snprintf(msg, sizeof(msg), "%s %s: cannot read it (%s)", opt, path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
      snprintf(msg, sizeof(msg), "%s %s is a directory, expected a file", opt, path);
    else if (access(path, R_OK))
      snprintf(msg, sizeof(msg), "%s %s: cannot read it (%s)", opt, path, strerror(errno));
    else if (want && !kind_in(kind, want))
      snprintf(msg, sizeof(msg), "%s %s is %s, expected %s", opt, path, guard_kind_phrase(kind),
               want_phrase(want, w, sizeof(w)));
  }
  PetscCall(guard_verdict(comm, msg, PETSC_ERR_FILE_OPEN));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_output(MPI_Comm comm, const char *opt, const char *path, const char *kind,
                            const char *const in_opts[], const char *const in_paths[], PetscInt ninputs,
                            PetscBool replace)
{
  char msg[GUARD_MSG_LEN] = "", have[GUARD_KIND_LEN], dir[PETSC_MAX_PATH_LEN];
  int rank;
  PetscFunctionBeginUser;
  PetscCall(par_comm_rank(comm, &rank));
  if (rank == 0 && path[0]) {
    struct stat so, si;
    PetscCall(PetscStrncpy(dir, path, sizeof(dir)));
    const char *d = dirname(dir);
    PetscBool exists = stat(path, &so) == 0 ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(guard_file_kind(path, have, sizeof(have)));
    if (exists && S_ISDIR(so.st_mode))
      snprintf(msg, sizeof(msg), "%s %s is a directory: give a file name", opt, path);
    else if (access(d, W_OK))
      snprintf(msg, sizeof(msg), "%s %s: cannot write in directory %s (%s)", opt, path, d, strerror(errno));
    else if (exists && access(path, W_OK))
      snprintf(msg, sizeof(msg), "%s %s: the file is not writable (%s)", opt, path, strerror(errno));
    for (PetscInt i = 0; exists && !msg[0] && i < ninputs; i++)
      if (in_paths[i] && in_paths[i][0] && !stat(in_paths[i], &si) && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        snprintf(msg, sizeof(msg), "%s %s is the input %s %s: refusing to overwrite an input", opt, path, in_opts[i],
                 in_paths[i]);
    if (exists && !msg[0] && strcmp(have, "empty")) {
      if (strcmp(have, kind))
        snprintf(msg, sizeof(msg),
                 "%s %s exists and is %s, not %s: refusing to replace it (remove it or choose another %s)", opt, path,
                 guard_kind_phrase(have), guard_kind_phrase(kind), opt);
      else if (!replace)
        snprintf(msg, sizeof(msg), "%s %s exists (%s): give -force to replace it", opt, path, guard_kind_phrase(have));
    }
  }
  PetscCall(guard_verdict(comm, msg, PETSC_ERR_FILE_WRITE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The lock this process holds, so that an error exit can remove its file
 * (guard_abort_cleanup); the kernel releases the lock itself in any case. */
static GuardLock *guard_held;

void guard_abort_cleanup(void)
{
  if (guard_held && guard_held->fd >= 0) unlink(guard_held->path);
}

PetscErrorCode guard_lock(MPI_Comm comm, const char *out, GuardLock *lk)
{
  char msg[GUARD_MSG_LEN] = "";
  int rank;
  PetscFunctionBeginUser;
  PetscCall(par_comm_rank(comm, &rank));
  lk->fd = -1;
  PetscCall(PetscSNPrintf(lk->path, sizeof(lk->path), "%s.lock", out));
  /* Retry when the file we locked was removed by the holder in between (its
   * inode is no longer the one under the name): then we hold nothing. */
  for (int attempt = 0; rank == 0 && attempt < 10 && lk->fd < 0 && !msg[0]; attempt++) {
    struct stat a, b;
    int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
      snprintf(msg, sizeof(msg), "cannot create the lock file %s (%s): is the directory writable?", lk->path,
               strerror(errno));
      break;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
      int e = errno;
      close(fd);
      if (e == EWOULDBLOCK)
        snprintf(msg, sizeof(msg),
                 "another process is writing %s (it holds the lock %s): wait for it to finish or choose another "
                 "output (the ranks of a run just killed may take a few seconds to exit)",
                 out, lk->path);
      else { /* a file system without locks: say so, and go on unprotected */
        fprintf(stderr, "warning: cannot lock %s (%s): a concurrent writer of %s would not be detected\n", lk->path,
                strerror(e), out);
        unlink(lk->path);
        break;
      }
      break;
    }
    if (fstat(fd, &a) || stat(lk->path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
      close(fd);
      continue;
    }
    lk->fd = fd;
    guard_held = lk;
  }
  PetscCall(guard_verdict(comm, msg, PETSC_ERR_FILE_WRITE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_unlock(GuardLock *lk)
{
  PetscFunctionBeginUser;
  if (lk->fd >= 0) {
    unlink(lk->path); /* while still held: a waiter then finds the inode gone and retries */
    close(lk->fd);
  }
  if (guard_held == lk) guard_held = NULL;
  lk->fd = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}
