#!/bin/sh
# Lost answers (DESIGN §3.6): the server rotated the refresh token but the answer never
# arrived whole - row 14 (truncated body), row 22 (rotate, then stall past the timeout), and
# a keeper killed with SIGKILL mid-request. The old tokens are kept with an in-flight
# marker; the next attempt resends that same refresh token once: inside the server's grace
# period it recovers (store == server), outside it the account needs reauthorization with
# the reason "answer lost during rotation" (history kind "lost").
. "$(dirname "$0")/lib.sh"

idp_start --reuse strict --grace 30
write_config "g14 s14 g22 s22 gkill skill i1 i2 i3" '' '"timeouts": { "connect": 2, "total": 2 },'
for a in g14 s14 g22 s22; do import_seed $a; done
import_seed gkill 7200
import_seed skill 7200
for a in i1 i2 i3; do import_seed $a 7200; done

marker_kept() {
	[ -n "$(db_col $1 lease_host)" ] || fail "$1: no in-flight marker kept"
	[ "$(db_col $1 inflight_fp)" = "$(db_col $1 refresh_fp)" ] || fail "$1: in-flight marker is not the stored token"
}
recovered() {
	grep -q "^$1: refreshed.*recovered a lost answer" "$T/out" || fail "$1 not recovered: $(cat "$T/out")"
	[ "$(db_rt $1)" = "$(idp_rt $1)" ] || fail "$1: store RT $(db_rt $1) != server $(idp_rt $1)"
	[ "$(idp_family $1 | jq .revoked)" = false ] || fail "$1: family revoked"
	[ "$(idp_family $1 | jq .grace_uses)" = 1 ] || fail "$1: grace_uses $(idp_family $1 | jq .grace_uses)"
	[ "$(idp_family $1 | jq .double_spend)" = 1 ] || fail "$1: more than one resend"
	[ -z "$(db_col $1 lease_host)" ] || fail "$1: lease not released after recovery"
	status_json
	[ "$(st_state $1)" = ok ] || fail "$1 is $(st_state $1) after recovery"
	[ "$(ev_last $1)" = "refreshed|recovered a lost answer by resending the same refresh token" ] ||
		fail "$1 last event: $(ev_last $1)"
}
lost_reauth() {
	grep -q "^$1: needs reauthorization: answer lost during rotation: invalid_grant" "$T/out" ||
		fail "$1 not reauth after a lost answer: $(cat "$T/out")"
	case $(ev_last $1) in "lost|answer lost during rotation"*) ;; *) fail "$1 last event: $(ev_last $1)" ;; esac
	[ "$(db_rt $1)" = "seed-$1" ] || fail "$1: tokens not kept"
	status_json
	[ "$(st_state $1)" = reauth ] || fail "$1 is $(st_state $1), want reauth"
	st_field $1 last_error | grep -q 'answer lost during rotation' || fail "$1 status last_error"
}

# Row 14: the server rotates, then sends a truncated body.
idp_rule '{"family":"g14","scenario":"truncated"}'
idp_rule '{"family":"s14","scenario":"truncated"}'
expect_rc 1 ot refresh g14 s14
grep -q '^g14: failed: malformed answer.*answer lost' "$T/out" || fail "g14 line: $(cat "$T/out")"
for a in g14 s14; do
	[ "$(db_rt $a)" = "seed-$a" ] || fail "$a: refresh token not kept"
	[ "$(db_col $a access_token)" = "A1-$a" ] || fail "$a: access token not kept"
	marker_kept $a
done
# The next attempt (named, no --force: a lost answer skips min_interval) resends it once.
expect_rc 0 ot refresh g14
recovered g14
idp_config '{"grace":0}'
expect_rc 2 ot refresh s14
lost_reauth s14
[ "$(idp_family s14 | jq .double_spend)" = 1 ] || fail "s14: more than one resend"

# Row 22: rotated, then the answer stalls past the total timeout (2 s).
idp_config '{"grace":30}'
idp_rule '{"family":"g22","scenario":"rotate_then_stall","params":{"ms":20000}}'
idp_rule '{"family":"s22","scenario":"rotate_then_stall","params":{"ms":20000}}'
expect_rc 1 ot refresh g22 s22
grep -q '^g22: failed: timeout after 2 s (answer lost' "$T/out" || fail "g22 line: $(cat "$T/out")"
marker_kept g22
marker_kept s22
# The due-only run picks the lost answers up after a few seconds.
sleep 6
expect_rc 0 ot refresh g22
recovered g22
idp_config '{"grace":0}'
expect_rc 2 ot refresh
lost_reauth s22

# A keeper killed mid-request: the server rotated, the answer was still on its way.
idp_config '{"grace":30}'
idp_rule '{"family":"gkill","scenario":"latency","params":{"ms":4000}}'
idp_rule '{"family":"skill","scenario":"latency","params":{"ms":4000}}'
"$OAUTHTOP" --config "$T/cfg.json" refresh --force gkill skill >"$T/killed.out" 2>&1 &
kpid=$!
rotated() { case $(idp_rt $1 2>/dev/null) in rt-$1-*) return 0 ;; esac; return 1; }
i=0
until rotated gkill && rotated skill; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the keeper's requests never arrived"
	sleep 0.1
done
kill -9 $kpid; wait $kpid 2>/dev/null
[ "$(db_rt gkill)" = seed-gkill ] || fail "gkill: the killed keeper stored something"
[ "$(idp_rt gkill)" != seed-gkill ] || fail "gkill: the server did not rotate"
marker_kept gkill
expect_rc 0 ot refresh gkill
recovered gkill
idp_config '{"grace":0}'
expect_rc 2 ot refresh skill
lost_reauth skill

# SIGINT: no new work, the request in flight finishes and is stored (no lost answer is
# made), nothing stays leased; exit 1 (interrupted).
idp_config '{"latency_ms":1500}'
"$OAUTHTOP" --config "$T/cfg.json" refresh --force --concurrency 1 i1 i2 i3 >"$T/int.out" 2>"$T/int.err" &
ipid=$!
sleep 0.5
kill -INT $ipid
wait $ipid; rc=$?
[ $rc = 1 ] || fail "interrupted refresh exited $rc: $(cat "$T/int.out" "$T/int.err")"
grep -q '^i1: refreshed' "$T/int.out" || fail "the request in flight was not finished: $(cat "$T/int.out")"
grep -q 'interrupted$' "$T/int.out" || fail "summary does not say interrupted"
[ "$(db_rt i1)" = "$(idp_rt i1)" ] || fail "i1 not stored"
[ "$(db_rt i2)" = seed-i2 ] && [ "$(db_rt i3)" = seed-i3 ] || fail "queued work was done after SIGINT"
[ -z "$(sqlite3 "$STORE" "SELECT account FROM credentials WHERE lease_host IS NOT NULL AND account LIKE 'i%'")" ] ||
	fail "leases left behind after SIGINT"
echo "all passed"
