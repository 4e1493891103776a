/* Layer kernels shared by the MLP emulator and the MADE blocks of the flow.
 * Linear layers go through OpenBLAS dgemm; everything else is a plain loop.
 * Conventions (outputs first, backward accumulates) are in nn.h. */
#include <chempysbi/nn.h>
#include <chempysbi/rng.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

/* dgemm's answer for one row depends on the shape of the call: OpenBLAS picks small-matrix and
 * tail kernels by size (on AVX-512, a batch of 20 rows and one of 60 differ in the last bits), so
 * a star's prediction would depend on how many stars its rank holds. Every call therefore has
 * exactly NN_ROWS rows, a multiple of every x86 kernel's row unrolling; a short last block is
 * padded with zero rows. tests/unit/test_nn.c checks the invariance on the machine it runs on. */
#define NN_ROWS 32

/* The one allocation of the kernels: a scratch block for the padded rows, grown when needed. */
static double *pad_buf;
static size_t pad_len;

static double *pad_get(size_t len)
{
  if (len > pad_len) {
    double *p = realloc(pad_buf, len * sizeof(double));
    if (!p) {
      fprintf(stderr, "chempysbi: out of memory for a %zu-value layer scratch block\n", len);
      abort();
    }
    pad_buf = p, pad_len = len;
  }
  return pad_buf;
}

/* C (m, nc) = A (m, k) op(B) + beta C in blocks of NN_ROWS rows; op(B) is B^T (nc, k) when transB,
 * else B (k, nc). C's rows m..NN_ROWS of the last block live in the scratch block. */
static void gemm_rows(double *C, const double *A, const double *B, int transB, double beta, int m, int k, int nc)
{
  const enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  const int ldb = transB ? k : nc;
  int i0 = 0;
  for (; i0 + NN_ROWS <= m; i0 += NN_ROWS)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, NN_ROWS, nc, k, 1.0, A + (size_t)i0 * k, k, B, ldb, beta,
                C + (size_t)i0 * nc, nc);
  const int r = m - i0;
  if (r == 0) return;
  double *pa = pad_get((size_t)NN_ROWS * (k + nc)), *pc = pa + (size_t)NN_ROWS * k;
  memcpy(pa, A + (size_t)i0 * k, (size_t)r * k * sizeof(double));
  memset(pa + (size_t)r * k, 0, (size_t)(NN_ROWS - r) * k * sizeof(double));
  memcpy(pc, C + (size_t)i0 * nc, (size_t)r * nc * sizeof(double));
  memset(pc + (size_t)r * nc, 0, (size_t)(NN_ROWS - r) * nc * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, NN_ROWS, nc, k, 1.0, pa, k, B, ldb, beta, pc, nc);
  memcpy(C + (size_t)i0 * nc, pc, (size_t)r * nc * sizeof(double));
}

void linear_forward(double *out, const double *inp, const double *W, const double *b, int n, int nin, int nout)
{
  /* Seed out with the bias rows so dgemm can accumulate with beta = 1. */
  double beta = 0.0;
  if (b) {
    for (int i = 0; i < n; i++) memcpy(out + (size_t)i * nout, b, (size_t)nout * sizeof(double));
    beta = 1.0;
  }
  gemm_rows(out, inp, W, 1, beta, n, nin, nout);
}

void linear_backward(double *dinp, double *dW, double *db, const double *dout, const double *inp, const double *W,
                     int n, int nin, int nout)
{
  if (dinp) gemm_rows(dinp, dout, W, 0, 1.0, n, nout, nin);
  /* dW sums over the rows: one call, its order is the batch's (training sums over ranks anyway). */
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
