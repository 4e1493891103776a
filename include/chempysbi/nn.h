/* Layer kernels for the networks (llm.c style): outputs first, then inputs,
 * weights and sizes. Forward kernels overwrite their output, backward kernels
 * accumulate (+=) into gradients the caller has zeroed. No MPI,
 * no I/O. Also the scalar activations the MLP and the flow share. */
#ifndef CHEMPYSBI_NN_H
#define CHEMPYSBI_NN_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Matrices are row-major and follow PyTorch's nn.Linear: W is (nout, nin),
 * a batch is (n, features), out = in W^T + b. */

/* out (n, nout) = inp (n, nin) W^T (nin, nout) + b (nout); b may be NULL. */
void linear_forward(double *out, const double *inp, const double *W, const double *b, int n, int nin, int nout);
/* dinp (n, nin) += dout W; dW (nout, nin) += dout^T inp; db (nout) += sum_rows dout.
 * dinp, dW and db may be NULL (first layer, no bias, input gradients only). */
void linear_backward(double *dinp, double *dW, double *db, const double *dout, const double *inp, const double *W,
                     int n, int nin, int nout);

/* Masked linear layer (MADE). The weights are stored already masked
 * (W = W * mask, see nn_mask_apply), so the forward pass is linear_forward and
 * costs nothing extra; the backward pass masks the weight gradient, which keeps
 * masked entries at exactly zero under Adam and schedule-free AdamW. */
void nn_mask_apply(double *W, const double *mask, int count);
void masked_linear_forward(double *out, const double *inp, const double *W, const double *b, int n, int nin, int nout);
void masked_linear_backward(double *dinp, double *dW, double *db, const double *dout, const double *inp,
                            const double *W, const double *mask, int n, int nin, int nout);

/* PyTorch's nn.Linear initialisation: W (nout, nin) then b (nout) uniform in
 * (-1/sqrt(nin), 1/sqrt(nin)) from the stream (seed, RNG_INIT, index). */
void linear_init(double *W, double *b, int nout, int nin, uint64_t seed, uint64_t index);

/* Elementwise tanh over count values; backward takes the forward *output*. */
void tanh_forward(double *out, const double *inp, int count);
void tanh_backward(double *dinp, const double *dout, const double *out, int count);

/* Mean squared error over n rows of d values: mean of (pred - target)^2 over
 * all n*d elements, as PyTorch's MSELoss; mse_sum adds the squares to *sum
 * (running sums over many batches, as data-parallel training reports them). */
double mse_forward(const double *pred, const double *target, int n, int d);
void mse_sum(double *sum, const double *pred, const double *target, int n, int d);
/* dpred (n, d) += 2 (pred - target) * inv_count. inv_count = 1/(n d) gives the
 * gradient of mse_forward; under data parallelism pass 1/(n_global d) so the
 * all-reduced sum is the gradient of the global-batch mean. */
void mse_backward(double *dpred, const double *pred, const double *target, int n, int d, double inv_count);

/* ---- Scalar activations ---------------------------------------------------
 * glibc's tanh costs ~25 ns here and dominated both training and sampling, so
 * the networks use these branch-free versions (a few ulp; tested against libm
 * in test_nn). They are inline so the batch loops that call them stay tight.
 * Forward, backward and sampling all use the same functions, which keeps
 * inverse(forward(x)) = x exact to rounding. */

/* e^r - 1 for |r| <= ln2/2: Taylor to r^13 (error < 1e-17 relative),
 * evaluated by Estrin's scheme because Horner's long dependency chain made
 * the function latency-bound (~3x slower). */
static inline double nn_expm1_reduced_(double r)
{
  double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  double a0 = 1.0 + r * (1.0 / 2.0), a1 = 1.0 / 6.0 + r * (1.0 / 24.0);
  double a2 = 1.0 / 120.0 + r * (1.0 / 720.0), a3 = 1.0 / 5040.0 + r * (1.0 / 40320.0);
  double a4 = 1.0 / 362880.0 + r * (1.0 / 3628800.0), a5 = 1.0 / 39916800.0 + r * (1.0 / 479001600.0);
  double a6 = 1.0 / 6227020800.0;
  double b0 = a0 + a1 * r2, b1 = a2 + a3 * r2, b2 = a4 + a5 * r2;
  double c0 = b0 + b1 * r4, c1 = b2 + a6 * r4;
  return r * (c0 + c1 * r8);
}

/* 2^k for integer-valued k in [-1022, 1023], by building the exponent bits. */
static inline double nn_pow2i_(double k)
{
  uint64_t bits = (uint64_t)((int64_t)k + 1023) << 52;
  double y;
  memcpy(&y, &bits, sizeof y);
  return y;
}

/* Split x = k ln2 + r with |r| <= ln2/2; valid for |x| < 700. */
static inline double nn_reduce_(double x, double *r)
{
  const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
  double k = (x * 1.4426950408889634 + shifter) - shifter;
  *r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  return k;
}

/* e^x - 1 for x in [-700, 700], accurate near 0 where e^x - 1 cancels. */
static inline double nn_expm1(double x)
{
  double r, k = nn_reduce_(x, &r);
  double p = nn_expm1_reduced_(r), s = nn_pow2i_(k);
  return s * p + (s - 1.0);
}

static inline double nn_exp(double x)
{
  double r, k = nn_reduce_(x, &r);
  return nn_pow2i_(k) * (1.0 + nn_expm1_reduced_(r));
}

static inline double nn_tanh(double x)
{
  /* tanh|x| = em1 / (em1 + 2) with em1 = e^{2|x|} - 1; |x| >= 20 rounds to 1. */
  double a = fabs(x);
  a = a < 20.0 ? a : 20.0;
  double e = nn_expm1(2.0 * a);
  return copysign(e / (e + 2.0), x);
}

/* log(1 + w) for w in [0, 1]: 2 atanh(s) series after halving past sqrt(2). */
static inline double nn_log1p_unit_(double w)
{
  double u = 1.0 + w;
  double c = (u - 1.0) - w; /* rounding error of 1 + w, restores tiny w */
  int big = u > 1.4142135623730951;
  double m = big ? 0.5 * u : u, f = m - 1.0; /* exact: m in [0.707, 1.414] */
  double s = f / (2.0 + f), s2 = s * s;
  /* atanh(s)/s - 1 = s2 (1/3 + s2/5 + ... + s2^10/23), Estrin as above. */
  double s4 = s2 * s2, s8 = s4 * s4;
  double a0 = 1.0 / 3.0 + s2 * (1.0 / 5.0), a1 = 1.0 / 7.0 + s2 * (1.0 / 9.0);
  double a2 = 1.0 / 11.0 + s2 * (1.0 / 13.0), a3 = 1.0 / 15.0 + s2 * (1.0 / 17.0);
  double a4 = 1.0 / 19.0 + s2 * (1.0 / 21.0), a5 = 1.0 / 23.0;
  double b0 = a0 + a1 * s4, b1 = a2 + a3 * s4, b2 = a4 + a5 * s4;
  double q = (b0 + b1 * s8) + b2 * (s8 * s8);
  double lm = 2.0 * s + 2.0 * s * s2 * q;
  double e = big ? 1.0 : 0.0;
  return (e * 6.93147180369123816490e-01 + (lm - c / u)) + e * 1.90821492927058770002e-10;
}

/* softplus(a) = log(1 + e^a), stable for any a; also returns sigmoid(a) =
 * d softplus / da in *sig when sig is not NULL. */
static inline double nn_softplus(double a, double *sig)
{
  double na = -fabs(a);
  na = na > -700.0 ? na : -700.0;
  double w = nn_exp(na); /* e^{-|a|} in (0, 1] */
  if (sig) *sig = a >= 0.0 ? 1.0 / (1.0 + w) : w / (1.0 + w);
  return (a > 0.0 ? a : 0.0) + nn_log1p_unit_(w);
}

/* ---- Four-lane versions ---------------------------------------------------
 * The same operations in the same order on GCC generic vectors, so results are
 * bitwise equal to the scalar functions. Compiled for plain x86-64 they become
 * pairs of SSE2 instructions; inside functions cloned for AVX2 (tanh_forward,
 * the MAF sampler) one AVX instruction each. Selects are bit masks; 2^k is
 * built from the bits of the rounding shifter (no double -> int64 vector
 * conversion exists before AVX-512). Vectors go through pointers and every
 * helper is always_inline: no 32-byte vector is ever passed by value, so
 * plain and AVX2 code never disagree about how to pass one. */
typedef double nn_v4d __attribute__((vector_size(32)));
typedef int64_t nn_v4i __attribute__((vector_size(32)));
typedef double nn_v4d_u __attribute__((vector_size(32), aligned(8))); /* unaligned access */

#define NN_V4_INLINE static inline __attribute__((always_inline))

/* *p = e^r - 1 for |r| <= ln2/2, as nn_expm1_reduced_. */
NN_V4_INLINE void nn_expm1_reduced_v4_(nn_v4d *p, const nn_v4d *rp)
{
  nn_v4d r = *rp, r2 = r * r, r4 = r2 * r2, r8 = r4 * r4, one = r * 0.0 + 1.0;
  nn_v4d a0 = one + r * (1.0 / 2.0), a1 = 1.0 / 6.0 + r * (1.0 / 24.0);
  nn_v4d a2 = 1.0 / 120.0 + r * (1.0 / 720.0), a3 = 1.0 / 5040.0 + r * (1.0 / 40320.0);
  nn_v4d a4 = 1.0 / 362880.0 + r * (1.0 / 3628800.0), a5 = 1.0 / 39916800.0 + r * (1.0 / 479001600.0);
  nn_v4d b0 = a0 + a1 * r2, b1 = a2 + a3 * r2, b2 = a4 + a5 * r2;
  nn_v4d c0 = b0 + b1 * r4, c1 = b2 + (1.0 / 6227020800.0) * r4;
  *p = r * (c0 + c1 * r8);
}

/* x = k ln2 + *r with |*r| <= ln2/2 and *pow2k = 2^k, for |x| < 700. */
NN_V4_INLINE void nn_reduce_v4_(nn_v4d *r, nn_v4d *pow2k, const nn_v4d *xp)
{
  const double shifter = 6755399441055744.0;
  nn_v4d x = *xp, t = x * 1.4426950408889634 + shifter;
  nn_v4d k = t - shifter;
  *r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  /* the low mantissa bits of t hold k: bits(t) - bits(shifter) = k */
  nn_v4i kb = (nn_v4i)t - 0x4338000000000000LL;
  *pow2k = (nn_v4d)((kb + 1023) << 52);
}

/* y[0..3] = nn_tanh(x[0..3]); y and x may alias. */
NN_V4_INLINE void nn_tanh4(double *y, const double *x)
{
  const int64_t absmask = INT64_MAX;
  nn_v4d xv = *(const nn_v4d_u *)x;
  nn_v4d a = (nn_v4d)((nn_v4i)xv & absmask);
  nn_v4i small = a < 20.0;
  a = (nn_v4d)((small & (nn_v4i)a) | (~small & (nn_v4i)(a * 0.0 + 20.0)));
  nn_v4d y2 = 2.0 * a, r, s, p;
  nn_reduce_v4_(&r, &s, &y2);
  nn_expm1_reduced_v4_(&p, &r);
  nn_v4d e = s * p + (s - 1.0);
  nn_v4d t = e / (e + 2.0);
  *(nn_v4d_u *)y = (nn_v4d)((nn_v4i)t | ((nn_v4i)xv & ~absmask));
}

/* y[0..3] = nn_softplus(a[0..3]) (no derivative); y and a may alias. */
NN_V4_INLINE void nn_softplus4(double *y, const double *ap)
{
  const int64_t absmask = INT64_MAX;
  nn_v4d av = *(const nn_v4d_u *)ap;
  nn_v4d na = -(nn_v4d)((nn_v4i)av & absmask);
  nn_v4i inrange = na > -700.0;
  na = (nn_v4d)((inrange & (nn_v4i)na) | (~inrange & (nn_v4i)(na * 0.0 - 700.0)));
  nn_v4d r, s, p;
  nn_reduce_v4_(&r, &s, &na);
  nn_expm1_reduced_v4_(&p, &r);
  nn_v4d w = s * (1.0 + p);
  /* log1p(w), w in (0, 1], as nn_log1p_unit_ */
  nn_v4d u = 1.0 + w;
  nn_v4d c = (u - 1.0) - w;
  nn_v4i big = u > 1.4142135623730951;
  nn_v4d m = (nn_v4d)((big & (nn_v4i)(0.5 * u)) | (~big & (nn_v4i)u)), f = m - 1.0;
  nn_v4d q = f / (2.0 + f), q2 = q * q, q4 = q2 * q2, q8 = q4 * q4;
  nn_v4d a0 = 1.0 / 3.0 + q2 * (1.0 / 5.0), a1 = 1.0 / 7.0 + q2 * (1.0 / 9.0);
  nn_v4d a2 = 1.0 / 11.0 + q2 * (1.0 / 13.0), a3 = 1.0 / 15.0 + q2 * (1.0 / 17.0);
  nn_v4d a4 = 1.0 / 19.0 + q2 * (1.0 / 21.0);
  nn_v4d b0 = a0 + a1 * q4, b1 = a2 + a3 * q4, b2 = a4 + (1.0 / 23.0) * q4;
  nn_v4d poly = (b0 + b1 * q8) + b2 * (q8 * q8);
  nn_v4d lm = 2.0 * q + 2.0 * q * q2 * poly;
  nn_v4d e = (nn_v4d)(big & 0x3ff0000000000000LL); /* 1.0 where u was halved */
  nn_v4d pos = (nn_v4d)((av > 0.0) & (nn_v4i)av);
  *(nn_v4d_u *)y = pos + ((e * 6.93147180369123816490e-01 + (lm - c / u)) + e * 1.90821492927058770002e-10);
}

#endif
