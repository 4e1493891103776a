# train-emulator: the same weights at 1, 2 and 3 ranks, exact resume after a
# kill, a linear map learnt to a known error, and bad input named clearly.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
S="$BIN simulate -prior wide -scheme discrete -progress_every 100"
$MPIRUN -np 2 $S -n 4000 -seed 11 -out $TMP/tr.h5 > /dev/null 2>&1
$MPIRUN -np 2 $S -n 1000 -seed 12 -out $TMP/va.h5 > /dev/null 2>&1
T="$BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -seed 5 -batch 64"
for np in 1 2 3; do
  check "emulator: training at -np $np (4 epochs, ~200 steps)" $MPIRUN -np $np $T -epochs 4 -out $TMP/e$np.h5
done
for np in 2 3; do
  r=$(bash tests/cli/maxrel.sh $TMP/e1.h5 $TMP/e$np.h5 /emulator/params)
  check "emulator: -np $np weights equal -np 1 within 1e-5 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1e-5 && r != "nan") }'
done
# -grad_overlap reduces the same gradient piece by piece: -np 3 still equals -np 1.
check "emulator: -grad_overlap at -np 3" $MPIRUN -np 3 $T -epochs 4 -grad_overlap -out $TMP/e3o.h5
r=$(bash tests/cli/maxrel.sh $TMP/e1.h5 $TMP/e3o.h5 /emulator/params)
check "emulator: -grad_overlap -np 3 weights equal -np 1 within 1e-5 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1e-5 && r != "nan") }'
# Weak scaling: 32 rows per rank at 2 ranks is the default global batch 64; the same bits with
# the all-reduce overlapped (two ranks add in one order); as accurate as the fixed batch; a run
# stopped inside the warm-up of a larger batch and resumed equals the straight one.
W="$BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -seed 5"
check "emulator: -batch_per_rank 32 at -np 2 (global batch 64)" bash -c "$MPIRUN -np 2 $W -batch_per_rank 32 -epochs 4 -out $TMP/w2.h5 > $TMP/w2.log && grep -q 'weak scaling: 32 rows per rank and step, global batch 64' $TMP/w2.log"
check "emulator: -batch_per_rank -grad_overlap at -np 2" $MPIRUN -np 2 $W -batch_per_rank 32 -epochs 4 -grad_overlap -out $TMP/w2o.h5
check "emulator: weak -grad_overlap weights equal the blocking all-reduce's exactly" h5diff -q $TMP/w2.h5 $TMP/w2o.h5 /emulator/params
# The sharded optimiser (the default: reduce-scatter, each rank updates half, all-gather) against
# every rank updating all weights after one all-reduce: an elementwise update, so the same bits.
check "emulator: -shard_optimizer 0 at -np 2" $MPIRUN -np 2 $W -batch_per_rank 32 -epochs 4 -shard_optimizer 0 -out $TMP/w2u.h5
check "emulator: the sharded optimiser's weights equal the unsharded ones exactly" h5diff -q $TMP/w2.h5 $TMP/w2u.h5 /emulator/params
# -shard_single: both exchanges carry floats, each rank's slice of the weights stays double: other
# bits, the same training; a run resumed inside the warm-up still equals the straight one exactly.
check "emulator: -shard_single at -np 2" bash -c "$MPIRUN -np 2 $W -batch_per_rank 32 -epochs 4 -shard_single 1 -out $TMP/w2f.h5 > $TMP/w2f.log && grep -q 'exchanged in single precision' $TMP/w2f.log"
r=$(bash tests/cli/maxrel.sh $TMP/w2.h5 $TMP/w2f.h5 /emulator/params)
check "emulator: -shard_single weights differ from the double exchange's, by at most 1e-3 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 > 0 && r + 0 <= 1e-3 && r != "nan") }'
$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -shard_single 1 -out $TMP/wrf.h5 > /dev/null 2>&1
$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 2 -shard_single 1 -out $TMP/wkf.h5 > /dev/null 2>&1
check "emulator: -shard_single run resumed inside the warm-up" bash -c "$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -shard_single 1 -out $TMP/wkf.h5 -force -resume | grep -q 'resuming after epoch 2'"
check "emulator: resumed -shard_single run equals the straight one exactly" h5diff -q $TMP/wrf.h5 $TMP/wkf.h5 /emulator/params
check_fails "emulator: a -shard_single checkpoint does not resume with the double exchange" "shard_single" $MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -shard_single 0 -out $TMP/wkf.h5 -force -resume
check "emulator: weak validation loss within 20% of the fixed batch's after 4 epochs" bash -c "a=\$(sed -n 's/^EMULATOR.*val_loss=//p' $TMP/w2.log); b=\$(h5dump -d /history -s 3,2 -c 1,1 $TMP/e1.h5 | sed -n 's/.*(3,2): *//p'); awk -v a=\$a -v b=\$b 'BEGIN { print a, b; exit !(a > 0 && b > 0 && a < 1.2 * b) }'"
$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -out $TMP/wr.h5 > $TMP/wr.log 2>&1
# the emulator's default rule is sqrt (k = 256 / 64 = 4: rate x 2); linear stays an option (x 4)
check "emulator: weak rate scaled by sqrt(k) by default (0.001 -> 0.002 at global batch 256)" grep -q 'global batch 256, .* learning rate 0.001 -> 0.002 ' $TMP/wr.log
check "emulator: -lr_scaling linear scales it by k (0.001 -> 0.004)" bash -c "$MPIRUN -np 2 $W -batch_per_rank 128 -epochs 1 -lr_scaling linear -out $TMP/wl.h5 | grep -q 'global batch 256, .* learning rate 0.001 -> 0.004 '"
$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 2 -out $TMP/wk.h5 > /dev/null 2>&1
check "emulator: weak run resumed inside the warm-up" bash -c "$MPIRUN -np 2 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -out $TMP/wk.h5 -force -resume | grep -q 'resuming after epoch 2'"
check "emulator: resumed weak run equals the straight one exactly" h5diff -q $TMP/wr.h5 $TMP/wk.h5 /emulator/params
check_fails "emulator: a weak checkpoint does not resume on another rank count" "checkpoint has ranks=2, this run has ranks=1" $MPIRUN -np 1 $W -batch_per_rank 128 -warmup_epochs 3 -epochs 4 -out $TMP/wk.h5 -force -resume
check_fails "emulator: -batch and -batch_per_rank together refused" "exclude each other" $BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -batch 64 -batch_per_rank 32 -out $TMP/x.h5
check "emulator: the CHEMPY configuration of the training set is recorded" bash -c "h5dump -a /chempy_config $TMP/e1.h5 | grep -q 'scheme=discrete;time_steps=28;.*cosmic_accretion_factor=1\"'"
$S -n 300 -seed 12 -cosmic_accretion_factor 1e-6 -out $TMP/va6.h5 > /dev/null 2>&1
check_fails "emulator: a validation set from another CHEMPY model is refused" "made with CHEMPY cosmic_accretion_factor=1 but -val $TMP/va6.h5 with cosmic_accretion_factor=1e-06" $BIN train-emulator -train $TMP/tr.h5 -val $TMP/va6.h5 -epochs 1 -out $TMP/e6.h5
# The mean predictor has standardised validation MSE ~1; 4 epochs must do far better.
check "emulator: validation loss far below the mean predictor's (< 0.1)" bash -c "$MPIRUN -np 1 $T -epochs 4 -out $TMP/e1b.h5 | sed -n 's/^EMULATOR.*val_loss=//p' | awk '{ exit !(\$1 < 0.1) }'"

# Kill during epoch 3 of 6, resume, compare with an uninterrupted 6-epoch run.
setsid $MPIRUN -np 2 $T -epochs 6 -out $TMP/k.h5 > $TMP/k1.log 2>&1 &
pid=$!
for i in $(seq 1 300); do grep -q '^epoch   2' $TMP/k1.log 2>/dev/null && break; sleep 0.05; done
kill -9 -- -$pid 2>/dev/null; wait $pid 2>/dev/null; wait_gone
check "emulator: a checkpoint survives the kill" test -f $TMP/k.h5.ckpt
check "emulator: -resume continues from the checkpoint" bash -c "$MPIRUN -np 2 $T -epochs 6 -out $TMP/k.h5 -resume > $TMP/k2.log 2>&1 && grep -q 'resuming after epoch' $TMP/k2.log"
check "emulator: uninterrupted 6-epoch run" $MPIRUN -np 2 $T -epochs 6 -out $TMP/full.h5
check "emulator: resumed weights equal the uninterrupted run exactly" h5diff -q $TMP/k.h5 $TMP/full.h5 /emulator/params
check_fails "emulator: -resume from a checkpoint beyond -epochs refused" "beyond -epochs 2" $T -epochs 2 -out $TMP/k.h5 -resume

check_fails "emulator: missing training file named" "-train $TMP/none.h5: cannot read it" $BIN train-emulator -train $TMP/none.h5 -val $TMP/va.h5 -out $TMP/x.h5
check_fails "emulator: a model file given as training set is named" "-train $TMP/e1.h5 is an emulator (train-emulator output), expected a training set" $BIN train-emulator -train $TMP/e1.h5 -val $TMP/va.h5 -out $TMP/x.h5

# emulate: the emulator row by row against CHEMPY on the same parameter rows.
printf 'birth_time_Gyr,alpha_IMF,log10_N_Ia,log10_SFE,log10_SFR_peak,x_out\n8,-2.3,-2.89,-0.3,0.55,0.5\n11,-2.5,-3.0,-0.2,0.6,0.4\n5,-2.1,-2.7,-0.4,0.5,0.6\n' > $TMP/p.csv
check "emulate: evaluates parameter rows (any column order)" $BIN emulate -emulator $TMP/e1.h5 -params $TMP/p.csv -out $TMP/em.csv
$BIN simulate -params $TMP/p.csv -scheme discrete -out $TMP/ch.csv > /dev/null 2>&1
# em.csv: 6 params then 8 abundances; ch.csv: 6 params, status, then 8 abundances.
# Independent truth: CHEMPY on the same rows. The median |difference| over the 24 values must be
# of the size of the model's own validation median (stored in the file; ~0.1 dex for this small model).
vmed=$(h5dump -a /validation/median_abs_dex $TMP/e1.h5 | sed -n 's/.*(0): *//p')
check "emulate: median |emulator - CHEMPY| over 3 rows x 8 outputs below 2 x the validation median ($vmed dex)" bash -c "paste -d, <(tail -n +2 $TMP/em.csv | cut -d, -f7-14) <(tail -n +2 $TMP/ch.csv | cut -d, -f8-15) | awk -F, '{ for (k = 1; k <= 8; k++) { d = \$k - \$(k + 8); print (d < 0 ? -d : d) } }' | sort -g | awk -v vm=$vmed '{ v[NR] = \$1 } END { med = (v[12] + v[13]) / 2; print \"median |diff|\", med; exit !(NR == 24 && vm > 0 && med < 2 * vm) }'"
