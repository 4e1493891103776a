# Bad-input suite (issue 13): malformed options and files given to every
# command. Each case asserts a non-zero exit that is not a crash or a hang, a
# message naming the problem, and that no existing file changed (checksums of
# every fixture and output file before and after; no new final output). A few
# valid-but-odd inputs (BOM, one star out of range) must work. Ends with a
# table of outcomes. Tiny sizes throughout: the whole suite takes ~1-2 min.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
F=$TMP/f O=$TMP/o
mkdir -p $F $O
S1="$BIN simulate -prior wide -scheme discrete -progress_every 100"
$S1 -n 1500 -seed 61 -out $F/tr.h5 > /dev/null 2>&1
$S1 -n 300 -seed 62 -out $F/va.h5 > /dev/null 2>&1
$BIN train-emulator -train $F/tr.h5 -val $F/va.h5 -epochs 2 -hidden 30,20 -out $F/emu.h5 > /dev/null 2>&1
$BIN train-npe -emulator $F/emu.h5 -n 2000 -max_epochs 2 -transforms 2 -out $F/npe.h5 > /dev/null 2>&1
$BIN mock -n 12 -seed 5 -emulator $F/emu.h5 -out $F/stars.csv > /dev/null 2>&1
printf 'alpha_IMF,log10_N_Ia,log10_SFE,log10_SFR_peak,x_out,birth_time_Gyr\n-2.3,-2.89,-0.3,0.55,0.5,8\n' > $F/params.csv
printf 'alpha_IMF,log10_N_Ia\n-2.3,-2.89\n' > $F/params_short.csv
: > $F/empty.csv
mkdir -p $F/adir
# Catalogues: every star at [Fe/H] = +5 (outside the model), every star NaN, and the
# real stars with one O_Fe = 1e300, with a UTF-8 BOM.
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR > 1 { $c["Fe_H"] = 5 } { print }' $F/stars.csv > $F/far.csv
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR > 1 { $c["Mg_Fe"] = "nan" } { print }' $F/stars.csv > $F/nan.csv
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 4 { $c["O_Fe"] = "1e300" } { print }' $F/stars.csv > $F/one_far.csv
awk -F, 'BEGIN { OFS = "," } NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR > 1 { for (k in c) if (k ~ /_(Fe|H)$/ && k !~ /^true_/) $c[k] = "nan" } { print }' $F/stars.csv > $F/allnan.csv
printf '\xef\xbb\xbf' | cat - $F/stars.csv > $F/bom.csv
for f in tr va emu npe; do [ -s $F/$f.h5 ] || { echo "FAIL badinput: fixture $f.h5 not made"; exit 1; }; done

# Checksums of every file (lock files of finished runs are removed, .tmp are partial by design).
snap() { (cd $TMP && find $1 -type f ! -name '*.tmp' ! -name '*.lock' | sort | xargs md5sum 2> /dev/null); }
n_ok=0 n_crash=0 n_hang=0 n_changed=0 n_made=0 n_exit0=0 n_msg=0 n_valid=0 n_valid_bad=0
bad() { # name pattern command...: must fail clearly and change nothing
  local name=$1 pat=$2 before after made0 made1 rc; shift 2
  before=$(snap f) made0=$(snap o)
  timeout "${BAD_TIMEOUT:-120}" "$@" > $TMP/bad.out 2>&1; rc=$?
  after=$(snap f) made1=$(snap o)
  if [ $rc = 124 ]; then n_hang=$((n_hang + 1)); echo "FAIL bad: $name: hang (timeout)"
  elif [ $rc -gt 128 ] || grep -q 'AddressSanitizer\|runtime error:\|Segmentation' $TMP/bad.out; then
    n_crash=$((n_crash + 1)); echo "FAIL bad: $name: crash (exit $rc)"; tail -5 $TMP/bad.out | sed 's/^/    /'
  elif [ "$before" != "$after" ]; then
    n_changed=$((n_changed + 1)); echo "FAIL bad: $name: an existing file changed (exit $rc)"; diff <(echo "$before") <(echo "$after") | head -5 | sed 's/^/    /'
  elif [ "$made0" != "$made1" ]; then
    n_made=$((n_made + 1)); echo "FAIL bad: $name: an output was made (exit $rc)"; diff <(echo "$made0") <(echo "$made1") | head -3 | sed 's/^/    /'
  elif [ $rc = 0 ]; then n_exit0=$((n_exit0 + 1)); echo "FAIL bad: $name: exited 0"; tail -3 $TMP/bad.out | sed 's/^/    /'
  elif ! grep -q -- "$pat" $TMP/bad.out; then
    n_msg=$((n_msg + 1)); echo "FAIL bad: $name: message lacks '$pat'"; grep error $TMP/bad.out | head -3 | sed 's/^/    /'
  else n_ok=$((n_ok + 1)); echo "PASS bad: $name"; fi
}
good() { # name pattern command...: a valid odd input, must succeed with pattern in its output
  local name=$1 pat=$2 rc; shift 2
  timeout 120 "$@" > $TMP/good.out 2>&1; rc=$?
  if [ $rc = 0 ] && grep -q -- "$pat" $TMP/good.out; then n_valid=$((n_valid + 1)); echo "PASS bad: $name"
  else n_valid_bad=$((n_valid_bad + 1)); echo "FAIL bad: $name (exit $rc, or no '$pat')"; tail -4 $TMP/good.out | sed 's/^/    /'; fi
}

# simulate
S="$BIN simulate -prior wide -scheme discrete"
bad "simulate -n above 2^32 is an error, not a wrap" "-n 4294967396: must be between 1 and" $S -n 4294967396 -out $O/s.h5
bad "simulate -n negative" "must be positive" $S -n -5 -out $O/s.h5
bad "simulate -n not a number" "abc" $S -n abc -out $O/s.h5
# choice options: PetscOptionsEnum names the value and the choices
bad "simulate -prior unknown" "Unknown option flat for -prior. Available options: wide gauss" $BIN simulate -prior flat -n 10 -out $O/s.h5
bad "simulate -farm_write unknown" "Unknown option rank0 for -farm_write. Available options: direct funnel" $S -n 10 -farm_write rank0 -out $O/s.h5
bad "simulate -farm_master unknown" "Unknown option master for -farm_master. Available options: auto compute serve" $S -n 10 -farm_master master -out $O/s.h5
bad "abc -kernel unknown" "Unknown option box for -kernel. Available options: uniform gauss" $BIN abc -table $F/tr.h5 -stars $F/stars.csv -kernel box -out $O/abc.h5
bad "abc -prior unknown" "Unknown option flat for -prior. Available options: wide gauss" $BIN abc -table $F/tr.h5 -stars $F/stars.csv -prior flat -out $O/abc.h5
bad "simulate -farm_chunk negative" "-farm_chunk -1: must be between 0" $S -n 10 -farm_chunk -1 -out $O/s.h5
bad "simulate -farm_chunk too large" "-farm_chunk 100000000: must be between 0 and 1000000" $S -n 10 -farm_chunk 100000000 -out $O/s.h5
bad "simulate -gce_cohorts too large" "-gce_cohorts 1000000000" $BIN simulate -n 10 -gce_cohorts 1000000000 -out $O/s.h5
bad "simulate -time_steps 2" "-time_steps 2" $S -n 10 -time_steps 2 -out $O/s.h5
bad "simulate -rtol inf" "-rtol inf: must be a finite" $BIN simulate -n 10 -rtol inf -out $O/s.h5
bad "simulate -seed negative" "-seed -1" $S -n 10 -seed -1 -out $O/s.h5
bad "simulate -progress_every nan" "-progress_every nan" $S -n 10 -progress_every nan -out $O/s.h5
bad "simulate -out is the -params input" "is the input -params" $S -params $F/params.csv -out $F/params.csv
bad "simulate -out over an emulator" "exists and is an emulator" $S -n 10 -out $F/emu.h5
bad "simulate -out over an NPE" "exists and is an NPE" $S -n 10 -out $F/npe.h5
bad "simulate CSV -out over a mock catalogue" "exists and is a mock catalogue" $S -params $F/params.csv -out $F/stars.csv
bad "simulate -out a training set of another configuration" "another configuration" $S -n 10 -out $F/tr.h5
bad "simulate -out a directory" "is a directory" $S -n 10 -out $F/adir
bad "simulate -out in a missing directory" "cannot write in directory" $S -n 10 -out /nonexistent/dir/s.h5
bad "simulate -params missing" "cannot read it" $S -params $F/none.csv -out $O/s.csv
bad "simulate -params a directory" "is a directory, expected a file" $S -params $F/adir -out $O/s.csv
bad "simulate -params an NPE" "is an NPE (train-npe output), expected a training set" $S -params $F/npe.h5 -out $O/s.csv
bad "simulate -params without all columns" "required column 'log10_SFE'" $S -params $F/params_short.csv -out $O/s.csv
bad "simulate -theta with 2 values" "needs 6" $S -theta 1,2
bad "simulate -theta nan" "not a finite number" $S -theta nan,-2.89,-0.3,0.55,0.5,8
bad "simulate second writer of the same output" "another process is writing" flock -n $O/held.h5.lock $S -n 10 -out $O/held.h5
bad "simulate -n too large for this machine's memory (names the option)" "-n needs" $S -n 134217727 -out $O/s.csv

# train-emulator
E="$BIN train-emulator -train $F/tr.h5 -val $F/va.h5 -epochs 1"
bad "train-emulator -epochs 0" "-epochs" $E -epochs 0 -out $O/e.h5
bad "train-emulator -epochs above 2^32 (wraps to 1)" "-epochs 4294967297: must be between 1" $E -epochs 4294967297 -out $O/e.h5
bad "train-emulator -batch too large" "-batch 100000000: must be between 1 and 1000000" $E -batch 100000000 -out $O/e.h5
bad "train-emulator -hidden with 9 layers is an error, not a truncation" "9 values given" $E -hidden 5,5,5,5,5,5,5,5,5 -out $O/e.h5
bad "train-emulator -hidden 0" "-hidden 0: must be between 1" $E -hidden 0 -out $O/e.h5
bad "train-emulator -hidden too large for memory (names the option)" "-hidden and -batch needs" $E -hidden 100000,100000 -out $O/e.h5
bad "train-emulator -lr inf" "-lr inf: must be a finite" $E -lr inf -out $O/e.h5
bad "train-emulator -lr nan" "-lr nan" $E -lr nan -out $O/e.h5
bad "train-emulator -out is the -train input" "is the input -train" $E -out $F/tr.h5
bad "train-emulator -out is the -val input" "is the input -val" $E -out $F/va.h5
bad "train-emulator -out over an NPE" "exists and is an NPE" $E -out $F/npe.h5
bad "train-emulator -out over an emulator without -force" "give -force" $E -out $F/emu.h5
bad "train-emulator -train an NPE" "is an NPE (train-npe output), expected a training set" $BIN train-emulator -train $F/npe.h5 -val $F/va.h5 -out $O/e.h5
bad "train-emulator -train a CSV catalogue" "is a mock catalogue (mock output, CSV), expected a training set" $BIN train-emulator -train $F/stars.csv -val $F/va.h5 -out $O/e.h5
bad "train-emulator -val a directory" "is a directory" $BIN train-emulator -train $F/tr.h5 -val $F/adir -out $O/e.h5
bad "train-emulator -resume with other inputs refused" "other inputs" $BIN train-emulator -train $F/tr.h5 -val $F/tr.h5 -epochs 2 -hidden 30,20 -out $F/emu.h5 -resume
bad "train-emulator -lr 1e30 diverges: stopped, epoch and cause named" "epoch 1: .* not finite .*-lr 1e+300 too large" $E -lr 1e300 -optimizer adam -out $O/e.h5

# train-npe
N="$BIN train-npe -emulator $F/emu.h5 -n 500 -transforms 1"
bad "train-npe -max_epochs -5 (was a heap overflow)" "-max_epochs -5: must be between 1" $N -max_epochs -5 -out $O/n.h5
bad "train-npe -patience 0" "-patience 0: must be between 1" $N -patience 0 -out $O/n.h5
bad "train-npe -batch 0" "batch" $N -batch 0 -out $O/n.h5
bad "train-npe -n above 2^32 (wraps to 10)" "-n 4294967306: must be between 10" $N -n 4294967306 -out $O/n.h5
bad "train-npe -transforms 1000" "-transforms 1000: must be between 1 and 64" $N -transforms 1000 -out $O/n.h5
bad "train-npe -noise negative" "noise" $N -noise -1 -out $O/n.h5
bad "train-npe -noise inf" "-noise inf: must be a finite" $N -noise inf -out $O/n.h5
bad "train-npe -lr inf (was NaN models, exit 0)" "-lr inf: must be a finite" $N -lr inf -out $O/n.h5
bad "train-npe -val_fraction 1.5" "val_fraction" $N -val_fraction 1.5 -out $O/n.h5
bad "train-npe -out is the -emulator input" "is the input -emulator" $N -out $F/emu.h5
bad "train-npe -out over a training set" "exists and is a training set" $N -out $F/tr.h5
bad "train-npe -out over an NPE without -force" "give -force" $N -out $F/npe.h5
bad "train-npe -emulator an NPE" "is an NPE (train-npe output), expected an emulator" $BIN train-npe -emulator $F/npe.h5 -out $O/n.h5
bad "train-npe -emulator a CSV" "is a mock catalogue (mock output, CSV), expected an emulator" $BIN train-npe -emulator $F/stars.csv -out $O/n.h5
bad "train-npe -lr 1e30 diverges: stopped, epoch and cause named" "epoch 1: .* not finite .*-lr 1e+300 too large" $N -lr 1e300 -clip 0 -max_epochs 3 -out $O/n.h5
bad "train-npe on 2 ranks: every rank exits on a bad option" "-max_epochs 0" $MPIRUN -np 2 $N -max_epochs 0 -out $O/n.h5

# validate
V="$BIN validate -npe $F/npe.h5 -n 4 -samples 20 -scheme discrete -plots 0"
bad "validate -samples 1" "need at least 2 posterior samples" $V -samples 1 -out $O/v.h5
bad "validate -n 0" "-n 0" $V -n 0 -out $O/v.h5
bad "validate -n above 2^32 (wraps to 1)" "-n 4294967297: must be between 1" $V -n 4294967297 -out $O/v.h5
bad "validate -tarp_bins 0" "tarp_bins" $V -tarp_bins 0 -out $O/v.h5
bad "validate -npe a training set" "is a training set (simulate output), expected an NPE" $BIN validate -npe $F/tr.h5 -out $O/v.h5
bad "validate -npe a directory" "is a directory" $BIN validate -npe $F/adir -out $O/v.h5
bad "validate -out is the -npe input" "is the input -npe" $V -out $F/npe.h5
bad "validate -out over an emulator" "exists and is an emulator" $V -out $F/emu.h5
bad "validate -emulator an NPE" "expected an emulator" $V -simulator emulator -emulator $F/npe.h5 -out $O/v.h5

# mock
M="$BIN mock -n 5 -scheme discrete"
bad "mock -noise negative" "-noise -0.1: must be between 0" $M -noise -0.1 -out $O/m.csv
bad "mock -noise inf" "-noise inf: must be a finite" $M -noise inf -out $O/m.csv
bad "mock -noise nan" "-noise nan: must be a finite" $M -noise nan -out $O/m.csv
bad "mock -n 0" "-n 0" $M -n 0 -out $O/m.csv
bad "mock -n above 2^32" "-n 4294967297: must be between 1" $M -n 4294967297 -out $O/m.csv
bad "mock -alpha_IMF nan" "-alpha_IMF nan" $M -alpha_IMF nan -out $O/m.csv
bad "mock -out over an NPE" "exists and is an NPE" $M -out $F/npe.h5
bad "mock -out over a training set" "exists and is a training set" $M -out $F/tr.h5
bad "mock -out over a catalogue without -force" "give -force" $M -out $F/stars.csv
bad "mock -out is the -emulator input" "is the input -emulator" $M -emulator $F/emu.h5 -out $F/emu.h5
bad "mock -emulator an NPE" "expected an emulator" $M -emulator $F/npe.h5 -out $O/m.csv

# infer
I="$BIN infer -npe $F/npe.h5 -samples 50 -plots 0"
bad "infer: every star outside the training range: no usable stars" "no usable stars" $I -stars $F/far.csv -out $O/i.h5
bad "infer -method gauss: every star with a NaN: no usable stars" "no usable stars" $I -stars $F/nan.csv -out $O/i.h5 -method gauss
bad "infer: every star without any abundance: no usable stars" "no usable stars" $I -stars $F/allnan.csv -out $O/i.h5
bad "infer -npe a training set" "is a training set (simulate output), expected an NPE" $BIN infer -npe $F/tr.h5 -stars $F/stars.csv
bad "infer -npe a CSV catalogue" "is a mock catalogue (mock output, CSV), expected an NPE" $BIN infer -npe $F/stars.csv -stars $F/stars.csv
bad "infer -stars a training set" "is a training set (simulate output), expected a star catalogue" $I -stars $F/tr.h5
bad "infer -stars an NPE" "is an NPE (train-npe output), expected a star catalogue" $I -stars $F/npe.h5
bad "infer -stars a directory" "is a directory, expected a file" $I -stars $F/adir
bad "infer -stars an empty file" "is an empty file, expected a star catalogue" $I -stars $F/empty.csv
bad "infer -out is the -stars input" "is the input -stars" $I -stars $F/stars.csv -out $F/stars.csv
bad "infer -out is the -npe input" "is the input -npe" $I -stars $F/stars.csv -out $F/npe.h5
bad "infer -out over an emulator" "exists and is an emulator" $I -stars $F/stars.csv -out $F/emu.h5
bad "infer -out in a missing directory" "cannot write in directory" $I -stars $F/stars.csv -out /nonexistent/i.h5
bad "infer -samples 1" "-samples 1: must be between 2" $I -stars $F/stars.csv -samples 1
bad "infer -samples above 2^32 (wraps to 1)" "-samples 4294967297: must be between 2" $I -stars $F/stars.csv -samples 4294967297
bad "infer on 2 ranks: no usable stars ends every rank" "no usable stars" $MPIRUN -np 2 $I -stars $F/far.csv
good "infer: a catalogue with a UTF-8 BOM is read" "n_stars=12 n_skipped=0" $I -stars $F/bom.csv
good "infer: one star with O_Fe = 1e300 is named and left out" "n_stars=11 n_skipped=1" $I -stars $F/one_far.csv
check "infer: ... the out-of-range star named by id and column" grep -q "star '2' (row 2): O_Fe = 1e+300 outside the training range" $TMP/good.out
good "infer -keep_out_of_range keeps it (and flags it)" "n_stars=12 n_skipped=0" $I -stars $F/one_far.csv -keep_out_of_range
check "infer: ... the kept star is flagged" grep -q "star '2' (row 2): O_Fe = 1e+300 outside the training range.*kept" $TMP/good.out
good "infer: an existing result is replaced with -force" "wrote $O/i2.h5" bash -c "$I -stars $F/stars.csv -out $O/i2.h5 && $I -stars $F/stars.csv -out $O/i2.h5 -force"
bad "infer: ... but not without -force" "give -force" $I -stars $F/stars.csv -out $O/i2.h5

# emulate
bad "emulate -emulator an NPE" "expected an emulator" $BIN emulate -emulator $F/npe.h5 -params $F/params.csv -out $O/em.csv
bad "emulate -out is the -params input" "is the input -params" $BIN emulate -emulator $F/emu.h5 -params $F/params.csv -out $F/params.csv
bad "emulate -params a mock catalogue" "expected a parameter table" $BIN emulate -emulator $F/emu.h5 -params $F/stars.csv -out $O/em.csv
bad "emulate -out over an NPE" "exists and is an NPE" $BIN emulate -emulator $F/emu.h5 -params $F/params.csv -out $F/npe.h5

# A full disk (here a file-size limit: the same write error) names the file and leaves no final output.
# Open MPI and PMIx keep shared-memory files that the limit would break: use none.
NOSHM="env PMIX_MCA_gds=hash OMPI_MCA_btl=self"
bad "simulate: a failed write names the file" "$O/big.h5.tmp: writing failed" bash -c "ulimit -f 200; trap '' XFSZ; $NOSHM $S -n 20000 -out $O/big.h5"
{ cat $F/params.csv; for i in $(seq 1 3000); do sed -n 2p $F/params.csv; done; } > $F/params_many.csv
bad "emulate: a failed CSV write names the file" "$O/big.csv: writing" bash -c "ulimit -f 100; trap '' XFSZ; $NOSHM $BIN emulate -emulator $F/emu.h5 -params $F/params_many.csv -out $O/big.csv"

total=$((n_ok + n_crash + n_hang + n_changed + n_made + n_exit0 + n_msg))
echo "bad-input suite: $total bad cases: $n_ok clear error with unchanged files, $n_msg unhelpful message, $n_exit0 accepted (exit 0), $n_changed existing files changed, $n_made outputs made, $n_crash crashes, $n_hang hangs; valid odd inputs: $n_valid ok, $n_valid_bad failed"
