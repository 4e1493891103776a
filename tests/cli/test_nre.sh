# train-nre and nre: a small ratio estimator on a small emulator, per-star
# posteriors of a 9-star mock identical on 1 and 3 ranks, the NRE line and the
# output tables, bad options refused. Correctness against a known posterior
# is tests/unit/test_nre.c.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
S="$BIN simulate -prior wide -scheme discrete -progress_every 100"
$MPIRUN -np 2 $S -n 2000 -seed 3 -out $TMP/tr.h5 > $TMP/fx.log 2>&1
$MPIRUN -np 2 $S -n 400 -seed 4 -out $TMP/va.h5 >> $TMP/fx.log 2>&1
$MPIRUN -np 2 $BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -epochs 3 -out $TMP/emu.h5 >> $TMP/fx.log 2>&1
$BIN mock -n 9 -seed 5 -scheme discrete -out $TMP/stars.csv >> $TMP/fx.log 2>&1
check "nre: fixtures (emulator, mock)" test -s $TMP/emu.h5 -a -s $TMP/stars.csv
T="$BIN train-nre -emulator $TMP/emu.h5 -n 4000 -max_epochs 3 -hidden 16,16"
for np in 1 2; do $MPIRUN -np $np $T -out $TMP/nre$np.h5 > $TMP/tn$np.log 2>&1; done
check "train-nre: trains, reports the validation BCE and accuracy, writes the model" bash -c "grep -q 'train-nre: 3 epochs, best val_bce' $TMP/tn1.log && h5ls $TMP/nre1.h5/nre/params > /dev/null && h5ls $TMP/nre1.h5/emulator > /dev/null"
check "train-nre: -np 1 and -np 2 give the same validation losses (to rounding)" bash -c "a=\$(grep -o 'val_bce [0-9.]*' $TMP/tn1.log | tr '\n' ' '); b=\$(grep -o 'val_bce [0-9.]*' $TMP/tn2.log | tr '\n' ' '); [ -n \"\$a\" ] && [ \"\$a\" = \"\$b\" ] || { echo \"\$a\"; echo \"\$b\"; exit 1; }"
for o in "" -grad_overlap; do $MPIRUN -np 2 $T -batch_per_rank 64 $o -out $TMP/nrew$o.h5 > $TMP/tnw$o.log 2>&1; done
check "train-nre: -batch_per_rank 64 at -np 2 is weak scaling (global batch 128, rate scaled from 256 to 0.0005)" grep -q 'global batch 128, 29 steps per epoch, learning rate 0.001 -> 0.0005' $TMP/tnw.log
check "train-nre: weak -grad_overlap weights equal the blocking all-reduce's exactly" h5diff -q $TMP/nrew.h5 $TMP/nrew-grad_overlap.h5 /nre/params
N="$BIN nre -model $TMP/nre1.h5 -stars $TMP/stars.csv -samples 40 -chains 2 -warmup 200 -thin 1 -progress_every 100"
for np in 1 3; do $MPIRUN -np $np $N -out $TMP/p$np.h5 > $TMP/p$np.log 2>&1; done
check "nre: ends with an NRE line (acceptance, R-hat, time per star)" bash -c "tail -1 $TMP/p1.log | grep -Eq '^NRE n=9 used=9 accept_median=[0-9.]+ rhat_alpha_median='"
check "nre: -np 1 and -np 3 give identical samples and posterior means" bash -c "h5diff -q $TMP/p1.h5 $TMP/p3.h5 /samples && h5diff -q $TMP/p1.h5 $TMP/p3.h5 /posterior_mean"
check "nre: output has means, sds, R-hat, chains and 9 x 40 samples" bash -c "for d in posterior_mean posterior_sd rhat chains samples; do h5ls $TMP/p1.h5/\$d > /dev/null || exit 1; done; h5ls $TMP/p1.h5/samples | grep -q '{360/'"
check_fails "nre: -samples not a multiple of -chains refused" "must be a multiple of -chains" $N -samples 41 -out $TMP/x.h5
check_fails "nre: an emulator as -model refused" "expected a ratio estimator" $BIN nre -model $TMP/emu.h5 -stars $TMP/stars.csv -out $TMP/x.h5
check_fails "train-nre: -hidden with a zero width refused" "-hidden" $T -hidden 16,0 -out $TMP/x.h5
