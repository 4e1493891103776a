/* Star catalogues: the eight abundances of each star with per-star,
 * per-element errors and ids, from CSV, HDF5 or FITS binary tables, columns
 * matched by name through a column map (ours, APOGEE, GALAH or a map file).
 * A flagged, non-finite or sentinel value is *missing* (NaN), not a reason to
 * drop the star; a star with fewer present elements than a minimum is left
 * out and reported by id. */
#ifndef CHEMPYSBI_CAT_H
#define CHEMPYSBI_CAT_H

#include <chempysbi/common.h>
#include <chempysbi/par.h>

#define CAT_ID_LEN  64 /* ids are fixed-length strings: one MPI_Bcast of n * CAT_ID_LEN chars */
#define CAT_COL_LEN 64 /* longest column name of a map */

/* Why value (i, e) is missing; CAT_PRESENT (0) when it is not. */
typedef enum {
  CAT_PRESENT = 0,
  CAT_NO_VALUE = 1,  /* empty, NaN or infinite in the file */
  CAT_SENTINEL = 2,  /* |value| >= bad_above, e.g. APOGEE's -9999.99 */
  CAT_FLAGGED = 3,   /* the element's flag column is non-zero */
  CAT_BAD_ERROR = 4, /* the error column exists but holds no usable error (empty, NaN, negative) */
  CAT_NO_COLUMN = 5, /* the file (or the map) has no column for this element */
  CAT_NREASON = 6
} CatMissing;
extern const char *const cat_missing_names[CAT_NREASON];

typedef struct {
  PetscInt n;                      /* stars in the file, usable or not */
  double *abund;                   /* (n, CS_NELEM) [dex], cs_elem_names order; NaN = missing */
  double *err;                     /* (n, CS_NELEM) [dex] effective sigma (error column or default, at least the
                                      floor) after cat_read; NaN where the abundance is missing */
  PetscBool err_present[CS_NELEM]; /* the file has an error column for this element */
  char (*ids)[CAT_ID_LEN];         /* (n) the file's ids, or the row index 0, 1, ... when it has none */
  PetscBool *usable;               /* (n) at least min_elements present, as set by cat_check */
  PetscInt nunusable;              /* stars flagged unusable */
  unsigned char *missing;          /* (n, CS_NELEM) CatMissing reason per value, CAT_PRESENT = 0 */
  PetscInt min_elements;           /* the minimum cat_check applied */
} Catalogue;

/* Where each quantity of a survey lives: a column name, or "" for none. */
typedef struct {
  char name[PETSC_MAX_PATH_LEN]; /* chempysbi, apogee, galah or the map file */
  char val[CS_NELEM][CAT_COL_LEN], err[CS_NELEM][CAT_COL_LEN], flag[CS_NELEM][CAT_COL_LEN];
  char id[CAT_COL_LEN];
  PetscBool required; /* every named value column must be in the file (our own format); else an absent
                         column makes that element missing for every star */
  double bad_above;   /* |value| at or above this is a sentinel: 900 for the surveys (APOGEE's -9999.99),
                         infinity for ours (we write NaN); -bad_above in a map file */
} CatColumns;

/* Reading options (-columns, -min_elements, -error_floor, -error_default, -bad_above). */
typedef struct {
  char columns[PETSC_MAX_PATH_LEN]; /* chempysbi | apogee | galah | FILE.opts */
  PetscInt min_elements;            /* a star needs this many present elements (default 1) */
  double error_floor;               /* [dex] lower bound on every error (default 0.01) */
  double error_default;             /* [dex] error of an element without an error column (default 0.05) */
  double bad_above;                 /* |value| at or above this is a sentinel (default -1: the map's) */
} CatOptions;

PetscErrorCode cat_options_default(CatOptions *o);
/* The reading options of a command, in its own options block. */
PetscErrorCode cat_options_set_from_options(MPI_Comm comm, CatOptions *o);
/* A column map by name: "chempysbi" (C_Fe, C_Fe_err, C_Fe_flag, id; value columns
 * required), "apogee" (C_FE, C_FE_ERR, C_FE_FLAG, ..., FE_H, APOGEE_ID; no He, Ne),
 * "galah" (C_fe, e_C_fe, flag_C_fe, ..., fe_h, sobject_id; no He, Ne), or a map
 * file of PETSc options: -like chempysbi|apogee|galah (the start, default
 * chempysbi), -id NAME, -<elem> NAME, -<elem>_err NAME, -<elem>_flag NAME (NAME
 * "none" for no column), -required true|false, -bad_above V. Unknown keys are errors. */
PetscErrorCode cat_columns_get(const char *spec, CatColumns *m);

/* Read a catalogue on the calling process only (serial, PETSC_COMM_SELF; the
 * caller reads on rank 0 and broadcasts). HDF5 and FITS are recognised by their
 * file signatures, anything else is read as CSV:
 *  - CSV and FITS (first binary or ASCII table): columns named by the map (FITS
 *    names match case-insensitively, as FITS wants); empty fields and "nan" are
 *    missing values; extra columns are ignored; string or integer id columns.
 *  - HDF5: /abundances [N, 8] whose "columns" attribute names the eight elements
 *    in any order; optional /errors [N, 8] with its own "columns" attribute (the
 *    element names, or <name>_err); optional /flags [N, 8] likewise; optional
 *    /ids [N] of strings (fixed or variable length; longer ids are cut to
 *    CAT_ID_LEN - 1 characters). The map must be chempysbi.
 * Malformed files (missing required column or dataset, wrong shape) are errors
 * naming the file and the column or dataset. Bad values are not errors: they
 * become missing (reason in c->missing); err becomes the effective sigma; stars
 * below -min_elements are flagged unusable and reported on stderr by id. A
 * summary line (per element: present, flagged, ...) goes to stdout. */
PetscErrorCode cat_read_opts(const char *path, const CatOptions *o, Catalogue *c);
/* cat_read_opts with cat_options_default. */
PetscErrorCode cat_read(const char *path, Catalogue *c);
/* Write abundances, errors (if any element has them) and ids to an HDF5 file
 * that cat_read reads back (serial). */
PetscErrorCode cat_write_h5(const char *path, const Catalogue *c);
/* Write a table of doubles (NaN = missing) with named columns as CSV, or as a
 * FITS binary table (one 1D column each) when path ends in .fits or .fit;
 * atomically (temporary name, then rename). */
PetscErrorCode cat_write_table(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                               const double *data);
/* Allocate a catalogue of n stars: abundances and errors NaN, ids the row
 * index, no error columns, nothing missing, min_elements 1, all usable until
 * cat_check is called. */
PetscErrorCode cat_alloc(PetscInt n, Catalogue *c);
/* Mark every non-finite abundance missing, count present elements and set
 * usable (>= min) and nunusable; with report, print one line per unusable star
 * on stderr (what cat_read does). */
PetscErrorCode cat_check(Catalogue *c, PetscInt min_elements, const char *path, PetscBool report);
/* Present elements of star i. */
int cat_npresent(const Catalogue *c, PetscInt i);
/* Why star i is unusable, e.g. "star 's7' (row 6): 6 of 8 elements present, fewer
 * than -min_elements 7 (missing: Mg_Fe flagged, O_Fe no value)" (rows count from
 * 0); empty when it is usable. */
void cat_star_problem(const Catalogue *c, PetscInt i, char *buf, size_t len);
PetscErrorCode cat_destroy(Catalogue *c);

/* FITS binary tables (src/io/cat_fits.c). Read the named columns (any may be
 * absent unless required[k]) of the first table of path into data (nrows,
 * ncols) row-major, NaN for nulls; present[k] says which exist; ids (nrows)
 * from id_col (string or numeric) when it exists, else NULL. The caller frees
 * data, present and ids with PetscFree. */
PetscErrorCode cat_fits_read(const char *path, PetscInt ncols, const char *const names[], const PetscBool required[],
                             const char *id_col, PetscInt *nrows, double **data, PetscBool **present,
                             char (**ids)[CAT_ID_LEN]);
PetscErrorCode cat_fits_write(const char *path, PetscInt ncols, const char *const names[], PetscInt nrows,
                              const double *data);
/* The file starts with the FITS primary header ("SIMPLE  =") or the HDF5 signature. */
PetscBool cat_is_fits(const char *path);

/* Rank 0's catalogue to every rank (src/par/par_cat.c; collective). */
PetscErrorCode par_bcast_catalogue(const ParCtx *ctx, Catalogue *cat);

#endif
