/* PNG plots through gnuplot, the one place that runs it. Plots are a
 * convenience: without gnuplot, or when it fails, the run goes on (a warning). */
#ifndef CHEMPYSBI_PLOT_H
#define CHEMPYSBI_PLOT_H

#include <chempysbi/common.h>

/* Is a gnuplot executable on the PATH? */
PetscBool plot_available(void);
/* Run gnuplot on a script file that sets its own terminal and output, then
 * remove the script; prints "plot: <png>" on success. */
PetscErrorCode plot_run_script(const char *script, const char *png);
/* Write png (width x height) from gnuplot commands `body` (no terminal/output
 * lines): the commands go to "<png>.gp", so no shell quoting is involved. */
PetscErrorCode plot_png(const char *png, int width, int height, const char *body);

#endif
