/* Names shared by every module and the wall clock. */
#include <chempysbi/common.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

const char *const cs_param_names[CS_NPARAM] = {"alpha_IMF",      "log10_N_Ia", "log10_SFE",
                                               "log10_SFR_peak", "x_out",      "birth_time_Gyr"};
const char *const cs_elem_names[CS_NELEM] = {"C_Fe", "Fe_H", "He_Fe", "Mg_Fe", "N_Fe", "Ne_Fe", "O_Fe", "Si_Fe"};

double cs_wtime(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The CHEMPY data directory: env CHEMPYSBI_DATA, else ../shared/chempy-data
 * next to the project (found from the executable, bin/chempysbi), else
 * relative to the current directory. */
void cs_default_data_dir(char *buf, size_t len)
{
  const char *env = getenv("CHEMPYSBI_DATA");
  char exe[4096];
  ssize_t n;
  if (env && env[0]) {
    snprintf(buf, len, "%s", env);
    return;
  }
  n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = 0;
    for (int up = 0; up < 2; up++) { /* strip "/chempysbi" then "/bin" (or "/tests") */
      char *s = strrchr(exe, '/');
      if (s) *s = 0;
    }
    char cand[4096 + 64];
    snprintf(cand, sizeof(cand), "%s/../shared/chempy-data", exe);
    if (access(cand, R_OK) == 0) {
      snprintf(buf, len, "%s", cand);
      return;
    }
  }
  snprintf(buf, len, "../shared/chempy-data");
}
