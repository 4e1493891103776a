/* Continuous-time CHEMPY (spec section 10) integrated with SUNDIALS CVODE. Stars form
 * in birth cohorts on a uniform grid of [0, T]; each cohort's returns are differences
 * of its cumulative return Q(age) and feed later intervals (method of steps).
 *
 * Per interval [t_j, t_j+1] (h = T/n): the cohort born in it is represented by two
 * Gauss-Legendre sub-cohorts (masses from the exact SFR integral, weighted by psi),
 * with ISM properties predicted at the interval centre; the feedback mass of the
 * interval (older cohorts plus self-enrichment) is delivered by a quadratic rate that
 * is continuous across interval ends; CVODE (BDF, diagonal Jacobian) integrates the
 * 18 ISM/corona masses with root finding on the infall regime switches; afterwards the
 * sub-cohorts get the ISM state at their birth times and their cumulative returns
 * Q(age) are differenced onto all later intervals. Q uses the exact discrete-IMF
 * mass of each yield bin (so fully dead bins return what the reference returns), the
 * analytic inverse of the Portinari lifetime polynomial, and the integrated Maoz DTD. */
#include "gce_internal.h"
#include <math.h>
#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <cvode/cvode_diag.h>

#define ODE_N      18 /* state: ISM G_e (9) then corona C_e (9) */
#define ODE_NQ     2  /* Gauss-Legendre sub-cohorts per cohort interval */
#define ODE_NTRACK 4  /* SN II and AGB, one or two metallicity tables each */

/* Bins of one process and metallicity table: log10 boundaries and discrete IMF weights. */
typedef struct {
  PetscInt nb;
  double lb[GCE_MAXM + 1]; /* log10 beta, descending */
  double W[GCE_MAXM];      /* IMF mass fraction in [beta_{s+1}, beta_s) (per run) */
} OdeBins;

/* Cumulative return of one sub-cohort through the bins of one track. */
typedef struct {
  const OdeBins *bins;
  double cum[GCE_MAXM + 1][GCE_NE]; /* returned once bins 0..s-1 have died */
  PetscInt ptr;                     /* bin containing the current dying mass */
} OdeTrack;

/* One sub-cohort being evaluated: lifetime polynomial in log m and its tracks. */
typedef struct {
  double a, b, c, l100; /* log10 tau_yr = a + b lM + c lM^2; value at 100 Msun */
  PetscInt ntrack;
  OdeTrack tr[ODE_NTRACK];
} OdeSub;

struct OdeCohorts {
  const GceYields *y;
  PetscInt n; /* cohort intervals */
  PetscReal rtol, atol;
  SUNContext ctx;
  void *cvode;
  N_Vector u, utmp;
  OdeBins bins[2][GCE_MAXZ]; /* [sn2, agb][table] */
  OdeSub sub;                /* reused for every sub-cohort */
  double *lage, *nia;        /* (ODE_NQ, n+1) log10 age [yr] and cumulative SN Ia at age (k - xi_q) h */
  double (*fut)[GCE_NE];     /* (n, 9) mass returned in interval j by finished cohorts */
  double yia9[GCE_NE];       /* per SN Ia event: ejecta minus accreted hydrogen */
  /* per-run constants used by the right-hand side */
  double cosmic; /* CHEMPY sfr_factor_for_cosmic_accretion: corona accretion rate cosmic * psi */
  double s, inv_gc, sfe, x_out;
  double t0, hj, Fa[GCE_NE], Fb[GCE_NE], Fc[GCE_NE],
      Ft[3];   /* feedback rate in the interval: a + b tau + c tau^2, tau = (t - t0)/hj */
  double cmin; /* corona mass treated as exhausted */
  int mode;    /* infall regime: MODE_FREE, MODE_KS or MODE_DRAINED */
};

static const double pi_e[GCE_NE] = {0, 0, 0.76, 0.24, 0, 0, 0, 0, 0};
static const double xi[ODE_NQ] = {0.21132486540518713, 0.78867513459481287};

static inline void sfr(const struct OdeCohorts *o, double t, double *psi, double *dpsi)
{
  double ex = exp(-t / o->s), s2 = o->s * o->s;
  *psi = t / s2 * ex * o->inv_gc;
  *dpsi = (1.0 / s2 - t / (s2 * o->s)) * ex * o->inv_gc;
}

/* Kennicutt-Schmidt infall as a complementarity condition G >= psi/SFE, A >= 0,
   A (G - psi/SFE) = 0, integrated in three regimes:
   MODE_KS: A = psi'/SFE + psi - (1-x)F and star formation SFE*G_e, so that
     d(G - psi/SFE)/dt = -SFE (G - psi/SFE) keeps the ISM on the constraint without drift;
   MODE_FREE: feedback alone keeps G above psi/SFE; A = 0, star formation psi G_e/G;
   MODE_DRAINED: the corona is exhausted (the continuum form of CHEMPY's clip I <= C):
     the infall is whatever flows into the corona (x F + cosmic psi), which therefore passes
     straight to the ISM while the corona's residue (cmin) is frozen; G < psi/SFE.
   The switches are located by CVODE root finding and the integrator is restarted
   there: KS -> FREE when A_KS falls through 0; FREE -> KS when G falls to psi/SFE;
   KS -> DRAINED when C falls to cmin; DRAINED -> FREE when G rises to psi/SFE. */
enum { MODE_FREE = 0, MODE_KS = 1, MODE_DRAINED = 2 };

static inline double a_active(const struct OdeCohorts *o, double t, double *psi)
{
  double dpsi;
  sfr(o, t, psi, &dpsi);
  double tau = (t - o->t0) / o->hj;
  return dpsi / o->sfe + *psi - (1.0 - o->x_out) * (o->Ft[0] + tau * (o->Ft[1] + tau * o->Ft[2]));
}

static int ode_rhs(sunrealtype t, N_Vector uv, N_Vector udot, void *ud)
{
  struct OdeCohorts *o = ud;
  const double *y = N_VGetArrayPointer(uv);
  double *dy = N_VGetArrayPointer(udot);
  double G = 0, C = 0, psi, A, sig;
  for (int e = 0; e < GCE_NE; e++) {
    G += y[e];
    C += y[GCE_NE + e];
  }
  double tau = (t - o->t0) / o->hj;
  A = a_active(o, t, &psi);
  sig = o->mode == MODE_KS ? o->sfe : (G > 0 ? psi / G : o->sfe);
  if (o->mode == MODE_DRAINED) { /* everything reaching the empty corona falls on to the ISM */
    for (int e = 0; e < GCE_NE; e++) {
      double F = o->Fa[e] + tau * (o->Fb[e] + tau * o->Fc[e]);
      dy[e] = F + o->cosmic * psi * pi_e[e] - sig * y[e];
      dy[GCE_NE + e] = 0.0;
    }
    return 0;
  }
  if (o->mode == MODE_FREE) A = 0.0;
  double ac = C > 0 ? A / C : 0.0;
  for (int e = 0; e < GCE_NE; e++) {
    double mv = ac * y[GCE_NE + e];
    double F = o->Fa[e] + tau * (o->Fb[e] + tau * o->Fc[e]);
    dy[e] = (1.0 - o->x_out) * F + mv - sig * y[e];
    dy[GCE_NE + e] = o->x_out * F + o->cosmic * psi * pi_e[e] - mv;
  }
  return 0;
}

static int ode_root(sunrealtype t, N_Vector uv, sunrealtype *g, void *ud)
{
  struct OdeCohorts *o = ud;
  const double *y = N_VGetArrayPointer(uv);
  double G = 0, C = 0, psi;
  for (int e = 0; e < GCE_NE; e++) {
    G += y[e];
    C += y[GCE_NE + e];
  }
  double A = a_active(o, t, &psi);
  /* FREE and DRAINED start on the constraint (G = psi/SFE); the small offset keeps the
     switch function away from zero there, so CVODE does not see a root at the restart */
  double off = 1e-8 * G;
  g[0] = o->mode == MODE_KS ? A : (o->mode == MODE_FREE ? G - psi / o->sfe + off : G - psi / o->sfe - off);
  /* KS: the corona runs dry; DRAINED: the ISM runs dry (no gas for the prescribed SFR) */
  g[1] = o->mode == MODE_KS ? C - o->cmin : (o->mode == MODE_DRAINED ? G - o->cmin : 1.0);
  return 0;
}

/* Mode consistent with the state at t (after a jump of the forcing). */
static void mode_fix(struct OdeCohorts *o, double t, const double *y)
{
  double G = 0, psi;
  for (int e = 0; e < GCE_NE; e++) G += y[e];
  double A = a_active(o, t, &psi), Gk = psi / o->sfe;
  if (o->mode == MODE_KS && A < 0)
    o->mode = MODE_FREE;
  else if (o->mode == MODE_FREE && G <= Gk)
    o->mode = MODE_KS;
  else if (o->mode == MODE_DRAINED && G >= Gk)
    o->mode = MODE_FREE;
}

PetscErrorCode ode_create(const GceYields *y, const GceConfig *c, OdeCohorts **op)
{
  OdeCohorts *o;
  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(1, &o));
  o->y = y;
  o->n = c->cohorts;
  o->rtol = c->rtol;
  o->atol = c->atol;
  o->cosmic = c->cosmic_accretion_factor;
  PetscCall(PetscMalloc3(ODE_NQ * (o->n + 1), &o->lage, ODE_NQ * (o->n + 1), &o->nia, o->n, &o->fut));
  const GceProcTable *pt[2] = {&y->sn2, &y->agb};
  for (int p = 0; p < 2; p++)
    for (PetscInt iz = 0; iz < pt[p]->nz; iz++) {
      OdeBins *b = &o->bins[p][iz];
      b->nb = pt[p]->t[iz].nm;
      for (PetscInt s = 0; s <= b->nb; s++) b->lb[s] = log10(pt[p]->t[iz].beta[s]);
    }
  for (int e = 0; e < GCE_NE; e++) o->yia9[e] = y->m_ia * y->y_ia[e] - (e == E_H ? y->m_ia - y->m_wd : 0.0);

  SUNCall(SUNContext_Create(NULL, &o->ctx));
  o->u = N_VNew_Serial(ODE_N, o->ctx);
  o->utmp = N_VNew_Serial(ODE_N, o->ctx);
  PetscCheck(o->u && o->utmp, PETSC_COMM_SELF, PETSC_ERR_MEM, "N_VNew_Serial failed");
  o->cvode = CVodeCreate(CV_BDF, o->ctx);
  PetscCheck(o->cvode, PETSC_COMM_SELF, PETSC_ERR_LIB, "CVodeCreate failed");
  N_VConst(0.0, o->u);
  SUNCall(CVodeInit(o->cvode, ode_rhs, 0.0, o->u));
  SUNCall(CVodeSetUserData(o->cvode, o));
  SUNCall(CVodeSStolerances(o->cvode, o->rtol, o->atol));
  SUNCall(CVodeSetMaxNumSteps(o->cvode, 20000));
  SUNCall(CVodeRootInit(o->cvode, 2, ode_root));
  /* directions are checked when a root is reported (DRAINED -> FREE is a rising G) */
  /* a root exactly at the start of an interval is expected (infall on/off) and harmless */
  SUNCall(CVodeSetNoInactiveRootWarn(o->cvode));
  /* The only stiff term is the star-formation sink (rate SFE, up to 100/Gyr), which is
     diagonal; infall and feedback couple components on Gyr time scales. A diagonal
     Jacobian approximation is therefore enough for the Newton iteration and much
     cheaper than a dense LU after every restart. */
  SUNCall(CVDiag(o->cvode));
  *op = o;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode ode_destroy(OdeCohorts **op)
{
  PetscFunctionBeginUser;
  if (!op || !*op) PetscFunctionReturn(PETSC_SUCCESS);
  OdeCohorts *o = *op;
  CVodeFree(&o->cvode);
  N_VDestroy(o->u);
  N_VDestroy(o->utmp);
  SUNContext_Free(&o->ctx);
  PetscCall(PetscFree3(o->lage, o->nia, o->fut));
  PetscCall(PetscFree(*op));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set up a sub-cohort of ISM metallicity z and composition f: lifetime polynomial
   coefficients and the cumulative returns bin by bin (yields y + u f weighted by the
   discrete IMF mass of each bin, metallicity selection of spec 6.4). */
static void sub_build(OdeCohorts *o, double z, const double f[GCE_NE])
{
  const double *p = gce_portinari;
  const GceProcTable *pt[2] = {&o->y->sn2, &o->y->agb};
  OdeSub *sb = &o->sub;
  double lZ = z <= 0 ? -5.0 : log10(z);
  sb->a = p[0] + lZ * p[3] + lZ * lZ * p[6];
  sb->b = p[1] + lZ * p[4] + lZ * lZ * p[7];
  sb->c = p[2] + lZ * p[5];
  sb->l100 = sb->a + 2.0 * sb->b + 4.0 * sb->c;
  sb->ntrack = 0;
  for (int pr = 0; pr < 2; pr++) {
    int idx[2], nsel;
    double w[2];
    gce_zweights(pt[pr], z, idx, w, &nsel);
    int merge = pt[pr]->shared_bins || nsel == 1;
    for (int q = 0; q < nsel; q++) {
      if (merge && q > 0) break;
      OdeTrack *tr = &sb->tr[sb->ntrack++];
      const OdeBins *bn = &o->bins[pr][idx[q]];
      tr->bins = bn;
      tr->ptr = 0;
      for (int e = 0; e < GCE_NE; e++) tr->cum[0][e] = 0.0;
      for (PetscInt s = 0; s < bn->nb; s++) {
        double B[GCE_NE];
        for (int e = 0; e < GCE_NE; e++) B[e] = 0.0;
        for (int qq = merge ? 0 : q; qq < (merge ? nsel : q + 1); qq++) {
          const GceZTable *t = &pt[pr]->t[idx[qq]];
          for (int e = 0; e < GCE_NE; e++) B[e] += w[qq] * (t->y[s][e] + t->u[s] * f[e]);
        }
        for (int e = 0; e < GCE_NE; e++) tr->cum[s + 1][e] = tr->cum[s][e] + bn->W[s] * B[e];
      }
    }
  }
}

/* Cumulative return per unit mass of the current sub-cohort at log10 age L [yr] and
   cumulative SN Ia number nia. Within a bin the dying mass is spread uniformly in
   log m (the bin totals are the exact discrete-IMF weights). Ages only increase
   between calls on the same sub-cohort, so the bin pointers only move forward. */
static void sub_eval(OdeSub *sb, double L, double nia, const double yia9[GCE_NE], double Q[GCE_NE])
{
  for (int e = 0; e < GCE_NE; e++) Q[e] = nia * yia9[e];
  if (L < sb->l100) return; /* nothing above 100 Msun; also covers the non-monotonic fit at high z */
  double disc = sb->b * sb->b - 4.0 * sb->c * (sb->a - L);
  if (disc < 0) return;
  double lM = 2.0 * (sb->a - L) / (-sb->b + sqrt(disc)); /* root on the decreasing branch */
  for (PetscInt k = 0; k < sb->ntrack; k++) {
    OdeTrack *tr = &sb->tr[k];
    const OdeBins *bn = tr->bins;
    if (lM >= bn->lb[0]) continue;
    while (tr->ptr < bn->nb && lM < bn->lb[tr->ptr + 1]) tr->ptr++;
    PetscInt s = tr->ptr;
    if (s == bn->nb) {
      for (int e = 0; e < GCE_NE; e++) Q[e] += tr->cum[s][e];
    } else {
      double fr = (bn->lb[s] - lM) / (bn->lb[s] - bn->lb[s + 1]);
      for (int e = 0; e < GCE_NE; e++) Q[e] += tr->cum[s][e] + fr * (tr->cum[s + 1][e] - tr->cum[s][e]);
    }
  }
}

static void ism_props(const double *y, double *z, double f[GCE_NE])
{
  double G = 0, zm = 0;
  for (int e = 0; e < GCE_NE; e++) G += y[e];
  if (!(G > 0)) {
    for (int e = 0; e < GCE_NE; e++) f[e] = pi_e[e];
    *z = 0.0;
    return;
  }
  for (int e = 0; e < GCE_NE; e++) {
    f[e] = y[e] / G;
    if (gce_elem_is_metal[e]) zm += y[e];
  }
  *z = zm / G;
}

static double gcdf(double t, double s)
{
  double x = t / s;
  return -expm1(-x) - x * exp(-x);
}

static void accumulate_stats(void *cv, GceRunStats *st)
{
  long v;
  if (CVodeGetNumSteps(cv, &v) == CV_SUCCESS) st->steps += v;
  if (CVodeGetNumRhsEvals(cv, &v) == CV_SUCCESS) st->rhs_evals += v;
  if (CVodeGetNumErrTestFails(cv, &v) == CV_SUCCESS) st->err_test_fails += v;
  if (CVodeGetNumNonlinSolvConvFails(cv, &v) == CV_SUCCESS) st->nonlin_fails += v;
}

GceStatus ode_run(OdeCohorts *o, const GceParams *p, GceImf *imf, double G9[GCE_NE], double *hist, PetscInt *nhist,
                  GceRunStats *st, GceBudget *bud)
{
  const GceYields *y = o->y;
  const PetscInt n = o->n;
  const double T = p->T, h = T / (double)n, tau8 = 0.04, end = GCE_END;
  *nhist = 0;

  /* Continuum 5 % rule: psi(T) against the mean of psi over [0, end]. */
  if (!gce_sfr_rule_accepts(log10(p->s), T)) return GCE_REJ_SFR;

  o->s = p->s;
  o->inv_gc = 1.0 / gcdf(T, p->s);
  o->sfe = p->sfe;
  o->x_out = p->x_out;
  o->mode = MODE_KS;
  /* corona mass below which it counts as exhausted (reference: infall clipped at C) */
  o->cmin = 1e-6;
  /* discrete IMF mass per bin: fully dead bins return exactly what the reference does */
  const GceProcTable *pt[2] = {&y->sn2, &y->agb};
  for (int pr = 0; pr < 2; pr++)
    for (PetscInt iz = 0; iz < pt[pr]->nz; iz++)
      for (PetscInt s = 0; s < pt[pr]->t[iz].nm; s++)
        o->bins[pr][iz].W[s] = gce_imf_weight(y, imf, pt[pr]->t[iz].beta[s + 1], pt[pr]->t[iz].beta[s]);
  /* ages of sub-cohort q at the interval ends, and the Maoz DTD integrated to them
     (normalised over 13.8 Gyr) */
  double dnorm = 1.0 - pow(13.8 / tau8, -0.12);
  for (int q = 0; q < ODE_NQ; q++)
    for (PetscInt k = 1; k <= n; k++) {
      double age = ((double)k - xi[q]) * h;
      o->lage[q * (n + 1) + k] = log10(age * 1e9);
      o->nia[q * (n + 1) + k] = age > tau8 ? p->n_ia * (1.0 - pow(age / tau8, -0.12)) / dnorm : 0.0;
    }
  for (PetscInt j = 0; j < n; j++)
    for (int e = 0; e < GCE_NE; e++) o->fut[j][e] = 0.0;

  /* Initial state: empty ISM, corona of primordial gas scaled to the full SFH. */
  double *u = N_VGetArrayPointer(o->u), c0 = gcdf(end, p->s) * o->inv_gc;
  for (int e = 0; e < GCE_NE; e++) {
    u[e] = 0.0;
    u[GCE_NE + e] = pi_e[e] * c0;
  }
  bud->gas0 = c0;
  bud->accreted = o->cosmic; /* integral of cosmic * psi over [0, T] */
  bud->formed = 1.0;
  bud->returned = 0.0;
  double tcur = 0.0, ustop[ODE_NQ][ODE_N], zprev = 0.0, fprev[GCE_NE], fstart[GCE_NE] = {0};
  GceStatus status = GCE_OK;
  for (PetscInt j = 0; j < n && status == GCE_OK; j++) {
    double t0 = j * h, t1 = (j + 1 == n) ? T : (j + 1) * h;
    double mc = (gcdf(t1, p->s) - gcdf(t0, p->s)) * o->inv_gc, mq[ODE_NQ], psq = 0, dummy;
    for (int q = 0; q < ODE_NQ; q++) {
      sfr(o, t0 + xi[q] * h, &mq[q], &dummy);
      psq += mq[q];
    }
    for (int q = 0; q < ODE_NQ; q++) mq[q] *= mc / psq;

    /* Cohort properties predicted at the interval's centre by linear extrapolation
       from the last two interval ends (second order; corrected below once the
       interval is done). */
    double z, f[GCE_NE], Q[GCE_NE], zp, fp[GCE_NE];
    ism_props(u, &z, f);
    if (j > 0) {
      zp = z + 0.5 * (z - zprev);
      if (zp < 0) zp = z;
      for (int e = 0; e < GCE_NE; e++) fp[e] = f[e] + 0.5 * (f[e] - fprev[e]);
    } else {
      zp = z;
      for (int e = 0; e < GCE_NE; e++) fp[e] = f[e];
    }
    zprev = z;
    for (int e = 0; e < GCE_NE; e++) fprev[e] = f[e];
    sub_build(o, zp, fp);

    /* Mass returned in this interval (older cohorts plus self-enrichment) and a
       prediction for the next one. The rate is a quadratic in time that starts where
       the previous one ended (continuous forcing, so CVODE need not restart), returns
       exactly the interval's mass, and ends at the mean of this and the next
       interval's average rate. */
    double self[GCE_NE] = {0}, next[GCE_NE] = {0}, mnext = 0;
    if (j + 1 < n) mnext = (gcdf(t1 + h < T ? t1 + h : T, p->s) - gcdf(t1, p->s)) * o->inv_gc;
    for (int q = 0; q < ODE_NQ; q++) {
      OdeSub *sb = &o->sub;
      double Q2[GCE_NE];
      for (PetscInt k = 0; k < sb->ntrack; k++) sb->tr[k].ptr = 0;
      sub_eval(sb, o->lage[q * (n + 1) + 1], o->nia[q * (n + 1) + 1], o->yia9, Q);
      if (j + 1 < n) sub_eval(sb, o->lage[q * (n + 1) + 2], o->nia[q * (n + 1) + 2], o->yia9, Q2);
      for (int e = 0; e < GCE_NE; e++) {
        self[e] += mq[q] * Q[e];
        if (j + 1 < n) next[e] += mq[q] * (Q2[e] - Q[e]) + mnext * mq[q] / mc * Q[e];
      }
    }
    o->t0 = t0;
    o->hj = t1 - t0;
    o->Ft[0] = o->Ft[1] = o->Ft[2] = 0;
    for (int e = 0; e < GCE_NE; e++) {
      double avg = (o->fut[j][e] + self[e]) / o->hj, fe = avg, a = fstart[e];
      bud->returned += o->fut[j][e] + self[e];
      if (j + 1 < n) fe = 0.5 * (avg + (o->fut[j + 1][e] + next[e]) / o->hj);
      /* keep a positive rate positive: a quadratic from 0 that ends above 3x its mean dips below zero */
      if (avg > 0 && a >= 0 && fe > 2.5 * avg) fe = 2.5 * avg;
      if (avg > 0 && fe < 0) fe = 0;
      o->Fa[e] = a;
      o->Fb[e] = 6.0 * avg - 2.0 * fe - 4.0 * a;
      o->Fc[e] = 3.0 * fe + 3.0 * a - 6.0 * avg;
      fstart[e] = fe;
      o->Ft[0] += o->Fa[e];
      o->Ft[1] += o->Fb[e];
      o->Ft[2] += o->Fc[e];
    }

    /* The forcing is continuous but changes formula at interval ends: no step may
       cross one (stop time). The integrator is restarted only where the infall regime
       changes. Sub-cohort birth states come from CVODE's interpolant. */
    int was_mode = o->mode;
    mode_fix(o, tcur, u);
    if (j == 0 || was_mode != o->mode) {
      if (j > 0) accumulate_stats(o->cvode, st);
      if (CVodeReInit(o->cvode, tcur, o->u) < 0) return GCE_SOLVER_FAILURE;
    }
    CVodeSetStopTime(o->cvode, t1);
    double tq[ODE_NQ + 1] = {t0 + xi[0] * h, t0 + xi[1] * h, t1};
    for (int q = 0; q <= ODE_NQ && status == GCE_OK; q++) {
      N_Vector out = q < ODE_NQ ? o->utmp : o->u;
      double tret = -1.0;
      while (status == GCE_OK && tret < tq[q]) {
        if (tret > 0 && tq[q] - tret < 1e-10 * h) break; /* restarted just short of the output time */
        double tw = cs_wtime();
        int flag = CVode(o->cvode, tq[q], out, &tret, CV_NORMAL);
        st->cvode_seconds += cs_wtime() - tw;
        if (flag < 0) {
          st->cvode_flag = flag;
          status = GCE_SOLVER_FAILURE;
        } else if (flag == CV_ROOT_RETURN) { /* infall switches on or off: new mode, restart */
          int rinfo[2] = {0, 0}, old = o->mode;
          CVodeGetRootInfo(o->cvode, rinfo);
          if (o->mode == MODE_DRAINED && rinfo[1] < 0) { /* reference: assertion G >= S_n */
            status = GCE_REJ_NEGATIVE;
            break;
          }
          if (o->mode == MODE_KS && rinfo[1] < 0)
            o->mode = MODE_DRAINED;
          else if (o->mode == MODE_KS && rinfo[0] < 0)
            o->mode = MODE_FREE;
          else if (o->mode == MODE_FREE && rinfo[0] < 0)
            o->mode = MODE_KS;
          else if (o->mode == MODE_DRAINED && rinfo[0] > 0)
            o->mode = MODE_FREE;
          if (o->mode != old) {
            accumulate_stats(o->cvode, st);
            if (CVodeReInit(o->cvode, tret, out) < 0) return GCE_SOLVER_FAILURE;
            CVodeSetStopTime(o->cvode, t1);
          }
        }
      }
      if (q < ODE_NQ) {
        const double *uo = N_VGetArrayPointer(out);
        for (int i = 0; i < ODE_N; i++) ustop[q][i] = uo[i];
      }
    }
    tcur = t1;
    if (status != GCE_OK) break;

    /* Finished cohort: properties at each sub-cohort's birth time; its returns to
       all later intervals as differences of cumulative returns. */
    for (int q = 0; q < ODE_NQ; q++) {
      double Q0[GCE_NE], Q1[GCE_NE];
      ism_props(ustop[q], &z, f);
      sub_build(o, z, f);
      sub_eval(&o->sub, o->lage[q * (n + 1) + 1], o->nia[q * (n + 1) + 1], o->yia9, Q0);
      for (PetscInt jj = j + 1; jj < n; jj++) {
        PetscInt k = jj - j + 1;
        sub_eval(&o->sub, o->lage[q * (n + 1) + k], o->nia[q * (n + 1) + k], o->yia9, Q1);
        for (int e = 0; e < GCE_NE; e++) {
          o->fut[jj][e] += mq[q] * (Q1[e] - Q0[e]);
          Q0[e] = Q1[e];
        }
      }
    }

    /* Rejection: an element mass clearly below zero (beyond the absolute tolerance). */
    double G = 0, C = 0, zm = 0;
    for (int e = 0; e < GCE_NE; e++) {
      if (u[e] < -10 * o->atol) status = GCE_REJ_NEGATIVE;
      G += u[e];
      C += u[GCE_NE + e];
      if (gce_elem_is_metal[e]) zm += u[e];
    }
    if (C < 0) status = GCE_REJ_NEGATIVE;
    if (hist) {
      double *row = hist + (*nhist)++ * GCE_HRAW;
      row[0] = t1;
      for (int e = 0; e < GCE_NE; e++) row[1 + e] = u[e];
      row[10] = G;
      row[11] = C;
      row[12] = G > 0 ? zm / G : 0.0;
    }
  }
  accumulate_stats(o->cvode, st);
  bud->ism = bud->corona = 0.0;
  for (int e = 0; e < GCE_NE; e++) {
    G9[e] = u[e];
    bud->ism += u[e];
    bud->corona += u[GCE_NE + e];
  }
  return status;
}
