/* Names shared by every module and the wall clock. */
#include <chempysbi/common.h>
#include <time.h>

const char *const cs_param_names[CS_NPARAM] = {"alpha_IMF", "log10_N_Ia", "log10_SFE",
                                               "log10_SFR_peak", "x_out", "birth_time_Gyr"};
const char *const cs_elem_names[CS_NELEM] = {"C_Fe", "Fe_H", "He_Fe", "Mg_Fe", "N_Fe", "Ne_Fe", "O_Fe", "Si_Fe"};

double cs_wtime(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
