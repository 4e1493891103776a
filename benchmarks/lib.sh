# Shared set-up of the throughput benchmarks (shard_ab.sh, corun.sh): sourced after ROOT is set.
# Sets MPIRUN (root-safe), the one-thread BLAS and CHEMPY data, copies the binary into OUT (so a
# rebuild does not change what is timed) as $B, enters OUT, and defines med LOG: the median of a
# training log's epoch rates (rows or simulations per second).
if [ -z "${MPIRUN:-}" ]; then
  MPIRUN="mpirun --oversubscribe"
  [ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
fi
export OPENBLAS_NUM_THREADS=1 CHEMPYSBI_DATA=${CHEMPYSBI_DATA:-$(cd "$ROOT/.." && pwd)/shared/chempy-data}
B=$OUT/chempysbi
cp "$ROOT/bin/chempysbi" "$B"
cd "$OUT" || exit 1
med() { grep '^epoch ' "$1" | sed 's/.*(\([0-9]*\) [a-z]*\/s.*/\1/' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
