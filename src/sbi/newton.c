/* Newton iterations on the globals with Monte-Carlo locals (newton.h). */
#include <chempysbi/newton.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NZ     HIER_NZ
#define NBATCH 10 /* batch means for the Monte-Carlo variance of each star's score */
_Static_assert(NBATCH >= HIER_ZDRAWS, "the kept local draws are spaced by R / HIER_ZDRAWS >= 1 scores");
#define MAXSTEP 0.5 /* trust region: a Newton step moves each global by at most this many prior sd */

void newton_config_default(NewtonConfig *c)
{
  c->max_iter = 12;
  c->burn0 = 300;
  c->burn = 100;
  c->steps = 300;
  c->final_steps = 2000;
  c->thin = 5;
  c->seed = 1;
  c->progress_every = 5;
}

typedef struct {
  HierModel *m;
  PetscInt n;
  double *ez, *lpc, *prop, *lpp; /* current locals (n, 4), log target (n), proposal (n, 4), its log target */
  double *L, *logs;              /* proposal Cholesky factors (n, 16) and log scales (n) */
  Rng *rng;                      /* (n) one stream per star */
  /* per-star sums over retained draws */
  double *s1, *s2, *hs, *bs, *ze, *zz; /* (n,2) (n,3) (n,3) (n,NBATCH,2) (n,4) (n,10) */
  double *sc, *hc;                     /* score scratch (n, 2), (n, 3) */
  double *zk;                          /* (n, HIER_ZDRAWS, 4) evenly spaced retained draws, eta */
  PetscInt nacc, ntry;
} Chains;

/* Conditional covariance of the locals given the globals from a star's joint moments in eta. */
static void conditional_chol(const double *S, double *L)
{
  double a = S[0], b = S[1], c = S[7], det = a * c - b * b, Cz[16];
  double inv[4] = {c / det, -b / det, -b / det, a / det};
  if (!(det > 0)) inv[0] = inv[1] = inv[2] = inv[3] = 0;
  for (int q = 0; q < NZ; q++)
    for (int r = 0; r < NZ; r++) {
      double s = S[(2 + q) * 6 + 2 + r];
      for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++) s -= S[(2 + q) * 6 + x] * inv[x * 2 + y] * S[y * 6 + 2 + r];
      Cz[q * 4 + r] = s;
    }
  for (int q = 0; q < NZ; q++)
    for (int r = 0; r < q; r++) Cz[q * 4 + r] = Cz[r * 4 + q] = 0.5 * (Cz[q * 4 + r] + Cz[r * 4 + q]);
  hier_chol(NZ, Cz, L);
}

/* One Metropolis step for every star at globals etaL; with adapt, each
 * star's scale follows its own acceptance (Robbins-Monro, target 0.3). */
static PetscErrorCode mh_step(Chains *ch, const double etaL[2], PetscBool adapt, PetscInt k)
{
  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < ch->n; i++) {
    double xi[NZ], s = exp(ch->logs[i]);
    const double *L = ch->L + i * 16;
    for (int q = 0; q < NZ; q++) xi[q] = rng_normal(&ch->rng[i]);
    for (int q = 0; q < NZ; q++) {
      double v = 0;
      for (int r = 0; r <= q; r++) v += L[q * 4 + r] * xi[r];
      ch->prop[i * NZ + q] = ch->ez[i * NZ + q] + s * v;
    }
  }
  PetscCall(hier_star_logp(ch->m, etaL, ch->prop, ch->lpp, NULL, NULL));
  for (PetscInt i = 0; i < ch->n; i++) {
    double u = rng_uniform(&ch->rng[i]), d = ch->lpp[i] - ch->lpc[i];
    PetscBool acc = isfinite(ch->lpp[i]) && (d >= 0 || log(u) < d);
    if (acc) {
      for (int q = 0; q < NZ; q++) ch->ez[i * NZ + q] = ch->prop[i * NZ + q];
      ch->lpc[i] = ch->lpp[i];
    }
    if (adapt) ch->logs[i] += ((acc ? 1.0 : 0.0) - 0.3) * 2.0 / sqrt((double)k + 10.0);
    ch->nacc += acc, ch->ntry++;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

typedef struct {
  double S[2], info[3], J[3], V[3]; /* summed score, information, complete-data information, MC variance of S */
} Sums;

/* Burn in, then sample `steps` steps at thetaL, accumulating per-star score
 * statistics every thin-th step; sums over all ranks into *out. */
static PetscErrorCode evaluate(const ParCtx *ctx, Chains *ch, const double thL[2], PetscInt burn, PetscInt steps,
                               PetscInt thin, Sums *out, ParProgress *prog, PetscInt *done, PetscInt total)
{
  const PetscInt n = ch->n, R = steps / thin;
  double etaL[2] = {hier_to_eta(&ch->m->prior, 0, thL[0]), hier_to_eta(&ch->m->prior, 1, thL[1])};
  int64_t acc[11 * PAR_REPRO_LIMBS];
  PetscFunctionBeginUser;
  PetscCheck(R >= NBATCH, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "newton: %" PetscInt_FMT " steps / thin %" PetscInt_FMT " leaves fewer than %d scores per star", steps,
             thin, NBATCH);
  /* The current locals' log target changes with the globals. */
  PetscCall(hier_star_logp(ch->m, etaL, ch->ez, ch->lpc, NULL, NULL));
  for (PetscInt k = 0; k < burn; k++) {
    PetscCall(mh_step(ch, etaL, PETSC_TRUE, k));
    PetscCall(par_progress_report(ctx, prog, ++*done, total, NULL, PETSC_FALSE));
  }
  PetscCall(PetscArrayzero(ch->s1, n * 2));
  PetscCall(PetscArrayzero(ch->s2, n * 3));
  PetscCall(PetscArrayzero(ch->hs, n * 3));
  PetscCall(PetscArrayzero(ch->bs, n * NBATCH * 2));
  PetscCall(PetscArrayzero(ch->ze, n * 4));
  PetscCall(PetscArrayzero(ch->zz, n * 10));
  ch->nacc = ch->ntry = 0;
  for (PetscInt k = 0, j = 0; k < R * thin; k++) {
    PetscCall(mh_step(ch, etaL, PETSC_FALSE, k));
    PetscCall(par_progress_report(ctx, prog, ++*done, total, NULL, PETSC_FALSE));
    if ((k + 1) % thin) continue;
    PetscCall(hier_star_score(ch->m, thL, ch->ez, ch->sc, ch->hc));
    if (j % (R / HIER_ZDRAWS) == 0 && j / (R / HIER_ZDRAWS) < HIER_ZDRAWS) {
      const PetscInt slot = j / (R / HIER_ZDRAWS);
      for (PetscInt i = 0; i < n; i++)
        for (int q = 0; q < NZ; q++) ch->zk[(i * HIER_ZDRAWS + slot) * NZ + q] = ch->ez[i * NZ + q];
    }
    int b = (int)(j * NBATCH / R);
    for (PetscInt i = 0; i < n; i++) {
      const double *s = ch->sc + i * 2, *h = ch->hc + i * 3, *z = ch->ez + i * NZ;
      ch->s1[i * 2] += s[0], ch->s1[i * 2 + 1] += s[1];
      ch->s2[i * 3] += s[0] * s[0], ch->s2[i * 3 + 1] += s[0] * s[1], ch->s2[i * 3 + 2] += s[1] * s[1];
      for (int a = 0; a < 3; a++) ch->hs[i * 3 + a] += h[a];
      ch->bs[(i * NBATCH + b) * 2] += s[0], ch->bs[(i * NBATCH + b) * 2 + 1] += s[1];
      for (int q = 0, t = 0; q < NZ; q++) {
        ch->ze[i * 4 + q] += z[q];
        for (int r = q; r < NZ; r++) ch->zz[i * 10 + t++] += z[q] * z[r];
      }
    }
    j++;
  }
  par_repro_zero(acc, 11);
  const double bsz = (double)R / NBATCH;
  for (PetscInt i = 0; i < n; i++) {
    double m0 = ch->s1[i * 2] / R, m1 = ch->s1[i * 2 + 1] / R;
    double c00 = (ch->s2[i * 3] - R * m0 * m0) / (R - 1), c01 = (ch->s2[i * 3 + 1] - R * m0 * m1) / (R - 1),
           c11 = (ch->s2[i * 3 + 2] - R * m1 * m1) / (R - 1);
    double J[3] = {-ch->hs[i * 3] / R, -ch->hs[i * 3 + 1] / R, -ch->hs[i * 3 + 2] / R};
    /* Batch means: the variance of the star's mean score, autocorrelation included. */
    double v[3] = {0, 0, 0};
    for (int b = 0; b < NBATCH; b++) {
      double d0 = ch->bs[(i * NBATCH + b) * 2] / bsz - m0, d1 = ch->bs[(i * NBATCH + b) * 2 + 1] / bsz - m1;
      v[0] += d0 * d0, v[1] += d0 * d1, v[2] += d1 * d1;
    }
    double vals[11] = {m0, m1, J[0] - c00, J[1] - c01, J[2] - c11, J[0], J[1], J[2]};
    for (int a = 0; a < 3; a++) vals[8 + a] = v[a] / (NBATCH * (NBATCH - 1.0));
    for (int a = 0; a < 11; a++) par_repro_add(acc + a * PAR_REPRO_LIMBS, vals[a]);
  }
  PetscCall(par_allreduce_repro(ctx, acc, 11));
  for (int a = 0; a < 2; a++) out->S[a] = par_repro_value(acc + a * PAR_REPRO_LIMBS);
  for (int a = 0; a < 3; a++) {
    out->info[a] = par_repro_value(acc + (2 + a) * PAR_REPRO_LIMBS);
    out->J[a] = par_repro_value(acc + (5 + a) * PAR_REPRO_LIMBS);
    out->V[a] = par_repro_value(acc + (8 + a) * PAR_REPRO_LIMBS);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool inv2(const double A[3], double Ai[3])
{
  double det = A[0] * A[2] - A[1] * A[1];
  if (!(A[0] > 0 && det > 0) || !isfinite(det)) return PETSC_FALSE;
  Ai[0] = A[2] / det, Ai[1] = -A[1] / det, Ai[2] = A[0] / det;
  return PETSC_TRUE;
}

/* Add the globals' Gaussian prior (its hard bounds lie > 5 sd away) and take the Newton step. */
static PetscErrorCode newton_step(const HierPrior *hp, const double thL[2], Sums *s, double step[2], double Iinv[3],
                                  double *dsd, double *dnoise)
{
  PetscFunctionBeginUser;
  for (int a = 0; a < 2; a++) {
    double v = hp->sd[a] * hp->sd[a];
    s->S[a] -= (thL[a] - hp->mean[a]) / v;
    s->info[a ? 2 : 0] += 1 / v, s->J[a ? 2 : 0] += 1 / v;
  }
  if (!inv2(s->info, Iinv)) { /* Louis' estimate not positive definite (too few draws): the complete-data one */
    PetscCheck(inv2(s->J, Iinv), PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
               "newton: the globals' information is not positive definite at (%g, %g)", thL[0], thL[1]);
    s->info[0] = s->J[0], s->info[1] = s->J[1], s->info[2] = s->J[2];
  }
  step[0] = Iinv[0] * s->S[0] + Iinv[1] * s->S[1];
  step[1] = Iinv[1] * s->S[0] + Iinv[2] * s->S[1];
  *dsd = sqrt(fmax(0, step[0] * (s->info[0] * step[0] + s->info[1] * step[1]) +
                          step[1] * (s->info[1] * step[0] + s->info[2] * step[1])));
  /* The step's Monte-Carlo noise in the same metric: E[d' I d] = tr(I^-1 V) for d ~ N(0, I^-1 V I^-1). */
  *dnoise = sqrt(fmax(0, Iinv[0] * s->V[0] + 2 * Iinv[1] * s->V[1] + Iinv[2] * s->V[2]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode newton_run(const ParCtx *ctx, HierModel *m, const HierInit *in, PetscInt lo, const NewtonConfig *c,
                          NewtonResult *r)
{
  const PetscInt n = m->n;
  Chains ch = {.m = m, .n = n};
  double thL[2], step[2], Iinv[3], dsd = INFINITY, dnoise = 0, t0 = cs_wtime();
  Sums s;
  ParProgress prog;
  PetscInt done = 0;
  PetscFunctionBeginUser;
  PetscCheck(c->thin >= 1 && c->steps >= NBATCH * c->thin && c->final_steps >= NBATCH * c->thin && c->max_iter >= 1,
             PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "newton: steps and final steps must be >= %d x thin", NBATCH);
  PetscCall(PetscMemzero(r, sizeof(*r)));
  PetscCall(PetscMalloc5(n * NZ + 1, &ch.ez, n + 1, &ch.lpc, n * NZ + 1, &ch.prop, n + 1, &ch.lpp, n * 16 + 1, &ch.L));
  PetscCall(PetscMalloc3(n + 1, &ch.logs, n + 1, &ch.rng, n * 2 + 1, &ch.sc));
  PetscCall(PetscMalloc5(n * 2 + 1, &ch.s1, n * 3 + 1, &ch.s2, n * 3 + 1, &ch.hs, n * NBATCH * 2 + 1, &ch.bs, n * 4 + 1,
                         &ch.ze));
  PetscCall(PetscMalloc3(n * 10 + 1, &ch.zz, n * 3 + 1, &ch.hc, n * HIER_ZDRAWS * NZ + 1, &ch.zk));
  for (PetscInt i = 0; i < n; i++) {
    rng_init(&ch.rng[i], c->seed, RNG_LOCAL, (uint64_t)(lo + i));
    conditional_chol(in->cov + i * 36, ch.L + i * 16);
    ch.logs[i] = log(2.38 / 2); /* 2.38 / sqrt(dim) for a Gaussian target */
    for (int q = 0; q < NZ; q++) ch.ez[i * NZ + q] = in->start[i * NZ + q];
  }
  for (int a = 0; a < 2; a++) thL[a] = hier_to_theta(&m->prior, a, in->etaL[a]);
  PetscInt total = c->burn0 + c->steps + (c->max_iter - 1) * (c->burn + c->steps) + c->burn + c->final_steps;
  par_progress_start(&prog, "newton", 0, c->progress_every);
  /* Iterate until a step is small against the posterior sd; then one long evaluation. */
  PetscInt it = 0;
  for (; it < c->max_iter; it++) {
    PetscCall(evaluate(ctx, &ch, thL, it ? c->burn : c->burn0, c->steps, c->thin, &s, &prog, &done, total));
    PetscCall(newton_step(&m->prior, thL, &s, step, Iinv, &dsd, &dnoise));
    double f = 1;
    for (int a = 0; a < 2; a++) f = fmin(f, MAXSTEP * m->prior.sd[a] / fmax(fabs(step[a]), 1e-300));
    thL[0] += f * step[0], thL[1] += f * step[1];
    if (getenv("NEWTON_DEBUG"))
      printf("newton iteration %d: step %.3g sd (noise %.3g) -> (%.6f, %.6f) J/I %.3g %.3g tau %.3g %.3g\n", (int)it,
             dsd, dnoise, thL[0], thL[1], s.J[0] / s.info[0], s.J[2] / s.info[2],
             (double)c->steps / c->thin * s.V[0] / (s.J[0] - s.info[0]),
             (double)c->steps / c->thin * s.V[2] / (s.J[2] - s.info[2]));
    PetscCall(PetscInfo(NULL, "newton iteration %" PetscInt_FMT ": step %.3g sd (noise %.3g) -> (%.6f, %.6f)\n", it,
                        dsd, dnoise, thL[0], thL[1]));
    /* Proposals from the chains' own draws at these globals. */
    PetscInt R = c->steps / c->thin;
    for (PetscInt i = 0; i < n; i++) {
      double mz[NZ], C[16];
      for (int q = 0; q < NZ; q++) mz[q] = ch.ze[i * 4 + q] / R;
      for (int q = 0, t = 0; q < NZ; q++)
        for (int rr = q; rr < NZ; rr++, t++)
          C[q * 4 + rr] = C[rr * 4 + q] = (ch.zz[i * 10 + t] - R * mz[q] * mz[rr]) / (R - 1);
      for (int q = 0; q < NZ; q++) C[q * 5] += 1e-8;
      hier_chol(NZ, C, ch.L + i * 16);
      ch.logs[i] = log(2.38 / 2);
    }
    /* Converged when the step is small, or when it is no longer told apart from its own Monte-Carlo noise (a
     * pure-noise step has |d| < 2 x noise with probability 0.98): more short iterations would only wander, and the
     * long final evaluation's Newton step, taken from here, is exact to well within the posterior sd. */
    if (it >= 1 && (dsd < 0.3 || dsd < 2 * dnoise)) break;
  }
  r->iters = PetscMin(it + 1, c->max_iter);
  done = total - c->burn - c->final_steps; /* skipped iterations */
  /* The final evaluation; if its step is large, the quadratic model was taken too far from the root: move and redo
   * once. */
  for (int fin = 0; fin < 2; fin++) {
    PetscCall(evaluate(ctx, &ch, thL, c->burn, c->final_steps, c->thin, &s, &prog, &done, total));
    PetscCall(newton_step(&m->prior, thL, &s, step, Iinv, &dsd, &dnoise));
    if (getenv("NEWTON_DEBUG"))
      printf("newton final %d: at (%.6f, %.6f) step %.3g sd (noise %.3g) -> (%.6f, %.6f)\n", fin, thL[0], thL[1], dsd,
             dnoise, thL[0] + step[0], thL[1] + step[1]);
    if (dsd < 0.5 || fin == 1) break;
    thL[0] += step[0], thL[1] += step[1];
    done = total - c->burn - c->final_steps;
  }
  r->step_sd = dsd;
  r->converged = dsd < 1.0 ? PETSC_TRUE : PETSC_FALSE;
  r->mean[0] = thL[0] + step[0], r->mean[1] = thL[1] + step[1];
  /* cov = I^-1 + I^-1 V I^-1: the information plus the Monte-Carlo noise of the summed score. */
  double Vm[4] = {s.V[0], s.V[1], s.V[1], s.V[2]}, Ii[4] = {Iinv[0], Iinv[1], Iinv[1], Iinv[2]}, T[4];
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) T[a * 2 + b] = Ii[a * 2] * Vm[b] + Ii[a * 2 + 1] * Vm[2 + b];
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      r->mc_cov[a * 2 + b] = T[a * 2] * Ii[b] + T[a * 2 + 1] * Ii[2 + b];
      r->cov[a * 2 + b] = Ii[a * 2 + b] + r->mc_cov[a * 2 + b];
    }
  r->sd[0] = sqrt(r->cov[0]), r->sd[1] = sqrt(r->cov[3]);
  r->corr = r->cov[1] / (r->sd[0] * r->sd[1]);
  PetscInt R = c->final_steps / c->thin;
  PetscCall(PetscMalloc2(n * NZ + 1, &r->zmean, n * NZ + 1, &r->zsd));
  static const int diag[NZ] = {0, 4, 7, 9}; /* (q, q) in the packed upper triangle of zz */
  for (PetscInt i = 0; i < n; i++)          /* locals: the eta moments of the final draws, mapped to theta */
    for (int q = 0; q < NZ; q++) {
      double me = ch.ze[i * 4 + q] / R, ve = (ch.zz[i * 10 + diag[q]] - R * me * me) / (R - 1), h = 1e-6;
      double d = (hier_to_theta(&m->prior, 2 + q, me + h) - hier_to_theta(&m->prior, 2 + q, me - h)) / (2 * h);
      r->zmean[i * NZ + q] = hier_to_theta(&m->prior, 2 + q, me);
      r->zsd[i * NZ + q] = fabs(d) * sqrt(fmax(0, ve));
    }
  PetscCall(PetscMalloc1(n * HIER_ZDRAWS * NZ + 1, &r->zdraws));
  for (PetscInt k = 0; k < n * HIER_ZDRAWS * NZ; k++)
    r->zdraws[k] = hier_to_theta(&m->prior, 2 + (int)(k % NZ), ch.zk[k]);
  r->nzdraws = HIER_ZDRAWS;
  int64_t acc[PAR_REPRO_LIMBS];
  par_repro_zero(acc, 1);
  par_repro_add(acc, (double)ch.nacc);
  PetscCall(par_allreduce_repro(ctx, acc, 1));
  PetscInt ntot = n;
  PetscCall(par_allreduce_count(ctx, &ntot));
  r->accept = par_repro_value(acc) / PetscMax(1, (double)ntot * R * c->thin);
  r->seconds = cs_wtime() - t0;
  PetscCall(PetscFree5(ch.ez, ch.lpc, ch.prop, ch.lpp, ch.L));
  PetscCall(PetscFree3(ch.logs, ch.rng, ch.sc));
  PetscCall(PetscFree5(ch.s1, ch.s2, ch.hs, ch.bs, ch.ze));
  PetscCall(PetscFree3(ch.zz, ch.hc, ch.zk));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode newton_result_destroy(NewtonResult *r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree2(r->zmean, r->zsd));
  PetscCall(PetscFree(r->zdraws));
  PetscFunctionReturn(PETSC_SUCCESS);
}
