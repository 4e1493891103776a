/* gnuplot through script files: one code path for every PNG the program writes. */
#include <chempysbi/plot.h>
#include <stdio.h>
#include <stdlib.h>

PetscBool plot_available(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0 ? PETSC_TRUE : PETSC_FALSE; }

PetscErrorCode plot_run_script(const char *script, const char *png)
{
  char cmd[2 * PETSC_MAX_PATH_LEN + 32];
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(cmd, sizeof(cmd), "gnuplot '%s' 2>/dev/null", script));
  if (system(cmd) == 0)
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "plot: %s\n", png));
  else
    PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "warning: gnuplot failed on %s (no plot %s)\n", script, png));
  remove(script);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode plot_png(const char *png, int width, int height, const char *body)
{
  char script[PETSC_MAX_PATH_LEN + 8];
  FILE *fp;
  PetscFunctionBeginUser;
  if (!plot_available()) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscSNPrintf(script, sizeof(script), "%s.gp", png));
  fp = fopen(script, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write the plot script %s", script);
  fprintf(fp, "set terminal pngcairo noenhanced size %d,%d\nset output '%s'\n%s\n", width, height, png, body);
  PetscCheck(fclose(fp) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write the plot script %s", script);
  PetscCall(plot_run_script(script, png));
  PetscFunctionReturn(PETSC_SUCCESS);
}
