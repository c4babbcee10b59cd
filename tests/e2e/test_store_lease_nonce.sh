#!/bin/sh
# The lease holder is (host, pid) plus a nonce: the pid namespace and the process start time.
#  - A lease written by a keeper in another pid namespace with our hostname (a container with
#    host networking), whose pid is not alive here: trusted until it expires, not lapsed
#    (kill(pid, 0) here says nothing about a pid there) - no second request.
#  - In our namespace, a live pid whose start time is not the holder's is a reused pid: the
#    lease lapsed, and its in-flight marker makes the refresh a lost-answer resend.
#  - The same pid with its real start time holds the lease.
. "$(dirname "$0")/lib.sh"

NS=$(stat -Lc %i /proc/self/ns/pid 2>/dev/null) || ot_skip "no /proc/self/ns/pid"
H=$(hostname)
idp_start --reuse strict --grace 0
write_config "a b c"
import_seed a; import_seed b; import_seed c
for x in a b c; do
	idp_admin POST /admin/seed "{\"family\":\"$x\",\"refresh_token\":\"seed-$x\"}" >/dev/null
done
sent() { idp_admin GET /admin/log 2>/dev/null | jq -s --arg f "$1" '[.[] | select(.family==$f)] | length'; }
# start time (field 22 of /proc/PID/stat) of a pid
pstart() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
lease() { # lease ACCOUNT PID NS START
	sqlite3 "$STORE" "UPDATE credentials SET lease_host = '$H', lease_pid = $2, lease_ns = $3,
		lease_start = $4, lease_expires_at = strftime('%s','now') + 300,
		inflight_fp = refresh_fp WHERE account = '$1'" || fail "sqlite3 lease $1"
}

sh -c 'exit 0' & DEAD=$!; wait $DEAD
sleep 60 & LIVE=$!
OT_PIDS="$OT_PIDS $LIVE"
LS=$(pstart $LIVE)
[ -n "$LS" ] || ot_skip "no start time in /proc/$LIVE/stat"

lease a "$DEAD" $((NS + 1)) 12345
lease b "$LIVE" "$NS" $((LS - 1))
lease c "$LIVE" "$NS" "$LS"
ot refresh --force a b c >"$T/out" 2>&1
sed 's/^/  | /' "$T/out"
grep -q "^a: skipped: held by $H:$DEAD" "$T/out" || fail "a: another namespace's lease not respected"
[ "$(sent a)" = 0 ] || fail "a: the refresh token was sent again (double spend)"
[ "$(db_rt a)" = seed-a ] || fail "a: store changed"
grep -q "^b: refreshed" "$T/out" || fail "b: a reused pid's lease did not lapse"
[ "$(db_rt b)" = "$(idp_rt b)" ] || fail "b: store != server"
[ "$(ev_last b | cut -d'|' -f1)" = refreshed ] || fail "b: last event $(ev_last b)"
ev_last b | grep -q "lost answer" || fail "b: not resent as a lost answer: $(ev_last b)"
grep -q "^c: skipped: held by $H:$LIVE" "$T/out" || fail "c: live holder's lease not respected"
[ "$(sent c)" = 0 ] || fail "c: sent"
[ "$(idp_family a | jq .double_spend)" = 0 ] || fail "double spend"
echo ok
