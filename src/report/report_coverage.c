/* coverage's figures: the fraction of galaxies whose truth falls inside the
 * central credible region at each level (calibrated: the diagonal), and the
 * galaxies' z-scores against the unit-normal 95 % circle. */
#include <chempysbi/plot.h>
#include <chempysbi/report.h>
#include <stdio.h>

PetscErrorCode report_coverage_plots(const char *out, const char *title, PetscInt ncurve, const double *curve,
                                     PetscInt m, const double *z, PetscInt stride)
{
  char dat[PETSC_MAX_PATH_LEN + 16], png[PETSC_MAX_PATH_LEN + 16], body[4 * PETSC_MAX_PATH_LEN];
  FILE *fp;
  PetscFunctionBeginUser;
  if (!plot_available()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.curve.dat", out));
  PetscCheck(fp = fopen(dat, "w"), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt k = 0; k < ncurve; k++)
    fprintf(fp, "%g %g %g %g\n", curve[4 * k], curve[4 * k + 1], curve[4 * k + 2], curve[4 * k + 3]);
  fclose(fp);
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.coverage.png", out));
  PetscCall(
      PetscSNPrintf(body, sizeof(body),
                    "set grid\nset key left top\nset xlabel 'credibility level'\nset ylabel 'fraction of galaxies "
                    "inside'\nset title '%s'\nset xrange [0:1]\nset yrange [0:1]\n"
                    "plot x lw 1 dt 2 lc rgb 'black' title 'calibrated', '%s' using 1:2 with linespoints lw 2 "
                    "title 'alpha_IMF', '' using 1:3 with linespoints lw 2 title 'log10_N_Ia', '' using 1:4 with "
                    "linespoints lw 2 title 'joint 2-D'",
                    title, dat));
  PetscCall(plot_png(png, 800, 700, body));
  remove(dat);
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.z.dat", out));
  PetscCheck(fp = fopen(dat, "w"), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt g = 0; g < m; g++) fprintf(fp, "%g %g\n", z[g * stride], z[g * stride + 1]);
  fclose(fp);
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.z.png", out));
  PetscCall(PetscSNPrintf(body, sizeof(body),
                          "set grid\nset size square\nset xlabel 'z alpha_IMF'\nset ylabel 'z log10_N_Ia'\nset title "
                          "'%s'\nset parametric\nset trange [0:2*pi]\nplot '%s' using 1:2 with points pt 7 ps 0.8 "
                          "title 'galaxies', 2.448*cos(t), 2.448*sin(t) lw 2 dt 2 title '95%% (2-D, unit normal)'",
                          title, dat));
  PetscCall(plot_png(png, 750, 700, body));
  remove(dat);
  PetscFunctionReturn(PETSC_SUCCESS);
}
