# validate: the VALIDATION line does not depend on the number of ranks, has
# every field, the output file holds the per-case tables, and bad input is
# named clearly. A small, quickly trained NPE: the numbers mean little here.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
check "validate: a small NPE to validate" small_models 31

V="$BIN validate -npe $TMP/npe.h5 -n 60 -samples 200 -seed 4 -scheme discrete"
for np in 1 2 3; do $MPIRUN -np $np $V -out $TMP/val$np.h5 -plots $([ $np = 2 ] && echo 1 || echo 0) > $TMP/val$np.log 2>&1; done
check "validate: runs on CHEMPY test cases and ends with a VALIDATION line" bash -c "grep -v '^plot:' $TMP/val1.log | tail -1 | grep -q '^VALIDATION '"
for np in 2 3; do
  check "validate: -np 1 and -np $np print the same VALIDATION line" bash -c "l1=\$(grep ^VALIDATION $TMP/val1.log); l2=\$(grep ^VALIDATION $TMP/val$np.log); [ -n \"\$l1\" ] && [ \"\$l1\" = \"\$l2\" ] || { echo \"\$l1\"; echo \"\$l2\"; exit 1; }"
done
check "validate: -np 1 and -np 3 store identical posterior means and SBC ranks" bash -c "h5diff -q $TMP/val1.h5 $TMP/val3.h5 /posterior_mean && h5diff -q $TMP/val1.h5 $TMP/val3.h5 /sbc_rank && h5diff -q $TMP/val1.h5 $TMP/val3.h5 /tarp"
fields() { # every field present once, each a number
  local line; line=$(grep ^VALIDATION "$1") || { echo "no VALIDATION line"; return 1; }
  for f in tarp_atc tarp_ks_p; do echo "$line" | grep -Eq " $f=-?[0-9.e+-]+( |\$)" || { echo "missing $f in: $line"; return 1; }; done
  for p in alpha_IMF log10_N_Ia log10_SFE log10_SFR_peak x_out birth_time_Gyr; do
    for f in ${p}_sbc_p ${p}_ape_median; do echo "$line" | grep -Eq " $f=[0-9.e+-]+( |\$)" || { echo "missing $f in: $line"; return 1; }; done
  done
  [ "$(echo "$line" | wc -w)" = 15 ] || { echo "expected 15 words: $line"; return 1; }
}
check "validate: the VALIDATION line has tarp_atc, tarp_ks_p and sbc_p, ape_median for all six parameters" fields $TMP/val1.log
check "validate: output has truths, means, sds, SBC ranks, TARP curve and summary attributes" bash -c "for d in truth observations posterior_mean posterior_sd sbc_rank tarp tarp_f case_info; do h5ls $TMP/val1.h5/\$d > /dev/null || { echo \"no /\$d\"; exit 1; }; done; h5dump -a /tarp_atc -a /sbc_ks_p -a /ape_median -a /program $TMP/val1.h5 > /dev/null"
check "validate: the file's tarp_atc is the printed one (area form)" bash -c "a=\$(h5dump -a /tarp_atc $TMP/val1.h5 | sed -n 's/^ *(0): //p'); l=\$(sed -n 's/^VALIDATION tarp_atc=\([^ ]*\).*/\1/p' $TMP/val1.log); awk -v a=\"\$a\" -v l=\"\$l\" 'BEGIN { exit !(a != \"\" && (a - l)^2 < 1e-8) }'"
if command -v gnuplot > /dev/null; then
  check "validate: SBC, TARP and true-vs-predicted plots written" bash -c "for p in sbc tarp true_vs_pred; do [ -s $TMP/val2.\$p.png ] || { echo \"no $TMP/val2.\$p.png\"; exit 1; }; done"
fi

# With emulator observations the NPE sees the data it was trained on: the
# coverage curve must be near the diagonal and the global APE small, else the
# samples and cases are mixed up (that gives ATC ~ -0.3 and APE ~ 10%).
E="$BIN validate -npe $TMP/npe.h5 -n 150 -samples 300 -simulator emulator -emulator $TMP/emu.h5 -plots 0"
$MPIRUN -np 2 $E -out $TMP/vale.h5 > $TMP/vale.log 2>&1
check "validate: emulator observations: |TARP ATC| < 0.1 and globals' APE median < 5%" bash -c "grep -q ^VALIDATION $TMP/vale.log && a=\$(sed -n 's/^VALIDATION tarp_atc=\([^ ]*\).*/\1/p' $TMP/vale.log) && g=\$(sed -n 's/^APE of posterior means.*globals \([0-9.]*\)%.*/\1/p' $TMP/vale.log) && echo \"atc \$a globals \$g\" && awk -v a=\"\$a\" -v g=\"\$g\" 'BEGIN { exit !(a > -0.1 && a < 0.1 && g < 5) }'"

check "validate: a draw cap of 1 x samples warns about capped cases and still reports" bash -c "$V -n 20 -samples 50 -max_draws_factor 1 -plots 0 -out $TMP/cap.h5 > $TMP/cap.log 2>&1 && grep -q 'stopped at the cap' $TMP/cap.log && grep -q '^VALIDATION ' $TMP/cap.log"
check "validate: the NPE records the CHEMPY it was trained on" bash -c "h5dump -a /chempy_config $TMP/npe.h5 | grep -q 'yields=tng;.*cosmic_accretion_factor=1\"'"
check "validate: the output records the CHEMPY of the test stars" bash -c "h5dump -a /chempy_config $TMP/val1.h5 | grep -q 'scheme=discrete;.*cosmic_accretion_factor=1\"'"
check_fails "validate: test stars from another cosmic accretion factor refused" "trained on CHEMPY with cosmic_accretion_factor=1, but validate runs CHEMPY with cosmic_accretion_factor=1e-06" $V -cosmic_accretion_factor 1e-6 -out $TMP/x.h5
check_fails "validate: test stars from another yield set refused" "trained on CHEMPY with yields=tng, but validate runs CHEMPY with yields=alt" $V -yields alt -out $TMP/x.h5
echo "this is not an HDF5 file" > $TMP/junk.h5
check_fails "validate: a nonsense -npe file is named" "$TMP/junk.h5" $V -npe $TMP/junk.h5 -out $TMP/x.h5
check_fails "validate: an emulator file given as -npe is refused" "is an emulator (train-emulator output), expected an NPE" $V -npe $TMP/emu.h5 -out $TMP/x.h5
check_fails "validate: a missing -npe file is named" "$TMP/none.h5" $V -npe $TMP/none.h5 -out $TMP/x.h5
check_fails "validate: -n 0 refused" "number of test cases must be positive" $V -n 0 -out $TMP/x.h5
check_fails "validate: -samples -5 refused" "need at least 2 posterior samples" $V -samples -5 -out $TMP/x.h5
check_fails "validate: -simulator emulator without -emulator refused" "needs -emulator" $V -simulator emulator -out $TMP/x.h5
check_fails "validate: an NPE file given as -emulator is named" "$TMP/npe.h5" $V -simulator emulator -emulator $TMP/npe.h5 -out $TMP/x.h5
check_fails "validate: unknown -simulator refused" "Unknown option python for -simulator. Available options: chempy emulator" $V -simulator python -out $TMP/x.h5
check_fails "validate: -model is required" "needs -model" $BIN validate -n 5
