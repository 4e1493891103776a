/* placeholder */
#include "gce_internal.h"
PetscErrorCode gce_yields_load_alt(const char *data_dir, GceYields *y) { PetscFunctionBeginUser; SETERRQ(PETSC_COMM_SELF, PETSC_ERR_SUP, "alt not yet"); }
