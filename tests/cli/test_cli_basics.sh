# The executable's contract: help, version, unknown commands and options.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
check "cli: version prints the libraries" bash -c "$BIN version | grep -q 'SUNDIALS: 6' && $BIN version | grep -q 'HDF5: .*parallel'"
check "cli: -help lists the commands" bash -c "$BIN -help | grep -q 'simulate'"
check_fails "cli: unknown option exits non-zero and names it" "unknown option -no_such_option" $BIN version -no_such_option
check_fails "cli: unknown option fails on 2 ranks" "unknown option -bogus" $MPIRUN -np 2 $BIN version -bogus
check_fails "cli: unknown command is named" "unknown command 'frobnicate'" $BIN frobnicate
printf -- '-no_such_option_in_file 3\n' > "$TMP/opts"
check_fails "cli: unknown option from -options_file" "no_such_option_in_file" $BIN version -options_file "$TMP/opts"
check "format: make format-check (clang-format) passes" make -s format-check
check "cli: simulate -help lists the CHEMPY options with defaults" bash -c "$BIN simulate -help | grep -q -- '-scheme' && $BIN simulate -help | grep -q -- '-rtol'"
