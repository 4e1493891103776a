# simulate: rank-count independence, kill -9 and resume, refusal to mix
# configurations, and bad input failing before any work.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
S="$BIN simulate -prior wide -seed 3 -scheme discrete -progress_every 1"
same() { # a.h5 b.h5: params, abundances and status identical
  for d in params abundances status; do h5diff -q "$1" "$2" /$d || return 1; done
}
check "simulate: -np 1 run" $MPIRUN -np 1 $S -n 3000 -out $TMP/np1.h5
check "simulate: -np 3 run" $MPIRUN -np 3 $S -n 3000 -out $TMP/np3.h5
check "simulate: -np 1 and -np 3 give identical params, abundances, status" same $TMP/np1.h5 $TMP/np3.h5
check "simulate: rank 0 serving only (-farm_master serve, as from 256 ranks) gives the same file" bash -c "$MPIRUN -np 3 $S -n 3000 -farm_master serve -out $TMP/srv.h5 | grep -q 'rows per rank 0\\.\\.' && h5diff -q $TMP/np1.h5 $TMP/srv.h5 /abundances && h5diff -q $TMP/np1.h5 $TMP/srv.h5 /status"
check "simulate: funnel writes give the same file" bash -c "$MPIRUN -np 2 $S -n 3000 -farm_write funnel -out $TMP/fun.h5 && h5diff -q $TMP/np1.h5 $TMP/fun.h5 /abundances"

# Kill every rank with -9 mid-run, then run the same command again.
N=40000
setsid $MPIRUN -np 2 $S -n $N -out $TMP/kill.h5 > $TMP/kill1.log 2>&1 &
pid=$!
for i in $(seq 1 100); do grep -q '^\[simulate\] [1-9]' $TMP/kill1.log 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -9 -- -$pid 2>/dev/null; wait $pid 2>/dev/null; wait_gone
check "simulate: killed run left a partial file, no final one" bash -c "[ -f $TMP/kill.h5.tmp ] && [ ! -f $TMP/kill.h5 ]"
check_fails "simulate: resuming the partial file with another -cosmic_accretion_factor refused" "file has cosmic_accretion_factor=1, this run has cosmic_accretion_factor=1e-06" $S -n $N -cosmic_accretion_factor 1e-6 -out $TMP/kill.h5
check "simulate: the refused resume left the partial file alone" bash -c "[ -f $TMP/kill.h5.tmp ] && [ ! -f $TMP/kill.h5 ]"
check "simulate: restart resumes from what is on disk" bash -c "$MPIRUN -np 2 $S -n $N -out $TMP/kill.h5 > $TMP/kill2.log 2>&1; grep -q 'resuming.*rows already stored' $TMP/kill2.log"
done_before=$(sed -n 's/.*: \([0-9]*\) of [0-9]* rows already stored/\1/p' $TMP/kill2.log)
computed=$(sed -n 's/^simulate: \([0-9]*\) rows in.*/\1/p' $TMP/kill2.log)
check "simulate: resumed run computed only the missing rows ($done_before stored + $computed new = $N)" test "$((done_before + computed))" = $N -a "$done_before" -gt 0
check "simulate: uninterrupted reference run" $MPIRUN -np 2 $S -n $N -out $TMP/full.h5
check "simulate: resumed file identical to an uninterrupted run" same $TMP/kill.h5 $TMP/full.h5
check "simulate: finished file is not recomputed" bash -c "$MPIRUN -np 1 $S -n $N -out $TMP/full.h5 | grep -q 'already complete'"

check_fails "simulate: different seed refused" "another configuration (file has seed=3, this run has seed=4)" $BIN simulate -prior wide -seed 4 -scheme discrete -n $N -out $TMP/full.h5
check_fails "simulate: different n refused" "another configuration (file has n=$N" $BIN simulate -prior wide -seed 3 -scheme discrete -n 5 -out $TMP/full.h5
# The CHEMPY configuration is part of the resume check: a file made with another
# cosmic accretion factor is refused, in either direction, naming the field.
check_fails "simulate: different -cosmic_accretion_factor refused" "file has cosmic_accretion_factor=1, this run has cosmic_accretion_factor=1e-06" $BIN simulate -prior wide -seed 3 -scheme discrete -n $N -cosmic_accretion_factor 1e-6 -out $TMP/full.h5
$BIN simulate -prior wide -seed 3 -scheme discrete -n 200 -cosmic_accretion_factor 1e-6 -out $TMP/cos6.h5 > /dev/null 2>&1
check_fails "simulate: factor-1e-6 file refused at the default factor" "file has cosmic_accretion_factor=1e-06, this run has cosmic_accretion_factor=1)" $BIN simulate -prior wide -seed 3 -scheme discrete -n 200 -out $TMP/cos6.h5
check "simulate: factor-1e-6 file with the same factor is complete" bash -c "$BIN simulate -prior wide -seed 3 -scheme discrete -n 200 -cosmic_accretion_factor 1e-6 -out $TMP/cos6.h5 | grep -q 'already complete'"
check "simulate: the factor is recorded as an attribute" bash -c "h5dump -a /cosmic_accretion_factor $TMP/cos6.h5 | grep -q '1e-06'"
check_fails "simulate: -n 0 fails before work" "must be positive" $BIN simulate -n 0 -out $TMP/x.h5
check_fails "simulate: unwritable output fails before work" "cannot write in directory /nonexistent/dir" $BIN simulate -n 10 -out /nonexistent/dir/x.h5
check_fails "simulate: -theta with 5 values" "needs 6" $BIN simulate -theta 1,2,3,4,5
# Rank 0 alone reads the yield tables and broadcasts them: its error names the file, and every rank ends.
check_fails "simulate: 3 ranks, missing -data_dir: rank 0 names the file" "cannot open $TMP/nodata/elements.csv" \
  $MPIRUN -np 3 $BIN simulate -n 10 -data_dir $TMP/nodata -out $TMP/nodata.h5
check_fails "simulate: ... and the other ranks end with it" "\[rank 2\] error: the CHEMPY yield tables 'tng' in $TMP/nodata" \
  $MPIRUN -np 3 $BIN simulate -n 10 -data_dir $TMP/nodata -out $TMP/nodata.h5
check "simulate: ... leaving no output" test ! -e $TMP/nodata.h5 -a ! -e $TMP/nodata.h5.tmp
printf 'alpha_IMF,log10_N_Ia,log10_SFE,log10_SFR_peak,x_out\n-2.3,-2.89,-0.3,0.55,0.5\n' > $TMP/bad.csv
check_fails "simulate: params file without birth_time_Gyr" "column 'birth_time_Gyr' is missing" $BIN simulate -params $TMP/bad.csv -out $TMP/o.csv
printf 'birth_time_Gyr,alpha_IMF,log10_N_Ia,log10_SFE,log10_SFR_peak,x_out,extra\n10,-2.3,-2.89,-0.3,0.55,0.5,7\n12,-2.3,-2.89,-0.3,0.55,0.5,7\n13.5,-9,-2.89,-0.3,0.55,0.5,7\n' > $TMP/ok.csv
check "simulate: params CSV (any column order) on 2 ranks" $MPIRUN -np 2 $BIN simulate -params $TMP/ok.csv -out $TMP/o.csv -scheme discrete
check "simulate: out-of-bounds row gets status 4 and NaN, others ok" bash -c "sed -n 4p $TMP/o.csv | grep -q ',4,nan,nan' && sed -n 2p $TMP/o.csv | grep -q ',0,'"
# A -params path of ~1000 characters must not push the other fields out of the resume check.
LP=$TMP/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))/$(printf 'f%.0s' $(seq 200))/$(printf 'g%.0s' $(seq 200))/$(printf 'h%.0s' $(seq 200))
mkdir -p $LP && cp $TMP/ok.csv $LP/p.csv
$BIN simulate -params $LP/p.csv -scheme discrete -out $TMP/lp.h5 > /dev/null 2>&1
check_fails "simulate: long -params path, different -scheme still refused" "another configuration" $BIN simulate -params $LP/p.csv -scheme cvode -out $TMP/lp.h5
$BIN simulate -params $LP/p.csv -scheme cvode -out $TMP/lpc.h5 > /dev/null 2>&1
check_fails "simulate: -gce_cohorts is part of the resume check" "file has cohorts=24, this run has cohorts=32" $BIN simulate -params $LP/p.csv -scheme cvode -gce_cohorts 32 -out $TMP/lpc.h5
# An HDF5 parameter file whose /params is not the six named parameters is refused, not misread.
h5copy -i $TMP/np1.h5 -o $TMP/wrong.h5 -s /abundances -d /params
check_fails "simulate: -params HDF5 with the wrong columns refused" "dataset params has 8 columns, expected 6" $BIN simulate -params $TMP/wrong.h5 -out $TMP/o2.csv
