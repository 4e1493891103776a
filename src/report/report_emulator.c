/* train-emulator's figure: the cumulative distribution of the validation
 * |error| per observable. */
#include <chempysbi/plot.h>
#include <chempysbi/report.h>
#include <stdio.h>

PetscErrorCode report_emulator_cdf(const char *base, const double cdf[CS_NELEM][REPORT_CDF_POINTS])
{
  char png[PETSC_MAX_PATH_LEN + 8], body[4096] = "set logscale x\nset format x '%.0e'\nset grid\nset key bottom right\n"
                                                 "set xlabel '|emulator - CHEMPY| [dex]'\n"
                                                 "set ylabel 'cumulative fraction of validation rows'\n"
                                                 "set title 'Emulator validation error'\nplot ";
  PetscFunctionBeginUser;
  for (int k = 0; k < CS_NELEM; k++) { /* the data gnuplot reads */
    char dat[PETSC_MAX_PATH_LEN + 16];
    PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.cdf_%d.dat", base, k));
    FILE *fp = fopen(dat, "w");
    if (!fp) continue; /* plots are a convenience: plot_png reports what it cannot draw */
    for (int j = 0; j < REPORT_CDF_POINTS; j++) fprintf(fp, "%g %g\n", cdf[k][j], (double)j / (REPORT_CDF_POINTS - 1));
    fclose(fp);
  }
  for (int k = 0; k < CS_NELEM; k++) {
    char one[PETSC_MAX_PATH_LEN + 64];
    PetscCall(PetscSNPrintf(one, sizeof(one), "%s'%s.cdf_%d.dat' using 1:2 with lines lw 2 title '%s'", k ? ", " : "",
                            base, k, cs_elem_names[k]));
    PetscCall(PetscStrlcat(body, one, sizeof(body)));
  }
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.png", base));
  PetscCall(plot_png(png, 900, 600, body));
  for (int k = 0; k < CS_NELEM; k++) { /* the data files were only for the plot */
    char dat[PETSC_MAX_PATH_LEN + 16];
    PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.cdf_%d.dat", base, k));
    remove(dat);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
