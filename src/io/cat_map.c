/* Column maps and reading options of star catalogues. The survey maps are
 * derived from the element names by each survey's naming rule (APOGEE upper
 * case with _ERR/_FLAG, GALAH lower-case element tail with e_/flag_), so the
 * element list stays defined once, in cs_elem_names. */
#include <chempysbi/cat.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

PetscErrorCode cat_options_default(CatOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  PetscCall(PetscStrncpy(o->columns, "chempysbi", sizeof(o->columns)));
  o->min_elements = 1;
  o->error_floor = 0.01;
  o->error_default = 0.05;
  o->bad_above = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_options_set_from_options(MPI_Comm comm, CatOptions *o)
{
  PetscFunctionBeginUser;
  PetscOptionsBegin(comm, NULL, "star catalogue: columns, missing values and errors", "catalogue");
  PetscCall(PetscOptionsString("-columns", "column map: chempysbi, apogee, galah or a map file (.opts)", NULL,
                               o->columns, o->columns, sizeof(o->columns), NULL));
  PetscCall(PetscOptionsInt("-min_elements", "stars with fewer present elements are left out and reported", NULL,
                            o->min_elements, &o->min_elements, NULL));
  PetscCall(PetscOptionsReal("-error_floor", "lower bound on every abundance error [dex]", NULL, o->error_floor,
                             &o->error_floor, NULL));
  PetscCall(PetscOptionsReal("-error_default", "error of an element the catalogue has no error column for [dex]", NULL,
                             o->error_default, &o->error_default, NULL));
  PetscCall(PetscOptionsReal("-bad_above",
                             "|value| at or above this is a sentinel, i.e. missing [dex] (-1: the column map's, 900 "
                             "for apogee and galah, none for chempysbi)",
                             NULL, o->bad_above, &o->bad_above, NULL));
  PetscOptionsEnd();
  PetscCheck(o->min_elements >= 0 && o->min_elements <= CS_NELEM, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "-min_elements %" PetscInt_FMT ": must be in 0..%d", o->min_elements, CS_NELEM);
  PetscCheck(o->error_floor >= 0 && o->error_default > 0 && (o->bad_above > 0 || o->bad_above == -1), comm,
             PETSC_ERR_ARG_OUTOFRANGE,
             "-error_floor %g must be >= 0, -error_default %g > 0 and -bad_above %g > 0 (or -1)", o->error_floor,
             o->error_default, o->bad_above);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* He and Ne are not measured in stellar spectra: the surveys have no columns. */
static PetscBool cat_unobserved(int e)
{
  return (!strcmp(cs_elem_names[e], "He_Fe") || !strcmp(cs_elem_names[e], "Ne_Fe")) ? PETSC_TRUE : PETSC_FALSE;
}

static PetscErrorCode cat_columns_preset(const char *name, CatColumns *m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  PetscCall(PetscStrncpy(m->name, name, sizeof(m->name)));
  for (int e = 0; e < CS_NELEM; e++) {
    const char *s = cs_elem_names[e];
    char low[CAT_COL_LEN], up[CAT_COL_LEN];
    size_t k, u = strchr(s, '_') - s; /* "Mg" of "Mg_Fe" */
    for (k = 0; s[k] && k < CAT_COL_LEN - 1; k++) {
      up[k] = (char)toupper((unsigned char)s[k]);
      low[k] = k < u ? s[k] : (char)tolower((unsigned char)s[k]); /* Mg_fe */
    }
    up[k] = low[k] = 0;
    if (!strcmp(s, "Fe_H")) PetscCall(PetscStrncpy(low, "fe_h", sizeof(low))); /* GALAH's [Fe/H] */
    if (!strcmp(name, "chempysbi")) {
      PetscCall(PetscSNPrintf(m->val[e], CAT_COL_LEN, "%s", s));
      PetscCall(PetscSNPrintf(m->err[e], CAT_COL_LEN, "%s_err", s));
      PetscCall(PetscSNPrintf(m->flag[e], CAT_COL_LEN, "%s_flag", s));
    } else if (cat_unobserved(e))
      continue;
    else if (!strcmp(name, "apogee")) {
      PetscCall(PetscSNPrintf(m->val[e], CAT_COL_LEN, "%s", up));
      PetscCall(PetscSNPrintf(m->err[e], CAT_COL_LEN, "%s_ERR", up));
      PetscCall(PetscSNPrintf(m->flag[e], CAT_COL_LEN, "%s_FLAG", up));
    } else {
      PetscCall(PetscSNPrintf(m->val[e], CAT_COL_LEN, "%s", low));
      PetscCall(PetscSNPrintf(m->err[e], CAT_COL_LEN, "e_%s", low));
      PetscCall(PetscSNPrintf(m->flag[e], CAT_COL_LEN, "flag_%s", low));
    }
  }
  m->required = !strcmp(name, "chempysbi") ? PETSC_TRUE : PETSC_FALSE;
  m->bad_above = !strcmp(name, "chempysbi") ? INFINITY : 900; /* surveys write -9999.99, we write NaN */
  PetscCall(PetscStrncpy(m->id,
                         !strcmp(name, "chempysbi") ? "id"
                         : !strcmp(name, "apogee")  ? "APOGEE_ID"
                                                    : "sobject_id",
                         sizeof(m->id)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One entry of a map file: "none" clears the column. */
static PetscErrorCode cat_map_entry(PetscOptions o, const char *path, const char *key, char *col)
{
  char buf[CAT_COL_LEN];
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(o, NULL, key, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(buf[0], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "column map %s: %s needs a column name (or none)", path,
             key);
  PetscCall(PetscStrncpy(col, strcmp(buf, "none") ? buf : "", CAT_COL_LEN));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode cat_columns_get(const char *spec, CatColumns *m)
{
  PetscOptions o;
  char like[32] = "chempysbi", key[CAT_COL_LEN + 16];
  PetscBool set;
  PetscInt left;
  PetscFunctionBeginUser;
  if (!strcmp(spec, "chempysbi") || !strcmp(spec, "apogee") || !strcmp(spec, "galah")) {
    PetscCall(cat_columns_preset(spec, m));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  /* A map file, in a private options database so its keys never meet the command's. */
  PetscCall(PetscOptionsCreate(&o));
  PetscCall(PetscOptionsInsertFile(PETSC_COMM_SELF, o, spec, PETSC_TRUE));
  PetscCall(PetscOptionsGetString(o, NULL, "-like", like, sizeof(like), &set));
  PetscCheck(!strcmp(like, "chempysbi") || !strcmp(like, "apogee") || !strcmp(like, "galah"), PETSC_COMM_SELF,
             PETSC_ERR_ARG_WRONG, "column map %s: -like %s: expected chempysbi, apogee or galah", spec, like);
  PetscCall(cat_columns_preset(like, m));
  PetscCall(PetscStrncpy(m->name, spec, sizeof(m->name)));
  PetscCall(cat_map_entry(o, spec, "-id", m->id));
  for (int e = 0; e < CS_NELEM; e++) {
    PetscCall(PetscSNPrintf(key, sizeof(key), "-%s", cs_elem_names[e]));
    PetscCall(cat_map_entry(o, spec, key, m->val[e]));
    PetscCall(PetscSNPrintf(key, sizeof(key), "-%s_err", cs_elem_names[e]));
    PetscCall(cat_map_entry(o, spec, key, m->err[e]));
    PetscCall(PetscSNPrintf(key, sizeof(key), "-%s_flag", cs_elem_names[e]));
    PetscCall(cat_map_entry(o, spec, key, m->flag[e]));
  }
  PetscCall(PetscOptionsGetBool(o, NULL, "-required", &m->required, &set));
  PetscCall(PetscOptionsGetReal(o, NULL, "-bad_above", &m->bad_above, &set));
  PetscCall(PetscOptionsAllUsed(o, &left));
  if (left) {
    PetscInt n;
    char **names, **values;
    PetscCall(PetscOptionsLeftGet(o, &n, &names, &values));
    char first[128];
    PetscCall(PetscStrncpy(first, n > 0 ? names[0] : "?", sizeof(first)));
    PetscCall(PetscOptionsLeftRestore(o, &n, &names, &values));
    PetscCall(PetscOptionsDestroy(&o));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
            "column map %s: unknown key -%s (keys: -like -id -required -bad_above -<element> -<element>_err "
            "-<element>_flag)",
            spec, first);
  }
  PetscCall(PetscOptionsDestroy(&o));
  PetscFunctionReturn(PETSC_SUCCESS);
}
