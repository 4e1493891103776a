/* Reading a survey-sized FITS catalogue: an APOGEE-like binary table
 * (APOGEE_ID, six elements with value, error and flag, ten more float columns
 * as in allStar) of -n stars (default 10^6) is written with cfitsio, then read
 * through cat_read_opts with -columns apogee, the path infer uses. Target
 * (issue 14): <= 10 s for 10^6 stars. Prints one "BENCH cat_read_fits" line,
 * with each read's CPU time too (the process's, so a loaded machine's wall
 * time can be told from the reader's own cost).
 * Run: bin/bench/bench_cat [-n 1000000] [-out /tmp/bench_cat.fits] [-repeat 3] */
#include <chempysbi/cat.h>
#include <fitsio.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

enum { NEL = 6, NEXTRA = 10 };
static const char *const el[NEL] = {"C_FE", "N_FE", "O_FE", "MG_FE", "SI_FE", "FE_H"};

static PetscErrorCode write_table(const char *path, PetscInt n)
{
  fitsfile *f = NULL;
  int status = 0, nc = 1 + 3 * NEL + NEXTRA;
  char *ttype[1 + 3 * NEL + NEXTRA], *tform[1 + 3 * NEL + NEXTRA], names[3 * NEL + NEXTRA][32];
  const PetscInt B = 100000;
  float *v;
  int *fl;
  char **ids, *idbuf;
  PetscFunctionBeginUser;
  ttype[0] = "APOGEE_ID";
  tform[0] = "18A";
  for (int k = 0; k < NEL; k++) {
    snprintf(names[3 * k], 32, "%s", el[k]);
    snprintf(names[3 * k + 1], 32, "%s_ERR", el[k]);
    snprintf(names[3 * k + 2], 32, "%s_FLAG", el[k]);
    for (int j = 0; j < 3; j++) {
      ttype[1 + 3 * k + j] = names[3 * k + j];
      tform[1 + 3 * k + j] = j == 2 ? "1J" : "1E";
    }
  }
  for (int k = 0; k < NEXTRA; k++) {
    snprintf(names[3 * NEL + k], 32, "EXTRA_%d", k);
    ttype[1 + 3 * NEL + k] = names[3 * NEL + k];
    tform[1 + 3 * NEL + k] = "1E";
  }
  remove(path);
  fits_create_file(&f, path, &status);
  fits_create_tbl(f, BINARY_TBL, n, nc, ttype, tform, NULL, "allStar", &status);
  PetscCall(PetscMalloc4(B, &v, B, &fl, B, &ids, B * 19, &idbuf));
  for (PetscInt i = 0; i < B; i++) ids[i] = idbuf + 19 * i;
  for (PetscInt r0 = 0; r0 < n && !status; r0 += B) {
    PetscInt m = PetscMin(B, n - r0);
    for (PetscInt i = 0; i < m; i++) snprintf(ids[i], 19, "2M%016lld", (long long)(r0 + i));
    fits_write_col(f, TSTRING, 1, r0 + 1, 1, m, ids, &status);
    for (int k = 0; k < 3 * NEL + NEXTRA; k++) {
      for (PetscInt i = 0; i < m; i++) {
        PetscInt g = r0 + i;
        v[i] = (float)(0.01 * (double)((g * 7 + k * 13) % 61) - 0.3);
        fl[i] = (g + k) % 17 == 0 ? 1 : 0; /* ~6% flagged */
        if (k % 3 == 0 && (g + k) % 23 == 0) v[i] = -9999.99f;
        if (k % 3 == 1) v[i] = 0.02f + 0.001f * (float)((g + k) % 50);
      }
      if (k < 3 * NEL && k % 3 == 2)
        fits_write_col(f, TINT, 2 + k, r0 + 1, 1, m, fl, &status);
      else
        fits_write_col(f, TFLOAT, 2 + k, r0 + 1, 1, m, v, &status);
    }
  }
  fits_close_file(f, &status);
  PetscCall(PetscFree4(v, fl, ids, idbuf));
  PetscCheck(!status, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cfitsio error %d while writing", path, status);
  PetscFunctionReturn(PETSC_SUCCESS);
}

int main(int argc, char **argv)
{
  PetscInt n = 1000000, repeat = 3;
  char out[PETSC_MAX_PATH_LEN] = "/tmp/bench_cat.fits";
  CatOptions o;
  Catalogue c;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-n", &n, NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-repeat", &repeat, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-out", out, sizeof(out), NULL));
  double t0 = cs_wtime();
  PetscCall(write_table(out, n));
  double tw = cs_wtime() - t0, best = INFINITY, sum = 0, cpu_best = INFINITY, cpu_sum = 0;
  PetscCall(cat_options_default(&o));
  PetscCall(PetscStrncpy(o.columns, "apogee", sizeof(o.columns)));
  for (PetscInt r = 0; r < repeat; r++) {
    struct timespec c0, c1;
    t0 = cs_wtime();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    PetscCall(cat_read_opts(out, &o, &c));
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double t = cs_wtime() - t0, cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    best = PetscMin(best, t);
    sum += t;
    cpu_best = PetscMin(cpu_best, cpu);
    cpu_sum += cpu;
    if (r + 1 < repeat) PetscCall(cat_destroy(&c));
  }
  PetscCall(PetscPrintf(PETSC_COMM_SELF,
                        "BENCH cat_read_fits n=%" PetscInt_FMT
                        " columns=%d write_s=%.2f read_best_s=%.3f read_mean_s=%.3f read_cpu_best_s=%.3f "
                        "read_cpu_mean_s=%.3f stars_per_s=%.3g usable=%" PetscInt_FMT " target_s=10\n",
                        n, 1 + 3 * NEL + NEXTRA, tw, best, sum / (double)repeat, cpu_best, cpu_sum / (double)repeat,
                        (double)n / best, c.n - c.nunusable));
  PetscCall(cat_destroy(&c));
  remove(out);
  PetscCall(PetscFinalize());
  return 0;
}
