#!/bin/sh
# Review findings 7 and 9.
# 9: a server that echoes the refresh token we sent in error_description (a short token, or a
#    UUID - Spring Security "Invalid refresh token: <uuid>") never leaks it: not in refresh's
#    output, status json, last_error, history.
# 7: a wrong token URL path (404 {"error":"not_found"}) is a transient failure naming the
#    status and token_url, not a reauthorization.
. "$(dirname "$0")/lib.sh"

idp_start
write_config "e1 e2 e3" '' '"min_interval": 0,'
import_seed e1
UUID=3f2b8c4e-91d7-4a5b-b2c6-0e8f7a9d1c23
idp_admin POST /admin/seed "{\"family\":\"e2\",\"refresh_token\":\"$UUID\"}" >/dev/null || fail "seed e2"
import_seed e2 60 "$UUID"
idp_rule '{"family":"e1","scenario":"error","params":{"status":400,"error":"invalid_grant","description":"Invalid refresh token: seed-e1"}}'
idp_rule "{\"family\":\"e2\",\"scenario\":\"error\",\"params\":{\"status\":400,\"error\":\"invalid_grant\",\"description\":\"Invalid refresh token: $UUID\"}}"
# e3: a 24-character token (not hex) echoed where the server text is cut at 120 characters:
# its head before the "..." must go too.
TOK3=tok-QWERTYUIOPqwertyuiop
PAD=$(printf 'x %.0s' $(seq 55))
idp_admin POST /admin/seed "{\"family\":\"e3\",\"refresh_token\":\"$TOK3\"}" >/dev/null || fail "seed e3"
import_seed e3 60 "$TOK3"
idp_rule "{\"family\":\"e3\",\"scenario\":\"error\",\"params\":{\"status\":400,\"error\":\"invalid_grant\",\"description\":\"${PAD}$TOK3\"}}"
expect_rc 2 ot refresh e1 e2 e3
grep -q "tok-QWE" "$T/out" && fail "the head of e3's token leaked: $(grep '^e3' "$T/out")"
grep -q "^e3: needs reauthorization: invalid_grant: x x .*\[redacted\]\.\.\." "$T/out" || fail "e3 line: $(grep '^e3' "$T/out")"
status_json
for f in "$T/out" "$T/err" "$T/status.json"; do
	grep -q "seed-e1" "$f" && fail "seed-e1 leaked in $f: $(cat "$f")"
	grep -q "$UUID" "$f" && fail "the UUID token leaked in $f: $(cat "$f")"
done
sqlite3 "$STORE" "SELECT reason FROM events; SELECT last_error FROM credentials" >"$T/db.txt"
grep -q "seed-e1\|$UUID" "$T/db.txt" && fail "a token leaked into the store: $(cat "$T/db.txt")"
grep -q "^e1: needs reauthorization: invalid_grant: Invalid refresh token: \[redacted\]" "$T/out" || fail "e1 line: $(cat "$T/out")"

# 7: the token URL path is wrong.
sed "s|$IDP_URL/token|$IDP_URL/oauth/tokn|" "$T/cfg.json" >"$T/cfg2.json"
import_seed e1
expect_rc 1 "$OAUTHTOP" --config "$T/cfg2.json" refresh e1
grep -q "^e1: failed: HTTP 404: not_found .* check token_url" "$T/out" || fail "e1 404 line: $(cat "$T/out")"
status_json
[ "$(st_state e1)" = failing ] || fail "e1 is $(st_state e1) after a 404, want failing"
echo ok
