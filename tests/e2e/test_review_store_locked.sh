#!/bin/sh
# Review findings 1, 2 and 8: the store is locked (another writer holds BEGIN EXCLUSIVE past
# the 5 s busy timeout) while answers are in flight; the server has already rotated.
#  - a's answer arrives while the store is locked: its commit fails; the new refresh token
#    must be kept and the commit retried (not thrown away), a gets its line;
#  - b's answer arrives later: `refresh` must keep stepping after the step error and harvest
#    it (not abandon it), so b is stored and reported too.
# Then a lock that outlasts lease_seconds: `refresh` gives up with exit 3 and names the
# account whose new token could not be stored; the in-flight marker stays, so the next run
# recovers it inside the grace period.
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict --grace 60
write_config "a b c" '' '"timeouts": { "connect": 2, "total": 10 }, "lease_seconds": 30, "min_interval": 0,'
for x in a b c; do import_seed $x; done

lock_store() { # lock_store SECONDS: holds a write lock from now on
	(echo 'BEGIN EXCLUSIVE;'; sleep "$1"; echo 'COMMIT;') | sqlite3 "$STORE" &
	OT_PIDS="$OT_PIDS $!"
}

idp_rule '{"family":"a","scenario":"latency","params":{"ms":1500}}'
idp_rule '{"family":"b","scenario":"latency","params":{"ms":8000}}'
( sleep 0.7; lock_store 6.5; wait ) &
LK=$!
OT_PIDS="$OT_PIDS $LK"
ot refresh a b >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/  out| /' "$T/out"; sed 's/^/  err| /' "$T/err"
wait $LK
for x in a b; do
	[ "$(db_rt $x)" = "$(idp_rt $x)" ] || fail "$x: stored RT $(db_rt $x) != server's $(idp_rt $x) (new token lost)"
	grep -q "^$x: refreshed" "$T/out" || fail "$x: no 'refreshed' line"
	[ "$(idp_family $x | jq .revoked)" = false ] || fail "$x: family revoked"
done
[ "$rc" = 0 ] || fail "refresh exited $rc, want 0"
grep -q "store unavailable, retrying" "$T/err" || fail "no 'store unavailable, retrying' message"

# A lock longer than lease_seconds (30 s): give up loudly, keep the marker.
idp_rule '{"family":"c","scenario":"latency","params":{"ms":1000}}'
( sleep 0.5; lock_store 37; wait ) &
LK=$!
OT_PIDS="$OT_PIDS $LK"
expect_rc 3 ot refresh c
grep -q "^c: error: the new refresh token was NOT stored" "$T/out" || fail "no loud line for c: $(cat "$T/out")"
grep -q "GAVE UP: the new refresh token of c could not be stored" "$T/err" || fail "no stderr message naming c: $(cat "$T/err")"
wait $LK
[ "$(db_rt c)" = seed-c ] || fail "c: stored RT changed?"
[ "$(db_col c inflight_fp)" = "$(db_col c refresh_fp)" ] || fail "c: in-flight marker gone"
expect_rc 0 ot refresh c
grep -q "^c: refreshed.*recovered a lost answer" "$T/out" || fail "c not recovered: $(cat "$T/out")"
[ "$(db_rt c)" = "$(idp_rt c)" ] || fail "c: store != server after recovery"
echo ok
