/* Star catalogues: the eight abundances of each star (with optional errors
 * and ids) from a CSV file with a header or an HDF5 file, columns matched by
 * name, and every star with a missing or non-finite value reported and flagged. */
#ifndef CHEMPYSBI_CAT_H
#define CHEMPYSBI_CAT_H

#include <chempysbi/common.h>

#define CAT_ID_LEN 64 /* ids are fixed-length strings: one MPI_Bcast of n * CAT_ID_LEN chars */

typedef struct {
  PetscInt n;                      /* stars in the file, usable or not */
  double *abund;                   /* (n, CS_NELEM) [dex], cs_elem_names order */
  double *err;                     /* (n, CS_NELEM) [dex], NaN where the file has no error column */
  PetscBool err_present[CS_NELEM]; /* the file has an error column for this element */
  char (*ids)[CAT_ID_LEN];         /* (n) the file's ids, or the row index 0, 1, ... when it has none */
  PetscBool *usable;               /* (n) every abundance finite, every given error finite and >= 0 */
  PetscInt nunusable;              /* stars flagged unusable */
} Catalogue;

/* Read a catalogue on the calling process only (serial, PETSC_COMM_SELF; the
 * caller reads on rank 0 and broadcasts). HDF5 is recognised by its file
 * signature, anything else is read as CSV:
 *  - CSV: header naming C_Fe, Fe_H, He_Fe, Mg_Fe, N_Fe, Ne_Fe, O_Fe, Si_Fe in any
 *    order (all required), optional <name>_err columns and an optional id column
 *    "id"; extra columns are ignored; empty fields and "nan" are missing values.
 *  - HDF5: /abundances [N, 8] whose "columns" attribute names the eight elements
 *    in any order; optional /errors [N, 8] with its own "columns" attribute (the
 *    element names, or <name>_err); optional /ids [N] of strings (fixed or
 *    variable length; longer ids are cut to CAT_ID_LEN - 1 characters).
 * Malformed files (missing column or dataset, wrong shape) are errors naming
 * the file and the column or dataset. A star with a bad value is not an error:
 * it is flagged unusable and reported on stderr with its id and column(s). */
PetscErrorCode cat_read(const char *path, Catalogue *c);
/* Write abundances, errors (if any element has them) and ids to an HDF5 file
 * that cat_read reads back (serial). */
PetscErrorCode cat_write_h5(const char *path, const Catalogue *c);
/* Allocate a catalogue of n stars: abundances and errors NaN, ids the row
 * index, no error columns, all usable until cat_check is called. */
PetscErrorCode cat_alloc(PetscInt n, Catalogue *c);
/* Recompute usable and nunusable from the values; with report, print one line
 * per unusable star on stderr (what cat_read does). */
PetscErrorCode cat_check(Catalogue *c, const char *path, PetscBool report);
/* Why star i is unusable, e.g. "star 's7' (row 6): no valid value for Mg_Fe,
 * O_Fe_err" (rows count from 0); empty when it is usable. */
void cat_star_problem(const Catalogue *c, PetscInt i, char *buf, size_t len);
PetscErrorCode cat_destroy(Catalogue *c);

#endif
