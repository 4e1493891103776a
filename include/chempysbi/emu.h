/* The CHEMPY emulator: an MLP from the six parameters to the eight abundances,
 * with the input and output standardisation it was trained with. Stored in
 * HDF5 as one flat parameter vector plus sizes and standardisation. */
#ifndef CHEMPYSBI_EMU_H
#define CHEMPYSBI_EMU_H

#include <chempysbi/h5.h>
#include <chempysbi/mlp.h>

typedef struct {
  Mlp *mlp; /* sizes {6, hidden..., 8} */
  double in_mean[CS_NPARAM], in_sd[CS_NPARAM];
  double out_mean[CS_NELEM], out_sd[CS_NELEM];
  double *xbuf, *ybuf; /* (max_batch, 6), (max_batch, 8) scratch for predict */
} Emulator;

PetscErrorCode emu_create(const PetscInt *hidden, PetscInt nhidden, int max_batch, Emulator **e);
PetscErrorCode emu_destroy(Emulator **e);
/* Model datasets under group (e.g. "/emulator"): params, sizes, in/out mean and sd. */
PetscErrorCode emu_write_h5(const Emulator *e, H5File *f, const char *group);
/* Read a model file on every rank (PETSC_COMM_SELF); errors name file and what is wrong. */
PetscErrorCode emu_read_h5(const char *path, const char *group, int max_batch, Emulator **e);
/* The CHEMPY configuration (gce_config_string) a file records in attribute attr of "/":
   simulate files in "config", emulator and NPE files in "chempy_config" (the CHEMPY that
   made their training set). Completed for older files (gce_config_string_complete); ""
   when the file records none. Collective on comm. */
PetscErrorCode emu_chempy_config_read(MPI_Comm comm, const char *path, const char *attr, char *out, size_t len);
PetscErrorCode emu_chempy_config_read_open(H5File *f, const char *attr, char *out, size_t len);
/* Standardise inputs with the stored statistics (n rows). */
void emu_standardise_in(const Emulator *e, const double *theta, size_t n, double *x);
/* abundances (n, 8) in dex for parameter rows theta (n, 6). */
void emu_predict(Emulator *e, const double *theta, size_t n, double *abund);

#endif
