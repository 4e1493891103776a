/* placeholder */
#include "gce_internal.h"
struct OdeCohorts { int dummy; };
PetscErrorCode ode_create(const GceYields *y, const GceConfig *c, OdeCohorts **o) { PetscFunctionBeginUser; PetscCall(PetscCalloc1(1, o)); PetscFunctionReturn(PETSC_SUCCESS); }
PetscErrorCode ode_destroy(OdeCohorts **o) { PetscFunctionBeginUser; if (o) PetscCall(PetscFree(*o)); PetscFunctionReturn(PETSC_SUCCESS); }
GceStatus ode_run(OdeCohorts *o, const GceParams *p, GceImf *imf, double G9[GCE_NE], double *hist, PetscInt *nhist, GceRunStats *stats) { *nhist = 0; return GCE_SOLVER_FAILURE; }
