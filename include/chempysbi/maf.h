/* Conditional masked autoregressive flow (MAF, Papamakarios et al. 2017) as
 * built by sbi's posterior_nn(model="maf") on nflows: K affine MADE transforms
 * over D (standardised) parameters conditioned on C (standardised) observations,
 * permutations between transforms, standard normal base. One flat parameter
 * buffer and one gradient buffer, like the MLP. */
#ifndef CHEMPYSBI_MAF_H
#define CHEMPYSBI_MAF_H

#include <chempysbi/common.h>
#include <stdint.h>
#include <stddef.h>

#define MAF_MAX_TRANSFORMS 64
#define MAF_MAX_BLOCKS     8
#define MAF_SCALE_EPS      1e-3 /* scale = softplus(raw) + 1e-3, nflows 0.14 */
#define MAF_SAMPLE_BLOCK   64   /* samples per block in maf_sample */

/* Architecture (nflows MaskedAffineAutoregressiveTransform with sbi's
 * arguments: num_blocks=2, use_residual_blocks=False, random_mask=False,
 * activation=tanh, no batch norm, no dropout). One MADE per transform:
 *   h_1 = tanh(M0*W0 u + b0 + tanh(Wc c + bc))      (H)  context enters here only
 *   h_j = tanh(Mh*Wh_j h_{j-1} + bh_j), j = 2..1+nblocks
 *   o   = Mo*Wo h_last + bo                          (2D)
 *   z_i = (softplus(o_{2i}) + 1e-3) u_i + o_{2i+1}   (scale, shift interleaved as nflows)
 * Degrees as nflows: input i has degree i+1; hidden unit h has degree
 * h % max(1, D-1) + min(1, D-1); masks hidden >= input, output > hidden.
 * Between transforms u_{k+1}[i] = z_k[perm[k][i]]: reversed order by default
 * (sbi draws random permutations; reversal is deterministic, so a model is fully
 * described by its sizes and params; overwrite perm after maf_create to change
 * it and store it with the model). The permutation sbi puts after the last
 * transform is left out: it does not change the density of a standard normal
 * base. Weights are stored masked (masked entries exactly 0, kept so by the
 * masked gradients); call maf_apply_masks after loading foreign parameters. */
typedef struct {
  double *W0, *b0;                                 /* (H, D) masked, (H) */
  double *Wc, *bc;                                 /* (H, C), (H); absent (NULL) if C = 0 */
  double *Wh[MAF_MAX_BLOCKS], *bh[MAF_MAX_BLOCKS]; /* (H, H) masked, (H) */
  double *Wo, *bo;                                 /* (2D, H) masked, (2D) */
} MadeView;

typedef struct {
  int D, C, K, H, nblocks, max_batch;
  size_t nparams;                                        /* length of params and grads */
  size_t nper;                                           /* parameters per transform */
  double *params;                                        /* flat, transform by transform in the MadeView order */
  double *grads;                                         /* same layout */
  MadeView p[MAF_MAX_TRANSFORMS], g[MAF_MAX_TRANSFORMS]; /* views into params, grads */
  int *perm;                     /* (K, D): row k maps transform k's output to transform k+1's input; row K-1 unused */
  int *deg;                      /* (H) hidden degrees */
  double *mask0, *maskh, *masko; /* (H, D), (H, H), (2D, H) */
  /* Cache of the last maf_log_prob / maf_forward, for maf_backward. */
  double *cache;
  double *u[MAF_MAX_TRANSFORMS + 1];                 /* u[k] (n, D) input of transform k; u[K] = z */
  double *ct[MAF_MAX_TRANSFORMS];                    /* (n, H) tanh(Wc c + bc) */
  double *h[MAF_MAX_TRANSFORMS][MAF_MAX_BLOCKS + 1]; /* (n, H) post-tanh hidden layers */
  double *o[MAF_MAX_TRANSFORMS];                     /* (n, 2D) MADE outputs */
  double *ctx;                                       /* (n, C) copy of the context */
  int n_cached;
  double *scratch; /* backward and inverse workspace */
  double *work;    /* maf_sample workspace */
  /* Optional: maf_backward calls grad_hook(grad_hook_arg, k nper) once
   * transform k's gradient is done (grads[k nper..nparams) final). */
  void (*grad_hook)(void *arg, size_t lo);
  void *grad_hook_arg;
  int *order;  /* (H) hidden units sorted by degree (sampler) */
  int *cnt_le; /* (D + 1) hidden units with degree <= d (sampler) */
} Maf;

/* D >= 1 parameters, C >= 0 context values, K in 1..64 transforms, H >= 1
 * hidden units, nblocks in 0..7 extra hidden layers (sbi: 2), max_batch rows
 * per call. Parameters are zero until maf_init. */
PetscErrorCode maf_create(int D, int C, int K, int H, int nblocks, int max_batch, Maf **maf);
/* PyTorch nn.Linear default for every layer (masked or not): W and b uniform in
 * (-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = the layer's full input width;
 * stream (seed, RNG_INIT, 64 k + layer) with layers 0 = W0/b0, 1 = Wc/bc,
 * 2.. = hidden blocks, 2+nblocks = output; W row-major then b; then masked. */
PetscErrorCode maf_init(Maf *maf, uint64_t seed);
PetscErrorCode maf_destroy(Maf **maf);
/* Zero the masked weight entries (after loading parameters from elsewhere). */
void maf_apply_masks(Maf *maf);

/* logp (n) = log q(theta | ctx) for theta (n, D), ctx (n, C), n <= max_batch,
 * in the standardised space (the caller adds -sum log std of its z-scoring).
 * Caches activations for maf_backward. */
void maf_log_prob(Maf *maf, const double *theta, const double *ctx, int n, double *logp);
/* grads += sum_rows dlogp[r] d logp[r] / dparams for the rows of the last
 * maf_log_prob or maf_forward; for maximum likelihood pass dlogp = -1/N_global. */
void maf_backward(Maf *maf, const double *dlogp, int n);
/* z (n, D) = f(theta) and logdet (n) = log|det df/dtheta|; caches like maf_log_prob. */
void maf_forward(Maf *maf, const double *theta, const double *ctx, int n, double *z, double *logdet);
/* theta (n, D) = f^{-1}(z) for per-row contexts ctx (n, C), n <= max_batch:
 * the reference inverse, D full MADE passes per transform. Clobbers the cache. */
void maf_inverse(Maf *maf, const double *z, const double *ctx, int n, double *theta);
/* theta (n, D) = f^{-1}(z) for ONE context ctx (C) and any n, from base
 * normals z (n, D) the caller draws (e.g. rng_normal on its own stream), so
 * sampling stays deterministic. The fast path: the context term is computed
 * once per transform and each hidden unit once per sample (in degree order).
 * Does not touch the cache. */
void maf_sample(Maf *maf, const double *ctx, const double *z, size_t n, double *theta);

#endif
