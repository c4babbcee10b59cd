#!/bin/sh
# status / import / history / check end to end: states and countdowns in JSON, exit codes
# 0/1/2/3, configuration typos, store permissions, garbage and newer-schema stores.
set -u
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ot() { "$OAUTHTOP" --config "$T/cfg.json" "$@"; }
expect_rc() { want=$1; shift; "$@" >"$T/out" 2>"$T/err"; rc=$?
	[ "$rc" = "$want" ] || { cat "$T/out" "$T/err"; fail "$* exited $rc, want $want"; }; }
state() { jq -r --arg n "$1" '.accounts[] | select(.name==$n) | .state' "$T/status.json"; }
field() { jq -r --arg n "$1" ".accounts[] | select(.name==\$n) | .$2" "$T/status.json"; }

cat >"$T/cfg.json" <<JSON
{ "store": "$T/state/oauthtop.db",
  "providers": { "acme": { "token_url": "https://127.0.0.1:1/token", "client_id": "c",
                           "client_secret_env": "OT_TEST_SECRET" } },
  "accounts": [ { "name": "fresh", "provider": "acme" },
                { "name": "due-one", "provider": "acme" },
                { "name": "gone", "provider": "acme" },
                { "name": "no-rt", "provider": "acme" },
                { "name": "never", "provider": "acme", "enabled": false } ] }
JSON
export OT_TEST_SECRET=s3cr3t-value

# 1. import answers, then the JSON status shows the right states and countdowns.
echo '{"access_token":"A-fresh","token_type":"Bearer","expires_in":3600,"refresh_token":"R-fresh","refresh_expires_in":2592000}' >"$T/a.json"
expect_rc 0 ot import fresh "$T/a.json"
echo '{"access_token":"A-due","token_type":"bearer","expires_in":"200","refresh_token":"R-due"}' | ot import due-one - >/dev/null || fail "import from stdin"
echo '{"access_token":"A-nort","token_type":"Bearer","expires_in":3600}' | ot import no-rt - 2>"$T/err" >/dev/null || fail "import without refresh token"
grep -q "no refresh token" "$T/err" || fail "no warning for an answer without refresh token"
[ "$(stat -c %a "$T/state")" = 700 ] || fail "state dir mode $(stat -c %a "$T/state")"
[ "$(stat -c %a "$T/state/oauthtop.db")" = 600 ] || fail "store mode"

ot status --format json >"$T/status.json"; rc=$?
[ "$rc" = 2 ] || fail "status exit $rc, want 2 (gone has no credential: reauth)"
[ "$(state fresh)" = ok ] || fail "fresh is $(state fresh)"
[ "$(state due-one)" = due ] || fail "due-one is $(state due-one)"
[ "$(state gone)" = reauth ] || fail "gone is $(state gone)"
[ "$(state no-rt)" = ok ] || fail "no-rt is $(state no-rt)"
[ "$(state never)" = disabled ] || fail "never is $(state never)"
left=$(field fresh access_expires_in); [ "$left" -gt 3590 ] && [ "$left" -le 3600 ] || fail "fresh access_expires_in $left"
left=$(field fresh refresh_expires_in); [ "$left" -gt 2591990 ] && [ "$left" -le 2592000 ] || fail "refresh_expires_in $left"
left=$(field due-one access_expires_in); [ "$left" -gt 190 ] && [ "$left" -le 200 ] || fail "due access_expires_in $left"
[ "$(field no-rt refresh_expires_in)" = null ] || fail "unknown refresh expiry must be null"
[ "$(jq -r .window "$T/status.json")" = 300 ] || fail "window"
grep -q 'A-fresh\|R-fresh\|s3cr3t' "$T/status.json" && fail "a token or secret in status output"

# 2. exit codes: 2 with a reauth account, 1 with only due, 0 when all ok.
sed -i 's/{ "name": "gone", "provider": "acme" },//' "$T/cfg.json"
expect_rc 1 ot status
grep -q 'due-one' "$T/out" || fail "table lists due-one"
grep -q 'A-due\|R-due' "$T/out" && fail "token in table"
echo '{"access_token":"A-due2","token_type":"Bearer","expires_in":7200,"refresh_token":"R-due2"}' | ot import due-one - >/dev/null
expect_rc 0 ot status
expect_rc 0 ot status --format=prometheus
grep -q '^oauthtop_account_state{account="fresh",provider="acme",state="ok"} 1$' "$T/out" || fail "prometheus state line"
expect_rc 0 ot status --output "$T/metrics.prom" --format prometheus
grep -q oauthtop_access_token_expiry_timestamp_seconds "$T/metrics.prom" || fail "--output file"

# 3. history shows the imports with fingerprints, never the tokens.
expect_rc 0 ot history due-one
[ "$(grep -c imported "$T/out")" = 2 ] || fail "history has two imports: $(cat "$T/out")"
grep -q 'R-due' "$T/out" && fail "token value in history"
expect_rc 3 ot history nosuch
grep -q 'unknown account "nosuch"' "$T/err" || fail "history unknown account message"

# 4. usage and input errors exit 3 with one clear line.
expect_rc 3 ot status --format xml
expect_rc 3 ot import fresh "$T/missing.json"
echo '<html>login</html>' >"$T/h.json"
expect_rc 3 ot import fresh "$T/h.json"
grep -q "not a token answer" "$T/err" || fail "html import message: $(cat "$T/err")"
expect_rc 3 ot frobnicate
expect_rc 0 ot check

# 5. a configuration typo names the file and the key path.
sed 's/"provider": "acme" }/"provder": "acme" }/' "$T/cfg.json" >"$T/typo.json"
expect_rc 3 "$OAUTHTOP" --config "$T/typo.json" status
grep -q 'typo.json: accounts\[0\].provder: unknown key' "$T/err" || fail "typo message: $(cat "$T/err")"

# 6. a group/world-readable store is refused.
chmod 644 "$T/state/oauthtop.db"
expect_rc 3 ot status
grep -q 'oauthtop.db' "$T/err" || fail "permission message names the store: $(cat "$T/err")"
chmod 600 "$T/state/oauthtop.db"

# 7. a store of random bytes: clear error, file untouched.
head -c 8192 /dev/urandom >"$T/garbage.db"; chmod 600 "$T/garbage.db"
cp "$T/garbage.db" "$T/garbage.orig"
expect_rc 3 ot --store "$T/garbage.db" status
grep -q 'garbage.db' "$T/err" || fail "garbage message names the file"
cmp -s "$T/garbage.db" "$T/garbage.orig" || fail "garbage store was modified"

# 8. a store from a newer schema is refused.
cp "$T/state/oauthtop.db" "$T/newer.db"
sqlite3 "$T/newer.db" 'PRAGMA user_version=99;'; chmod 600 "$T/newer.db"
expect_rc 3 ot --store="$T/newer.db" status
grep -qi 'newer' "$T/err" || fail "newer schema message: $(cat "$T/err")"
echo "all passed"
