# abc: rejection ABC on a small CHEMPY table (discrete scheme, 4000 rows from
# the gauss prior) and a 12-star mock: the result is the same on 1 and 3
# ranks, the ABC line and the output tables are there, -rows and -quantile
# size what they should, and bad combinations are refused with a clear
# message; -method abc of infer and coverage multiplies its posteriors as the
# paper does. Correctness against an exact posterior is tests/unit/test_abc.c.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
$MPIRUN -np 2 $BIN simulate -prior gauss -scheme discrete -n 4000 -seed 3 -progress_every 100 -out $TMP/tab.h5 > $TMP/sim.log 2>&1
$BIN mock -n 12 -seed 5 -scheme discrete -out $TMP/stars.csv > $TMP/mock.log 2>&1
check "abc: fixtures (a gauss-prior table and a mock)" test -s $TMP/tab.h5 -a -s $TMP/stars.csv
A="$BIN abc -table $TMP/tab.h5 -stars $TMP/stars.csv -accept 100 -samples 200 -progress_every 100"
for np in 1 3; do $MPIRUN -np $np $A -out $TMP/abc$np.h5 > $TMP/abc$np.log 2>&1; done
check "abc: ends with an ABC line naming rows, rate and tolerance" bash -c "tail -1 $TMP/abc1.log | grep -Eq '^ABC n=12 used=12 rows=[0-9]+ eligible=[0-9]+ rate=[0-9.e-]+ eps_median=[0-9.]+ '"
check "abc: -np 1 and -np 3 give identical posteriors and samples" bash -c "h5diff -q $TMP/abc1.h5 $TMP/abc3.h5 /posterior_mean && h5diff -q $TMP/abc1.h5 $TMP/abc3.h5 /samples && h5diff -q $TMP/abc1.h5 $TMP/abc3.h5 /abc"
check "abc: output has means, sds, per-star eps/rate/ESS and 12 x 200 samples" bash -c "for d in posterior_mean posterior_sd abc samples; do h5ls $TMP/abc1.h5/\$d > /dev/null || exit 1; done; h5ls $TMP/abc1.h5/samples | grep -q '{2400/'"
check "abc: 100 of the usable rows accepted, the rate is 100/eligible" bash -c "l=\$(tail -1 $TMP/abc1.log); e=\$(echo \"\$l\" | sed -n 's/.* eligible=\([0-9]*\).*/\1/p'); r=\$(echo \"\$l\" | sed -n 's/.* rate=\([^ ]*\).*/\1/p'); awk -v e=\$e -v r=\$r 'BEGIN { exit !(e > 3000 && (r * e - 100)^2 < 1e-3) }'"
check "abc: -rows 1000 -quantile 0.05 accepts 50 of the first 1000 rows" bash -c "$A -rows 1000 -quantile 0.05 -out $TMP/q.h5 > $TMP/q.log 2>&1 && tail -1 $TMP/q.log | grep -q ' rows=1000 ' && grep -q ' 50 accepted per star' $TMP/q.log"
check "abc: -kernel gauss runs" bash -c "$A -kernel gauss -out $TMP/g.h5 > $TMP/g.log 2>&1 && tail -1 $TMP/g.log | grep -q '^ABC n=12 used=12'"
# Without -accept or -quantile the Gaussian kernel takes the 1% nearest rows (a fixed k truncates it
# as the table grows): 40 of the first 4000 rows; an explicit -accept still wins.
check "abc: -kernel gauss defaults to -quantile 0.01 (40 of 4000 rows), -accept overrides" bash -c "$BIN abc -table $TMP/tab.h5 -stars $TMP/stars.csv -samples 200 -progress_every 100 -rows 4000 -kernel gauss -out $TMP/gq.h5 > $TMP/gq.log 2>&1 && grep -q ' 40 accepted per star' $TMP/gq.log && grep -q ' 100 accepted per star' $TMP/g.log"
check_fails "abc: -kernel gauss with -adjust refused" "applies to -kernel uniform only" $A -kernel gauss -adjust -out $TMP/x.h5
check_fails "abc: a gauss table for the wide prior refused" "does not cover the wide target prior" $A -prior wide -out $TMP/x.h5
check_fails "abc: -stars and -cases together refused" "exactly one of -stars FILE" $A -cases $TMP/tab.h5 -out $TMP/x.h5
check_fails "abc: -cases that is not a validate output refused" "expected a validation result" $BIN abc -table $TMP/tab.h5 -cases $TMP/tab.h5 -out $TMP/x.h5
check_fails "abc: a catalogue as -table refused" "-table" $BIN abc -table $TMP/stars.csv -stars $TMP/stars.csv -out $TMP/x.h5
check_fails "abc: its own input as -out refused" "-out" $A -out $TMP/tab.h5 -force
# -method abc of infer and coverage (issue 17): the ABC posteriors multiplied as Gaussians.
check "infer -method abc: RESULT is the Gaussian product of the abc command's own per-star draws" bash -c "$BIN infer -method abc -table $TMP/tab.h5 -stars $TMP/stars.csv -accept 100 -samples 200 -out $TMP/inf.h5 > $TMP/inf.log 2>&1 && r=\$(sed -n 's/^RESULT alpha_IMF=\([^ ]*\) sd=\([^ ]*\) log10_N_Ia=\([^ ]*\) sd=\([^ ]*\) .* n_stars=12 .*method=abc.*/\1 \2 \3 \4/p' $TMP/inf.log) && p=\$(bash tests/cli/gauss_product.sh $TMP/abc1.h5 200) && [ -n \"\$r\" ] && [ \"\$r\" = \"\$p\" ] || { echo \"infer: \$r\"; echo \"product: \$p\"; exit 1; }"
gal() { h5dump -d galaxies -s 0,0 -c 3,16 $1 | sed 1d; h5dump -d galaxies -s 0,17 -c 3,1 $1 | sed 1d; } # all but the seconds column
export -f gal
CA="$BIN coverage -method abc -table $TMP/tab.h5 -accept 100 -samples 200 -galaxies 3 -n_stars 10 -scheme discrete -plots 0"
for np in 1 3; do $MPIRUN -np $np $CA -out $TMP/cov$np.h5 > $TMP/cov$np.log 2>&1; done
check "coverage -method abc: prints its COVERAGE line without an NPE" grep -q '^COVERAGE method=abc n_stars=10 galaxies=3 z_alpha_mean=' $TMP/cov1.log
check "coverage -method abc: -np 1 and -np 3 give the same galaxy table (all but the seconds column)" bash -c "[ \"\$(gal $TMP/cov1.h5)\" = \"\$(gal $TMP/cov3.h5)\" ]"
check_fails "coverage -method abc without -table refused" "-method abc needs -table FILE" $BIN coverage -method abc -galaxies 3 -n_stars 10 -out $TMP/x.h5
