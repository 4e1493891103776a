/* Shared definitions for every chempysbi module: error adapters for the
 * non-PETSc libraries, parameter and element names, and small helpers. */
#ifndef CHEMPYSBI_COMMON_H
#define CHEMPYSBI_COMMON_H

#include <petscsys.h>

/* PETSc 3.18 (Debian 12) predates PETSC_SUCCESS. */
#if PETSC_VERSION_LT(3, 19, 0)
#define PETSC_SUCCESS ((PetscErrorCode)0)
#endif

/* The parameters and observables (names, units, bounds, priors, counts
 * CS_NPARAM and CS_NELEM): one table each. */
#include <chempysbi/vars.h>

/* HDF5 calls return a negative value on failure: turn that into a PETSc
 * error naming the call. Use as H5Call(id = H5Fopen(...)). */
#define H5Call(expr)                                                                                                   \
  do {                                                                                                                 \
    if ((expr) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "HDF5 call failed: %s", #expr);                \
  } while (0)

/* SUNDIALS calls return a negative flag on failure. */
#define SUNCall(expr)                                                                                                  \
  do {                                                                                                                 \
    int sun_flag_ = (expr);                                                                                            \
    if (sun_flag_ < 0)                                                                                                 \
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "SUNDIALS call failed (flag %d): %s", sun_flag_, #expr);                 \
  } while (0)

/* Default CHEMPY data directory (env CHEMPYSBI_DATA, else ../shared/chempy-data beside the project). */
void cs_default_data_dir(char *buf, size_t len);

/* Wall clock in seconds. */
double cs_wtime(void);

#endif
