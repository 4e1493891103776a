# input/<scale>/: every stage that runs CHEMPY (simulate_train, simulate_val, validate,
# mock) must use the same CHEMPY configuration, or the NPE would be tested against
# (and mocks made with) a model it was not trained on. A missing option is its default.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
opt() { # file option default: the option's value in an options file (comments stripped)
  local v
  v=$(sed 's/#.*//' "$1" | awk -v o="$2" '$1 == o { print $2 }' | tail -1)
  echo "${v:-$3}"
}
for dir in input/*/; do
  scale=$(basename "$dir")
  for o in "-scheme cvode" "-yields tng" "-cosmic_accretion_factor 1" "-time_steps 28"; do
    set -- $o
    ref=$(opt "$dir/simulate_train.opts" "$1" "$2")
    bad=""
    for st in simulate_val validate mock; do
      [ -f "$dir/$st.opts" ] || continue
      v=$(opt "$dir/$st.opts" "$1" "$2")
      [ "$v" = "$ref" ] || bad="$bad $st.opts has $v"
    done
    if [ -z "$bad" ]; then echo "PASS inputs: $scale: $1 $ref in every CHEMPY stage"
    else echo "FAIL inputs: $scale: simulate_train.opts has $1 $ref but$bad"; fi
  done
done
check "inputs: chempymulti2019 sets the factor 1e-6" test "$(opt input/chempymulti2019/mock.opts -cosmic_accretion_factor 1)" = 1e-6
