/* simulate -theta -history's figure: every [X/Fe] against [Fe/H] along the
 * ISM trajectory (the history CSV: time, the observables, gas masses, Z). */
#include <chempysbi/plot.h>
#include <chempysbi/report.h>

PetscErrorCode report_history_plot(const char *csv)
{
  char png[PETSC_MAX_PATH_LEN + 8], body[PETSC_MAX_PATH_LEN + 512], cols[4 * CS_NELEM] = "";
  PetscFunctionBeginUser;
  for (int e = 0; e < CS_NELEM; e++) /* CSV column 2 + e is observable e; Fe_H is the x axis */
    if (e != CS_Fe_H) {
      char one[8];
      PetscCall(PetscSNPrintf(one, sizeof(one), "%s%d", cols[0] ? " " : "", 2 + e));
      PetscCall(PetscStrlcat(cols, one, sizeof(cols)));
    }
  PetscCall(PetscSNPrintf(png, sizeof(png), "%s.png", csv));
  PetscCall(PetscSNPrintf(body, sizeof(body),
                          "set datafile separator ','\nset key outside\nset xrange [-3:*]\nset grid\n"
                          "set xlabel '[Fe/H]'\nset ylabel '[X/Fe]'\n"
                          "plot for [c in '%s'] '%s' using %d:int(c) title columnhead(int(c)) with linespoints lw 2",
                          cols, csv, 2 + CS_Fe_H));
  PetscCall(plot_png(png, 900, 600, body));
  PetscFunctionReturn(PETSC_SUCCESS);
}
