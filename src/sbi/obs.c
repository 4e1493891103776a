/* Observation model (obs.h): errors, noise and missing elements. */
#include <chempysbi/obs.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void obs_fixed(double noise, ObsModel *m)
{
  memset(m, 0, sizeof(*m));
  m->lo = m->hi = noise;
}

PetscBool obs_is_fixed(const ObsModel *m)
{
  return (m->lo == m->hi && m->p_missing == 0 && (m->drop == 0 || m->p_drop == 0)) ? PETSC_TRUE : PETSC_FALSE;
}

void obs_draw(const ObsModel *m, Rng *r, const double *clean, double *x, double *sigma, unsigned char *why)
{
  for (int k = 0; k < CS_NELEM; k++) why[k] = OBS_PRESENT;
  if (obs_is_fixed(m)) {
    for (int k = 0; k < CS_NELEM; k++) {
      x[k] = clean[k] + m->lo * rng_normal(r);
      sigma[k] = m->lo;
    }
    return;
  }
  /* Sigmas, then noise, then the mask, always the same count of draws per star. */
  double la = log(m->lo), lb = log(m->hi);
  for (int k = 0; k < CS_NELEM; k++) sigma[k] = m->lo == m->hi ? m->lo : exp(la + (lb - la) * rng_uniform(r));
  for (int k = 0; k < CS_NELEM; k++) x[k] = clean[k] + sigma[k] * rng_normal(r);
  PetscBool pattern = rng_uniform(r) < m->p_drop ? PETSC_TRUE : PETSC_FALSE;
  for (int k = 0; k < CS_NELEM; k++) {
    if (rng_uniform(r) < m->p_missing) why[k] = OBS_RANDOM;
    if (pattern && (m->drop >> k & 1u)) why[k] = OBS_PATTERN;
  }
}

void obs_mask(const unsigned char *why, double *x, double *sigma)
{
  for (int k = 0; k < CS_NELEM; k++)
    if (why[k] != OBS_PRESENT) x[k] = sigma[k] = NAN;
}

PetscErrorCode obs_parse_elements(MPI_Comm comm, const char *opt, const char *list, unsigned *mask)
{
  char buf[256], *tok, *save = NULL;
  PetscFunctionBeginUser;
  *mask = 0;
  PetscCall(PetscStrncpy(buf, list, sizeof(buf)));
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int e;
    while (*tok == ' ') tok++;
    for (e = 0; e < CS_NELEM; e++)
      if (!strcmp(tok, cs_elem_names[e])) break;
    PetscCheck(e < CS_NELEM, comm, PETSC_ERR_ARG_WRONG,
               "%s %s: '%s' is not an element name (names as in the catalogue header, e.g. He_Fe)", opt, list, tok);
    *mask |= 1u << e;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode obs_parse_range(MPI_Comm comm, const char *opt, const char *s, double *lo, double *hi)
{
  char *end;
  PetscFunctionBeginUser;
  *lo = strtod(s, &end);
  if (*end == ',')
    *hi = strtod(end + 1, &end);
  else
    *hi = *lo;
  PetscCheck(!*end && *lo > 0 && *hi >= *lo && isfinite(*hi), comm, PETSC_ERR_ARG_WRONG,
             "%s %s: expected LO,HI [dex] with 0 < LO <= HI", opt, s);
  PetscFunctionReturn(PETSC_SUCCESS);
}

void obs_elements_string(unsigned mask, char *buf, size_t len)
{
  size_t k = 0;
  buf[0] = 0;
  for (int e = 0; e < CS_NELEM; e++)
    if (mask >> e & 1u) k += (size_t)snprintf(buf + k, k < len ? len - k : 0, "%s%s", k ? "," : "", cs_elem_names[e]);
}
