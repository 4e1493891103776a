/* Layer kernels shared by the MLP emulator and the MADE blocks of the flow.
 * Linear layers go through OpenBLAS dgemm; everything else is a plain loop.
 * Conventions (outputs first, backward accumulates) are in nn.h. */
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>
#include <cblas.h>

void linear_forward(double *out, const double *inp, const double *W, const double *b, int n, int nin, int nout)
{
  /* Seed out with the bias rows so dgemm can accumulate with beta = 1. */
  double beta = 0.0;
  if (b) {
    for (int i = 0; i < n; i++) memcpy(out + (size_t)i * nout, b, (size_t)nout * sizeof(double));
    beta = 1.0;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nout, nin, 1.0, inp, nin, W, nin, beta, out, nout);
}

void linear_backward(double *dinp, double *dW, double *db, const double *dout, const double *inp, const double *W,
                     int n, int nin, int nout)
{
  if (dinp)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, nin, nout, 1.0, dout, nout, W, nin, 1.0, dinp, nin);
  if (dW) cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, n, 1.0, dout, nout, inp, nin, 1.0, dW, nin);
  if (db) {
    for (int i = 0; i < n; i++) {
      const double *row = dout + (size_t)i * nout;
      for (int o = 0; o < nout; o++) db[o] += row[o];
    }
  }
}

void linear_init(double *W, double *b, int nout, int nin, uint64_t seed, uint64_t index)
{
  Rng r;
  double bound = 1.0 / sqrt((double)nin);
  rng_init(&r, seed, RNG_INIT, index);
  for (size_t i = 0; i < (size_t)nout * nin; i++) W[i] = bound * (2.0 * rng_uniform(&r) - 1.0);
  for (int i = 0; i < nout; i++) b[i] = bound * (2.0 * rng_uniform(&r) - 1.0);
}

void nn_mask_apply(double *W, const double *mask, int count)
{
  for (int i = 0; i < count; i++) W[i] *= mask[i];
}

void masked_linear_forward(double *out, const double *inp, const double *W, const double *b, int n, int nin, int nout)
{
  linear_forward(out, inp, W, b, n, nin, nout);
}

void masked_linear_backward(double *dinp, double *dW, double *db, const double *dout, const double *inp,
                            const double *W, const double *mask, int n, int nin, int nout)
{
  /* dW held masked entries at zero before, so masking the sum masks the increment. */
  linear_backward(dinp, dW, db, dout, inp, W, n, nin, nout);
  nn_mask_apply(dW, mask, nin * nout);
}

/* Cloned for AVX2 (picked at load time) so nn_tanh4 runs four lanes at once. */
__attribute__((target_clones("avx2", "default"))) void tanh_forward(double *out, const double *inp, int count)
{
  int i = 0;
  for (; i + 4 <= count; i += 4) nn_tanh4(out + i, inp + i);
  for (; i < count; i++) out[i] = nn_tanh(inp[i]);
}

void tanh_backward(double *dinp, const double *dout, const double *out, int count)
{
  for (int i = 0; i < count; i++) dinp[i] += dout[i] * (1.0 - out[i] * out[i]);
}

double mse_forward(const double *pred, const double *target, int n, int d)
{
  size_t count = (size_t)n * d;
  double s = 0.0;
  for (size_t i = 0; i < count; i++) {
    double e = pred[i] - target[i];
    s += e * e;
  }
  return count ? s / (double)count : 0.0;
}

void mse_sum(double *sum, const double *pred, const double *target, int n, int d)
{
  size_t count = (size_t)n * d;
  for (size_t i = 0; i < count; i++) {
    double e = pred[i] - target[i];
    *sum += e * e;
  }
}

void mse_backward(double *dpred, const double *pred, const double *target, int n, int d, double inv_count)
{
  size_t count = (size_t)n * d;
  for (size_t i = 0; i < count; i++) dpred[i] += 2.0 * (pred[i] - target[i]) * inv_count;
}
