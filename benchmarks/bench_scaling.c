/* The performance model behind benchmarks/scaling_model: from the measured
 * per-item costs and MPI timings (benchmarks/results/costs.txt, written by
 * benchmarks/costs.sh) it predicts the wall time of every stage on P = 1..1024
 * dedicated cores, strong (the paper-scale problem) and weak (the problem
 * grows with P), and checks itself against the stages measured at 1 and 2
 * ranks (benchmarks/results/stages.txt, benchmarks/stages.sh).
 *
 * Each stage's time is the sum of its parts, each a measured cost times a
 * count the program's own structure fixes (README "Scaling" lists them):
 *   simulate     a discrete-event simulation of the farm (src/par/farm.c: the
 *                same chunk rule, rank 0 computing between requests, its
 *                measured cost per request, lognormal CHEMPY run times with the
 *                measured mean and spread, per-row HDF5 writes)
 *   training     steps x (rows of the largest rank's share of a batch x cost
 *                per row at that batch size + 1/P of the optimiser step (sharded) +
 *                the gradient all-reduce) + a validation pass per epoch
 *   validate     test cases / P x (a CHEMPY run + samples x cost per sample)
 *   infer        stars / P x measured cost per star (the program's own slope)
 *                + rank 0's catalogue read and broadcast + a gather
 *   coverage     galaxies x (a CHEMPY mock of the stars / P + infer)
 * All-reduce: 2 ceil(log2 P) alpha + 2 (P-1)/P bytes / beta (recursive
 * doubling for latency, reduce-scatter + all-gather for volume), with the
 * on-node alpha and beta measured by ping-pong and, past -node_cores ranks, a
 * network alpha and beta that are assumptions (-net_alpha_us, -net_GBps).
 *
 *   bin/bench/bench_scaling -costs costs.txt [-stages stages.txt] -out DIR
 * writes DIR/scaling.txt (tables), DIR/scaling_strong.dat, DIR/scaling_weak.dat. */
#include <chempysbi/common.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXL 512

static char lines[MAXL][1024];
static int nlines;

static PetscErrorCode load(const char *path, const char *prefix)
{
  FILE *f = fopen(path, "r");
  char buf[1024];
  PetscFunctionBeginUser;
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s (run benchmarks/costs.sh first)", path);
  while (fgets(buf, sizeof buf, f) && nlines < MAXL)
    if (!strncmp(buf, prefix, strlen(prefix))) {
      buf[strcspn(buf, "\n")] = 0;
      strcat(buf, " ");
      PetscCall(PetscStrncpy(lines[nlines++], buf, sizeof(lines[0])));
    }
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* value of key= (which: 0 the value, 1 the min= after it, 2 the max= after it) in the first line
 * starting with head and containing every space-separated word of filter; NAN when absent */
static double get(const char *head, const char *filter, const char *key, int which)
{
  char h[128], k[64];
  snprintf(h, sizeof h, "%s ", head);
  snprintf(k, sizeof k, " %s=", key);
  for (int i = 0; i < nlines; i++) {
    if (strncmp(lines[i], h, strlen(h))) continue;
    PetscBool ok = PETSC_TRUE;
    char f[256], *save, *w;
    snprintf(f, sizeof f, "%s", filter ? filter : "");
    for (w = strtok_r(f, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
      char ww[128];
      snprintf(ww, sizeof ww, " %s ", w);
      if (!strstr(lines[i], ww)) ok = PETSC_FALSE;
    }
    if (!ok) continue;
    const char *p = strstr(lines[i], k);
    if (!p) continue;
    p += strlen(k);
    if (which == 0) return atof(p);
    p = strstr(p, which == 1 ? " min=" : " max=");
    return p ? atof(p + 5) : NAN;
  }
  return NAN;
}

typedef struct {
  double chempy, chempy_cv;    /* s per CHEMPY run, coefficient of variation */
  double emu_b[16], emu_c[16]; /* emulator fwd+bwd s per row by batch */
  int nemu;
  double emu_step, npe_step; /* optimiser step s */
  double npe_b[16], npe_c[16];
  int nnpe;
  double npe_sample;         /* s per posterior sample */
  double newton_a, newton_b; /* infer newton: a + b * stars (1 rank, CPU s) */
  double gauss_a, gauss_b;   /* infer gauss: a + b * stars */
  double cov_a, cov_b; /* coverage of one galaxy: a + b * stars (CHEMPY mock + exact inference; NAN: from infer) */
  double h5_run[3], h5_row[3]; /* per-row write s at runs of 1, 16, 256 rows */
  double alpha, beta;          /* on-node one-way latency s, bandwidth B/s */
  int nar;                     /* MPI_Allreduce measured at 2 ranks (0: modelled from alpha, beta) */
  double ar_b[8], ar_t[8];     /* its message sizes [bytes], ascending, and times [s] (best of reps) */
  double
      sh_t[2]; /* the sharded step's collectives at 2 ranks, emulator and NPE (with the norm) [s]; NAN: not measured */
  double net_alpha, net_beta; /* network (assumed) */
  int node_cores;
  double req_a, req_b;             /* rank 0's cost per request: a + b * chunk */
  double startup;                  /* MPI + PETSc start-up under the launcher (wall s) */
  double spawn, mpi_init, mpi_fin; /* its part outside the program: the launcher's spawn, MPI_Init, MPI_Finalize */
  double launch;                   /* their sum (NAN if not measured): the job's time less the program's own */
  double h5_read;                  /* s per row reading a simulate file */
  double emu_report;               /* train-emulator's final report and plot (from a 1-epoch run on 50k rows) */
  double emu_setup_row; /* train-emulator's cost per training row outside the epochs (from runs on 50k and 200k) */
  double npe_fixed;     /* train-npe's simulations, start-up and writing (from a 1-epoch run on 20k) */
  double npe_sim;       /* s per simulation: the emulator's forward pass and the noise (-fresh: every epoch) */
  double shuf_fixed, shuf_weak; /* epoch shuffle per row: all N rows on every rank; a rank's own rows */
  double ar_overlap; /* fraction of the gradient all-reduce hidden behind the backward pass (-grad_overlap) */
  double emu_val_row, npe_val_row; /* the trainer's validation + checkpoint per validation row (0: modelled) */
  double emu_blk[3], npe_blk[3];   /* a batch of s rows: o + G ceil(s / 32) + E s (blocks_fit), per call [s] */
  double emu_cal, npe_cal;         /* the trainer's measured epoch rate over the micro-benchmarks' (1: none) */
  PetscBool shard_emu, shard_npe;  /* the trainer's sharded optimiser step: its defaults are on for the
                                    * emulator (no clipping) and off for the NPE (clips its gradient) */
} Costs;

static const Costs *full_node; /* -costs_full: the per-item costs with every core of the node busy */

/* The costs a stage on P ranks pays: on one rank the lone core's, on more the full node's
 * (-costs_full: measured with every core running the same work), since P ranks fill the node's
 * cores and share its caches, memory bandwidth and clock; MPI and start-up costs stay the file's. */
static const Costs *at(const Costs *c, int P) { return P > 1 && full_node ? full_node : c; }

static double interp_loglog(const double *x, const double *y, int n, double b)
{
  if (b <= x[0]) return y[0];
  for (int i = 1; i < n; i++)
    if (b <= x[i]) {
      double t = (log(b) - log(x[i - 1])) / (log(x[i]) - log(x[i - 1]));
      return exp(log(y[i - 1]) + t * (log(y[i]) - log(y[i - 1])));
    }
  return y[n - 1];
}

/* The layer kernels compute whole blocks of 32 rows (src/nn/nn.c, NN_ROWS: the rank-invariant
 * GEMM shape), the activations only the rows present: the time of one call on b >= 32 rows is
 * o + G ceil(b / 32) + E b. Least squares over the measured batch sizes from 32 rows on (per call:
 * b x cost per row), so a share of 33 rows costs two blocks, which no interpolation between 32 and
 * 64 rows gives; below 32 rows (one block, a per-call overhead that the fit does not see) the
 * measured points are interpolated (batch_cost). */
static void blocks_fit(const double *bx, const double *by, int n, double f[3])
{
  double A[3][3] = {{0}}, r[3] = {0};
  for (int i = 0; i < n; i++) {
    if (bx[i] < 32) continue;
    double v[3] = {1, ceil(bx[i] / 32), bx[i]}, t = bx[i] * by[i];
    for (int j = 0; j < 3; j++) {
      r[j] += v[j] * t;
      for (int k = 0; k < 3; k++) A[j][k] += v[j] * v[k];
    }
  }
  for (int j = 0; j < 3; j++) /* Gauss-Jordan on the 3 x 3 normal equations (well conditioned here) */
    for (int k = 0; k < 3; k++)
      if (k != j) {
        double m = A[k][j] / A[j][j];
        for (int l = 0; l < 3; l++) A[k][l] -= m * A[j][l];
        r[k] -= m * r[j];
      }
  for (int j = 0; j < 3; j++) f[j] = r[j] / A[j][j];
  /* without a batch that is not a multiple of 32 (older costs files) blocks and rows cannot be told
   * apart: no fit, batch_cost interpolates */
  PetscBool odd = PETSC_FALSE;
  for (int i = 0; i < n; i++) odd = odd || (bx[i] > 32 && fmod(bx[i], 32) != 0);
  if (!odd || !(isfinite(f[0]) && isfinite(f[1]) && isfinite(f[2]))) f[0] = f[1] = f[2] = NAN;
}
static double batch_time(const double f[3], double b) { return f[0] + f[1] * ceil(b / 32) + f[2] * b; }
static double batch_cost(const double *bx, const double *by, int nb, const double f[3], double b)
{
  return b <= 32 || !isfinite(f[1]) ? b * interp_loglog(bx, by, nb, b) : batch_time(f, b);
}

/* MPI_Allreduce of `bytes` at 2 ranks as measured: log-log between the sizes, linear beyond the largest */
static double ar2(const Costs *c, double bytes)
{
  const int n = c->nar;
  if (bytes <= c->ar_b[n - 1]) return interp_loglog(c->ar_b, c->ar_t, n, bytes);
  double slope = (c->ar_t[n - 1] - c->ar_t[n - 2]) / (c->ar_b[n - 1] - c->ar_b[n - 2]);
  return c->ar_t[n - 1] + fmax(0, slope) * (bytes - c->ar_b[n - 1]);
}

/* On the node, from the 2-rank measurement: the smallest message's time is one latency step,
 * taken log2 P times; the rest is the data each rank moves and reduces, which grows as 2 (P-1)/P
 * (Rabenseifner's all-reduce; at P = 2 the sum is the measurement). The ping-pong's alpha and the
 * 1 MiB bandwidth alone put the 40-120 KB gradients at a third to a half of the measured time.
 * Between nodes the assumed network's alpha-beta terms are added. cpu_share > 1: that many ranks
 * per core (oversubscribed), so the data part, which is CPU work, takes that much longer. */
static double t_allreduce_over(const Costs *c, double bytes, int P, double cpu_share)
{
  if (P <= 1) return 0;
  int pn = P <= c->node_cores ? P : c->node_cores;
  double t;
  if (c->nar >= 2) {
    double l = c->ar_t[0];
    t = ceil(log2((double)pn)) * l + fmax(0, ar2(c, bytes) - l) * (pn - 1) / pn * 2 * fmax(1, cpu_share);
  } else
    t = 2 * ceil(log2((double)pn)) * c->alpha + 2.0 * (pn - 1) / pn * bytes / c->beta;
  if (P > c->node_cores) {
    double nodes = (double)P / c->node_cores;
    t += 2 * ceil(log2(nodes)) * c->net_alpha + 2.0 * (nodes - 1) / nodes * bytes / c->net_beta;
  }
  return t;
}
static double t_allreduce(const Costs *c, double bytes, int P) { return t_allreduce_over(c, bytes, P, 1); }

/* The sharded step's collectives (reduce-scatter of the gradient, with clipping the all-gather of
 * the norm's block sums, all-gather of the weights), from their 2-rank measurement as the
 * all-reduce: k collectives of one latency step each per doubling, the rest growing as 2 (P-1)/P;
 * between nodes the network terms of one all-reduce of the gradient. Not measured: one all-reduce. */
static double t_shard_over(const Costs *c, int net_npe, double bytes, int P, double cpu_share)
{
  double t2 = c->sh_t[net_npe ? 1 : 0];
  if (P <= 1) return 0;
  if (!(t2 > 0) || c->nar < 2) return t_allreduce_over(c, bytes, P, cpu_share);
  int pn = P <= c->node_cores ? P : c->node_cores, k = net_npe ? 3 : 2;
  double l = c->ar_t[0];
  double t = k * ceil(log2((double)pn)) * l + fmax(0, t2 - k * l) * (pn - 1) / pn * 2 * fmax(1, cpu_share);
  if (P > c->node_cores) t += t_allreduce(c, bytes, P) - t_allreduce(c, bytes, c->node_cores);
  return t;
}

/* broadcast of bytes: scatter + all-gather over the tree levels */
static double t_bcast(const Costs *c, double bytes, int P)
{
  if (P <= 1) return 0;
  double a = P <= c->node_cores ? c->alpha : c->net_alpha, b = P <= c->node_cores ? c->beta : c->net_beta;
  return ceil(log2((double)P)) * a + 2.0 * bytes / b;
}

/* expected maximum of P iid standard normals (numerical integral) */
static double emax_normal(int P)
{
  if (P <= 1) return 0;
  double s = 0, h = 0.01;
  for (double x = -8; x < 8; x += h) {
    double F = 0.5 * erfc(-x / sqrt(2)), f = exp(-0.5 * x * x) / sqrt(2 * M_PI);
    s += x * P * pow(F, P - 1) * f * h;
  }
  return s;
}

/* rows of the largest rank's share of a global batch B dealt at random over P ranks */
static double batch_max_share(double B, int P)
{
  if (P <= 1) return B;
  double m = B / P, sd = sqrt(B * (1.0 / P) * (1 - 1.0 / P));
  return fmin(B, m + sd * emax_normal(P));
}

/* ---- the farm, simulated event by event ---- */
static uint64_t sm_state;
static double urand(void)
{
  uint64_t z = (sm_state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}
static double row_time(const Costs *c)
{
  double s2 = log(1 + c->chempy_cv * c->chempy_cv), mu = log(c->chempy) - 0.5 * s2;
  double z = sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
  return exp(mu + sqrt(s2) * z);
}
static double h5_per_row(const Costs *c, double run) { return interp_loglog(c->h5_run, c->h5_row, 3, run); }

/* The farm's chunk rule (src/par/farm.c farm_chunk): static_first gives the
 * fix's first round (see farm.c), master_serves a rank 0 that computes no rows. */
typedef struct {
  PetscBool static_first, master_only, master_auto;
} FarmPolicy;

static long chunk_rule(long left, int P) { return PetscMax(1, PetscMin(PetscMin(left / (8 * (long)P), 256), left)); }

typedef struct {
  double T;     /* farm wall time */
  double busy0; /* fraction of rank 0's time spent answering requests */
  long requests;
} FarmResult;

#define SERVE_ONLY_FROM 256 /* farm.c FARM_SERVE_ONLY_FROM: -farm_master auto */

static FarmResult farm_des(const Costs *c, long N, int P, FarmPolicy pol)
{
  FarmResult r = {0};
  if (pol.master_auto) pol.master_only = P >= SERVE_ONLY_FROM ? PETSC_TRUE : PETSC_FALSE;
  sm_state = 12345;
  if (P == 1) {
    for (long i = 0; i < N; i++) r.T += row_time(c) + h5_per_row(c, 64);
    return r;
  }
  double *req = malloc(sizeof(double) * P); /* arrival time of each worker's next request, INFINITY when stopped */
  double lat = P <= c->node_cores ? c->alpha : c->net_alpha, now = 0, serve = 0;
  long pos = 0, own_left = 0;
  int active = P - 1;
  for (int w = 1; w < P; w++) req[w] = lat;
  if (pol.static_first) { /* every worker starts on a chunk it computes from its rank, no request */
    long c0 = chunk_rule(N, P);
    for (int w = 1; w < P && pos < N; w++) {
      long k = PetscMin(c0, N - pos);
      double t = 0;
      for (long i = 0; i < k; i++) t += row_time(c);
      req[w] = t + k * h5_per_row(c, (double)k) + lat;
      pos += k;
    }
    if (!pol.master_only) own_left = PetscMin(PetscMax(1, c0 / 4), N - pos), pos += own_left;
  }
  for (;;) {
    /* answer every request that has arrived, oldest first */
    for (;;) {
      int best = -1;
      for (int w = 1; w < P; w++)
        if (req[w] <= now && (best < 0 || req[w] < req[best])) best = w;
      if (best < 0) break;
      long k = pos < N ? chunk_rule(N - pos, P) : 0;
      double s = c->req_a + c->req_b * (double)k;
      now += s, serve += s, r.requests++;
      if (k == 0) {
        req[best] = INFINITY;
        active--;
        continue;
      }
      pos += k;
      double t = now + lat;
      for (long i = 0; i < k; i++) t += row_time(c);
      req[best] = t + k * h5_per_row(c, (double)k) + lat;
    }
    if (own_left > 0 && !pol.master_only) {
      now += row_time(c) + h5_per_row(c, 64);
      own_left--;
    } else if (pos < N && !pol.master_only) {
      own_left = PetscMin(chunk_rule(N - pos, P), 64);
      pos += own_left;
    } else if (active > 0) {
      double t = INFINITY;
      for (int w = 1; w < P; w++) t = fmin(t, req[w]);
      now = fmax(now, t);
    } else
      break;
  }
  r.T = now;
  r.busy0 = now > 0 ? serve / now : 0;
  free(req);
  return r;
}

/* ---- the stages ---- */
typedef struct {
  long sim_rows;
  long emu_rows, emu_val, emu_epochs, emu_batch, emu_bpr; /* bpr > 0: weak-scaling batch per rank */
  long npe_n, npe_epochs, npe_batch, npe_bpr, npe_fresh;
  long val_n, val_samples;
  long stars, samples;
  long galaxies, cov_stars;
} Sizes;

static double sim_time(const Costs *c0, long rows, int P, FarmPolicy pol)
{
  const Costs *c = at(c0, P);
  static struct {
    long rows;
    int P, auto_;
    double t;
  } memo[256];
  static int nmemo;
  for (int i = 0; i < nmemo; i++) /* the simulation is deterministic: remember it */
    if (memo[i].rows == rows && memo[i].P == P && memo[i].auto_ == (int)pol.master_auto) return memo[i].t;
  double t = c->startup + farm_des(c, rows, P, pol).T;
  if (nmemo < 256)
    memo[nmemo].rows = rows, memo[nmemo].P = P, memo[nmemo].auto_ = (int)pol.master_auto, memo[nmemo++].t = t;
  return t;
}

typedef enum { NET_EMU, NET_NPE } Net;

/* A network's measured per-row costs by batch size. */
static void net_rows(const Costs *c, Net net, const double **bx, const double **by, int *nb)
{
  *bx = net == NET_NPE ? c->npe_b : c->emu_b, *by = net == NET_NPE ? c->npe_c : c->emu_c;
  *nb = net == NET_NPE ? c->nnpe : c->nemu;
}

/* One step of the training on P ranks: this rank's rows (the largest share of a global batch dealt
 * at random, or bpr with -batch_per_rank), the optimiser step (1/P of it with the sharded step, sh;
 * all of it on every rank without), and the gradient's reduction: an all-reduce (less the part
 * -grad_overlap hides, ar_overlap, which runs unsharded), or with the sharded step its measured
 * collectives (t_shard_over: reduce-scatter, with clipping the norm's all-gather, all-gather). */
static double train_step(const Costs *c0, Net net, long batch, long bpr, int P, PetscBool other)
{
  const Costs *c = at(c0, P);
  const double *bx, *by;
  int nb;
  net_rows(c, net, &bx, &by, &nb);
  /* the NPE's step: Adam and its gradient clipping (bench_costs measures both) */
  const double step = net == NET_NPE ? c->npe_step : c->emu_step, nparams = net == NET_NPE ? 15100 : 5068;
  const PetscBool clip = net == NET_NPE ? PETSC_TRUE : PETSC_FALSE;
  PetscBool sh = net == NET_NPE ? c->shard_npe : c->shard_emu;
  if (other) sh = !sh;
  double B = bpr > 0 ? (double)bpr * P : (double)batch, share = bpr > 0 ? (double)bpr : batch_max_share(B, P);
  if (!(share >= 1)) share = 1;
  const PetscBool sharded = sh && c->ar_overlap == 0 && P > 1;
  const double opt = sharded ? step / P : step;
  const double comm = sharded ? t_shard_over(c, net == NET_NPE && clip, 8 * nparams, P, 1)
                              : (1 - c->ar_overlap) * t_allreduce(c, 8 * nparams, P);
  const double *blk = net == NET_NPE ? c->npe_blk : c->emu_blk;
  return batch_cost(bx, by, nb, blk, share) + opt + comm;
}

static double train_time(const Costs *c0, Net net, long rows, long val, long epochs, long batch, long bpr, int P)
{
  const Costs *c = at(c0, P);
  const double *bx, *by;
  int nb;
  net_rows(c, net, &bx, &by, &nb);
  double B = bpr > 0 ? (double)bpr * P : (double)batch;
  double per_step = train_step(c0, net, batch, bpr, P, PETSC_FALSE);
  double steps = ceil((double)rows / B);
  /* forward only; or the trainer's measured validation and checkpoint time per validation row */
  const double vrow = net == NET_NPE ? c->npe_val_row : c->emu_val_row;
  double val_pass = ((double)val / P) * (vrow > 0 ? vrow : interp_loglog(bx, by, nb, 1024) / 3);
  double load =
      ((double)rows + (double)val) / P * c->h5_read + (net == NET_EMU ? (double)rows / P * c->emu_setup_row : 0);
  double shuffle = bpr > 0 ? (double)rows / P * c->shuf_weak : (double)rows * c->shuf_fixed;
  return c->startup + load + epochs * (steps * per_step + shuffle + val_pass + t_allreduce(c, 8, P));
}

static double emu_time(const Costs *c, const Sizes *s, int P)
{
  return at(c, P)->emu_report +
         train_time(c, NET_EMU, s->emu_rows, s->emu_val, s->emu_epochs, s->emu_batch, s->emu_bpr, P);
}
static double npe_time(const Costs *c0, const Sizes *s, int P)
{
  const Costs *c = at(c0, P);
  long ntr = s->npe_n * 9 / 10, nval = s->npe_n - ntr;
  /* the flow's gradient norm for clipping is sharded like the step: ~1 flop per weight; the
   * simulations (every epoch with -fresh, as the stage checks run) divide over the ranks */
  double sims = (double)s->npe_n / P * c->npe_sim * (s->npe_fresh ? (double)s->npe_epochs : 1.0);
  return c->npe_fixed + sims + train_time(c0, NET_NPE, ntr, nval, s->npe_epochs, s->npe_batch, s->npe_bpr, P);
}
static double val_time(const Costs *c0, const Sizes *s, int P)
{
  const Costs *c = at(c0, P);
  double per = c->chempy + s->val_samples * c->npe_sample * 1.5; /* sampling + rank statistics */
  return c->startup + ceil((double)s->val_n / P) * per + t_allreduce(c, 8.0 * 64, P);
}
/* rank 0 reads the catalogue (about 1 us per star for CSV, bench_cat) and broadcasts ~200 bytes per star */
static double cat_time(const Costs *c, long stars, int P) { return 1e-6 * stars + t_bcast(c, 200.0 * stars, P); }
static double infer_time(const Costs *c0, long stars, int P, PetscBool exact)
{
  const Costs *c = at(c0, P);
  double a = exact ? c->newton_a : c->gauss_a, b = exact ? c->newton_b : c->gauss_b;
  double comm = exact ? 30 * t_allreduce(c, 8.0 * 44, P) : t_allreduce(c, 8.0 * 8, P);
  return a + ceil((double)stars / P) * b + cat_time(c, stars, P) + comm + 1e-7 * stars; /* + gather of results */
}
static double cov_time(const Costs *c0, const Sizes *s, int P)
{
  const Costs *c = at(c0, P);
  const PetscBool own = isfinite(c->cov_b); /* coverage's own cost per star, else a mock + infer's */
  double per =
      ceil((double)s->cov_stars / P) * (own ? c->cov_b : c->chempy + c->newton_b) + 30 * t_allreduce(c, 8.0 * 44, P);
  return (own ? c->cov_a : c->newton_a) + s->galaxies * per;
}

typedef enum { ST_SIM, ST_EMU, ST_NPE, ST_VAL, ST_GAUSS, ST_NEWTON, ST_COV, ST_N } Stage;
static const char *stage_names[ST_N] = {"simulate",    "train_emulator", "train_npe", "validate",
                                        "infer_gauss", "infer_newton",   "coverage"};

static double stage_time(const Costs *c, const Sizes *s, Stage st, int P, FarmPolicy pol)
{
  switch (st) {
  case ST_SIM:
    return sim_time(c, s->sim_rows, P, pol);
  case ST_EMU:
    return emu_time(c, s, P);
  case ST_NPE:
    return npe_time(c, s, P);
  case ST_VAL:
    return val_time(c, s, P);
  case ST_GAUSS:
    return infer_time(c, s->stars, P, PETSC_FALSE);
  case ST_NEWTON:
    return infer_time(c, s->stars, P, PETSC_TRUE);
  case ST_COV:
    return cov_time(c, s, P);
  default:
    return NAN;
  }
}

/* The paper-scale problem (input/paper, README): 700k + 50k CHEMPY rows, emulator 20 epochs,
 * NPE 1e5 simulations ~90 epochs to early stopping, 500 test cases, 1000 stars (auto: newton). */
static Sizes paper(void)
{
  return (Sizes){.sim_rows = 750000,
                 .emu_rows = 697435,
                 .emu_val = 49813,
                 .emu_epochs = 20,
                 .emu_batch = 64,
                 .npe_n = 100000,
                 .npe_epochs = 90,
                 .npe_batch = 50,
                 .val_n = 500,
                 .val_samples = 1000,
                 .stars = 1000,
                 .samples = 1000,
                 .galaxies = 100,
                 .cov_stars = 1000};
}

/* cost = a + b * stars from the first two star counts of the lines starting with head (CPU s; the
 * quiet window's lines come first). Returns how many counts it found: with one, only s1, t1 are set. */
static int fit_stars(const char *head, double *s1, double *t1, double *a, double *b)
{
  double s2 = NAN, t2 = NAN;
  *s1 = *t1 = *a = *b = NAN;
  for (int i = 0; i < nlines; i++)
    if (!strncmp(lines[i], head, strlen(head))) {
      double s = atof(strstr(lines[i], "stars=") + 6), t = atof(strstr(lines[i], "cpu_s=") + 6);
      if (!isfinite(*s1))
        *s1 = s, *t1 = t;
      else if (!isfinite(s2) && s != *s1)
        s2 = s, t2 = t;
    }
  if (!isfinite(s2)) return isfinite(*s1) ? 1 : 0;
  *b = (t2 - *t1) / (s2 - *s1);
  *a = *t1 - *b * *s1;
  return 2;
}

static PetscErrorCode costs_read(const char *path, Costs *c)
{
  PetscFunctionBeginUser;
  PetscCall(load(path, "BENCH "));
  c->chempy = 1e-6 * get("BENCH chempy", NULL, "cpu_us", 0);
  c->chempy_cv = get("BENCH chempy", NULL, "cv", 0);
  static const int eb[] = {1, 2, 4, 8, 16, 32, 33, 48, 64, 128, 256, 512, 1024},
                   nb[] = {1, 2, 5, 10, 25, 32, 33, 48, 50, 100, 200, 400, 800};
  char f[32];
  c->nemu = c->nnpe = 0;
  for (int i = 0; i < 13; i++) {
    snprintf(f, sizeof f, "batch=%d", eb[i]);
    double v = get("BENCH emu_row", f, "cpu_us", 0);
    if (isfinite(v)) c->emu_b[c->nemu] = eb[i], c->emu_c[c->nemu++] = 1e-6 * v;
  }
  for (int i = 0; i < 13; i++) {
    snprintf(f, sizeof f, "batch=%d", nb[i]);
    double v = get("BENCH npe_row", f, "cpu_us", 0);
    if (isfinite(v)) c->npe_b[c->nnpe] = nb[i], c->npe_c[c->nnpe++] = 1e-6 * v;
  }
  c->emu_step = 1e-6 * get("BENCH emu_step", NULL, "cpu_us", 0);
  c->npe_step = 1e-6 * get("BENCH npe_step", NULL, "cpu_us", 0);
  c->npe_sample = 1e-6 * get("BENCH npe_sample", NULL, "cpu_us", 0);
  /* the per-star lines: cost = a + b * stars */
  double s1, t1;
  fit_stars("BENCH infer_newton ", &s1, &t1, &c->newton_a, &c->newton_b);
  if (fit_stars("BENCH coverage_stars ", &s1, &t1, &c->cov_a, &c->cov_b) < 2) c->cov_a = c->cov_b = NAN;
  if (fit_stars("BENCH infer_gauss ", &s1, &t1, &c->gauss_a, &c->gauss_b) == 1) {
    c->gauss_a = c->newton_a; /* one star count: the start-up of the exact method's fit */
    c->gauss_b = (t1 - c->gauss_a) / s1;
  }
  /* every stage runs under the launcher: its start-up once, as wall time (the launch is latency:
   * process spawn and wire-up, 0.37-0.49 s of wall for 0.15 s of CPU on the development VM, and the
   * same at 1 and 2 ranks); the infer runs were timed without it, their CPU holding the program's own */
  double s_none = get("BENCH startup_none", NULL, "cpu_s", 0), s_mpi = get("BENCH startup_mpirun", NULL, "wall_s", 0);
  c->startup = isfinite(s_mpi) ? s_mpi : fmin(c->newton_a, c->gauss_a);
  /* the fits' intercepts (CPU of runs without the launcher) hold the bare start-up s_none and the
   * model loading; a noisy fit can put them below s_none, and then the loading counts as nothing */
  if (isfinite(s_mpi) && isfinite(s_none)) {
    c->newton_a = s_mpi + fmax(0, c->newton_a - s_none), c->gauss_a = s_mpi + fmax(0, c->gauss_a - s_none);
    if (isfinite(c->cov_b)) c->cov_a = s_mpi + fmax(0, c->cov_a - s_none);
  }
  c->spawn = get("BENCH launch_spawn", NULL, "wall_s", 0);
  c->mpi_init = get("BENCH mpi_init", "ranks=1", "init_s", 0);
  c->mpi_fin = get("BENCH mpi_init", "ranks=1", "finalize_s", 0);
  c->launch = c->spawn + c->mpi_init + c->mpi_fin; /* NAN unless all three were measured */
  if (c->launch > c->startup) c->launch = c->startup;
  c->shuf_fixed = 1e-6 * get("BENCH shuffle_row", "mode=fixed", "cpu_us", 0);
  c->shuf_weak = 1e-6 * get("BENCH shuffle_row", "mode=weak", "cpu_us", 0);
  if (!isfinite(c->shuf_fixed)) c->shuf_fixed = 0;
  if (!isfinite(c->shuf_weak)) c->shuf_weak = 0;
  /* a simulation: the emulator's forward pass (a third of forward + backward at batch 1024) and the noise */
  c->npe_sim = interp_loglog(c->emu_b, c->emu_c, c->nemu, 1024) / 3 + 0.2e-6;
  { /* measured instead where costs.sh has it: a -fresh epoch's rate against a plain one's */
    double r1 = get("BENCH npe_sim_fresh", NULL, "rate1", 0), r2 = get("BENCH npe_sim_fresh", NULL, "rate2", 0);
    if (r1 > 0 && r2 > 0) c->npe_sim = fmax(0, 1 / r2 - 1 / r1);
  }
  c->h5_read = 1e-6 * get("BENCH h5_read_row", NULL, "cpu_us", 0);
  if (!isfinite(c->h5_read)) c->h5_read = 0;
  static const int runs[3] = {1, 16, 256};
  for (int i = 0; i < 3; i++) {
    snprintf(f, sizeof f, "ranks=1 run=%d", runs[i]);
    c->h5_run[i] = runs[i];
    c->h5_row[i] = 1e-6 * get("BENCH h5_row", f, "wall_us", 0);
  }
  /* best of the reps: on the loaded development machine the median measures the scheduler */
  c->alpha = 1e-6 * get("BENCH pingpong", "bytes=8", "one_way_us", 1);
  c->beta = 1048576 / (1e-6 * get("BENCH pingpong", "bytes=1048576", "one_way_us", 1));
  static const char *ar_what[] = {"few", "newton_sums", "emulator_grad", "npe_grad"};
  c->nar = 0;
  for (int i = 0; i < 4; i++) {
    char w[64];
    snprintf(w, sizeof w, "what=%s ranks=2", ar_what[i]);
    double d = get("BENCH allreduce", w, "doubles", 0), us = get("BENCH allreduce", w, "us", 1);
    if (!(d > 0 && us > 0)) continue;
    int k = c->nar++;
    for (; k > 0 && c->ar_b[k - 1] > 8 * d; k--) c->ar_b[k] = c->ar_b[k - 1], c->ar_t[k] = c->ar_t[k - 1];
    c->ar_b[k] = 8 * d, c->ar_t[k] = 1e-6 * us;
  }
  if (c->nar < 2) c->nar = 0;
  c->sh_t[0] = 1e-6 * get("BENCH shard_step", "what=emulator_grad ranks=2", "us", 1);
  c->sh_t[1] = 1e-6 * get("BENCH shard_step", "what=npe_grad ranks=2", "us", 1);
  double r1 = 1e-6 * get("BENCH farm_protocol", "chunk=1", "serve_cpu_us", 0);
  double r128 = 1e-6 * get("BENCH farm_protocol", "chunk=128", "serve_cpu_us", 0);
  c->req_b = fmax(0, (r128 - r1) / 127);
  c->req_a = r1 - c->req_b;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The emulator's and the NPE's fixed costs (final report and plot; simulations, start-up and
 * writing): the small runs' CPU minus what the model has for them, with the start-up's CPU in
 * place of its wall time (the small runs are CPU measurements). Reads the lines loaded last. */
static void fixed_costs(Costs *c)
{
  /* The trainers' own first epoch on 1 rank (costs.sh: BENCH emu_epoch / npe_epoch): the
   * micro-benchmarks' per-row and step costs are scaled to its training rate (batch copies, loss,
   * bookkeeping the kernels alone do not have), and the rest of the epoch, validation and
   * checkpoint, is charged per validation row. */
  c->emu_cal = c->npe_cal = 1;
  blocks_fit(c->emu_b, c->emu_c, c->nemu, c->emu_blk);
  blocks_fit(c->npe_b, c->npe_c, c->nnpe, c->npe_blk);
  for (int k = 0; k < 2; k++) {
    const Net net = k ? NET_NPE : NET_EMU;
    const char *head = k ? "BENCH npe_epoch" : "BENCH emu_epoch";
    double rate = get(head, NULL, "rate", 0), es = get(head, NULL, "epoch_s", 0), rows = get(head, NULL, "rows", 0),
           val = get(head, NULL, "val", 0);
    if (!(isfinite(rate) && isfinite(es) && rows > 0 && val > 0)) continue;
    long b = k ? 50 : 64;
    double model_row = train_step(c, net, b, 0, 1, PETSC_FALSE) / (double)b, f = (1.0 / rate) / model_row;
    double *y = k ? c->npe_c : c->emu_c, *blk = k ? c->npe_blk : c->emu_blk;
    for (int i = 0; i < (k ? c->nnpe : c->nemu); i++) y[i] *= f;
    for (int j = 0; j < 3; j++) blk[j] *= f;
    if (k)
      c->npe_step *= f, c->npe_cal = f, c->npe_val_row = fmax(0, es - rows / rate) / val;
    else
      c->emu_step *= f, c->emu_cal = f, c->emu_val_row = fmax(0, es - rows / rate) / val;
  }
  const double wall_start = c->startup, cpu_start = get("BENCH startup_mpirun", NULL, "cpu_s", 0);
  if (isfinite(cpu_start)) c->startup = cpu_start;
  Sizes sm = {.emu_rows = 49813, .emu_val = 49813, .emu_epochs = 1, .emu_batch = 64};
  double small = get("BENCH emu_small", NULL, "cpu_s", 0);
  c->emu_report = c->emu_setup_row = 0;
  if (isfinite(small)) c->emu_report = fmax(0, small - emu_time(c, &sm, 1));
  { /* with a second size: the part of the rest that grows with the training rows */
    double mid = get("BENCH emu_mid", NULL, "cpu_s", 0), mrows = get("BENCH emu_mid_rows", NULL, "rows", 0);
    Sizes sd = sm;
    sd.emu_rows = (long)mrows;
    if (isfinite(small) && isfinite(mid) && mrows > sm.emu_rows) {
      double r1 = c->emu_report, r2 = mid - emu_time(c, &sd, 1) + c->emu_report; /* both residuals without a report */
      c->emu_setup_row = fmax(0, (r2 - r1) / (mrows - (double)sm.emu_rows));
      c->emu_report = fmax(0, r1 - c->emu_setup_row * (double)sm.emu_rows);
    }
  }
  Sizes sn = {.npe_n = 20000, .npe_epochs = 1, .npe_batch = 50};
  double nsmall = get("BENCH npe_small", NULL, "cpu_s", 0);
  c->npe_fixed = 0;
  if (isfinite(nsmall)) c->npe_fixed = fmax(0, nsmall - npe_time(c, &sn, 1));
  c->startup = wall_start;
}

int main(int argc, char **argv)
{
  char costs[PETSC_MAX_PATH_LEN] = "benchmarks/results/costs.txt", costs_full[PETSC_MAX_PATH_LEN] = "",
       stages[PETSC_MAX_PATH_LEN] = "", out[PETSC_MAX_PATH_LEN] = "benchmarks/results";
  Costs c = {0};
  PetscReal na = 2, nbw = 10, ovf = 0;
  PetscInt node = 128, emu_bmax = 32768, npe_bmax = 1600, cores = (PetscInt)sysconf(_SC_NPROCESSORS_ONLN);
  PetscCall(PetscInitialize(&argc, &argv, NULL, "chempysbi performance model"));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "bench_scaling options", NULL);
  PetscCall(
      PetscOptionsString("-costs", "measured costs (benchmarks/costs.sh)", NULL, costs, costs, sizeof costs, NULL));
  PetscCall(PetscOptionsString("-costs_full",
                               "per-item costs measured with every core of the node busy (benchmarks/quiet_window.sh: "
                               "costs.sh on each core at once), used from 2 ranks on",
                               NULL, costs_full, costs_full, sizeof costs_full, NULL));
  PetscCall(PetscOptionsString("-stages", "measured stages (benchmarks/stages.sh)", NULL, stages, stages, sizeof stages,
                               NULL));
  PetscCall(PetscOptionsString("-out", "output directory", NULL, out, out, sizeof out, NULL));
  PetscCall(PetscOptionsReal("-net_alpha_us", "assumed network latency between nodes [us]", NULL, na, &na, NULL));
  PetscCall(PetscOptionsReal("-net_GBps", "assumed network bandwidth per node [GB/s]", NULL, nbw, &nbw, NULL));
  PetscCall(PetscOptionsInt("-node_cores", "cores (ranks) per node", NULL, node, &node, NULL));
  PetscCall(PetscOptionsInt("-measured_cores",
                            "cores of the machine the costs were measured on (for the "
                            "oversubscribed all-reduce check)",
                            NULL, cores, &cores, NULL));
  PetscCall(PetscOptionsReal("-grad_overlap_fraction",
                             "fraction of the gradient all-reduce hidden by -grad_overlap (0: "
                             "the default blocking all-reduce)",
                             NULL, ovf, &ovf, NULL));
  PetscCall(PetscOptionsInt("-emu_batch_max",
                            "the largest global batch at which the emulator keeps its accuracy "
                            "(benchmarks/large_batch.sh: 32768 for the emulator with its sqrt rule, "
                            "the largest measured; 1600 for the NPE)",
                            NULL, emu_bmax, &emu_bmax, NULL));
  PetscCall(PetscOptionsInt("-npe_batch_max", "the same for the NPE", NULL, npe_bmax, &npe_bmax, NULL));
  c.shard_emu = PETSC_TRUE, c.shard_npe = PETSC_TRUE; /* the trainer's defaults */
  PetscCall(PetscOptionsBool("-shard_emulator", "model the emulator with the sharded optimiser step (its default)",
                             NULL, c.shard_emu, &c.shard_emu, NULL));
  PetscCall(PetscOptionsBool("-shard_npe", "model the NPE with the sharded step (its default)", NULL, c.shard_npe,
                             &c.shard_npe, NULL));
  PetscOptionsEnd();
  static Costs full;
  if (costs_full[0]) { /* the full node's lines first: the main file supplies what it lacks (MPI, HDF5 writes) */
    full.shard_emu = c.shard_emu, full.shard_npe = c.shard_npe;
    PetscCall(load(costs_full, "BENCH "));
    PetscCall(costs_read(costs, &full));
    full.ar_overlap = ovf;
    fixed_costs(&full);
    full_node = &full;
    nlines = 0;
  }
  PetscCall(costs_read(costs, &c));
  c.ar_overlap = ovf;
  fixed_costs(&c);
  c.net_alpha = 1e-6 * na, c.net_beta = 1e9 * nbw, c.node_cores = (int)node;
  full.net_alpha = c.net_alpha, full.net_beta = c.net_beta, full.node_cores = c.node_cores; /* the network: assumed */
  char path[PETSC_MAX_PATH_LEN + 32];
  snprintf(path, sizeof path, "%s/scaling.txt", out);
  FILE *o = fopen(path, "w");
  PetscCheck(o, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  fprintf(o, "# chempysbi performance model from %s\n", costs);
  fprintf(o,
          "# CHEMPY %.3f ms (cv %.2f); emulator row %.2f us at batch 64, step %.1f us; NPE row %.2f us at batch 50, "
          "step %.1f us, sample %.2f us\n",
          1e3 * c.chempy, c.chempy_cv, 1e6 * interp_loglog(c.emu_b, c.emu_c, c.nemu, 64), 1e6 * c.emu_step,
          1e6 * interp_loglog(c.npe_b, c.npe_c, c.nnpe, 50), 1e6 * c.npe_step, 1e6 * c.npe_sample);
  fprintf(
      o,
      "# infer newton %.3f s + %.2f ms per star; gauss %.3f s + %.3f ms per star; coverage %.3f s + %.2f ms per star "
      "(1 rank, CPU)\n",
      c.newton_a, 1e3 * c.newton_b, c.gauss_a, 1e3 * c.gauss_b, c.cov_a, 1e3 * c.cov_b);
  fprintf(o,
          "# MPI on node: alpha %.2f us, beta %.2f GB/s; network (assumed) alpha %.2f us, beta %.1f GB/s, %d cores per "
          "node; farm request %.2f us + %.4f us per row of the chunk\n",
          1e6 * c.alpha, 1e-9 * c.beta, 1e6 * c.net_alpha, 1e-9 * c.net_beta, c.node_cores, 1e6 * c.req_a,
          1e6 * c.req_b);
  fprintf(o,
          "# HDF5 per row (1 rank): run 1 %.1f us, run 16 %.1f us, run 256 %.2f us; read %.3f us; start-up %.2f s; "
          "emulator report %.2f s and %.2f us per training row outside the epochs\n",
          1e6 * c.h5_row[0], 1e6 * c.h5_row[1], 1e6 * c.h5_row[2], 1e6 * c.h5_read, c.startup, c.emu_report,
          1e6 * c.emu_setup_row);
  if (isfinite(c.launch))
    fprintf(o,
            "# the launch, outside the program: %.3f s of the start-up (spawn %.3f, MPI_Init %.3f, MPI_Finalize %.3f); "
            "the program's own start-up %.3f s\n",
            c.launch, c.spawn, c.mpi_init, c.mpi_fin, c.startup - c.launch);
  fprintf(o,
          "# trainers' measured epoch (1 rank) over the micro-benchmarks: emulator x%.3f, NPE x%.3f; validation + "
          "checkpoint per validation row %.2f / %.2f us; NPE simulation %.2f us; a batch of b rows: emulator %.1f + "
          "%.1f ceil(b/32) + %.2f b "
          "us, NPE %.1f + %.1f ceil(b/32) + %.2f b us%s\n",
          c.emu_cal, c.npe_cal, 1e6 * c.emu_val_row, 1e6 * c.npe_val_row, 1e6 * c.npe_sim, 1e6 * c.emu_blk[0],
          1e6 * c.emu_blk[1], 1e6 * c.emu_blk[2], 1e6 * c.npe_blk[0], 1e6 * c.npe_blk[1], 1e6 * c.npe_blk[2],
          full_node ? "; from 2 ranks on the full node's costs (-costs_full)" : "");

  /* 1. the check against the measured stages */
  FarmPolicy pol = {PETSC_FALSE, PETSC_FALSE, PETSC_TRUE}; /* the program's default */
  if (stages[0]) {
    nlines = 0;
    PetscCall(load(stages, "STAGE "));
    Sizes s = {.sim_rows = 4000,
               .emu_rows = 697435,
               .emu_val = 49813,
               .emu_epochs = 1,
               .emu_batch = 64,
               .npe_n = 50000,
               .npe_epochs = 3,
               .npe_batch = 50,
               .val_n = 100,
               .val_samples = 1000,
               .stars = 1000,
               .samples = 1000,
               .galaxies = 2,
               .cov_stars = 100};
    fprintf(o, "\n## model vs measured (stages.txt: median wall and CPU of the runs; see its header for the load)\n");
    fprintf(o, "%-28s %5s %10s %10s %10s %8s %8s %10s %8s\n", "stage", "ranks", "model_s", "wall_s", "cpu/P_s",
            "wall/mod", "cpu/mod", "prog_s", "prog/mod");
    /* every STAGE line in file order; the trainings (train_emulator*, train_npe*) carry their own
     * sizes (rows= or n=, epochs=, and bpr= for -batch_per_rank) */
    for (int i = 0; i < nlines; i++) {
      char name[64];
      int P;
      if (sscanf(lines[i], "STAGE %63s ranks=%d", name, &P) != 2) continue;
      char head[80], f[32];
      snprintf(head, sizeof head, "STAGE %s", name);
      snprintf(f, sizeof f, "ranks=%d", P);
      const char *line = lines[i];
#define KEY(k) (strstr(line, " " k "=") ? atof(strstr(line, " " k "=") + strlen(k) + 2) : NAN)
      double wall = KEY("wall_s"), cpu = KEY("cpu_s"), prog = KEY("prog_s"), m = NAN;
      Sizes ss = s;
      if (!strncmp(name, "train_emulator", 14)) {
        ss.emu_rows = (long)KEY("rows"), ss.emu_epochs = (long)KEY("epochs");
        ss.emu_bpr = isfinite(KEY("bpr")) ? (long)KEY("bpr") : 0;
        m = emu_time(&c, &ss, P);
      } else if (!strncmp(name, "train_npe", 9)) {
        ss.npe_n = (long)KEY("n"), ss.npe_epochs = (long)KEY("epochs");
        ss.npe_bpr = isfinite(KEY("bpr")) ? (long)KEY("bpr") : 0;
        ss.npe_fresh = isfinite(KEY("fresh")) ? (long)KEY("fresh") : 0;
        m = npe_time(&c, &ss, P);
      } else
        for (int st = 0; st < ST_N; st++)
          if (!strcmp(name, stage_names[st])) {
            if (st == ST_NEWTON) ss.stars = 100;
            m = stage_time(&c, &ss, (Stage)st, P, pol);
          }
#undef KEY
      if (!isfinite(m) || !isfinite(wall)) continue;
      /* prog/mod: the program's own time (PETSc's -log_view) against the model less the launch */
      fprintf(o, "%-28s %5d %10.2f %10.2f %10.2f %8.2f %8.2f %10.2f %8.2f\n", name, P, m, wall, cpu / P, wall / m,
              cpu / P / m, prog, prog / (m - c.launch));
    }
  }

  /* 1b. the all-reduce against its measurement (costs.sh: bench_mpi at 2, 4, 8 ranks): at 2 the
   * calibration itself; at 4 and 8, oversubscribed on the measuring machine's cores, the model's
   * data part is charged ranks-per-core times (its latency steps are not: a descheduled rank's
   * wait is not modelled), so this checks the growth with P, not dedicated-core latency */
  nlines = 0;
  PetscCall(load(costs, "BENCH "));
  fprintf(o,
          "\n## MPI_Allreduce, model vs measured (best of reps; ranks > %d oversubscribed: the model's data part x "
          "ranks per core)\n%-20s %8s %5s %10s %10s %8s\n",
          (int)cores, "message", "doubles", "ranks", "model_us", "meas_us", "meas/mod");
  /* every "BENCH allreduce" and "BENCH shard_step" line: what=, doubles=, ranks=, then clip= (shard_step
   * only) and the best of the reps (min=); the first line of each what and ranks only (the quiet
   * window's come first) */
  for (int i = 0; i < nlines && c.nar; i++) {
    const PetscBool sh = !strncmp(lines[i], "BENCH shard_step ", 17);
    if (!sh && strncmp(lines[i], "BENCH allreduce ", 16)) continue;
    char what[64];
    int P;
    if (sscanf(strstr(lines[i], " what="), " what=%63s doubles=", what) != 1 || !strstr(lines[i], " ranks=")) continue;
    P = atoi(strstr(lines[i], " ranks=") + 7);
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = !strncmp(lines[j], lines[i], sh ? 17 : 16) && strstr(lines[j], " ranks=") &&
             atoi(strstr(lines[j], " ranks=") + 7) == P &&
             !strncmp(strstr(lines[j], " what="), strstr(lines[i], " what="), strlen(" what=") + strlen(what) + 1);
    if (seen) continue;
    const double d = atof(strstr(lines[i], " doubles=") + 9), best = atof(strstr(lines[i], " min=") + 5),
                 share = (double)P / (double)cores;
    const int clip = sh && strstr(lines[i], " clip=") ? atoi(strstr(lines[i], " clip=") + 6) : 0;
    double m = 1e6 * (sh ? t_shard_over(&c, clip, 8 * d, P, share) : t_allreduce_over(&c, 8 * d, P, share));
    char name[80];
    snprintf(name, sizeof name, "%s%s", sh ? "shard:" : "", what);
    fprintf(o, "%-20s %8.0f %5d %10.2f %10.2f %8.2f\n", name, d, P, m, best, best / m);
  }

  /* 2. strong scaling of the paper-scale problem, and weak scaling */
  static const int Ps[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  const int nP = 11;
  Sizes pa = paper();
  snprintf(path, sizeof path, "%s/scaling_strong.dat", out);
  FILE *ds = fopen(path, "w");
  snprintf(path, sizeof path, "%s/scaling_weak.dat", out);
  FILE *dw = fopen(path, "w");
  PetscCheck(ds && dw, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write the .dat files in %s", out);
  fprintf(ds, "# P, then per stage: time [s] and parallel efficiency T(1)/(P T(P)); last: infer_newton of 1e6 stars\n");
  fprintf(dw, "# P, then per stage: weak-scaling efficiency T(1, n)/T(P, P n)\n");
  double T1[ST_N + 1];
  fprintf(o, "\n## strong scaling, paper-scale problem: time [s] (efficiency)\n%-6s", "P");
  for (int st = 0; st < ST_N; st++) fprintf(o, " %21s", stage_names[st]);
  fprintf(o, " %21s\n", "newton_1e6_stars");
  for (int i = 0; i < nP; i++) {
    int P = Ps[i];
    fprintf(ds, "%d", P);
    fprintf(o, "%-6d", P);
    for (int st = 0; st <= ST_N; st++) {
      double t = st < ST_N ? stage_time(&c, &pa, (Stage)st, P, pol) : infer_time(&c, 1000000, P, PETSC_TRUE);
      if (i == 0) T1[st] = t;
      fprintf(ds, " %.5g %.4f", t, T1[st] / (P * t));
      fprintf(o, " %12.4g (%5.3f)", t, T1[st] / (P * t));
    }
    fprintf(ds, "\n");
    fprintf(o, "\n");
  }
  /* 2a. the same for the program's own time, as PETSc's -log_view reports it: the job less the launch
   * (spawn, MPI_Init, MPI_Finalize: fixed costs of the cluster's launcher and MPI, measured here on
   * 1 rank and charged the same at every P, which a real launcher at 1024 ranks will exceed) */
  if (isfinite(c.launch)) {
    fprintf(
        o, "\n## strong scaling, the program's own time (the job less the launch, %.3f s): time [s] (efficiency)\n%-6s",
        c.launch, "P");
    for (int st = 0; st < ST_N; st++) fprintf(o, " %21s", stage_names[st]);
    fprintf(o, " %21s\n", "newton_1e6_stars");
    for (int i = 0; i < nP; i++) {
      int P = Ps[i];
      fprintf(o, "%-6d", P);
      for (int st = 0; st <= ST_N; st++) {
        double t =
            (st < ST_N ? stage_time(&c, &pa, (Stage)st, P, pol) : infer_time(&c, 1000000, P, PETSC_TRUE)) - c.launch;
        fprintf(o, " %12.4g (%5.3f)", t, (T1[st] - c.launch) / (P * t));
      }
      fprintf(o, "\n");
    }
  }
  /* weak: per rank the paper's problem / 64 (1 rank) growing with P; training with -batch_per_rank 64 */
  Sizes w1 = pa;
  w1.sim_rows = 1000, w1.emu_rows = 10000, w1.emu_val = 1000, w1.emu_bpr = 64, w1.npe_n = 10000, w1.npe_bpr = 50;
  w1.val_n = 10, w1.stars = 1000, w1.cov_stars = 1000, w1.galaxies = 1;
  fprintf(o,
          "\n## weak scaling (per rank: 1000 CHEMPY rows, 10^4 training rows with -batch_per_rank 64 / 50, 10 test "
          "cases, 1000 stars): efficiency\n%-6s",
          "P");
  for (int st = 0; st < ST_N; st++) fprintf(o, " %14s", stage_names[st]);
  fprintf(o, "\n");
  for (int i = 0; i < nP; i++) {
    int P = Ps[i];
    Sizes w = w1;
    w.sim_rows *= P, w.emu_rows *= P, w.emu_val *= P, w.npe_n *= P, w.val_n *= P, w.stars *= P, w.cov_stars *= P;
    fprintf(dw, "%d", P);
    fprintf(o, "%-6d", P);
    for (int st = 0; st < ST_N; st++) {
      double t1 = stage_time(&c, &w1, (Stage)st, 1, pol), t = stage_time(&c, &w, (Stage)st, P, pol);
      fprintf(dw, " %.4f", t1 / t);
      fprintf(o, " %14.3f", t1 / t);
    }
    fprintf(dw, "\n");
    fprintf(o, "\n");
  }
  fclose(ds);
  fclose(dw);

  /* 2b. weak-scaling training per step: the same rows per rank b at 1 and P ranks (per-rank data
   * fixed, so as many steps), t_step(1, b) / t_step(P, b); at the default b (64, 50) and at the
   * largest global batch B* that keeps accuracy (b = B* / P once P b would pass B*). Each network with
   * its trainer's default step (-shard_emulator, -shard_npe); "other": with the other setting of
   * -shard_optimizer, at B*. */
  snprintf(path, sizeof path, "%s/scaling_train.dat", out);
  FILE *dt = fopen(path, "w");
  PetscCheck(dt, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", path);
  fprintf(dt, "# P, emulator: b, eff(b=64), eff(b at B*) (its default step), eff other step; npe: the same at b=50\n");
  fprintf(o,
          "\n## weak-scaling training per step (t_step(1, b) / t_step(P, b)); B* = the largest accurate global batch: "
          "emulator %d, NPE %d (-emu_batch_max, -npe_batch_max); eff columns with each trainer's default step "
          "(emulator %s, NPE %s); other = the other setting of -shard_optimizer\n"
          "%-6s %6s %8s %8s %8s %10s   %6s %8s %8s %8s %10s\n",
          (int)emu_bmax, (int)npe_bmax, c.shard_emu ? "sharded" : "replicated", c.shard_npe ? "sharded" : "replicated",
          "P", "b_emu", "eff_64", "eff_B*", "other", "step_us", "b_npe", "eff_50", "eff_B*", "other", "step_us");
  for (int i = 0; i < nP; i++) {
    int P = Ps[i];
    fprintf(dt, "%d", P);
    fprintf(o, "%-6d", P);
    for (int k = 0; k < 2; k++) {
      const Net net = k ? NET_NPE : NET_EMU;
      long b0 = k ? 50 : 64, bmax = k ? npe_bmax : emu_bmax, b = P * b0 <= bmax ? b0 : PetscMax(1, bmax / P);
      double t1 = train_step(&c, net, 0, b, 1, PETSC_FALSE);
      double e0 = train_step(&c, net, 0, b0, 1, PETSC_FALSE) / train_step(&c, net, 0, b0, P, PETSC_FALSE);
      double tP = train_step(&c, net, 0, b, P, PETSC_FALSE), e1 = t1 / tP;
      double es = t1 / train_step(&c, net, 0, b, P, PETSC_TRUE);
      fprintf(dt, " %ld %.4f %.4f %.4f", b, e0, e1, es);
      fprintf(o, " %6ld %8.3f %8.3f %8.3f %10.1f  ", b, e0, e1, es, 1e6 * tP);
    }
    fprintf(dt, "\n");
    fprintf(o, "\n");
  }
  fclose(dt);

  /* 3. the farm at scale: rank 0's load, before and after the fix */
  fprintf(o,
          "\n## the farm (700,000 rows): rank 0 computing rows (before), with a static first round (not built), "
          "serving only (-farm_master serve; auto from %d ranks): time, efficiency, rank 0's busy fraction\n"
          "%-6s %10s %8s %8s %10s %8s %10s %8s %8s\n",
          SERVE_ONLY_FROM, "P", "T_s", "eff", "busy0", "T_static", "eff", "T_serve0", "eff", "busy0");
  double f1 = farm_des(&c, 700000, 1, pol).T;
  FarmPolicy before = {PETSC_FALSE, PETSC_FALSE, PETSC_FALSE}, fix = {PETSC_TRUE, PETSC_FALSE, PETSC_FALSE},
             srv = {PETSC_FALSE, PETSC_TRUE, PETSC_FALSE};
  for (int P = 2; P <= 8192; P *= 2) {
    const Costs *cp = at(&c, P);
    FarmResult a = farm_des(cp, 700000, P, before), b = farm_des(cp, 700000, P, fix), d = farm_des(cp, 700000, P, srv);
    fprintf(o, "%-6d %10.3f %8.4f %8.4f %10.3f %8.4f %10.3f %8.4f %8.4f\n", P, a.T, f1 / (P * a.T), a.busy0, b.T,
            f1 / (P * b.T), d.T, f1 / (P * d.T), d.busy0);
  }
  /* useful ranks: the largest P whose strong-scaling efficiency is >= 0.5, and the P of the shortest time */
  fprintf(o, "\n## useful ranks, paper-scale problem: largest P with efficiency >= 0.5; P of the shortest time\n");
  for (int st = 0; st <= ST_N; st++) {
    int u = 1, best = 1;
    double tb = INFINITY, t1 = NAN;
    for (int i = 0; i < nP; i++) {
      int P = Ps[i];
      double t = st < ST_N ? stage_time(&c, &pa, (Stage)st, P, pol) : infer_time(&c, 1000000, P, PETSC_TRUE);
      if (i == 0) t1 = t;
      if (t1 / (P * t) >= 0.5) u = P;
      if (t < tb) tb = t, best = P;
    }
    fprintf(o, "%-18s %6d %6d\n", st < ST_N ? stage_names[st] : "newton_1e6_stars", u, best);
  }
  /* 4. the headline projections */
  fprintf(o, "\n## projected wall time [s] on P cores\n%-34s %10s %10s %10s %10s\n", "", "1", "16", "128", "1024");
  static const int Pc[4] = {1, 16, 128, 1024};
  const char *rows[6] = {"paper-scale pipeline, all on P", "infer newton, 10^6 stars",
                         "infer gauss, 10^6 stars",        "simulate 750k rows",
                         "pipeline, each stage on <= P",   "simulate 750k rows, program only"};
  for (int k = 0; k < (isfinite(c.launch) ? 6 : 5); k++) {
    fprintf(o, "%-34s", rows[k]);
    for (int i = 0; i < 4; i++) {
      int P = Pc[i];
      double t = 0;
      if (k == 0)
        for (int st = 0; st <= ST_NEWTON; st++) t += st == ST_GAUSS ? 0 : stage_time(&c, &pa, (Stage)st, P, pol);
      if (k == 1) t = infer_time(&c, 1000000, P, PETSC_TRUE);
      if (k == 2) t = infer_time(&c, 1000000, P, PETSC_FALSE);
      if (k == 3) t = sim_time(&c, 750000, P, pol);
      if (k == 5) t = sim_time(&c, 750000, P, pol) - c.launch;
      if (k == 4) /* every stage on its own best rank count up to P (separate jobs) */
        for (int st = 0; st <= ST_NEWTON; st++) {
          if (st == ST_GAUSS) continue;
          double tb = INFINITY;
          for (int q = 1; q <= P; q *= 2) tb = fmin(tb, stage_time(&c, &pa, (Stage)st, q, pol));
          t += tb;
        }
      fprintf(o, " %10.4g", t);
    }
    fprintf(o, "\n");
  }
  fclose(o);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "wrote %s/scaling.txt, scaling_strong.dat, scaling_weak.dat\n", out));
  PetscCall(PetscFinalize());
  return 0;
}
