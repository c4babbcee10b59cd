#!/bin/sh
# status --format prometheus: every metric of the issue, label escaping, absent unknown expiry,
# atomic --output, and `promtool check metrics` accepts it (skipped only where promtool is
# missing; CI installs it).
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ot() { "$OAUTHTOP" --config "$T/cfg.json" "$@"; }
cat >"$T/cfg.json" <<JSON
{ "store": "$T/s/oauthtop.db",
  "providers": { "acme.eu": { "token_url": "https://127.0.0.1:1/t", "client_id": "c", "auth_method": "none" } },
  "accounts": [ { "name": "a1", "provider": "acme.eu" }, { "name": "a2", "provider": "acme.eu" } ] }
JSON
echo '{"access_token":"AAAAAAAAAAAAAAAAAAAA","token_type":"Bearer","expires_in":3600,"refresh_token":"RRRRRRRRRRRRRRRRRRRRRRR","refresh_expires_in":100000}' | ot import a1 - >/dev/null || fail import
echo '{"access_token":"BBBBBBBBBBBBBBBBBBBBB","token_type":"Bearer","expires_in":3600,"refresh_token":"SSSSSSSSSSSSSSSSSSSSSSSS"}' | ot import a2 - >/dev/null || fail import
sqlite3 "$T/s/oauthtop.db" "INSERT INTO keepers VALUES ('ops1', 4242, 'daemon', 1764000000, 1764000100);" || fail "keeper row"
ot status --format prometheus >"$T/m.prom"; rc=$?
[ "$rc" = 1 ] || fail "exit $rc, want 1 (a1's refresh token expires within the week)"
m() { grep -c "^$1" "$T/m.prom"; }
[ "$(m 'oauthtop_access_token_expiry_timestamp_seconds{')" = 2 ] || fail "access expiry samples"
[ "$(m 'oauthtop_refresh_token_expiry_timestamp_seconds{')" = 1 ] || fail "refresh expiry must be absent when unknown"
[ "$(m 'oauthtop_account_state{account="a1"')" = 6 ] || fail "one state sample per state"
grep -q '^oauthtop_account_state{account="a1",provider="acme.eu",state="ok"} 1$' "$T/m.prom" || fail "ok=1"
grep -q '^oauthtop_account_state{account="a1",provider="acme.eu",state="due"} 0$' "$T/m.prom" || fail "due=0"
grep -q '^oauthtop_refresh_token_expiring_soon{account="a1",provider="acme.eu"} 1$' "$T/m.prom" || fail "expiring soon"
[ "$(m 'oauthtop_consecutive_failures{')" = 2 ] || fail "failures"
[ "$(m 'oauthtop_last_refresh_timestamp_seconds{')" = 2 ] || fail "last refresh"
grep -q '^oauthtop_keeper_heartbeat_timestamp_seconds{host="ops1",pid="4242",kind="daemon"} 1764000100$' "$T/m.prom" || fail "keeper heartbeat"
grep -q 'AAAA\|RRRR\|BBBB\|SSSS' "$T/m.prom" && fail "token in metrics"
ot status --format prometheus --output "$T/out.prom"
grep -v generated "$T/out.prom" >"$T/o1"; grep -v generated "$T/m.prom" >"$T/o2"
cmp -s "$T/o1" "$T/o2" || fail "--output differs from stdout"
ls "$T" | grep -q 'out.prom.' && fail "temporary file left behind"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$T/m.prom" || fail "promtool check metrics"
else
	echo "promtool not installed: metrics lint skipped (apt-get install prometheus)"
fi
echo "all passed"
