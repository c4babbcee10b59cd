#!/bin/sh
# revoke (RFC 7009) and verify (RFC 7662 introspection, or one GET to the account's endpoint)
# against the test token server: 503 keeps the credential and says so (scenario 30), 200
# revokes the family and forgets the credential, --local asks nobody, no revocation_url is a
# configuration error; verify reports active / inactive / accepted / refused.
. "$(dirname "$0")/lib.sh"

idp_start --log "$T/idp.log"
write_config "dev plain local cc:client_credentials" \
	"\"revocation_url\": \"$IDP_URL/revoke\", \"introspection_url\": \"$IDP_URL/introspect\","
# plain: the account's endpoint is the protected resource.
jq --arg r "$IDP_URL/resource" '.accounts |= map(if .name == "plain" then . + {endpoint: $r} else . end)' \
	"$T/cfg.json" >"$T/cfg.tmp" && mv "$T/cfg.tmp" "$T/cfg.json"

import_seed dev 3600
expect_rc 0 ot refresh dev --force
fam_rt=$(idp_rt dev)
[ "$(db_rt dev)" = "$fam_rt" ] || fail "setup: stored refresh token is not current"

# verify: introspection of the access and the refresh token.
expect_rc 0 ot verify dev
grep -q "access token active" "$T/out" || fail "verify: $(cat "$T/out")"
grep -q "expires: in" "$T/out" || fail "verify shows no expiry"
expect_rc 0 ot verify dev --refresh-token
grep -q "refresh token active" "$T/out" || fail "verify --refresh-token: $(cat "$T/out")"
grep -q "$fam_rt" "$T/out" "$T/err" && fail "verify printed a token"

# verify: introspection first; --endpoint makes one GET to the account's endpoint; a stale
# access token is refused there.
import_seed plain 3600
expect_rc 0 ot refresh plain --force
expect_rc 0 ot verify plain
grep -q "access token active (introspection" "$T/out" || fail "default is introspection: $(cat "$T/out")"
expect_rc 0 ot verify plain --endpoint
grep -q "GET $IDP_URL/resource: HTTP 200: accepted" "$T/out" || fail "endpoint: $(cat "$T/out")"
echo '{"access_token":"A-stale","token_type":"Bearer","expires_in":3600,"refresh_token":"seed-plain2"}' |
	ot import plain - >/dev/null
expect_rc 1 ot verify plain --endpoint
grep -q "HTTP 401: token rejected" "$T/out" || fail "refused token: $(cat "$T/out")"
expect_rc 1 ot verify plain
grep -q "access token NOT active" "$T/out" || fail "inactive: $(cat "$T/out")"

# revoke: 503 keeps everything and says when to retry.
idp_rule '{"any":true,"scenario":"revoke_unavailable","params":{"seconds":30}}'
expect_rc 1 ot revoke dev
grep -q "cannot revoke now" "$T/err" || fail "503 not explained: $(cat "$T/err")"
grep -q "retry after 30 s" "$T/err" || fail "Retry-After not shown: $(cat "$T/err")"
grep -q "credential is kept" "$T/err" || fail "503: kept not said"
[ "$(db_rt dev)" = "$fam_rt" ] || fail "503: the credential was touched"
[ "$(idp_family dev | jq -r .revoked)" = false ] || fail "503: family revoked"
expect_rc 0 ot refresh dev --force # the lease was released: a keeper still works
fam_rt=$(idp_rt dev)

# revoke: 200 revokes the family and forgets the credential.
expect_rc 0 ot revoke dev
grep -q "revoked at the provider and forgotten" "$T/out" || fail "revoke: $(cat "$T/out")"
[ "$(idp_family dev | jq -r .revoked)" = true ] || fail "the family is not revoked"
[ -z "$(db_col dev account)" ] || fail "the credential is still stored"
case "$(ev_last dev)" in "revoked|refresh token revoked at the provider"*) ;; *) fail "event $(ev_last dev)" ;; esac
grep -q "$fam_rt" "$T/out" "$T/err" && fail "revoke printed a token"
jq -s -e '[.[] | select(.path == "/revoke")] | length == 2' "$T/idp.log" >/dev/null ||
	fail "revocation requests: $(jq -s -c '[.[] | select(.path == "/revoke")]' "$T/idp.log")"
status_json
[ "$(st_state dev)" = reauth ] || fail "dev after revoke: $(st_state dev)"
expect_rc 2 ot verify dev
expect_rc 0 ot revoke dev
grep -q "nothing stored" "$T/out" || fail "second revoke: $(cat "$T/out")"

# --local asks nobody.
import_seed local 3600
expect_rc 0 ot revoke local --local
grep -q "forgotten here" "$T/out" || fail "--local: $(cat "$T/out")"
jq -s -e '[.[] | select(.path == "/revoke")] | length == 2' "$T/idp.log" >/dev/null ||
	fail "--local sent a revocation"

# client_credentials: the access token is revoked; a keeper gets a new one.
expect_rc 0 ot refresh cc
expect_rc 0 ot verify cc
expect_rc 0 ot revoke cc
status_json
[ "$(st_state cc)" = expired ] || fail "cc after revoke: $(st_state cc)"

# no introspection_url: the endpoint is used.
write_config "plain"
jq --arg r "$IDP_URL/resource" '.accounts[0].endpoint = $r' "$T/cfg.json" >"$T/cfg.tmp" &&
	mv "$T/cfg.tmp" "$T/cfg.json"
import_seed plain 3600 seed-plain3
expect_rc 0 ot refresh plain --force
expect_rc 0 ot verify plain
grep -q "GET $IDP_URL/resource: HTTP 200" "$T/out" || fail "endpoint fallback: $(cat "$T/out")"
expect_rc 3 ot verify plain --introspect

# no revocation_url: configuration error with the way out.
write_config "dev"
import_seed dev 3600
expect_rc 3 ot revoke dev
grep -q "no revocation_url" "$T/err" && grep -q -- "--local" "$T/err" || fail "no endpoint: $(cat "$T/err")"
expect_rc 3 ot verify dev
grep -q "nowhere to ask" "$T/err" || fail "verify without endpoints: $(cat "$T/err")"
exit 0
