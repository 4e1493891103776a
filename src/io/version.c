/* Program and library versions, and the provenance attributes written on
 * every output file, so a result can always be traced to what made it. */
#include <chempysbi/par.h>
#include <chempysbi/h5.h>
#include <sundials/sundials_version.h>
#include <stdlib.h>
#include <time.h>
#include "version.h"

const char *cs_version(void) { return CS_GIT_VERSION; }

PetscErrorCode cs_library_versions(char *buf, size_t len)
{
  char petsc[128], mpi[MPI_MAX_LIBRARY_VERSION_STRING], sun[64];
  unsigned hmaj, hmin, hrel;
  PetscFunctionBeginUser;
  PetscCall(PetscGetVersion(petsc, sizeof(petsc)));
  H5Call(H5get_libversion(&hmaj, &hmin, &hrel));
  SUNCall(SUNDIALSGetVersion(sun, sizeof(sun)));
  PetscCall(par_mpi_library_version(mpi));
  for (char *p = mpi; *p; p++) /* first line only: Open MPI adds build details */
    if (*p == '\n' || *p == ',') {
      *p = 0;
      break;
    }
  PetscCall(PetscSNPrintf(buf, len, "compiler: %s\nPETSc: %s\nHDF5: %u.%u.%u (parallel)\nSUNDIALS: %s\nMPI: %s",
#if defined(__clang__)
                          "clang " __clang_version__,
#elif defined(__GNUC__)
                          "gcc " __VERSION__,
#else
                          "unknown",
#endif
                          petsc, hmaj, hmin, hrel, sun, mpi));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode h5_write_provenance(H5File *f, const char *command)
{
  char *opts, libs[1024], when[64] = "";
  int rank, size;
  PetscInt nranks;
  PetscFunctionBeginUser;
  PetscCall(par_comm_rank(f->comm, &rank));
  PetscCall(par_comm_size(PETSC_COMM_WORLD, &size));
  if (rank == 0) { /* one clock for all ranks: attribute values must agree */
    time_t t = time(NULL);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
  }
  PetscCall(par_bcast_bytes(f->comm, when, sizeof(when)));
  PetscCall(PetscOptionsGetAll(NULL, &opts));
  PetscCall(cs_library_versions(libs, sizeof(libs)));
  nranks = size;
  const char *job = getenv("SLURM_JOB_ID");
  PetscCall(h5_attr_write_str(f, "/", "program", "chempysbi"));
  PetscCall(h5_attr_write_str(f, "/", "version", cs_version()));
  PetscCall(h5_attr_write_str(f, "/", "command", command));
  PetscCall(h5_attr_write_str(f, "/", "options", opts ? opts : ""));
  PetscCall(h5_attr_write_int(f, "/", "mpi_ranks", 1, &nranks));
  PetscCall(h5_attr_write_str(f, "/", "slurm_job_id", job ? job : ""));
  PetscCall(h5_attr_write_str(f, "/", "created_utc", when));
  PetscCall(h5_attr_write_str(f, "/", "libraries", libs));
  PetscCall(PetscFree(opts));
  PetscFunctionReturn(PETSC_SUCCESS);
}
