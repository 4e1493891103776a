/* Range checks of numeric options, done on the option text: PETSc 3.18 parses
 * an integer with strtol and casts it to the 32-bit PetscInt, so a value above
 * 2^31 wraps silently (simulate -n 4294967396 ran 100 rows), and it reads
 * "inf" and "nan" as reals. Also the memory estimate that names the option
 * sizing an allocation, checked before the allocation is tried. */
#include <chempysbi/guard.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* One integer of an option's text, as a long long; the error names the option and the text. */
static PetscErrorCode parse_ll(MPI_Comm comm, const char *opt, const char *s, PetscInt lo, PetscInt hi)
{
  char *end;
  long long v;
  PetscFunctionBeginUser;
  while (*s == ' ') s++;
  errno = 0;
  v = strtoll(s, &end, 10);
  while (*end == ' ') end++;
  PetscCheck(end != s && !*end, comm, PETSC_ERR_ARG_WRONG, "%s %s: not a whole number", opt, s);
  PetscCheck(errno != ERANGE && v >= (long long)lo && v <= (long long)hi, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%s %s: must be between %" PetscInt_FMT " and %" PetscInt_FMT, opt, s, lo, hi);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_int_option(MPI_Comm comm, const char *opt, PetscInt value, PetscInt lo, PetscInt hi)
{
  char buf[256];
  PetscBool set;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, buf, sizeof(buf), &set));
  if (set && buf[0]) PetscCall(parse_ll(comm, opt, buf, lo, hi));
  PetscCheck(value >= lo && value <= hi, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%s %" PetscInt_FMT ": must be between %" PetscInt_FMT " and %" PetscInt_FMT, opt, value, lo, hi);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_int_array_option(MPI_Comm comm, const char *opt, PetscInt nmax, PetscInt lo, PetscInt hi)
{
  char buf[1024], *tok, *save = NULL;
  PetscBool set;
  PetscInt n = 0;
  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetString(NULL, NULL, opt, buf, sizeof(buf), &set));
  if (!set) PetscFunctionReturn(PETSC_SUCCESS);
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    PetscCall(parse_ll(comm, opt, tok, lo, hi));
    n++;
  }
  PetscCheck(n >= 1 && n <= nmax, comm, PETSC_ERR_ARG_OUTOFRANGE,
             "%s: %" PetscInt_FMT " values given, between 1 and %" PetscInt_FMT " allowed", opt, n, nmax);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_real_option(MPI_Comm comm, const char *opt, PetscReal value, PetscReal lo, PetscReal hi)
{
  char v[64], a[32], b[32];
  PetscFunctionBeginUser;
  /* snprintf, not PETSc's printf, which writes inf as "inf." */
  snprintf(v, sizeof(v), "%g", (double)value);
  snprintf(a, sizeof(a), "%g", (double)lo);
  snprintf(b, sizeof(b), "%g", (double)hi);
  PetscCheck(isfinite((double)value), comm, PETSC_ERR_ARG_OUTOFRANGE, "%s %s: must be a finite number", opt, v);
  PetscCheck(value >= lo && value <= hi, comm, PETSC_ERR_ARG_OUTOFRANGE, "%s %s: must be between %s and %s", opt, v, a,
             b);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode guard_memory(MPI_Comm comm, double bytes, const char *what)
{
  double avail = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  struct rlimit rl;
  PetscFunctionBeginUser;
  if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY) avail = PetscMin(avail, (double)rl.rlim_cur);
  PetscCheck(bytes <= avail, comm, PETSC_ERR_MEM,
             "%s needs %.3g GB of memory per rank, more than the %.3g GB this machine has: use a smaller value", what,
             bytes / 1e9, avail / 1e9);
  PetscFunctionReturn(PETSC_SUCCESS);
}
