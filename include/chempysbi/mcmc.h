/* Convergence diagnostics of MCMC draws of one scalar (Vehtari et al. 2021):
 * rank-normalised split-R-hat (the larger of the bulk and folded values) and
 * bulk effective sample size (Geyer's initial monotone sequence over the
 * multi-chain autocorrelation, as Stan). draws are (chains, n), row-major. */
#ifndef CHEMPYSBI_MCMC_H
#define CHEMPYSBI_MCMC_H

#include <chempysbi/common.h>

double mcmc_rhat(const double *draws, int chains, int n);
double mcmc_ess_bulk(const double *draws, int chains, int n);
/* ESS without rank normalisation (for tests against AR(1) theory). */
double mcmc_ess_raw(const double *draws, int chains, int n);
/* Standard normal quantile. */
double mcmc_norm_quantile(double p);

#endif
