# mock + infer: the RESULT does not depend on the number of ranks, bad stars
# are reported by id and column and counted, bad files are named.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
check "infer: a small NPE to infer with" small_models 21
check "mock: 60 CHEMPY stars on 2 ranks" $MPIRUN -np 2 $BIN mock -n 60 -seed 3 -scheme discrete -out $TMP/stars.csv
check "mock: same catalogue on 1 rank" bash -c "$BIN mock -n 60 -seed 3 -scheme discrete -out $TMP/stars1.csv > /dev/null && cmp $TMP/stars.csv $TMP/stars1.csv"
check "mock: true globals and error columns present" bash -c "head -1 $TMP/stars.csv | grep -q 'Fe_H_err' && head -1 $TMP/stars.csv | grep -q 'true_alpha_IMF' && sed -n 2p $TMP/stars.csv | grep -q ',-2.3,-2.89,'"
check "mock: -emulator (diagnostic) keeps the true parameters, changes the abundances" bash -c "$BIN mock -n 60 -seed 3 -emulator $TMP/emu.h5 -out $TMP/se.csv > /dev/null && cut -d, -f18-23 $TMP/se.csv | cmp -s - <(cut -d, -f18-23 $TMP/stars1.csv) && ! cmp -s $TMP/se.csv $TMP/stars1.csv"
I="$BIN infer -npe $TMP/npe.h5 -samples 300 -plots 0"
for np in 1 3; do $MPIRUN -np $np $I -stars $TMP/stars.csv -out $TMP/inf$np.h5 > $TMP/inf$np.log 2>&1; done
check "infer: prints a RESULT line" grep -q '^RESULT .*n_stars=60 n_skipped=0' $TMP/inf1.log
check "infer: -np 1 and -np 3 print the same RESULT line" bash -c "[ \"\$(grep ^RESULT $TMP/inf1.log)\" = \"\$(grep ^RESULT $TMP/inf3.log)\" ]"
check "infer: per-star Gaussians and running estimate stored" bash -c "h5ls $TMP/inf1.h5 | grep -q '^stars ' && h5ls $TMP/inf1.h5 | grep -q '^running '"
# Star with id 5 gets a NaN Mg_Fe; star 7 loses its Fe_H value.
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 7 { $c["Mg_Fe"] = "nan" } NR == 9 { $c["Fe_H"] = "" } { print }' $TMP/stars.csv > $TMP/bad.csv
$MPIRUN -np 2 $I -stars $TMP/bad.csv > $TMP/bad.log 2>&1
check "infer: NaN star named by id and column" grep -q "star '5'.*Mg_Fe" $TMP/bad.log
check "infer: missing value named by id and column" grep -q "star '7'.*Fe_H" $TMP/bad.log
check "infer: left-out stars counted in RESULT" grep -q 'n_stars=58 n_skipped=2' $TMP/bad.log
cut -d, -f1-4 $TMP/stars.csv > $TMP/cols.csv
for np in 1 3; do $MPIRUN -np $np $I -stars $TMP/stars.csv -max_draws_factor 1 2>/dev/null | grep '^stars:' > $TMP/cap$np.log; done
check "infer: stars left out by the sampling cap counted over all ranks" bash -c "! grep -q ' 0 sampling cap' $TMP/cap1.log && cmp $TMP/cap1.log $TMP/cap3.log"
check_fails "infer: catalogue without a column named" "Mg_Fe" $I -stars $TMP/cols.csv
check_fails "infer: an emulator file is not an NPE" "is an emulator (train-emulator output), expected an NPE" $I -npe $TMP/emu.h5 -stars $TMP/stars.csv
check_fails "infer: -samples 1 refused" "-samples 1: must be between 2" $I -stars $TMP/stars.csv -samples 1
check_fails "infer: -max_draws_factor 0 refused" "max_draws_factor" $I -stars $TMP/stars.csv -max_draws_factor 0
