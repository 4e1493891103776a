/* Rejection ABC on a simulation table (abc.h): distances to every eligible
 * row, the k nearest by quickselect (O(n), no sort), kernel and prior-ratio
 * weights, and Beaumont et al.'s weighted local-linear regression of the
 * (logit-transformed) parameters on the simulated-minus-observed statistics,
 * solved by LAPACK's Cholesky. */
#include <chempysbi/abc.h>
#include <petscblaslapack.h>
#include <math.h>

const char *const abc_kernel_names[] = {"uniform", "gauss", "AbcKernel", "ABC_KERNEL_", NULL};

typedef struct {
  double d2;
  PetscInt i;
} AbcPair;

struct AbcWork {
  PetscInt n, kmax;
  AbcPair *pair; /* (n) */
  double *s;     /* (kmax, ABC_MAX_STAT) statistics of the accepted rows, simulated - observed, noise units */
  double *eta;   /* (kmax, ABC_MAX_PARAM) transformed parameters */
  double *lw;    /* (kmax) log weights */
};

PetscErrorCode abc_work_create(const AbcTable *t, PetscInt kmax, AbcWork **w)
{
  AbcWork *a;
  PetscFunctionBeginUser;
  PetscCheck(t->P >= 1 && t->P <= ABC_MAX_PARAM && t->E >= 1 && t->E <= ABC_MAX_STAT, PETSC_COMM_SELF,
             PETSC_ERR_ARG_OUTOFRANGE, "abc: %d parameters and %d statistics (at most %d and %d)", t->P, t->E,
             ABC_MAX_PARAM, ABC_MAX_STAT);
  PetscCheck(kmax >= 1 && t->n >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "abc: need at least one table row and one accepted row");
  PetscCall(PetscNew(&a));
  a->n = t->n;
  a->kmax = kmax;
  PetscCall(PetscMalloc4(t->n, &a->pair, kmax * ABC_MAX_STAT, &a->s, kmax * ABC_MAX_PARAM, &a->eta, kmax, &a->lw));
  *w = a;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode abc_work_destroy(AbcWork **w)
{
  PetscFunctionBeginUser;
  if (!*w) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree4((*w)->pair, (*w)->s, (*w)->eta, (*w)->lw));
  PetscCall(PetscFree(*w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static inline void swap_pair(AbcPair *a, AbcPair *b)
{
  AbcPair t = *a;
  *a = *b;
  *b = t;
}

/* Hoare quickselect, median-of-three pivot: afterwards a[0..k) hold the k
 * smallest d2 (in no particular order) and a[k-1] is the k-th smallest. */
static void select_k(AbcPair *a, PetscInt n, PetscInt k)
{
  PetscInt lo = 0, hi = n - 1, t = k - 1;
  while (hi > lo) {
    PetscInt mid = lo + (hi - lo) / 2;
    if (a[mid].d2 < a[lo].d2) swap_pair(&a[mid], &a[lo]);
    if (a[hi].d2 < a[lo].d2) swap_pair(&a[hi], &a[lo]);
    if (a[hi].d2 < a[mid].d2) swap_pair(&a[hi], &a[mid]);
    double piv = a[mid].d2;
    PetscInt i = lo, j = hi;
    while (i <= j) {
      while (a[i].d2 < piv) i++;
      while (a[j].d2 > piv) j--;
      if (i <= j) {
        swap_pair(&a[i], &a[j]);
        i++;
        j--;
      }
    }
    if (t <= j)
      hi = j;
    else if (t >= i)
      lo = i;
    else
      break; /* a[j+1 .. i-1] all equal the pivot */
  }
  /* Put the k-th smallest at k-1: the largest of the first k. */
  PetscInt m = 0;
  for (PetscInt q = 1; q < k; q++)
    if (a[q].d2 > a[m].d2) m = q;
  swap_pair(&a[m], &a[k - 1]);
}

static inline double to_eta(double th, double lo, double hi)
{
  double u = (th - lo) / (hi - lo);
  u = PetscMin(PetscMax(u, 1e-12), 1 - 1e-12);
  return log(u / (1 - u));
}

static inline double from_eta(double eta, double lo, double hi) { return lo + (hi - lo) / (1 + exp(-eta)); }

/* Weighted least squares of eta (k, P) on [1, s] (k, 1 + m), then
 * eta_i -= s_i^T beta: Beaumont et al.'s adjustment. False when the normal
 * matrix is not positive definite. */
static PetscBool regress_adjust(PetscInt k, int m, int P, const double *s, const double *w, double *eta)
{
  const int q = m + 1;
  double A[(ABC_MAX_STAT + 1) * (ABC_MAX_STAT + 1)] = {0}, B[(ABC_MAX_STAT + 1) * ABC_MAX_PARAM] = {0};
  for (PetscInt i = 0; i < k; i++) {
    double z[ABC_MAX_STAT + 1];
    z[0] = 1;
    for (int j = 0; j < m; j++) z[j + 1] = s[i * ABC_MAX_STAT + j];
    for (int a = 0; a < q; a++) {
      for (int b = 0; b <= a; b++) A[b * q + a] += w[i] * z[a] * z[b]; /* column-major lower = row-major upper */
      for (int p = 0; p < P; p++) B[p * q + a] += w[i] * z[a] * eta[i * ABC_MAX_PARAM + p];
    }
  }
  /* A tiny ridge keeps a statistic that barely varies among the accepted rows from making A singular. */
  for (int a = 0; a < q; a++) A[a * q + a] += 1e-10 * A[a * q + a] + 1e-300;
  PetscBLASInt n = q, nrhs = P, lda = q, info = 0;
  LAPACKpotrf_("L", &n, A, &lda, &info);
  if (info) return PETSC_FALSE;
  LAPACKpotrs_("L", &n, &nrhs, A, &lda, B, &lda, &info);
  if (info) return PETSC_FALSE;
  for (PetscInt i = 0; i < k; i++)
    for (int p = 0; p < P; p++) {
      double d = 0;
      for (int j = 0; j < m; j++) d += s[i * ABC_MAX_STAT + j] * B[p * q + j + 1];
      eta[i * ABC_MAX_PARAM + p] -= d;
    }
  return PETSC_TRUE;
}

PetscErrorCode abc_star(const AbcTable *t, const AbcOptions *o, const double *x, const double *sigma, AbcWork *w,
                        double *theta, double *weight, AbcStats *st)
{
  const int E = t->E, P = t->P;
  const PetscBool uni = o->kernel == ABC_KERNEL_UNIFORM;
  int present[ABC_MAX_STAT], m = 0;
  double xs[ABC_MAX_STAT], is[ABC_MAX_STAT];
  PetscFunctionBeginUser;
  PetscCheck(o->k >= 1 && o->k <= w->kmax && w->n == t->n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "abc: k = %" PetscInt_FMT " outside 1..%" PetscInt_FMT " (or work made for another table)", o->k, w->kmax);
  PetscCheck(!uni || t->noise, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "abc: the uniform kernel needs the rows' noise");
  /* Regressing to s = 0 under the Gaussian kernel would condition on a noise-free observation. */
  PetscCheck(uni || !o->adjust, PETSC_COMM_SELF, PETSC_ERR_ARG_INCOMP,
             "abc: the regression adjustment applies to the uniform kernel only (the Gaussian kernel is already the "
             "likelihood)");
  for (int e = 0; e < E; e++)
    if (isfinite(x[e]) && isfinite(sigma[e])) {
      PetscCheck(sigma[e] > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
                 "abc: error %g of statistic %d is not positive", sigma[e], e);
      present[m] = e;
      is[m] = 1 / sigma[e];
      xs[m] = x[e] / sigma[e];
      m++;
    }
  PetscCheck(m > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "abc: the observation has no statistic present");

  /* Distances to every eligible row. */
  PetscInt ne = 0;
  for (PetscInt i = 0; i < t->n; i++) {
    if (t->logw && !isfinite(t->logw[i])) continue;
    const double *si = t->sim + i * E, *ni = t->noise ? t->noise + i * E : NULL;
    double d2 = 0;
    if (uni)
      for (int j = 0; j < m; j++) {
        double u = xs[j] - si[present[j]] * is[j] - ni[present[j]];
        d2 += u * u;
      }
    else
      for (int j = 0; j < m; j++) {
        double u = xs[j] - si[present[j]] * is[j];
        d2 += u * u;
      }
    w->pair[ne].d2 = isfinite(d2) ? d2 : INFINITY;
    w->pair[ne].i = i;
    ne++;
  }
  PetscCheck(ne >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "abc: no table row lies inside the target prior");
  const PetscInt k = PetscMin(o->k, ne);
  select_k(w->pair, ne, k);
  const double eps2 = w->pair[k - 1].d2;
  PetscCheck(isfinite(eps2), PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG,
             "abc: fewer than %" PetscInt_FMT " table rows have a finite distance", k);

  /* Weights of the accepted rows, their statistics and parameters. */
  double lwmax = -INFINITY;
  for (PetscInt a = 0; a < k; a++) {
    const PetscInt i = w->pair[a].i;
    const double d2 = w->pair[a].d2;
    double lw = t->logw ? t->logw[i] : 0;
    if (!uni)
      lw += -0.5 * d2;
    else if (o->adjust && k > 1)
      lw += eps2 > 0 ? log(PetscMax(1 - d2 / eps2, 0)) : 0; /* Epanechnikov */
    w->lw[a] = lw;
    lwmax = PetscMax(lwmax, lw);
    for (int j = 0; j < m; j++) {
      const int e = present[j];
      double s = t->sim[i * E + e] * is[j] - xs[j];
      if (uni) s += t->noise[i * E + e];
      w->s[a * ABC_MAX_STAT + j] = s;
    }
    for (int p = 0; p < P; p++) {
      double th = t->theta[i * P + p];
      w->eta[a * ABC_MAX_PARAM + p] = t->lo ? to_eta(th, t->lo[p], t->hi[p]) : th;
    }
  }
  if (!isfinite(lwmax)) /* only the k = 1 Epanechnikov edge case: every weight -inf */
    for (PetscInt a = 0; a < k; a++) w->lw[a] = 0, lwmax = 0;
  double sw = 0, sw2 = 0;
  for (PetscInt a = 0; a < k; a++) {
    weight[a] = exp(w->lw[a] - lwmax);
    sw += weight[a];
  }
  for (PetscInt a = 0; a < k; a++) {
    weight[a] /= sw;
    sw2 += weight[a] * weight[a];
  }
  st->eps = sqrt(eps2);
  st->eligible = ne;
  st->accepted = k;
  st->rate = (double)k / (double)ne;
  st->ess = 1 / sw2;
  st->nstat = m;
  st->adjusted = PETSC_FALSE;
  if (o->adjust && st->ess > m + 2) st->adjusted = regress_adjust(k, m, P, w->s, weight, w->eta);
  for (PetscInt a = 0; a < k; a++)
    for (int p = 0; p < P; p++) {
      double eta = w->eta[a * ABC_MAX_PARAM + p];
      theta[a * P + p] = t->lo ? from_eta(eta, t->lo[p], t->hi[p]) : eta;
    }
  for (PetscInt a = k; a < o->k; a++) { /* fewer eligible rows than k: zero-weight copies */
    weight[a] = 0;
    for (int p = 0; p < P; p++) theta[a * P + p] = theta[p];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

void abc_resample(PetscInt k, int P, const double *theta, const double *weight, PetscInt L, double u, double *out)
{
  double c = weight[0];
  PetscInt a = 0;
  for (PetscInt l = 0; l < L; l++) {
    double target = (l + u) / (double)L;
    while (c < target && a < k - 1) c += weight[++a];
    for (int p = 0; p < P; p++) out[l * P + p] = theta[a * P + p];
  }
}
