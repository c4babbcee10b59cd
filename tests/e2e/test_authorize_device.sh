#!/bin/sh
# authorize, device flow (RFC 8628) against the test token server's scripted device endpoint
# (scenario 29): polls spaced by `interval`, slow_down adds 5 s to every later poll, the
# result is stored (event "authorized"); access_denied and expired_token stop with exit 2
# and store nothing; a client rejection is a configuration error (exit 3).
. "$(dirname "$0")/lib.sh"

idp_start
write_config "dev denied expired" "\"device_authorization_url\": \"$IDP_URL/device_authorization\",
  \"scope\": \"offline_access\","

# 1. pending, slow_down, ok: three polls, 1 s then 1 + 5 s apart.
idp_admin POST /admin/device '{"script":["authorization_pending","slow_down","ok"],"interval":1}' >/dev/null ||
	fail "device script"
expect_rc 0 ot authorize dev --no-qr
grep -q "enter the code" "$T/out" || fail "no instructions"
code=$(sed -n 's/^    \([A-Z]\{4\}-[A-Z]\{4\}\)$/\1/p' "$T/out")
[ -n "$code" ] || fail "no user code shown"
grep -q "^    $IDP_URL/device?user_code=$code\$" "$T/out" || fail "verification_uri_complete not shown"
grep -q "slow down" "$T/err" || fail "slow_down not reported"
grep -q "^dev: authorized" "$T/out" || fail "no success line"
idp_admin GET /admin/device >"$T/dev.json"
[ "$(jq '.polls | length' "$T/dev.json")" = 3 ] || fail "polls: $(cat "$T/dev.json")"
gap1=$(jq '.polls[1] - .polls[0]' "$T/dev.json")
gap2=$(jq '.polls[2] - .polls[1]' "$T/dev.json")
jq -e --argjson a "$gap1" --argjson b "$gap2" -n '$a >= 0.9 and $a < 3 and $b >= 5.9 and $b < 8' \
	>/dev/null || fail "poll spacing $gap1 then $gap2 (want ~1 then ~6)"
status_json
s=$(st_state dev)
[ "$s" = ok ] || fail "dev after authorize: $s"
[ "$(ev_last dev)" = "authorized|authorized (device flow)" ] || fail "event: $(ev_last dev)"
fam=$(db_rt dev | sed -n 's/^rt-\(device-[0-9]*\)-.*/\1/p')
[ -n "$fam" ] || fail "the stored refresh token is not the device family's"
[ "$(idp_rt "$fam")" = "$(db_rt dev)" ] || fail "stored refresh token is not the server's current one"
grep -q "$(db_rt dev)" "$T/out" "$T/err" && fail "a token was printed"

# 2. access_denied: exit 2, nothing stored.
idp_admin POST /admin/device '{"script":["access_denied"],"interval":1}' >/dev/null
expect_rc 2 ot authorize denied --no-qr
grep -q "access denied" "$T/err" || fail "access_denied not said: $(cat "$T/err")"
[ -z "$(db_col denied account)" ] || fail "something stored for a denied authorization"

# 3. expired_token: exit 2 with a clear message.
idp_admin POST /admin/device '{"script":["expired_token"],"interval":1}' >/dev/null
expect_rc 2 ot authorize expired --no-qr
grep -q "expired" "$T/err" || fail "expired_token not said: $(cat "$T/err")"
grep -q "oauthtop authorize expired" "$T/err" || fail "no remedy for expired_token"
[ "$(idp_admin GET /admin/device | jq '.polls | length')" = 1 ] || fail "polled after expired_token"

# 4. a rejected client: configuration error, exit 3.
printf 'wrong-secret' >"$T/secret"
expect_rc 3 ot authorize dev --no-qr
grep -q "client rejected" "$T/err" || fail "client rejection not said: $(cat "$T/err")"
s=$(status_json; st_state dev)
[ "$s" = ok ] || fail "a failed authorize changed the stored credential ($s)"

# 5. a client_credentials account has nothing to authorize.
write_config "cc:client_credentials" "\"device_authorization_url\": \"$IDP_URL/device_authorization\","
expect_rc 3 ot authorize cc
grep -q "client_credentials" "$T/err" || fail "client_credentials not explained"
exit 0
