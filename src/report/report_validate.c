/* validate's figures: SBC rank histograms, the TARP coverage curve and true
 * against predicted parameters, as PNGs beside the result file. */
#include <chempysbi/plot.h>
#include <chempysbi/report.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

PetscErrorCode report_validate_plots(const ReportValidate *v)
{
  char base[PETSC_MAX_PATH_LEN], dat[PETSC_MAX_PATH_LEN], gp[PETSC_MAX_PATH_LEN], png[PETSC_MAX_PATH_LEN];
  const PetscInt n = v->n, L = v->samples, S = v->stride;
  FILE *fp;
  PetscFunctionBeginUser;
  if (!plot_available()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscStrncpy(base, v->out, sizeof(base)));
  size_t len = strlen(base);
  if (len > 3 && !strcmp(base + len - 3, ".h5")) base[len - 3] = 0;

  /* SBC rank histograms. Bins group whole rank values, so the expected count
   * per bin is exact; the band is the 99% binomial interval of one bin. */
  const PetscInt B = PetscMin(20, L + 1);
  PetscInt *cnt, *width;
  PetscCall(PetscCalloc2(B * CS_NPARAM, &cnt, B, &width));
  for (PetscInt r = 0; r <= L; r++) width[r * B / (L + 1)]++;
  for (PetscInt i = 0; i < n; i++)
    for (int d = 0; d < CS_NPARAM; d++) cnt[((PetscInt)v->rank[i * S + d] * B / (L + 1)) * CS_NPARAM + d]++;
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.sbc.dat", base));
  fp = fopen(dat, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt b = 0; b < B; b++) {
    double q = (double)width[b] / (double)(L + 1), e = n * q, h = 2.576 * sqrt(n * q * (1 - q));
    fprintf(fp, "%.6g", (b + 0.5) / B);
    for (int d = 0; d < CS_NPARAM; d++) fprintf(fp, " %" PetscInt_FMT, cnt[b * CS_NPARAM + d]);
    fprintf(fp, " %.6g %.6g %.6g\n", e, PetscMax(0, e - h), e + h);
  }
  fclose(fp);
  PetscCall(PetscFree2(cnt, width));
  PetscCall(PetscSNPrintf(gp, sizeof(gp), "%s.sbc.gp", base));
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.sbc.png", base));
  fp = fopen(gp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", gp);
  fprintf(fp, "set terminal pngcairo noenhanced size 1350,800\nset output '%s'\n", png);
  fprintf(fp,
          "set multiplot layout 2,3 title 'SBC ranks: %" PetscInt_FMT " cases x %" PetscInt_FMT
          " samples (grey: 99%% band of a uniform bin)'\n",
          n, L);
  fprintf(fp, "set style fill transparent solid 0.6 noborder\nset xrange [0:1]\nset yrange [0:*]\nset xlabel 'rank / "
              "(samples + 1)'\nset ylabel 'cases'\nset grid\n");
  for (int d = 0; d < CS_NPARAM; d++) {
    fprintf(fp, "set title '%s  (KS p = %.3g)'\n", cs_param_names[d], v->sbc_p[d]);
    fprintf(fp,
            "plot '%s' using 1:9:10 with filledcurves lc rgb '#d8d8d8' notitle, '' using 1:%d:(%.8g) with boxes lc rgb "
            "'#3060b0' notitle, '' using 1:8 with lines lw 2 lc rgb 'black' notitle\n",
            dat, 2 + d, 1.0 / B);
  }
  fprintf(fp, "unset multiplot\n");
  fclose(fp);
  PetscCall(plot_run_script(gp, png));
  remove(dat);

  /* TARP expected coverage against the diagonal. */
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.tarp.dat", base));
  fp = fopen(dat, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt k = 0; k < v->nalpha; k++) fprintf(fp, "%.6g %.6g\n", v->alpha[k], v->ecp[k]);
  fclose(fp);
  PetscCall(PetscSNPrintf(gp, sizeof(gp), "%s.tarp.gp", base));
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.tarp.png", base));
  fp = fopen(gp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", gp);
  fprintf(
      fp,
      "set terminal pngcairo noenhanced size 750,700\nset output '%s'\nset size square\nset grid\nset key top left\n",
      png);
  fprintf(fp, "set xrange [0:1]\nset yrange [0:1]\nset xlabel 'credibility level'\nset ylabel 'expected coverage'\n");
  fprintf(fp, "set title 'TARP: %" PetscInt_FMT " cases, ATC = %.4f (area), KS p = %.3g'\n", n, v->tarp_atc,
          v->tarp_ks_p);
  fprintf(fp,
          "plot x with lines dt 2 lw 2 lc rgb 'black' title 'ideal', '%s' using 1:2 with linespoints pt 7 ps 0.6 lw 2 "
          "lc rgb '#c03020' title 'NPE'\n",
          dat);
  fclose(fp);
  PetscCall(plot_run_script(gp, png));
  remove(dat);

  /* True against predicted (posterior mean +- sd). */
  PetscCall(PetscSNPrintf(dat, sizeof(dat), "%s.true_vs_pred.dat", base));
  fp = fopen(dat, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", dat);
  for (PetscInt i = 0; i < n; i++) {
    for (int d = 0; d < CS_NPARAM; d++)
      fprintf(fp, "%.8g %.8g %.8g ", v->truth[i * S + d], v->mean[i * S + d], v->sd[i * S + d]);
    fprintf(fp, "\n");
  }
  fclose(fp);
  PetscCall(PetscSNPrintf(gp, sizeof(gp), "%s.true_vs_pred.gp", base));
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.true_vs_pred.png", base));
  fp = fopen(gp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", gp);
  fprintf(fp, "set terminal pngcairo noenhanced size 1350,850\nset output '%s'\n", png);
  fprintf(fp,
          "set multiplot layout 2,3 title 'true vs posterior mean +- sd, %" PetscInt_FMT
          " cases (%s)'\nset grid\nset bars small\nset xlabel 'true'\nset ylabel 'predicted'\n",
          n, v->simulator);
  for (int d = 0; d < CS_NPARAM; d++) {
    fprintf(fp, "set title '%s  (APE median %.2f%%)'\n", cs_param_names[d], v->ape_median[d]);
    fprintf(fp,
            "plot '%s' using %d:%d:%d with yerrorbars pt 7 ps 0.3 lc rgb '#a0b8e0' notitle, '' using %d:%d with points "
            "pt 7 ps 0.4 lc rgb '#203880' notitle, x with lines lw 2 lc rgb 'black' notitle\n",
            dat, 3 * d + 1, 3 * d + 2, 3 * d + 3, 3 * d + 1, 3 * d + 2);
  }
  fprintf(fp, "unset multiplot\n");
  fclose(fp);
  PetscCall(plot_run_script(gp, png));
  remove(dat);
  PetscFunctionReturn(PETSC_SUCCESS);
}
