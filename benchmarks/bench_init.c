/* The part of a job's launch that happens inside each process: MPI_Init and
 * MPI_Finalize, wall time, nothing else (no PETSc). With the launcher's own
 * spawn (costs.sh: `mpirun -np 1 /bin/true`) this is the fixed cost every
 * stage pays outside the program; benchmarks/scaling_model reports the
 * program's time and the job's apart by it.
 *
 *   mpirun -np 1 bin/bench/bench_init      ->  BENCH mpi_init init_s=... finalize_s=... */
#include <mpi.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
  int rank = 0, size = 1;
  double t0 = now();
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) return 1;
  double t1 = now();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Barrier(MPI_COMM_WORLD);
  double t2 = now();
  if (MPI_Finalize() != MPI_SUCCESS) return 1;
  double t3 = now();
  if (rank == 0) printf("BENCH mpi_init ranks=%d init_s=%.4f finalize_s=%.4f\n", size, t1 - t0, t3 - t2);
  return 0;
}
