/* Multilayer perceptron: linear layers with tanh between them and a linear
 * output (the CHEMPY emulator, 6-100-40-8). One flat buffer each for the
 * parameters and their gradients, so all-reduce and checkpoints are one call. */
#ifndef CHEMPYSBI_MLP_H
#define CHEMPYSBI_MLP_H

#include <chempysbi/common.h>
#include <stdint.h>
#include <stddef.h>

#define MLP_MAX_LAYERS 16 /* number of layer sizes, input and output included */

typedef struct {
  int nsizes;                                      /* layer sizes given, >= 2; nlin = nsizes - 1 linear layers */
  int sizes[MLP_MAX_LAYERS];                       /* e.g. {6, 100, 40, 8} */
  int max_batch;                                   /* rows one forward/backward call may hold */
  size_t nparams;                                  /* length of params and grads */
  double *params;                                  /* flat: W0 (sizes[1], sizes[0]), b0 (sizes[1]), W1, b1, ... */
  double *grads;                                   /* same layout as params */
  double *W[MLP_MAX_LAYERS];                       /* views into params: W[l] (sizes[l+1], sizes[l]) */
  double *b[MLP_MAX_LAYERS];                       /* b[l] (sizes[l+1]) */
  double *dW[MLP_MAX_LAYERS], *db[MLP_MAX_LAYERS]; /* views into grads */
  /* Activation cache of the last mlp_forward, for mlp_backward. */
  double *acts;                /* flat, sum_l max_batch * sizes[l] */
  double *act[MLP_MAX_LAYERS]; /* act[0] (n, sizes[0]) input copy; act[l] (n, sizes[l]) post-tanh; act[nlin] output */
  double *scratch;             /* 2 * max_batch * max(sizes): backward ping-pong */
  double *jet;                 /* 10 * max_batch * max(sizes), allocated by the first mlp_forward_jet */
  int n_cached;                /* rows held by the cache, 0 after mlp_predict */
  /* Optional: mlp_backward calls grad_hook(grad_hook_arg, lo) once layer l's
   * dW, db are done, lo = offset of dW[l] in grads (grads[lo..nparams) final):
   * a trainer starts their all-reduce while the layers below still run. */
  void (*grad_hook)(void *arg, size_t lo);
  void *grad_hook_arg;
} Mlp;

/* sizes[0] inputs, sizes[nsizes-1] outputs, hidden sizes between. Parameters
 * are zero until mlp_init (or a caller that loads them into params). */
PetscErrorCode mlp_create(const int *sizes, int nsizes, int max_batch, Mlp **mlp);
/* PyTorch's nn.Linear default: every W and b entry of layer l uniform in
 * (-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = sizes[l], drawn from the counter
 * RNG stream (seed, RNG_INIT, index l), W row-major then b. */
PetscErrorCode mlp_init(Mlp *mlp, uint64_t seed);
PetscErrorCode mlp_destroy(Mlp **mlp);

/* y (n, sizes[last]) = net(x (n, sizes[0])), n <= max_batch; caches activations. */
void mlp_forward(Mlp *mlp, const double *x, int n, double *y);
/* grads += d(sum_rows dy . y)/dparams for the rows of the last mlp_forward
 * (n must match). The caller zeroes grads (memset) before a new batch. */
void mlp_backward(Mlp *mlp, const double *dy, int n);
/* dx (n, sizes[0]) = d(sum_rows dy . y)/dx for the rows of the last
 * mlp_forward: the input gradient only (no parameter gradients), for
 * inference through a trained network. dx is overwritten. */
void mlp_backward_input(Mlp *mlp, const double *dy, int n, double *dx);
/* Forward mode in two input directions u, v (sizes[0] each, the same for every
 * row): y (n, nout), and per row the first derivatives dy (n, 2, nout) along u
 * and v and the second derivatives d2y (n, 3, nout) uu, uv, vv. Uses its own
 * scratch (5 * max_batch * max width); leaves the activation cache empty. */
PetscErrorCode mlp_forward_jet(Mlp *mlp, const double *x, const double *u, const double *v, int n, double *y,
                               double *dy, double *d2y);
/* y = net(x) for any n, in chunks of max_batch; overwrites the cache. */
void mlp_predict(Mlp *mlp, const double *x, size_t n, double *y);

#endif
