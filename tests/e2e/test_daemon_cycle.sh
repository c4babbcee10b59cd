#!/bin/sh
# oauthtop daemon against the test token server, with a 6 s window (jitter 1 s), backoff base
# 1 s and accounts entering their window a few seconds after start:
# - each account is refreshed exactly once, inside its window and not before it;
# - a 503 account's attempts spread out (backoff grows);
# - hooks: failing / reauth / recovered run once per change with a clean environment (no
#   token, no secret); a slow hook does not delay refreshing;
# - SIGHUP with a broken configuration keeps the daemon on the old one; a valid one is taken;
# - heartbeat row while running; SIGTERM waits for a request in flight, exits 0, leaves no
#   lease and no keeper row behind; no token in the log.
. "$(dirname "$0")/lib.sh"
DMN=
# fail, with the daemon's log.
dfail() { echo "--- daemon log"; cat "$T/daemon.log" 2>/dev/null; fail "$*"; }
# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() { _n=$(($1 * 10)); shift; while ! "$@" >/dev/null 2>&1; do
	_n=$((_n - 1)); [ "$_n" -gt 0 ] || return 1; sleep 0.1; done; }
now() { date +%s.%N | cut -c1-14; }
idp_log() { idp_admin GET /admin/log | jq -s "$@"; }
family_times() { idp_log -r --arg f "$1" '.[] | select(.path=="/token" and .family==$f) | .t'; }
family_count() { idp_log --arg f "$1" '[.[] | select(.path=="/token" and .family==$f)] | length'; }
sql() { sqlite3 -cmd '.timeout 5000' "$STORE" "$@"; }

mkdir -p "$T/hooks"
idp_start

# The daemon reads daemon.json (changed under it); the CLI uses cli.json (every account).
# Hooks write one file per run, named after the event and the account.
cat >"$T/base.json" <<'JSON'
{ "store": "@STORE@", "window": 6, "min_interval": 1,
  "backoff": { "base": 1, "max": 8 }, "lease_seconds": 18,
  "timeouts": { "connect": 2, "total": 4 },
  "hooks": { "failing": "env > \"@T@/hooks/$OAUTHTOP_EVENT.$OAUTHTOP_ACCOUNT.$$\"",
             "recovered": "env > \"@T@/hooks/$OAUTHTOP_EVENT.$OAUTHTOP_ACCOUNT.$$\"",
             "reauth": "env > \"@T@/hooks/$OAUTHTOP_EVENT.$OAUTHTOP_ACCOUNT.$$\"; sleep 20" },
  "providers": { "idp": { "token_url": "@URL@/token", "client_id": "test-client",
                          "client_secret_env": "OT_TEST_SECRET" } },
  "accounts": [ { "name": "a1", "provider": "idp" }, { "name": "a2", "provider": "idp" },
                { "name": "a3", "provider": "idp" }, { "name": "flaky", "provider": "idp" },
                { "name": "revoked", "provider": "idp" }, { "name": "slow", "provider": "idp" },
                { "name": "blip", "provider": "idp" } @MORE@ ] }
JSON
mkcfg() { sed -e "s|@STORE@|$STORE|" -e "s|@T@|$T|g" -e "s|@URL@|$IDP_URL|g" -e "s|@MORE@|$2|" \
	"$T/base.json" >"$1"; }
mkcfg "$T/daemon.json" ""
mkcfg "$T/cli.json" ', { "name": "late", "provider": "idp" }'
export OT_TEST_SECRET=test-secret
ot() { "$OAUTHTOP" --config "$T/cli.json" "$@"; }

# flaky: the server always answers 503 (no Retry-After); blip: once, then it recovers.
idp_rule '{"family":"flaky","scenario":"error","times":0,
	"params":{"status":503,"error":"temporarily_unavailable"}}'
idp_rule '{"family":"blip","scenario":"error","times":1,
	"params":{"status":503,"error":"temporarily_unavailable"}}'
# slow: every answer takes 2.5 s (the grant is decided at once).
idp_rule '{"family":"slow","scenario":"latency","times":0,"params":{"ms":2500}}'

imp() { printf '{"access_token":"at-old-%s","token_type":"Bearer","expires_in":%s,"refresh_token":"%s"}' \
	"$1" "$2" "$3" | ot import "$1" - >/dev/null 2>&1 || dfail "import $1"; }
# Windows (expiry - 6 s) open 1 to 20 s after the imports.
imp flaky 7 seed-flaky
imp revoked 8 not-a-known-token
imp blip 8 seed-blip
imp a1 9 seed-a1
imp a2 10 seed-a2
imp a3 11 seed-a3
imp late 13 seed-late
imp slow 26 seed-slow
ot status --format json >"$T/before.json"
expiry() { jq -r --arg n "$1" '.generated_at + (.accounts[] | select(.name==$n) | .access_expires_in)' "$T/before.json"; }

"$OAUTHTOP" --config "$T/daemon.json" daemon >"$T/daemon.out" 2>"$T/daemon.log" & DMN=$!
OT_PIDS="$OT_PIDS $DMN"

# Heartbeat row: host, pid, started, last beat.
keeper_rows() { [ "$(sql "select count(*) from keepers where kind='daemon' and pid=$DMN")" = "$1" ]; }
wait_for 5 keeper_rows 1 || dfail "no heartbeat row for the daemon"
beat0=$(sql "select heartbeat from keepers where pid=$DMN")

# A broken configuration on SIGHUP: reported, the old one kept (a1 and a2 still refreshed).
sleep 1.5
echo '{ "window": 6, "accounts": [ ' >"$T/daemon.json"
kill -HUP "$DMN"
wait_for 5 grep -q "reload failed" "$T/daemon.log" || dfail "no reload error logged"
kill -0 "$DMN" 2>/dev/null || dfail "daemon died on a broken configuration"
wait_for 8 sh -c "grep -q 'refreshed a2 ' '$T/daemon.log'" || dfail "a2 not refreshed while the file was broken"

# A valid configuration with one more account: taken over.
mkcfg "$T/daemon.json" ', { "name": "late", "provider": "idp" }'
kill -HUP "$DMN"
wait_for 5 grep -q "configuration reloaded" "$T/daemon.log" || dfail "valid reload not taken"

# slow: SIGTERM while its (2.5 s) request is in flight.
# flaky: 5 attempts take at most 1 + 1 + 2 + 4 + 8 s after its window opens.
flaky_tried() { [ "$(family_count flaky)" -ge 5 ]; }
wait_for 20 flaky_tried || dfail "flaky attempted only $(family_count flaky) times"
slow_sent() { [ "$(family_count slow)" -ge 1 ]; }
wait_for 20 slow_sent || dfail "slow never attempted"
flaky_attempts=$(family_count flaky)
flaky_times=$(family_times flaky)
beat1=$(sql "select heartbeat from keepers where pid=$DMN")
kill -TERM "$DMN"
t_term=$(now)
wait "$DMN"; rc=$?
t_exit=$(now)
DMN_PID=$DMN
[ "$rc" = 0 ] || dfail "daemon exit $rc after SIGTERM, want 0"
awk -v a="$t_term" -v b="$t_exit" 'BEGIN { exit !(b - a >= 1.5 && b - a < 9) }' ||
	dfail "SIGTERM to exit took $(awk -v a="$t_term" -v b="$t_exit" 'BEGIN{print b-a}') s: did not wait for the request in flight, or hung"

# 1. a1 a2 a3 late slow: exactly one refresh each, inside the window, not before it.
for a in a1 a2 a3 late slow; do
	n=$(family_count "$a")
	[ "$n" = 1 ] || dfail "$a refreshed $n times, want exactly 1"
	t=$(family_times "$a"); e=$(expiry "$a")
	awk -v t="$t" -v e="$e" 'BEGIN { exit !(t >= e - 6 && t < e) }' ||
		dfail "$a refreshed at $t, outside its window [$((e - 6)), $e)"
	awk -v t="$t" -v e="$e" 'BEGIN { exit !(t < e - 6 + 1 + 3) }' ||
		dfail "$a refreshed at $t, long after the jittered moment in [$((e - 6)), $((e - 5)))"
done
grep -q "refreshed a1 (access valid [0-9].*, rotated [0-9a-f]\{8\})" "$T/daemon.log" || dfail "refresh log line"
# slow's answer arrived after SIGTERM and was committed: its new token is stored.
ot status --format json >"$T/after.json"
left=$(jq -r '.accounts[] | select(.name=="slow") | .access_expires_in' "$T/after.json")
[ "$left" -gt 3000 ] || dfail "slow's answer was not committed before exit (expires in $left)"

# 2. flaky: attempts spread out: the 4th gap exceeds the first by more than 1 s (base 1 s
# doubling; a fixed 1 s retry would give ~19 attempts in this time).
[ "$flaky_attempts" -ge 5 ] && [ "$flaky_attempts" -le 8 ] ||
	dfail "flaky attempted $flaky_attempts times: $flaky_times"
echo "$flaky_times" | awk 'NR>1 { g[NR-1] = $1 - p } { p = $1 }
	END { exit !(g[4] > g[1] + 1) }' || dfail "backoff does not grow: $flaky_times"
grep -q "failed flaky: HTTP 503.*, retry in [0-9]" "$T/daemon.log" || dfail "failure log line"
grep -q "reauth revoked: invalid_grant" "$T/daemon.log" || dfail "reauth log line"

# 3. hooks: once per change, clean environment, no token or secret.
ls "$T/hooks" >"$T/hooklist"
[ "$(grep -c '^failing\.flaky\.' "$T/hooklist")" = 1 ] || dfail "failing hook runs: $(cat "$T/hooklist")"
[ "$(grep -c '^reauth\.revoked\.' "$T/hooklist")" = 1 ] || dfail "reauth hook runs: $(cat "$T/hooklist")"
[ "$(grep -c '^failing\.blip\.' "$T/hooklist")" = 1 ] || dfail "blip failing hook: $(cat "$T/hooklist")"
[ "$(grep -c '^recovered\.blip\.' "$T/hooklist")" = 1 ] || dfail "blip recovered hook: $(cat "$T/hooklist")"
grep -v '^failing\.flaky\.\|^reauth\.revoked\.\|^failing\.blip\.\|^recovered\.blip\.' "$T/hooklist" &&
	dfail "unexpected hooks: $(cat "$T/hooklist")"
f=$(ls "$T"/hooks/failing.flaky.*)
grep -qx 'OAUTHTOP_OLD_STATE=due' "$f" || dfail "failing hook old state: $(cat "$f")"
grep -qx 'OAUTHTOP_NEW_STATE=failing' "$f" || dfail "failing hook new state"
grep -qx 'OAUTHTOP_PROVIDER=idp' "$f" || dfail "failing hook provider"
grep -q '^OAUTHTOP_REASON=.*503' "$f" || dfail "failing hook reason: $(grep REASON "$f")"
f=$(ls "$T"/hooks/reauth.revoked.*)
grep -q '^OAUTHTOP_REASON=.*invalid_grant' "$f" || dfail "reauth hook reason: $(grep REASON "$f")"
grep -qx 'PATH=/usr/bin:/bin' "$f" || dfail "hook PATH"
cat "$T"/hooks/* | grep -v '^OAUTHTOP_\|^PATH=\|^HOME=\|^LANG=\|^PWD=\|^SHLVL=\|^_=' &&
	dfail "hook environment not clean"
grep -q 'test-secret\|seed-\|at-old-\|not-a-known' "$T"/hooks/* && dfail "secret or token in a hook environment"
f=$(ls "$T"/hooks/recovered.blip.*)
grep -qx 'OAUTHTOP_OLD_STATE=failing' "$f" && grep -qx 'OAUTHTOP_NEW_STATE=ok' "$f" ||
	dfail "recovered hook states: $(grep STATE "$f")"
grep -qx 'OAUTHTOP_EVENT=recovered' "$f" || dfail "recovered hook event"
[ "$(family_count blip)" = 2 ] || dfail "blip: $(family_count blip) attempts, want 2 (503, then ok)"

# 4. heartbeat moved; after SIGTERM no keeper row and no lease left.
[ "$(sql "select count(*) from keepers where pid=$DMN_PID")" = 0 ] || dfail "keeper row left behind"
[ "$(sql "select count(*) from credentials where lease_expires_at > 0")" = 0 ] ||
	dfail "leases left: $(sql "select account, lease_pid, lease_expires_at from credentials where lease_expires_at > 0")"
[ "$beat1" -gt "$beat0" ] || dfail "heartbeat did not move ($beat0 -> $beat1)"

# 5. never a token or a secret in the daemon's output.
grep -q 'test-secret\|seed-\|at-old-\|not-a-known\|"rt-\| rt-\|at-a1-' "$T/daemon.log" "$T/daemon.out" &&
	dfail "a token or secret in the daemon's log"
grep -q "stopped" "$T/daemon.log" || dfail "no stop line"
echo "all passed"
