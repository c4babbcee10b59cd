#!/bin/sh
# Two daemons on one store against a strict-rotation server (a reused refresh token revokes
# its family): access tokens live 3 s and the window is 2 s (jitter 0: both daemons aim at the
# same moment), so every account is refreshed about every second by one daemon or the other.
# Over at least 50 refresh cycles: zero invalid_grant, no refresh token presented twice, the
# store ends with the server's current refresh token for every account, both exit 0 on
# SIGTERM. One daemon logs JSON lines.
. "$(dirname "$0")/lib.sh"
# fail, with the end of both daemons' logs.
dfail() { for _f in d1 d2; do echo "--- $_f"; tail -30 "$T/$_f.log"; done; fail "$*"; }
wait_for() { _n=$(($1 * 10)); shift; while ! "$@" >/dev/null 2>&1; do
	_n=$((_n - 1)); [ "$_n" -gt 0 ] || return 1; sleep 0.1; done; }
sql() { sqlite3 -cmd '.timeout 5000' "$STORE" "$@"; }

idp_start --rotation on --reuse strict --expires-in 3

ACCOUNTS="s1 s2 s3 s4 s5"
write_config "$ACCOUNTS" "" '"window": 2, "min_interval": 1, "backoff": { "base": 1, "max": 4 },
  "lease_seconds": 18, "timeouts": { "connect": 2, "total": 4 },'
for a in $ACCOUNTS; do import_seed "$a" 2; done

# Usage and configuration errors exit 3 at once.
expect_rc 3 ot daemon --log-format xml
expect_rc 3 "$OAUTHTOP" --config "$T/missing.json" daemon
grep -q missing.json "$T/err" || dfail "a missing configuration is not named: $(cat "$T/err")"

"$OAUTHTOP" --config "$T/cfg.json" daemon --verbose 2>"$T/d1.log" & D1=$!
"$OAUTHTOP" --config "$T/cfg.json" daemon --log-format json 2>"$T/d2.log" & D2=$!
OT_PIDS="$OT_PIDS $D1 $D2"

# Run until the server has granted at least 60 refreshes (5 accounts, ~1 s each), 40 s max.
enough() { [ "$(idp_stat successes)" -ge 60 ]; }
wait_for 40 enough || dfail "only $(idp_stat successes) refreshes in 40 s"
kill -0 "$D1" 2>/dev/null && kill -0 "$D2" 2>/dev/null || dfail "a daemon died"
[ "$(sql "select count(*) from keepers where kind='daemon'")" = 2 ] ||
	dfail "both daemons should have a heartbeat row"
kill -TERM "$D1" "$D2"
wait "$D1"; rc1=$?; wait "$D2"; rc2=$?
[ "$rc1" = 0 ] && [ "$rc2" = 0 ] || dfail "exit codes $rc1 $rc2, want 0 0"

ok=$(idp_stat successes)
[ "$ok" -ge 50 ] || dfail "$ok refresh cycles, want >= 50"
for k in invalid_grant reuse_detected double_spend; do
	[ "$(idp_stat $k)" = 0 ] || dfail "$k = $(idp_stat $k) over $ok cycles"
done
# Both daemons did work (refreshed, or met the other's lease).
grep -q 'refreshed s' "$T/d1.log" || dfail "daemon 1 never refreshed"
jq -e -s 'any(.[]; .msg | startswith("refreshed s"))' "$T/d2.log" >/dev/null || dfail "daemon 2 never refreshed"
# Every line of the JSON log is JSON with time, level, msg; results name their account.
jq -e -s 'length > 0 and all(.[]; has("time") and has("level") and has("msg"))' "$T/d2.log" >/dev/null ||
	dfail "daemon 2 log is not JSON lines"
jq -e -s '[.[] | select(.msg | startswith("refreshed "))] | all(.[]; .account != null)' "$T/d2.log" >/dev/null ||
	dfail "JSON refresh lines without an account member"
# The store holds each family's current refresh token: no rotation was lost.
idp_admin GET /admin/families >"$T/families.json"
for a in $ACCOUNTS; do
	rt=$(jq -r --arg a "$a" '.[$a].current_refresh_token' "$T/families.json")
	want=$(printf %s "$rt" | sha256sum | cut -c1-8)
	got=$(sql "select refresh_fp from credentials where account='$a'")
	[ "$got" = "$want" ] || dfail "$a: store has refresh token $got, server's current is $want"
done
[ "$(sql "select count(*) from keepers")" = 0 ] || dfail "keeper rows left"
grep -q 'seed-\|"rt-\| rt-s\|at-s[0-9]\|A1-s\|test-secret' "$T/d1.log" "$T/d2.log" && dfail "token in a log"
echo "all passed: $ok cycles; daemon 1 refreshed $(grep -c 'refreshed s' "$T/d1.log"), met the other's lease $(grep -c 'held by' "$T/d1.log") times"
