# mock + infer: the RESULT does not depend on the number of ranks, bad stars
# are reported by id and column and counted, bad files are named.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
check "infer: a small NPE to infer with" small_models 21
check "mock: 60 CHEMPY stars on 2 ranks" $MPIRUN -np 2 $BIN mock -n 60 -seed 3 -scheme discrete -out $TMP/stars.csv
check "mock: same catalogue on 1 rank" bash -c "$BIN mock -n 60 -seed 3 -scheme discrete -out $TMP/stars1.csv > /dev/null && cmp $TMP/stars.csv $TMP/stars1.csv"
check "mock: true globals and error columns present" bash -c "head -1 $TMP/stars.csv | grep -q 'Fe_H_err' && head -1 $TMP/stars.csv | grep -q 'true_alpha_IMF' && sed -n 2p $TMP/stars.csv | grep -q ',-2.3,-2.89,'"
check "mock: -emulator (diagnostic) keeps the true parameters, changes the abundances" bash -c "$BIN mock -n 60 -seed 3 -emulator $TMP/emu.h5 -out $TMP/se.csv > /dev/null && cut -d, -f18-23 $TMP/se.csv | cmp -s - <(cut -d, -f18-23 $TMP/stars1.csv) && ! cmp -s $TMP/se.csv $TMP/stars1.csv"
# The Gaussian product (-method gauss) first: its per-star outputs and rules.
I="$BIN infer -npe $TMP/npe.h5 -samples 300 -plots 0 -method gauss"
for np in 1 3; do $MPIRUN -np $np $I -stars $TMP/stars.csv -out $TMP/inf$np.h5 > $TMP/inf$np.log 2>&1; done
check "infer: prints a RESULT line" grep -q '^RESULT .*n_stars=60 n_skipped=0 method=gauss' $TMP/inf1.log
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

# The exact methods (issue 11). HMC is the default (auto) below 100 stars.
X="$BIN infer -npe $TMP/npe.h5 -plots 0 -hmc_warmup 150 -hmc_draws 150"
$X -stars $TMP/stars.csv -out $TMP/hmc1.h5 > $TMP/hmc1.log 2>&1
# Rank independence on a short run (3 ranks on 2 cores pay an all-reduce per leapfrog step).
XS="$BIN infer -npe $TMP/npe.h5 -plots 0 -hmc_chains 2 -hmc_warmup 40 -hmc_draws 20 -method hmc"
for np in 1 3; do $MPIRUN -np $np $XS -stars $TMP/stars.csv > $TMP/hmcs$np.log 2>&1; done
check "infer: the default for 60 stars is hmc, with R-hat and ESS on the RESULT line" grep -q '^RESULT .*n_stars=60 n_skipped=0 method=hmc rhat=[0-9.]* ess=[0-9]*' $TMP/hmc1.log
check "infer: auto says which method it chose" grep -q 'auto chose hmc for 60 stars' $TMP/hmc1.log
check "infer -method hmc: -np 1 and -np 3 give the bit-identical RESULT" bash -c "[ -n \"\$(grep ^RESULT $TMP/hmcs1.log)\" ] && [ \"\$(grep ^RESULT $TMP/hmcs1.log)\" = \"\$(grep ^RESULT $TMP/hmcs3.log)\" ]"
check "infer -method hmc: below -auto_hmc_below stars the correction's first pass is a short hmc run" grep -q 'first pass (hmc)' $TMP/hmcs1.log
# From -auto_hmc_below stars the first pass is newton's (here from 50 stars), on any rank count.
for np in 1 2; do $MPIRUN -np $np $XS -auto_hmc_below 50 -stars $TMP/stars.csv > $TMP/hmcn$np.log 2>&1; done
check "infer -method hmc: from -auto_hmc_below stars the correction's first pass is newton's" grep -q 'first pass (newton)' $TMP/hmcn1.log
check "infer -method hmc after a newton first pass: -np 1 and -np 2 give the bit-identical RESULT" bash -c "[ -n \"\$(grep ^RESULT $TMP/hmcn1.log)\" ] && [ \"\$(grep ^RESULT $TMP/hmcn1.log)\" = \"\$(grep ^RESULT $TMP/hmcn2.log)\" ]"
# 4 chains x 150 draws, and 150 more per chain for each extension until R-hat and ESS pass.
check "infer -method hmc: globals' draws and per-star locals stored" bash -c "h5ls $TMP/hmc1.h5 | awk '/^draws /{split(\$0, a, \"[{/]\"); n = a[2]} END {exit !(n >= 600 && n % 600 == 0)}' && h5ls $TMP/hmc1.h5 | grep -q '^locals .*{60/Inf, 9}'"
check "infer -method hmc: the emulator comes from inside the NPE file" bash -c "h5ls $TMP/npe.h5 | grep -q '^emulator'"
N="$BIN infer -npe $TMP/npe.h5 -plots 0 -method newton -newton_final_steps 500"
for np in 1 3; do $MPIRUN -np $np $N -stars $TMP/stars.csv > $TMP/nt$np.log 2>&1; done
check "infer -method newton: RESULT line, -np 1 and -np 3 bit-identical" bash -c "grep -q '^RESULT .*method=newton' $TMP/nt1.log && [ \"\$(grep ^RESULT $TMP/nt1.log)\" = \"\$(grep ^RESULT $TMP/nt3.log)\" ]"
# hmc and newton agree on the same stars. Newton reports the marginal posterior's mode and
# curvature (exact as N grows), HMC its mean: at 60 stars they may differ by a fraction of an sd,
# a wrong score or information by many.
agree() { # RESULT lines of two runs: |difference| < 1 sd of the first for both globals
  awk -v h="$(grep ^RESULT $1)" -v n="$(grep ^RESULT $2)" 'BEGIN { split(h, H, " "); split(n, N, " ")
    for (i = 2; i <= 5; i++) { sub(/.*=/, "", H[i]); sub(/.*=/, "", N[i]) }
    da = (H[2] - N[2]) / H[3]; dn = (H[4] - N[4]) / H[5]; printf "difference %.3f sd, %.3f sd\n", da, dn
    exit !(da * da < 1 && dn * dn < 1) }'
}
export -f agree
check "infer: hmc and newton agree within 1 sd on 60 stars" agree $TMP/hmc1.log $TMP/nt1.log
# Missing and non-finite values drop out of the star's likelihood: the star is kept.
$XS -stars $TMP/bad.csv > $TMP/xbad.log 2>&1
check "infer (exact): stars with a missing value are kept, not skipped" grep -q '^RESULT .*n_stars=60 n_skipped=0 method=hmc' $TMP/xbad.log
check "infer (exact): partial stars counted" grep -q '60 stars with hmc (2 with some abundances missing)' $TMP/xbad.log
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 4 { for (k in c) if (k ~ /_Fe$|_H$/ && k !~ /^true/) $c[k] = "nan" } { print }' $TMP/stars.csv > $TMP/empty.csv
$XS -stars $TMP/empty.csv > $TMP/xempty.log 2>&1
check "infer (exact): a star below -min_elements is named and left out" bash -c "grep -q \"star '2'.*fewer than -min_elements\" $TMP/xempty.log && grep -q 'n_stars=59 n_skipped=1' $TMP/xempty.log"
check_fails "infer: unknown -method refused" "method" $X -stars $TMP/stars.csv -method magic
check_fails "infer: -min_elements 9 refused" "min_elements" $X -stars $TMP/stars.csv -min_elements 9
# The emulator correction: by default each star's residual is averaged over 4 of its posterior
# draws (4 CHEMPY runs per star); -correct_draws 0 takes one run at the posterior mean instead.
$MPIRUN -np 2 $N -stars $TMP/stars.csv -correct_draws 0 > $TMP/nt0.log 2>&1
check "infer: the correction averages 4 posterior draws per star by default" grep -q 'newton: emulator residuals from 240 CHEMPY runs (averaged over posterior draws per star' $TMP/nt1.log
check "infer: -correct_draws 0 corrects at the posterior mean, and the answer moves" bash -c "grep -q 'residuals from 60 CHEMPY runs (at the posterior mean' $TMP/nt0.log && [ \"\$(grep ^RESULT $TMP/nt0.log)\" != \"\$(grep ^RESULT $TMP/nt1.log)\" ]"
check_fails "infer: -correct_draws 9 refused" "correct_draws 9: need 0 .. 8" $N -stars $TMP/stars.csv -correct_draws 9
# coverage: a tiny run prints its line; a killed run resumes to the same table.
C="$BIN coverage -npe $TMP/npe.h5 -galaxies 4 -n_stars 15 -mock emulator -method newton -newton_final_steps 200 -newton_steps 100 -plots 0"
$MPIRUN -np 2 $C -out $TMP/cov.h5 > $TMP/cov.log 2>&1
check "coverage: prints the COVERAGE line" grep -q '^COVERAGE method=newton n_stars=15 galaxies=4 z_alpha_mean=.* z_alpha_sd=.* z_NIa_mean=.* z_NIa_sd=.* cover68=.* cover95=.* cover95_2d=' $TMP/cov.log
check "coverage: per-galaxy table and coverage curve stored" bash -c "h5ls $TMP/cov.h5 | grep -q '^galaxies .*{4/Inf, 18}' && h5ls $TMP/cov.h5 | grep -q '^coverage_curve'"
# 40 galaxies: 4 of 15 stars can finish (and drop the checkpoint) between two polls on a fast machine.
CK=${C/-galaxies 4 /-galaxies 40 }
$MPIRUN -np 2 $CK -out $TMP/cov40.h5 > $TMP/cov40.log 2>&1
( $MPIRUN -np 2 $CK -out $TMP/cov2.h5 > $TMP/cov2a.log 2>&1 & echo $! > $TMP/cov.pid; wait ) &
for i in $(seq 1 300); do [ -f $TMP/cov2.h5.ckpt ] && break; sleep 0.1; done
pkill -9 -f "coverage -npe $TMP/npe.h5" ; sleep 1
check "coverage: killed after a checkpoint" test -f $TMP/cov2.h5.ckpt
$MPIRUN -np 3 $CK -out $TMP/cov2.h5 > $TMP/cov2b.log 2>&1
dump() { h5dump -d galaxies -s 0,0 -c ${2:-4},16 $1 | sed 1d; h5dump -d galaxies -s 0,17 -c ${2:-4},1 $1 | sed 1d; } # all but the seconds column
export -f dump
check "coverage: the resumed run (on 3 ranks) reproduces the uninterrupted table" bash -c "grep -q 'resuming' $TMP/cov2b.log && [ \"\$(dump $TMP/cov40.h5 40)\" = \"\$(dump $TMP/cov2.h5 40)\" ]"
# coverage with survey stars (issue 14): the options of mock; -columns apogee lacks He and Ne like -drop.
$C -errors 0.01,0.2 -drop He_Fe,Ne_Fe -out $TMP/cova.h5 > $TMP/cova.log 2>&1
$MPIRUN -np 2 $C -errors 0.01,0.2 -columns apogee -out $TMP/covb.h5 > $TMP/covb.log 2>&1
check "coverage: -errors -drop runs and records the stars' model" bash -c "grep -q '^COVERAGE method=newton n_stars=15 galaxies=4' $TMP/cova.log && h5dump -w 0 -a /config $TMP/cova.h5 | grep -q 'errors=0.01,0.2[0-9]*;p_missing=0;drop=He_Fe,Ne_Fe'"
check "coverage: -columns apogee (2 ranks) gives the table of -drop He_Fe,Ne_Fe (1 rank)" bash -c "[ \"\$(dump $TMP/cova.h5)\" = \"\$(dump $TMP/covb.h5)\" ]"
check "coverage: survey errors and gaps change the answers" bash -c "[ \"\$(dump $TMP/cova.h5)\" != \"\$(dump $TMP/cov.h5)\" ]"
$C -p_missing 0.3 -out $TMP/covc.h5 > $TMP/covc.log 2>&1
check "coverage: -p_missing runs and changes the answers" bash -c "grep -q '^COVERAGE method=newton' $TMP/covc.log && [ \"\$(dump $TMP/covc.h5)\" != \"\$(dump $TMP/cov.h5)\" ]"
check_fails "coverage: -drop names an unknown element" "'Xx_Fe' is not an element name" $C -drop Xx_Fe
check_fails "coverage: -errors with HI below LO refused" "-errors 0.2,0.01" $C -errors 0.2,0.01
check_fails "coverage: -p_missing 1 refused" "-p_missing 1" $C -p_missing 1
