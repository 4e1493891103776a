/* Multi-star combination (paper Eqs. 5-9, pipeline.md section 3): a Gaussian
 * fitted to each star's posterior samples, additive sums over stars in one flat
 * array (one MPI_Allreduce by the caller), and the prior divided out (N-1) times. */
#ifndef CHEMPYSBI_COMBINE_H
#define CHEMPYSBI_COMBINE_H

#include <chempysbi/common.h>

/* Gaussian summary of one star's posterior. The globals are parameters 0 and 1
 * (alpha_IMF, log10_N_Ia); 2x2 matrices are row-major {xx, xy, yx, yy}. */
typedef struct {
  double mean[CS_NPARAM]; /* posterior means of all six parameters */
  double sd[CS_NPARAM];   /* standard deviations (n-1 normalisation) */
  double mu2[2];          /* mean of the globals (= mean[0], mean[1]) */
  double S2[4];           /* (2, 2) unbiased covariance of the globals */
} CombineStar;

/* Slots of the accumulator. Every slot is a plain sum over stars, so the sums
 * of several ranks add up to the sums over all stars. */
enum {
  COMBINE_P00 = 0, /* sum_i P_i, the 3 unique entries of the 2x2 precision */
  COMBINE_P01,
  COMBINE_P11,
  COMBINE_H0, /* sum_i P_i mu_i */
  COMBINE_H1,
  COMBINE_W0, /* 1-D form: sum_i 1 / sigma_i^2 per global */
  COMBINE_W1,
  COMBINE_WM0, /* 1-D form: sum_i mu_i / sigma_i^2 */
  COMBINE_WM1,
  COMBINE_N, /* number of stars accumulated */
  COMBINE_NACC
};

/* Combined posterior of the globals. Fields of a form whose precision is not
 * positive definite are NaN and its flag is false: no numbers made up. */
typedef struct {
  double n;       /* stars combined */
  PetscBool pd;   /* 2x2 form: combined precision positive definite */
  double mean[2]; /* 2x2 form */
  double cov[4];  /* (2, 2) */
  double sd[2];
  double corr;      /* correlation of alpha_IMF and log10_N_Ia */
  PetscBool pd1[2]; /* 1-D form (paper Eqs. 8-9): combined 1/sigma^2 > 0, per global */
  double mean1[2];
  double sd1[2];
} CombineResult;

/* Fit the Gaussian to n >= 2 samples (n, CS_NPARAM) row-major. Errors on
 * n < 2 or a non-finite sample (naming the row and parameter). */
PetscErrorCode combine_fit(PetscInt n, const double *samples, CombineStar *g);

/* Zero an accumulator. */
void combine_acc_zero(double acc[COMBINE_NACC]);
/* Add one star. Returns PETSC_FALSE, and leaves acc unchanged, when S2 is not
 * a finite positive-definite covariance (the caller reports and counts it). */
PetscBool combine_accumulate(double acc[COMBINE_NACC], const double mu2[2], const double S2[4]);
/* Divide out the prior N(prior_mu, prior_S) N-1 times (N = acc[COMBINE_N]);
 * the 1-D form uses the diagonal of prior_S as sigma_0^2. With N = 0 the
 * result is the prior itself; a prior_S that is not positive definite gives pd = false. */
void combine_finish(const double acc[COMBINE_NACC], const double prior_mu[2], const double prior_S[4],
                    CombineResult *r);

/* Running estimate (paper Fig. 5): out[k] is the combination of stars 0..k,
 * for k = 0..n-1, in one O(n) pass. mu2 is (n, 2), S2 is (n, 4). Stars that
 * combine_accumulate rejects are skipped; the number of them is returned in
 * nrejected (may be NULL). */
void combine_running(PetscInt n, const double *mu2, const double *S2, const double prior_mu[2], const double prior_S[4],
                     CombineResult *out, PetscInt *nrejected);

#endif
