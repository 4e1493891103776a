/* A stored CHEMPY table (a `simulate -prior gauss` file) as the amortised
 * estimators' simulator, in place of the emulator: the clean (theta, x) of
 * usable row u (status ok, in file order), to which npe_train adds noise with
 * sim_observe (emu_sim.h), keyed by the simulation's global index. Every
 * rank reads only the rows it trains on, so memory does not grow with the
 * table, and row u is the same for every rank count. */
#ifndef CHEMPYSBI_SIM_TABLE_H
#define CHEMPYSBI_SIM_TABLE_H

#include <chempysbi/h5.h>

typedef struct {
  char path[PETSC_MAX_PATH_LEN];
  char chempy[512];    /* the CHEMPY configuration that made the table */
  PetscInt nraw, nuse; /* rows in the file; usable ones */
  PetscInt *raw;       /* raw row of usable row u, u < nuse */
  H5File f;            /* open read-only on PETSC_COMM_SELF */
} SimTable;

/* Open on every rank; the table must be drawn from the gauss prior (the NPE's) and complete. */
PetscErrorCode sim_table_open(MPI_Comm comm, const char *opt, const char *path, SimTable *t);
/* Usable rows u0 .. u0 + n - 1, wrapping round at `wrap` (n <= wrap <= nuse): th (n, 6), x (n, 8). */
PetscErrorCode sim_table_rows(SimTable *t, PetscInt u0, PetscInt n, PetscInt wrap, double *th, double *x);
PetscErrorCode sim_table_close(SimTable *t);

#endif
