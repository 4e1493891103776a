/* Calibration of a posterior estimator: simulation-based calibration ranks
 * (Talts et al. 2018), TARP expected coverage (Lemos et al. 2023), the KS test
 * against U(0,1) both use, and absolute percentage errors of posterior means. */
#ifndef CHEMPYSBI_CALIB_H
#define CHEMPYSBI_CALIB_H

#include <chempysbi/common.h>
#include <stdint.h>

/* P(K > lambda) for the Kolmogorov distribution K (asymptotic KS law). */
double calib_kolmogorov_q(double lambda);

/* One-sample KS test of n values in [0, 1] against U(0, 1): statistic D and
 * p = Q((sqrt(n) + 0.12 + 0.11/sqrt(n)) D), Stephens' (1970) correction of the
 * asymptotic law, good to ~1% in p for n >= 5. Errors on values outside [0, 1]. */
PetscErrorCode calib_ks_uniform(const double *values, PetscInt n, double *D, double *p);

/* SBC: rank[d] = number of the L samples (L, D) whose parameter d is below truth[d], in [0, L]. */
void calib_sbc_ranks(PetscInt L, PetscInt D, const double *samples, const double *truth, PetscInt *rank);
/* KS test of nsim SBC ranks (ranks[s * stride], out of L samples each), normalised
 * to (rank + 0.5) / (L + 1), the centres of the L + 1 equally likely cells. The
 * discreteness adds at most 0.5 / (L + 1) to D. */
PetscErrorCode calib_sbc_ks(PetscInt nsim, PetscInt L, const PetscInt *ranks, PetscInt stride, double *D, double *p);

/* TARP coverage values f (nsim): per simulation s, the fraction of its samples
 * closer (Euclidean, in the normalised box) to a reference point than the truth
 * is. samples is (nsim, nsamples, D), truths (nsim, D). The box is [lo, hi] per
 * dimension, or with lo = hi = NULL the min/max of the truths (as the tarp and
 * sbi packages do, range + 1e-10). Reference s is uniform in the box, drawn from
 * the stream (seed, RNG_VALIDATE, CALIB_TARP_INDEX | s): the high bit keeps it
 * apart from the validation observations' own streams at index s. */
#define CALIB_TARP_INDEX (UINT64_C(1) << 63)
PetscErrorCode calib_tarp_f(PetscInt nsim, PetscInt nsamples, PetscInt D, const double *samples, const double *truths,
                            const double *lo, const double *hi, uint64_t seed, double *f);
/* The TARP curve: alpha[k] = k / (nalpha - 1), ecp[k] = fraction of simulations
 * with f < alpha[k] (all of them at alpha = 1), i.e. sbi's cumulative histogram
 * over (0, 1) with nalpha - 1 bins (sbi's default is 30 bins, nalpha = 31).
 * atc = sum_{k >= nalpha/2} (ecp[k] - alpha[k]), sbi's check_tarp definition:
 * a sum over grid points, so it scales with nalpha (the area is atc / (nalpha - 1));
 * > 0 means too wide, < 0 too narrow or biased. Even for a perfect posterior
 * atc scatters with sd sqrt(sum_jk (min(a_j,a_k) - a_j a_k) / nsim), 0.16 *
 * sqrt(1000 / nsim) for nalpha = 31. ks_p is the KS p-value of the f
 * values against U(0, 1) (sbi instead compares the ecp and alpha arrays by a
 * two-sample KS test, which has little power). Any output may be NULL. */
PetscErrorCode calib_tarp(PetscInt nsim, PetscInt nsamples, PetscInt D, const double *samples, const double *truths,
                          const double *lo, const double *hi, uint64_t seed, PetscInt nalpha, double *ecp,
                          double *alpha, double *atc, double *ks_p);

/* Quantiles q[j] in [0, 1] of the finite values among x (n), by linear
 * interpolation between order statistics (numpy's default); NaN if none is finite. */
PetscErrorCode calib_quantiles(PetscInt n, const double *x, PetscInt nq, const double *q, double *out);
/* Absolute percentage error |mean - truth| / |truth| * 100 of posterior means,
 * mean and truth (n, D): per parameter the quartiles q25, median, q75 (D each),
 * and pooled over all n * D values in all[3] = {q25, median, q75} (the paper's
 * "all six" figure). A zero truth gives an infinite APE, which is left out. Any
 * output may be NULL. */
PetscErrorCode calib_ape(PetscInt n, PetscInt D, const double *mean, const double *truth, double *q25, double *median,
                         double *q75, double all[3]);

#endif
