/* Adam and schedule-free AdamW as single loops over the flat buffers. The
 * schedule-free step follows schedulefree's AdamWScheduleFree.step line by
 * line (y interpolated towards z, then a gradient step; z a plain AdamW step). */
#include <chempysbi/opt.h>
#include <assert.h>
#include <math.h>

PetscErrorCode opt_create(OptKind kind, size_t n, Opt **out)
{
  Opt *o;

  PetscFunctionBeginUser;
  PetscCheck(kind == OPT_ADAM || kind == OPT_SCHEDULEFREE, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "unknown optimiser kind %d", (int)kind);
  PetscCall(PetscCalloc1(1, &o));
  o->kind = kind;
  o->lr = 1e-3;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->weight_decay = 0.0;
  o->warmup_steps = 0;
  o->r = 0.0;
  o->weight_lr_power = 2.0;
  o->step = 0;
  o->lr_max = -1.0;
  o->weight_sum = 0.0;
  o->train_mode = 1;
  o->n = n;
  o->nstate = 2 * n;
  PetscCall(PetscCalloc1(o->nstate ? o->nstate : 1, &o->state));
  *out = o;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode opt_destroy(Opt **o)
{
  PetscFunctionBeginUser;
  if (!*o) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree((*o)->state));
  PetscCall(PetscFree(*o));
  PetscFunctionReturn(PETSC_SUCCESS);
}

double opt_scheduled_lr(const Opt *o)
{
  if (o->kind == OPT_SCHEDULEFREE && o->step < o->warmup_steps)
    return o->lr * (double)(o->step + 1) / (double)o->warmup_steps;
  return o->lr;
}

/* The update loops are cloned for AVX2 and allowed to vectorise at -O2
 * (sqrt without errno, dynamic cost model). Vector sqrt and division round
 * exactly like scalar ones, so every clone gives the same bits. */
#define OPT_LOOP_ATTR                                                                                                  \
  __attribute__((target_clones("avx2", "default"), optimize("no-math-errno", "vect-cost-model=dynamic")))

/* The loops update [lo, hi) only, g holding the gradient of those entries (g[0] is entry lo):
 * a sharded step (one slice per rank) gives the same bits as the whole one. */
OPT_LOOP_ATTR static void adam_step(Opt *o, double *p, const double *g, size_t lo, size_t hi)
{
  double *m = o->state, *v = o->state + o->n;
  double b1 = o->beta1, b2 = o->beta2, t = (double)(o->step + 1);
  /* PyTorch's arrangement: p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps) */
  double step_size = o->lr / (1.0 - pow(b1, t));
  double sqrt_bc2 = sqrt(1.0 - pow(b2, t));
  double decay = 1.0 - o->lr * o->weight_decay;
  for (size_t i = lo; i < hi; i++) {
    const double gi = g[i - lo];
    m[i] = b1 * m[i] + (1.0 - b1) * gi;
    v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
    p[i] = p[i] * decay - step_size * m[i] / (sqrt(v[i]) / sqrt_bc2 + o->eps);
  }
}

OPT_LOOP_ATTR static void schedulefree_step(Opt *o, double *y, const double *g, size_t lo, size_t hi)
{
  double *z = o->state, *v = o->state + o->n;
  double b1 = o->beta1, b2 = o->beta2, k = (double)o->step;
  double lr = opt_scheduled_lr(o);
  double bc2 = 1.0 - pow(b2, k + 1.0);
  if (o->step == 0) memcpy(z + lo, y + lo, (hi - lo) * sizeof(double)); /* z starts at the initial point */
  o->lr_max = lr > o->lr_max ? lr : o->lr_max;
  double weight = pow(k + 1.0, o->r) * pow(o->lr_max, o->weight_lr_power);
  o->weight_sum += weight;
  double ckp1 = o->weight_sum != 0.0 ? weight / o->weight_sum : 0.0;
  double ylr = lr * (b1 * (1.0 - ckp1) - 1.0);
  for (size_t i = lo; i < hi; i++) {
    const double gi = g[i - lo];
    v[i] = v[i] * b2 + (1.0 - b2) * gi * gi;
    double gn = gi / (sqrt(v[i] / bc2) + o->eps);
    if (o->weight_decay != 0.0) gn += o->weight_decay * y[i];
    y[i] = y[i] + ckp1 * (z[i] - y[i]); /* torch lerp */
    y[i] += ylr * gn;
    z[i] -= lr * gn;
  }
}

void opt_step_range(Opt *o, double *params, const double *grads, size_t lo, size_t hi)
{
  assert(o->kind == OPT_ADAM || o->train_mode); /* gradients are taken at y */
  assert(lo <= hi && hi <= o->n);
  if (o->kind == OPT_ADAM)
    adam_step(o, params, grads, lo, hi);
  else
    schedulefree_step(o, params, grads, lo, hi);
  o->step++;
}

void opt_step(Opt *o, double *params, const double *grads) { opt_step_range(o, params, grads, 0, o->n); }

/* y = (1 - b1) z + b1 x, so x = lerp(y, z, 1 - 1/b1) and y = lerp(x, z, 1 - b1). */
void opt_eval_mode_range(Opt *o, double *p, size_t lo, size_t hi)
{
  if (o->kind != OPT_SCHEDULEFREE || !o->train_mode) return;
  o->train_mode = 0;
  if (o->step == 0) return;
  double w = 1.0 - 1.0 / o->beta1;
  const double *z = o->state;
  for (size_t i = lo; i < hi; i++) p[i] = p[i] + w * (z[i] - p[i]);
}

void opt_train_mode_range(Opt *o, double *p, size_t lo, size_t hi)
{
  if (o->kind != OPT_SCHEDULEFREE || o->train_mode) return;
  o->train_mode = 1;
  if (o->step == 0) return;
  double w = 1.0 - o->beta1;
  const double *z = o->state;
  for (size_t i = lo; i < hi; i++) p[i] = p[i] + w * (z[i] - p[i]);
}

void opt_eval_mode(Opt *o, double *p) { opt_eval_mode_range(o, p, 0, o->n); }
void opt_train_mode(Opt *o, double *p) { opt_train_mode_range(o, p, 0, o->n); }
