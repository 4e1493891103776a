# kill -9 suite (issue 13): every long command killed mid-run on 2 ranks. The
# resumable ones (simulate, train-emulator, train-npe) continue to exactly the
# uninterrupted result; the others (validate, infer, mock) leave an earlier
# output untouched and no partial file under the final name. Also: a killed
# simulate's .tmp is refused as a training set, -resume refuses other inputs
# and starts from scratch (with a note) when there is no checkpoint, and two
# concurrent writers of one output are told apart by the lock. Tiny sizes.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
S="$BIN simulate -prior wide -scheme discrete -progress_every 0.2"
killed() { # log pattern|sleep:S|file:F command...: start on 2 ranks, kill -9 every rank once pattern is in the log (or after S s, or once F exists)
  local log=$1 pat=$2 pid; shift 2
  setsid $MPIRUN -np 2 "$@" > "$log" 2>&1 &
  pid=$!
  case $pat in
    sleep:*) sleep "${pat#sleep:}" ;;
    file:*) for i in $(seq 1 1200); do [ -e "${pat#file:}" ] && break; sleep 0.05; done ;;
    *) for i in $(seq 1 600); do grep -q -- "$pat" "$log" 2> /dev/null && break; sleep 0.05; done ;;
  esac
  kill -9 -- -$pid 2> /dev/null; wait $pid 2> /dev/null; wait_gone
}
sum() { md5sum "$1" | cut -d' ' -f1; }

# simulate
killed $TMP/s1.log '^\[simulate\] [1-9]' $S -n 12000 -seed 71 -out $TMP/s.h5
check "kill: simulate leaves a partial .tmp and no final file" bash -c "[ -f $TMP/s.h5.tmp ] && [ ! -e $TMP/s.h5 ]"
$S -n 300 -seed 72 -out $TMP/v.h5 > /dev/null 2>&1
check_fails "kill: the killed simulate's .tmp is refused as a training set" "rows are not computed yet (status -1)" $BIN train-emulator -train $TMP/s.h5.tmp -val $TMP/v.h5 -out $TMP/e0.h5
cp $TMP/s.h5.tmp $TMP/partial.h5
check_fails "kill: ... and as -params" "not computed yet" $BIN simulate -scheme discrete -params $TMP/partial.h5 -out $TMP/p.csv
check "kill: simulate resumes" bash -c "$MPIRUN -np 2 $S -n 12000 -seed 71 -out $TMP/s.h5 > $TMP/s2.log 2>&1 && grep -q 'rows already stored' $TMP/s2.log"
$MPIRUN -np 2 $S -n 12000 -seed 71 -out $TMP/s_full.h5 > /dev/null 2>&1
check "kill: resumed simulate equals the uninterrupted run" bash -c "h5diff -q $TMP/s.h5 $TMP/s_full.h5 /abundances && h5diff -q $TMP/s.h5 $TMP/s_full.h5 /status"

# Two writers of one output at once: one is refused by the lock, the other finishes.
$S -n 6000 -seed 73 -out $TMP/c.h5 > $TMP/c1.log 2>&1 &
p1=$!
for i in $(seq 1 200); do [ -e $TMP/c.h5.lock ] && break; sleep 0.02; done
$S -n 6000 -seed 74 -out $TMP/c.h5 > $TMP/c2.log 2>&1
rc2=$?
wait $p1
rc1=$?
check "kill: a second concurrent writer is refused" bash -c "[ $rc2 != 0 ] && grep -q 'another process is writing' $TMP/c2.log"
check "kill: ... and the first writer's file is whole and its own" bash -c "[ $rc1 = 0 ] && $S -n 6000 -seed 73 -out $TMP/c_ref.h5 > /dev/null 2>&1 && h5diff -q $TMP/c.h5 $TMP/c_ref.h5 /abundances && h5diff -q $TMP/c.h5 $TMP/c_ref.h5 /params"

# train-emulator
T="$BIN train-emulator -train $TMP/s_full.h5 -val $TMP/v.h5 -hidden 40,20 -seed 3"
killed $TMP/e1.log file:$TMP/e.h5.ckpt $T -epochs 400 -out $TMP/e.h5 # the first checkpoint, not a log line: stdout to a file is buffered
check "kill: train-emulator leaves no final file" test ! -e $TMP/e.h5
check "kill: train-emulator -resume continues from the checkpoint" bash -c "$MPIRUN -np 2 $T -epochs 400 -out $TMP/e.h5 -resume > $TMP/e2.log 2>&1 && grep -q 'resuming after epoch' $TMP/e2.log"
$MPIRUN -np 2 $T -epochs 400 -out $TMP/e_full.h5 > /dev/null 2>&1
check "kill: resumed emulator equals the uninterrupted one exactly" h5diff -q $TMP/e.h5 $TMP/e_full.h5 /emulator/params
check_fails "kill: train-emulator -resume with another training file is refused" "other inputs" $BIN train-emulator -train $TMP/c.h5 -val $TMP/v.h5 -hidden 40,20 -seed 3 -epochs 400 -out $TMP/e.h5 -resume
check "kill: train-emulator -resume without a checkpoint starts from scratch with a note" bash -c "$T -epochs 1 -out $TMP/e_new.h5 -resume > $TMP/e3.log 2>&1 && grep -q 'no checkpoint.*starting from scratch' $TMP/e3.log"

# train-npe; and a killed -force run over an existing model leaves that model intact.
N="$BIN train-npe -emulator $TMP/e_full.h5 -n 30000 -seed 5 -transforms 2 -patience 100"
# 80 epochs of 0.04 s: 8 could end before the kill landed on an idle machine.
killed $TMP/n1.log file:$TMP/n.h5.ckpt $N -max_epochs 80 -out $TMP/n.h5 # the first checkpoint: stdout to a file is buffered
check "kill: train-npe leaves no final file" test ! -e $TMP/n.h5
check "kill: train-npe -resume continues from the checkpoint" bash -c "$MPIRUN -np 2 $N -max_epochs 80 -out $TMP/n.h5 -resume > $TMP/n2.log 2>&1 && grep -q 'resuming after epoch' $TMP/n2.log"
$MPIRUN -np 2 $N -max_epochs 80 -out $TMP/n_full.h5 > /dev/null 2>&1
check "kill: resumed NPE equals the uninterrupted one exactly" h5diff -q $TMP/n.h5 $TMP/n_full.h5 /npe/params
check_fails "kill: train-npe -resume with another emulator is refused" "other inputs" $BIN train-npe -emulator $TMP/e.h5 -n 30000 -seed 5 -transforms 2 -patience 100 -max_epochs 80 -out $TMP/n.h5 -resume
check "kill: train-npe -resume without a checkpoint starts from scratch with a note" bash -c "$N -max_epochs 1 -out $TMP/n_new.h5 -resume > $TMP/n3.log 2>&1 && grep -q 'no checkpoint.*starting from scratch' $TMP/n3.log"
before=$(sum $TMP/n_full.h5)
rm -f $TMP/n_full.h5.ckpt # so that its first checkpoint marks the -force run as under way
killed $TMP/n4.log file:$TMP/n_full.h5.ckpt $N -max_epochs 80 -n 40000 -out $TMP/n_full.h5 -force
check "kill: a killed -force run leaves the earlier model unchanged" test "$before" = "$(sum $TMP/n_full.h5)"

# validate, infer, mock: not resumable; a kill leaves the earlier output unchanged.
V="$BIN validate -npe $TMP/n_full.h5 -n 3000 -samples 500 -scheme discrete -plots 0 -progress_every 0.2"
$MPIRUN -np 2 $V -n 20 -out $TMP/val.h5 > /dev/null 2>&1
before=$(sum $TMP/val.h5)
killed $TMP/v1.log '^\[validate\]' $V -out $TMP/val.h5 -force
check "kill: a killed validate leaves the earlier result unchanged" test "$before" = "$(sum $TMP/val.h5)"
$BIN mock -n 30 -seed 2 -emulator $TMP/e_full.h5 -out $TMP/stars.csv > /dev/null 2>&1
before=$(sum $TMP/stars.csv)
killed $TMP/m1.log sleep:1.5 $BIN mock -n 60000 -seed 2 -scheme discrete -out $TMP/stars.csv -force # ~15 s of work on an idle machine
check "kill: a killed mock leaves the earlier catalogue unchanged" test "$before" = "$(sum $TMP/stars.csv)"
I="$BIN infer -npe $TMP/n_full.h5 -stars $TMP/stars.csv -plots 0"
$I -samples 50 -out $TMP/inf.h5 > /dev/null 2>&1
before=$(sum $TMP/inf.h5)
killed $TMP/i1.log sleep:2 $I -method gauss -samples 2000000 -max_draws_factor 2 -out $TMP/inf.h5 -force # gauss: -samples makes it long
check "kill: a killed infer leaves the earlier result unchanged" test "$before" = "$(sum $TMP/inf.h5)"
check "kill: the next infer is not blocked by the killed one's lock" bash -c "$I -samples 50 -out $TMP/inf.h5 -force > /dev/null 2>&1"
