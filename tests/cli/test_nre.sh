# train-nre and nre: a small ratio estimator on a small emulator, per-star
# posteriors of a 9-star mock identical on 1 and 3 ranks, the NRE line and the
# output tables, bad options refused; -method nre_gauss of infer and coverage
# multiplies its posteriors as the paper does, -method nre runs newton on them. Correctness against a known posterior
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
for o in "-shard_optimizer 1" -grad_overlap; do $MPIRUN -np 2 $T -batch_per_rank 64 $o -out $TMP/nrew${o%% *}.h5 > $TMP/tnw${o%% *}.log 2>&1; done
check "train-nre: -batch_per_rank 64 at -np 2 is weak scaling (global batch 128, rate scaled from 256 to 0.0005)" grep -q 'global batch 128, 29 steps per epoch, learning rate 0.001 -> 0.0005' $TMP/tnw-shard_optimizer.log
check "train-nre: weak -grad_overlap weights (all-reduced, unsharded) equal the sharded optimiser's exactly" h5diff -q $TMP/nrew-shard_optimizer.h5 $TMP/nrew-grad_overlap.h5 /nre/params
N="$BIN nre -model $TMP/nre1.h5 -stars $TMP/stars.csv -samples 40 -chains 2 -warmup 200 -thin 1 -progress_every 100"
for np in 1 3; do $MPIRUN -np $np $N -out $TMP/p$np.h5 > $TMP/p$np.log 2>&1; done
check "nre: ends with an NRE line (acceptance, R-hat, time per star)" bash -c "tail -1 $TMP/p1.log | grep -Eq '^NRE n=9 used=9 accept_median=[0-9.]+ rhat_alpha_median='"
check "nre: -np 1 and -np 3 give identical samples and posterior means" bash -c "h5diff -q $TMP/p1.h5 $TMP/p3.h5 /samples && h5diff -q $TMP/p1.h5 $TMP/p3.h5 /posterior_mean"
check "nre: output has means, sds, R-hat, chains and 9 x 40 samples" bash -c "for d in posterior_mean posterior_sd rhat chains samples; do h5ls $TMP/p1.h5/\$d > /dev/null || exit 1; done; h5ls $TMP/p1.h5/samples | grep -q '{360/'"
check_fails "nre: -samples not a multiple of -chains refused" "must be a multiple of -chains" $N -samples 41 -out $TMP/x.h5
check_fails "nre: an emulator as -model refused" "expected a ratio estimator" $BIN nre -model $TMP/emu.h5 -stars $TMP/stars.csv -out $TMP/x.h5
check_fails "train-nre: -hidden with a zero width refused" "-hidden" $T -hidden 16,0 -out $TMP/x.h5
# -method nre_gauss of infer and coverage (issue 17): the NRE posteriors multiplied as Gaussians;
# -method nre: newton on the globals with log r as every star's likelihood (the ratios multiply).
check "infer -method nre_gauss: RESULT is the Gaussian product of the nre command's own per-star draws" bash -c "$BIN infer -method nre_gauss -nre $TMP/nre1.h5 -stars $TMP/stars.csv -samples 40 -chains 2 -warmup 200 -thin 1 -out $TMP/inf.h5 > $TMP/inf.log 2>&1 && r=\$(sed -n 's/^RESULT alpha_IMF=\([^ ]*\) sd=\([^ ]*\) log10_N_Ia=\([^ ]*\) sd=\([^ ]*\) .* n_stars=9 .*method=nre_gauss.*/\1 \2 \3 \4/p' $TMP/inf.log) && p=\$(bash tests/cli/gauss_product.sh $TMP/p1.h5 40) && [ -n \"\$r\" ] && [ \"\$r\" = \"\$p\" ] || { echo \"infer: \$r\"; echo \"product: \$p\"; exit 1; }"
gal() { h5dump -d galaxies -s 0,0 -c 3,16 $1 | sed 1d; h5dump -d galaxies -s 0,17 -c 3,1 $1 | sed 1d; } # all but the seconds column
export -f gal
check "infer -method nre: newton with the ratio as the likelihood runs and says so" bash -c "$BIN infer -method nre -nre $TMP/nre1.h5 -stars $TMP/stars.csv -samples 40 -chains 2 -warmup 200 -thin 1 -newton_steps 100 -newton_final_steps 200 -out $TMP/infn.h5 > $TMP/infn.log 2>&1 && grep -q '^newton: 9 stars' $TMP/infn.log && grep -Eq '^RESULT alpha_IMF=-?[0-9.]+ sd=[0-9.]+ .* n_stars=9 .*method=nre$' $TMP/infn.log"
CN="$BIN coverage -method nre_gauss -nre $TMP/nre1.h5 -samples 40 -chains 2 -warmup 200 -thin 1 -galaxies 3 -n_stars 6 -mock emulator -emulator $TMP/emu.h5 -plots 0"
for np in 1 2; do $MPIRUN -np $np $CN -out $TMP/cov$np.h5 > $TMP/cov$np.log 2>&1; done
check "coverage -method nre_gauss: prints its COVERAGE line (emulator mocks, no NPE)" grep -q '^COVERAGE method=nre_gauss n_stars=6 galaxies=3 z_alpha_mean=' $TMP/cov1.log
check "coverage -method nre_gauss: -np 1 and -np 2 give the same galaxy table (all but the seconds column)" bash -c "[ \"\$(gal $TMP/cov1.h5)\" = \"\$(gal $TMP/cov2.h5)\" ]"
CX="$BIN coverage -method nre -nre $TMP/nre1.h5 -samples 40 -chains 2 -warmup 200 -thin 1 -newton_steps 100 -newton_final_steps 200 -galaxies 3 -n_stars 6 -mock emulator -emulator $TMP/emu.h5 -plots 0"
for np in 1 2; do $MPIRUN -np $np $CX -out $TMP/covx$np.h5 > $TMP/covx$np.log 2>&1; done
check "coverage -method nre (newton): prints its COVERAGE line" grep -q '^COVERAGE method=nre n_stars=6 galaxies=3 z_alpha_mean=' $TMP/covx1.log
check "coverage -method nre (newton): -np 1 and -np 2 give the same galaxy table" bash -c "[ \"\$(gal $TMP/covx1.h5)\" = \"\$(gal $TMP/covx2.h5)\" ]"
check "coverage: -method nre (newton) and nre_gauss give different answers" bash -c "[ \"\$(gal $TMP/covx1.h5)\" != \"\$(gal $TMP/cov1.h5)\" ]"
check_fails "coverage -method nre without -nre refused" "-method nre needs -nre FILE" $BIN coverage -method nre -galaxies 3 -n_stars 6 -out $TMP/x.h5
