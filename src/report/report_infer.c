/* infer's figures: the running combined estimate against the number of
 * stars (paper Fig. 5) and the joint 1-3 sigma ellipses (Fig. 6). */
#include <chempysbi/plot.h>
#include <chempysbi/report.h>
#include <math.h>
#include <stdio.h>

PetscErrorCode report_infer_plots(const char *out, const CombineResult *run, PetscInt n, const CombineResult *r,
                                  const double mu0[2])
{
  char dat[PETSC_MAX_PATH_LEN + 16], png[PETSC_MAX_PATH_LEN + 16], body[4 * PETSC_MAX_PATH_LEN];
  FILE *fp;
  PetscFunctionBeginUser;
  if (!plot_available()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.running.dat", out));
  fp = fopen(dat, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt k = 0; k < n; k++)
    if (run[k].pd)
      fprintf(fp, "%" PetscInt_FMT " %.8g %.8g %.8g %.8g\n", k + 1, run[k].mean[0], run[k].sd[0], run[k].mean[1],
              run[k].sd[1]);
  fclose(fp);
  /* Running estimate (paper Fig. 5). */
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.running.png", out));
  PetscCall(
      PetscSNPrintf(body, sizeof(body),
                    "set multiplot layout 2,1\nset logscale x\nset grid\nset xlabel 'number of stars'\n"
                    "set ylabel 'alpha_IMF'\nplot '%s' using 1:($2-$3):($2+$3) with filledcurves lc rgb '#a0c0ff' "
                    "title '1 sd', '' using 1:2 with lines lw 2 lc rgb '#0030a0' title 'combined mean', %.6g lw 2 "
                    "dt 2 lc rgb 'black' title 'prior mean'\n"
                    "set ylabel 'log10_N_Ia'\nplot '%s' using 1:($4-$5):($4+$5) with filledcurves lc rgb "
                    "'#ffc0a0' title '1 sd', '' using 1:4 with lines lw 2 lc rgb '#a03000' title 'combined "
                    "mean', %.6g lw 2 dt 2 lc rgb 'black' title 'prior mean'\nunset multiplot",
                    dat, mu0[0], dat, mu0[1]));
  PetscCall(plot_png(png, 1000, 700, body));
  remove(dat);
  if (r->pd) {
    /* Joint 1-3 sigma ellipses (Fig. 6): mean + k L (cos t, sin t), L the Cholesky factor of cov. */
    double l00 = sqrt(r->cov[0]), l10 = r->cov[2] / l00, l11 = sqrt(PetscMax(r->cov[3] - l10 * l10, 0));
    PetscCall(PetscSNPrintf(png, sizeof(png), "%s.ellipse.png", out));
    PetscCall(PetscSNPrintf(body, sizeof(body),
                            "set parametric\nset trange [0:2*pi]\nset grid\nset samples 200\n"
                            "set xlabel 'alpha_IMF'\nset ylabel 'log10_N_Ia'\n"
                            "set title 'combined posterior of %.0f stars: 1, 2, 3 sigma'\n"
                            "fx(t,k) = %.10g + k*%.10g*cos(t)\nfy(t,k) = %.10g + k*(%.10g*cos(t) + %.10g*sin(t))\n"
                            "plot for [k=1:3] fx(t,k), fy(t,k) with lines lw 2 title sprintf('%%d sigma', k)",
                            r->n, r->mean[0], l00, r->mean[1], l10, l11));
    PetscCall(plot_png(png, 800, 700, body));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
