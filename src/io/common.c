/* The parameter and observable tables, and the wall clock. */
#include <chempysbi/common.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The tables of vars.h as arrays. */
#define PARAM_ROW(n, u, lo, hi, pr, a, b, wlo, whi) {#n, u, lo, hi, CS_PRIOR_##pr, a, b, wlo, whi},
#define OBS_ROW(n, u, e)                            {#n, u},
#define NAME(n, ...)                                #n,
#define LIST(n, ...)                                "," #n
const CsParameter cs_parameters[CS_NPARAM] = {CS_PARAMETERS(PARAM_ROW)};
const CsObservable cs_observables[CS_NELEM] = {CS_OBSERVABLES(OBS_ROW)};
const char *const cs_param_names[CS_NPARAM] = {CS_PARAMETERS(NAME)};
const char *const cs_elem_names[CS_NELEM] = {CS_OBSERVABLES(NAME)};
static const char param_list[] = CS_PARAMETERS(LIST), elem_list[] = CS_OBSERVABLES(LIST);
const char *const cs_param_list = param_list + 1, *const cs_elem_list = elem_list + 1; /* past the first comma */

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
