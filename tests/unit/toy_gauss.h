/* The linear-Gaussian toy with a known posterior, shared by the estimator
 * tests (test_npe_toy.c, test_nre.c): theta ~ N(mu, S) in 2-D,
 * x = A theta + N(0, s^2 I), s = 0.5; posterior correlation -0.53. */
#ifndef CHEMPYSBI_TOY_GAUSS_H
#define CHEMPYSBI_TOY_GAUSS_H

#include <math.h>
#include <chempysbi/rng.h>

enum { TOY_D = 2, TOY_C = 2 };

static const double toy_mu[TOY_D] = {0.5, -1.0};
static const double toy_S[TOY_D][TOY_D] = {{1.0, 0.5}, {0.5, 2.0}}; /* prior covariance */
static const double toy_A[TOY_C][TOY_D] = {{1.0, 0.8}, {-0.3, 0.4}};
static const double toy_noise = 0.5;

/* Draw theta ~ N(mu, S) through the Cholesky factor of S. */
static inline void toy_prior_draw(Rng *r, double th[TOY_D])
{
  double l00 = sqrt(toy_S[0][0]), l10 = toy_S[1][0] / l00, l11 = sqrt(toy_S[1][1] - l10 * l10);
  double z0 = rng_normal(r), z1 = rng_normal(r);
  th[0] = toy_mu[0] + l00 * z0;
  th[1] = toy_mu[1] + l10 * z0 + l11 * z1;
}

static inline void toy_simulate(Rng *r, const double th[TOY_D], double x[TOY_C])
{
  for (int i = 0; i < TOY_C; i++) x[i] = toy_A[i][0] * th[0] + toy_A[i][1] * th[1] + toy_noise * rng_normal(r);
}

static inline void toy_inv2(const double a[2][2], double out[2][2])
{
  double det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
  out[0][0] = a[1][1] / det, out[1][1] = a[0][0] / det;
  out[0][1] = -a[0][1] / det, out[1][0] = -a[1][0] / det;
}

/* log N(th; mu, S) up to a constant. */
static inline double toy_prior_logpdf(const double th[TOY_D])
{
  double Si[2][2], d[2] = {th[0] - toy_mu[0], th[1] - toy_mu[1]};
  toy_inv2(toy_S, Si);
  return -0.5 * (d[0] * (Si[0][0] * d[0] + Si[0][1] * d[1]) + d[1] * (Si[1][0] * d[0] + Si[1][1] * d[1]));
}

/* Analytic posterior: P = S^-1 + A^T A / s^2, cov = P^-1, mean = cov (S^-1 mu + A^T x / s^2). */
static inline void toy_posterior(const double x[TOY_C], double mean[TOY_D], double cov[TOY_D][TOY_D])
{
  const double s2 = toy_noise * toy_noise;
  double Si[2][2], P[2][2], b[2];
  toy_inv2(toy_S, Si);
  for (int i = 0; i < TOY_D; i++) {
    b[i] = Si[i][0] * toy_mu[0] + Si[i][1] * toy_mu[1];
    for (int k = 0; k < TOY_C; k++) b[i] += toy_A[k][i] * x[k] / s2;
    for (int j = 0; j < TOY_D; j++) {
      P[i][j] = Si[i][j];
      for (int k = 0; k < TOY_C; k++) P[i][j] += toy_A[k][i] * toy_A[k][j] / s2;
    }
  }
  toy_inv2(P, cov);
  for (int i = 0; i < TOY_D; i++) mean[i] = cov[i][0] * b[0] + cov[i][1] * b[1];
}

#endif
