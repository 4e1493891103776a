# train-npe: the same model at 1 and 2 ranks, exact resume after a kill, and
# clear errors for mismatched files.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
S="$BIN simulate -prior wide -scheme discrete -progress_every 100"
$MPIRUN -np 2 $S -n 3000 -seed 31 -out $TMP/tr.h5 > /dev/null 2>&1
$MPIRUN -np 2 $S -n 600 -seed 32 -out $TMP/va.h5 > /dev/null 2>&1
$MPIRUN -np 2 $BIN train-emulator -train $TMP/tr.h5 -val $TMP/va.h5 -epochs 3 -out $TMP/emu.h5 > /dev/null 2>&1
T="$BIN train-npe -emulator $TMP/emu.h5 -n 5000 -seed 4"
check "npe: training at -np 1" $MPIRUN -np 1 $T -max_epochs 4 -out $TMP/n1.h5
check "npe: training at -np 2" $MPIRUN -np 2 $T -max_epochs 4 -out $TMP/n2.h5
r=$(bash tests/cli/maxrel.sh $TMP/n1.h5 $TMP/n2.h5 /npe/params)
check "npe: -np 2 weights equal -np 1 within 1e-8 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1e-8 && r != "nan") }'
# Weak scaling: the all-reduce overlapped with the flow's backward pass (transform by transform)
# gives the same bits at two ranks; the NPE learns at 25 rows per rank as at the fixed batch 50.
check "npe: -batch_per_rank 25 at -np 2" bash -c "$MPIRUN -np 2 $T -max_epochs 4 -batch_per_rank 25 -out $TMP/nw.h5 > $TMP/nw.log"
check "npe: -batch_per_rank -grad_overlap at -np 2" $MPIRUN -np 2 $T -max_epochs 4 -batch_per_rank 25 -grad_overlap -out $TMP/nwo.h5
check "npe: weak -grad_overlap weights equal the blocking all-reduce's exactly" h5diff -q $TMP/nw.h5 $TMP/nwo.h5 /npe/params
# The sharded optimiser (the default, also with -clip, which the NPE uses) with the clipping norm summed
# by blocks: the same bits as every rank updating all weights (-shard_optimizer 0).
check "npe: the default optimiser step is sharded at -np 2" grep -q 'optimiser step sharded over the ranks' $TMP/nw.log
check "npe: -shard_optimizer 0 at -np 2" $MPIRUN -np 2 $T -max_epochs 4 -batch_per_rank 25 -shard_optimizer 0 -out $TMP/nws.h5
check "npe: the sharded optimiser's weights (with clipping) equal the unsharded ones exactly" h5diff -q $TMP/nw.h5 $TMP/nws.h5 /npe/params
check "npe: weak best val_nll within 0.3 nats of the fixed batch's after 4 epochs" bash -c "a=\$(sed -n 's/.*best val_nll \([-0-9.]*\).*/\1/p' $TMP/nw.log); b=\$(h5dump -a /best_val_nll $TMP/n1.h5 | sed -n 's/.*(0): *//p'); awk -v a=\$a -v b=\$b 'BEGIN { print a, b; exit !(a != \"\" && b != \"\" && a < b + 0.3) }'"
check "npe: the stored prior is the paper's Gaussian prior" bash -c "h5dump -a /npe/prior_mean_sd_lo_hi $TMP/n1.h5 | grep -q -- '-2.3, -2.89'"
check "npe: -fresh draws new simulations each epoch (a different model)" bash -c "$MPIRUN -np 2 $T -max_epochs 4 -fresh -out $TMP/nf.h5 > /dev/null && ! h5diff -q $TMP/n1.h5 $TMP/nf.h5 /npe/params"

setsid $MPIRUN -np 2 $T -max_epochs 12 -patience 100 -out $TMP/k.h5 > $TMP/k1.log 2>&1 &
pid=$!
for i in $(seq 1 400); do grep -q '^epoch   3' $TMP/k1.log 2>/dev/null && break; sleep 0.05; done
kill -9 -- -$pid 2>/dev/null; wait $pid 2>/dev/null; wait_gone
check "npe: -resume after a kill continues from the checkpoint" bash -c "$MPIRUN -np 2 $T -max_epochs 12 -patience 100 -out $TMP/k.h5 -resume > $TMP/k2.log 2>&1 && grep -q 'resuming after epoch' $TMP/k2.log"
check "npe: uninterrupted run" $MPIRUN -np 2 $T -max_epochs 12 -patience 100 -out $TMP/full.h5
check "npe: resumed model equals the uninterrupted one exactly" h5diff -q $TMP/k.h5 $TMP/full.h5 /npe/params
check_fails "npe: -resume from a checkpoint beyond -max_epochs refused" "beyond -max_epochs 2" $BIN train-npe -emulator $TMP/emu.h5 -n 5000 -seed 4 -patience 100 -max_epochs 2 -out $TMP/k.h5 -resume

# -init (fine-tuning): a negligible rate leaves the init model's weights; another size is refused.
check "npe: -init training" $MPIRUN -np 2 $T -max_epochs 1 -lr 1e-12 -init $TMP/n1.h5 -out $TMP/ni.h5
r=$(bash tests/cli/maxrel.sh $TMP/n1.h5 $TMP/ni.h5 /npe/params)
check "npe: -init with -lr 1e-12 keeps the init weights within 1e-6 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1e-6 && r != "nan") }'
check_fails "npe: -init from an NPE of another size refused" "the same kind, estimator and size" $T -max_epochs 1 -hidden_features 8 -init $TMP/n1.h5 -out $TMP/nx.h5
check_fails "npe: -lr_decay outside (0, 1] refused" "lr_decay" $T -lr_decay 1.5 -out $TMP/nx.h5
# The conditioned defaults: birth time through its logit (mask bit 5) and a decaying rate; a
# fixed-noise file keeps the old format (no logit mask).
check "npe: conditioned training with its defaults" $MPIRUN -np 2 $BIN train-npe -emulator $TMP/emu.h5 -n 3000 -seed 4 -max_epochs 2 -noise_range 0.01,0.2 -out $TMP/nc.h5
check "npe: conditioned model: theta_logit_mask 32 (birth time), lr_decay in its config" bash -c "h5dump -a /npe/theta_logit_mask $TMP/nc.h5 | grep -q '(0): 32' && h5dump -a /config $TMP/nc.h5 | grep -q 'lr_decay=0.5;lr_patience=5;logit_uniform=1'"
check "npe: fixed-noise model: no theta_logit_mask, no lr_decay in its config" bash -c "! h5dump -a /npe/theta_logit_mask $TMP/n1.h5 > /dev/null 2>&1 && ! h5dump -a /config $TMP/n1.h5 | grep -q lr_decay"

check_fails "npe: a simulate file is not an emulator" "is a training set (simulate output), expected an emulator" $BIN train-npe -emulator $TMP/tr.h5 -out $TMP/x.h5
check_fails "npe: -noise must not be negative" "noise" $BIN train-npe -emulator $TMP/emu.h5 -noise -1 -out $TMP/x.h5

# -table: clean simulations from a stored CHEMPY table (gauss prior) instead of the emulator.
$MPIRUN -np 2 $BIN simulate -scheme discrete -progress_every 100 -prior gauss -n 4000 -seed 33 -out $TMP/tg.h5 > /dev/null 2>&1
TT="$BIN train-npe -emulator $TMP/emu.h5 -table $TMP/tg.h5 -n 3000 -seed 4 -max_epochs 3 -noise_range 0.01,0.2"
check "npe: -table training at -np 1" $MPIRUN -np 1 $TT -out $TMP/t1.h5
check "npe: -table training at -np 2" $MPIRUN -np 2 $TT -out $TMP/t2.h5
r=$(bash tests/cli/maxrel.sh $TMP/t1.h5 $TMP/t2.h5 /npe/params)
check "npe: -table -np 2 weights equal -np 1 within 1e-8 relative (max rel diff $r)" awk -v r="$r" 'BEGIN { exit !(r + 0 <= 1e-8 && r != "nan") }'
check "npe: -table trains on the table, not the emulator (another model than the emulator's)" bash -c "$MPIRUN -np 2 $BIN train-npe -emulator $TMP/emu.h5 -n 3000 -seed 4 -max_epochs 3 -noise_range 0.01,0.2 -out $TMP/te.h5 > /dev/null && ! h5diff -q $TMP/t1.h5 $TMP/te.h5 /npe/params"
# Its training rows are the first 2700 usable rows (failed CHEMPY rows skipped): the fixed-noise
# model's theta z-scoring mean is their mean, recomputed here from the file with h5dump.
check "npe: -table -noise 0 fixed model" $MPIRUN -np 2 $BIN train-npe -emulator $TMP/emu.h5 -table $TMP/tg.h5 -n 3000 -noise 0 -max_epochs 1 -out $TMP/t0.h5
check "npe: -table rows are the usable rows in file order (theta mean of the first 2700, failed rows skipped)" bash -c "
  h5dump -m %.17g -d /params -y -w 0 -o $TMP/p.txt $TMP/tg.h5 > /dev/null; h5dump -d /status -y -w 0 -o $TMP/s.txt $TMP/tg.h5 > /dev/null
  tr -d ' \n' < $TMP/s.txt | tr ',' '\n' > $TMP/s1; tr -d ' \n' < $TMP/p.txt | tr ',' '\n' | paste -d' ' - - - - - - > $TMP/p1
  want=\$(paste -d' ' $TMP/s1 $TMP/p1 | awk '\$1 == 0 && n < 2700 { n++; s += \$2 } \$1 != 0 && n < 2700 { f++ } END { if (f > 0) printf \"%.15g\", s / n }')
  got=\$(h5dump -m %.17g -a /npe/theta_mean $TMP/t0.h5 | sed -n 's/.*(0): *\([^,]*\),.*/\1/p')
  echo want \$want got \$got; awk -v a=\"\$want\" -v b=\"\$got\" 'BEGIN { d = a - b; exit !(a != \"\" && b != \"\" && d < 1e-9 && d > -1e-9) }'"
check_fails "npe: -table from the wide prior refused" "must come from simulate -prior gauss" $BIN train-npe -emulator $TMP/emu.h5 -table $TMP/tr.h5 -n 2000 -out $TMP/x.h5
check_fails "npe: -table with fewer usable rows than -n refused" "usable rows (of 4000); -n 5000" $BIN train-npe -emulator $TMP/emu.h5 -table $TMP/tg.h5 -n 5000 -out $TMP/x.h5
$BIN simulate -prior gauss -n 40 -seed 3 -out $TMP/tc.h5 > /dev/null 2>&1
check_fails "npe: -table of another CHEMPY than the emulator's refused" "was simulated with CHEMPY scheme=cvode" $BIN train-npe -emulator $TMP/emu.h5 -table $TMP/tc.h5 -n 20 -out $TMP/x.h5
