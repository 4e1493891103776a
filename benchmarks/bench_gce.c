/* Benchmark of gce_run: 1000 parameter sets drawn from the NPE priors (pipeline.md
 * section 1) with a fixed deterministic generator, timed one by one on one core for
 * the cvode scheme (default tolerances) and the discrete 28-step scheme. Prints
 * median / p95 per run, rejection counts and CVODE statistics, and writes the same
 * report to benchmarks/results/bench_gce.txt. Options: -n <runs>, -box (draw from the
 * emulator training box instead), -cvode_only, plus the gce options (-rtol, ...). */
#include <chempysbi/gce.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <cvode/cvode.h>

/* splitmix64 + Box-Muller: simple, deterministic, no dependence on other modules */
static uint64_t sm_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static double sm_unif(uint64_t *s) { return ((double)(sm_next(s) >> 11) + 0.5) / 9007199254740992.0; }
static double sm_norm(uint64_t *s) { return sqrt(-2.0 * log(sm_unif(s))) * cos(2.0 * M_PI * sm_unif(s)); }

/* Emulator training box: uniform over mean +- 5 sigma clipped to the hard bounds,
   T ~ U(1, 13.8) (pipeline.md section 1). */
static void draw_box(uint64_t *s, double th[6])
{
  const double mu[5] = {-2.3, -2.89, -0.3, 0.55, 0.5}, sd[5] = {0.3, 0.3, 0.3, 0.1, 0.1};
  const double *lo = gce_theta_lo, *hi = gce_theta_hi; /* the model's hard bounds */
  for (int i = 0; i < 5; i++) {
    double a = fmax(mu[i] - 5 * sd[i], lo[i]), b = fmin(mu[i] + 5 * sd[i], hi[i]);
    th[i] = a + (b - a) * sm_unif(s);
  }
  th[5] = 1.0 + 12.8 * sm_unif(s);
}

static void draw_prior(uint64_t *s, double th[6])
{
  th[0] = -2.3 + 0.3 * sm_norm(s);
  th[1] = -2.89 + 0.3 * sm_norm(s);
  th[2] = -0.3 + 0.3 * sm_norm(s);
  do th[3] = 0.55 + 0.1 * sm_norm(s);
  while (th[3] <= gce_theta_lo[3]);
  th[4] = 0.5 + 0.1 * sm_norm(s);
  th[5] = 2.0 + 10.8 * sm_unif(s);
}

/* CPU time of this thread: unlike wall time it does not count time the core spent
   on other processes, so it is the fair per-run cost on a shared machine. */
static double cpu_time(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static PetscErrorCode bench_scheme(const GceYields *y, GceConfig cfg, GceScheme sch, PetscInt n, PetscBool box,
                                   FILE *out[2])
{
  GceWork *w;
  double *t, *tc, th[6], ab[8];
  GceStatus st;
  GceRunStats rs;
  long nstat[6] = {0}, steps = 0, rhs = 0, etf = 0, nlf = 0, maxsteps = 0;
  double tcv = 0, tall = 0;
  uint64_t seed = 20240901;
  int nfail_shown = 0;
  PetscFunctionBeginUser;
  cfg.scheme = sch;
  PetscCall(gce_work_create(y, &cfg, &w));
  PetscCall(PetscMalloc2(n, &t, n, &tc));
  for (PetscInt i = 0; i < n; i++) {
    if (box)
      draw_box(&seed, th);
    else
      draw_prior(&seed, th);
    double t0 = cs_wtime(), c0 = cpu_time();
    PetscCall(gce_run(w, th, ab, &st, &rs));
    t[i] = cs_wtime() - t0;
    tc[i] = cpu_time() - c0;
    nstat[st]++;
    tcv += rs.cvode_seconds;
    tall += t[i];
    if (st == GCE_SOLVER_FAILURE && nfail_shown < 5) {
      nfail_shown++;
      fprintf(stderr, "solver failure (CVODE flag %s) at theta = %.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
              CVodeGetReturnFlagName(rs.cvode_flag), th[0], th[1], th[2], th[3], th[4], th[5]);
    }
    steps += rs.steps;
    rhs += rs.rhs_evals;
    etf += rs.err_test_fails;
    nlf += rs.nonlin_fails;
    if (rs.steps > maxsteps) maxsteps = rs.steps;
  }
  qsort(t, (size_t)n, sizeof(double), cmp_d);
  qsort(tc, (size_t)n, sizeof(double), cmp_d);
  double sum = 0;
  for (PetscInt i = 0; i < n; i++) sum += t[i];
  for (int k = 0; k < 2; k++) {
    if (!out[k]) continue;
    if (sch == GCE_SCHEME_CVODE)
      fprintf(out[k], "cvode (rtol %g, atol %g, %d cohorts): ", (double)cfg.rtol, (double)cfg.atol, (int)cfg.cohorts);
    else
      fprintf(out[k], "discrete (%d steps): ", (int)cfg.time_steps);
    fprintf(out[k], "%d runs, median %.3f ms, p95 %.3f ms, mean %.3f ms, max %.3f ms per run\n", (int)n, 1e3 * t[n / 2],
            1e3 * t[(PetscInt)(0.95 * n)], 1e3 * sum / n, 1e3 * t[n - 1]);
    fprintf(out[k],
            "  CPU time per run: median %.3f ms, p95 %.3f ms (wall minus time the core gave to other processes)\n",
            1e3 * tc[n / 2], 1e3 * tc[(PetscInt)(0.95 * n)]);
    fprintf(out[k], "  status:");
    for (int s = 0; s < 6; s++) fprintf(out[k], " %s %ld", gce_status_name((GceStatus)s), nstat[s]);
    fprintf(out[k], "\n");
    if (sch == GCE_SCHEME_CVODE)
      fprintf(
          out[k],
          "  CVODE per run: steps %.1f (max %ld), rhs evals %.1f, error-test failures %.2f, nonlinear failures %.2f\n",
          (double)steps / n, maxsteps, (double)rhs / n, (double)etf / n, (double)nlf / n);
    if (sch == GCE_SCHEME_CVODE)
      fprintf(out[k],
              "  where the time goes: %.0f %% inside CVode (integrator incl. right-hand side and root finding), %.0f "
              "%% outside "
              "(IMF, yield selection, cohort cumulative returns, feedback forcing)\n",
              100 * tcv / tall, 100 * (1 - tcv / tall));
  }
  PetscCall(PetscFree2(t, tc));
  PetscCall(gce_work_destroy(&w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  GceConfig cfg;
  GceYields *y;
  PetscInt n = 1000;
  FILE *out[2] = {stdout, NULL};
  PetscCall(PetscInitialize(&argc, &argv, NULL, "gce benchmark"));
  PetscCall(gce_config_default(&cfg));
  PetscCall(gce_config_set_from_options(&cfg));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscBool box = PETSC_FALSE, skip = PETSC_FALSE;
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-box", &box, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-cvode_only", &skip, NULL));
  /* results go next to the benchmark sources when run from the project root */
  PetscCall(gce_yields_load(cfg.data_dir, cfg.yields, &y));
  mkdir("benchmarks/results", 0755);
  out[1] = box || skip ? NULL : fopen("benchmarks/results/bench_gce.txt", "w"); /* only the standard run is recorded */
  for (int k = 0; k < 2; k++)
    if (out[k])
      fprintf(out[k], "bench_gce: %d draws from the %s (pipeline.md 1), yields %s, one core\n", (int)n,
              box ? "training box (uniform +-5 sigma)" : "NPE priors", cfg.yields);
  PetscCall(bench_scheme(y, cfg, GCE_SCHEME_CVODE, n, box, out));
  if (!skip) PetscCall(bench_scheme(y, cfg, GCE_SCHEME_DISCRETE, n, box, out));
  if (out[1]) fclose(out[1]);
  PetscCall(gce_yields_destroy(&y));
  PetscCall(PetscFinalize());
  return 0;
}
