/* Reports: the figures the engines' numbers become. The engines (src/sbi)
 * compute and return numbers; these turn them into PNGs beside the result
 * files (through plot.h, the one place that runs gnuplot). Rank 0 only; a
 * missing gnuplot is a warning, never an error. */
#ifndef CHEMPYSBI_REPORT_H
#define CHEMPYSBI_REPORT_H

#include <chempysbi/combine.h>
#include <chempysbi/common.h>

/* train-emulator: <base>.png, the cumulative distribution of |error| per
 * observable, cdf[k][j] the |error| [dex] at fraction j / (points - 1). */
#define REPORT_CDF_POINTS 400
PetscErrorCode report_emulator_cdf(const char *base, const double cdf[CS_NELEM][REPORT_CDF_POINTS]);

/* validate: <out>.sbc.png, .tarp.png, .true_vs_pred.png (out without .h5).
 * Per case i and parameter d: rank[i stride + d], truth, mean and sd likewise. */
typedef struct {
  const char *out, *simulator;
  PetscInt n, samples, stride;
  const double *rank, *truth, *mean, *sd;
  PetscInt nalpha;
  const double *alpha, *ecp; /* TARP credibility levels and expected coverage */
  const double *sbc_p, *ape_median;
  double tarp_atc, tarp_ks_p;
} ReportValidate;
PetscErrorCode report_validate_plots(const ReportValidate *v);

/* infer: <out>.running.png (the combined estimate of the first k stars,
 * run[0..n)) and <out>.ellipse.png (the final r's 1-3 sigma ellipses), with
 * the prior means mu0. */
PetscErrorCode report_infer_plots(const char *out, const CombineResult *run, PetscInt n, const CombineResult *r,
                                  const double mu0[2]);

/* coverage: <out>.coverage.png (curve[4 k + 0..3]: credibility level, then the
 * fraction of galaxies inside for alpha_IMF, log10_N_Ia and the joint 2-D
 * region, k < ncurve) and <out>.z.png (galaxy g's two z-scores at
 * z[g stride], z[g stride + 1], g < m). */
PetscErrorCode report_coverage_plots(const char *out, const char *title, PetscInt ncurve, const double *curve,
                                     PetscInt m, const double *z, PetscInt stride);

/* simulate -history: <csv>.png, every [X/Fe] against [Fe/H] along the ISM trajectory. */
PetscErrorCode report_history_plot(const char *csv);

#endif
