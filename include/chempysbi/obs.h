/* The observation model shared by NPE training, validation and mocks: per
 * star and element an error sigma drawn log-uniform in [lo, hi] (fixed when
 * lo == hi, the paper's 0.05 dex), Gaussian noise of that sigma, and a
 * presence mask (each element missing with p_missing, plus a whole-survey
 * pattern such as "no He, no Ne" on a fraction p_drop of the stars). */
#ifndef CHEMPYSBI_OBS_H
#define CHEMPYSBI_OBS_H

#include <chempysbi/common.h>
#include <chempysbi/rng.h>

typedef struct {
  double lo, hi;    /* [dex] range of sigma (log-uniform); lo == hi: every sigma is lo */
  double p_missing; /* probability that an element is missing, independently */
  unsigned drop;    /* bit e set: element e is in the survey pattern */
  double p_drop;    /* probability that a star has the pattern (1: every star, as in a survey) */
} ObsModel;

/* The paper's model: sigma = noise for every element, nothing missing. */
void obs_fixed(double noise, ObsModel *m);
/* Nothing random beyond the fixed noise (the special case old files hold). */
PetscBool obs_is_fixed(const ObsModel *m);
/* Why an element is missing in a draw. */
enum { OBS_PRESENT = 0, OBS_RANDOM = 1, OBS_PATTERN = 2 };
/* From r: x (8) = clean + sigma * N(0, 1), sigma (8) [dex] and why (8), the
 * mask (OBS_*); x and sigma are drawn for every element, obs_mask blanks the
 * missing ones. The fixed model draws exactly the eight normals the
 * fixed-noise code always drew, so old seeds give old numbers. */
void obs_draw(const ObsModel *m, Rng *r, const double *clean, double *x, double *sigma, unsigned char *why);
/* x and sigma NaN where why is not OBS_PRESENT. */
void obs_mask(const unsigned char *why, double *x, double *sigma);
/* "He_Fe,Ne_Fe" -> bit mask; errors name the option and the unknown element. */
PetscErrorCode obs_parse_elements(MPI_Comm comm, const char *opt, const char *list, unsigned *mask);
/* "lo,hi" -> range; one number means lo == hi. */
PetscErrorCode obs_parse_range(MPI_Comm comm, const char *opt, const char *s, double *lo, double *hi);
/* Comma list of the elements in mask ("" when none). */
void obs_elements_string(unsigned mask, char *buf, size_t len);

#endif
